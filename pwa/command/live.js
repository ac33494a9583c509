// The live change feed over the WebSocket (PROTOCOL §5).
//
// - hello carries the last cursor applied, so a reconnect resumes exactly where the
//   view left off: nothing is lost and nothing arrives twice.
// - The cursor moves only after a `changes` frame has been handed to `onChanges`.
// - Reconnects back off exponentially with full jitter (0..min(cap, base·2^n)), so a
//   room of desks coming back after an outage does not hit the server in step.
// - A ping every 15 s; no pong (or any frame) within 10 s — or no welcome within 10 s of
//   opening — means the link is dead even if the socket has not noticed: it is closed
//   and reopened.
// - Close 4401 (token revoked) stops for good and signs out; 4408 (too far behind)
//   reconnects at once from the cursor.

const PING_EVERY_MS = 15_000;
const PONG_WITHIN_MS = 10_000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 15_000;

export class LiveFeed {
  /**
   * @param {object} opts
   * @param {() => string} opts.token the current bearer token
   * @param {string|null} opts.cursor where the view's snapshot is current as of
   * @param {(changes: object[], info: {reset: boolean}) => void} opts.onChanges
   * @param {(state: string) => void} opts.onState "connecting" | "live" | "reconnecting" | "offline"
   * @param {(serverTime: string) => void} [opts.onServerTime]
   * @param {() => void} [opts.onUnauthorized]
   */
  constructor(opts) {
    this.opts = opts;
    this.cursor = opts.cursor ?? null;
    this.socket = null;
    this.attempt = 0;
    this.stopped = false;
    this.paused = false;
    this.state = "connecting";
    this.timers = { retry: null, ping: null, pong: null };
    this.framesApplied = 0;
  }

  start() {
    this.stopped = false;
    this.open();
  }

  stop() {
    this.stopped = true;
    this.clearTimers();
    if (this.socket) this.socket.close(1000, "bye");
    this.socket = null;
  }

  /** The network is gone (the browser says so): close and wait for resume(). */
  pause() {
    if (this.stopped || this.paused) return;
    this.paused = true;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close(1000, "offline");
    this.setState("offline");
  }

  /** The network is back: reconnect at once from the last cursor. */
  resume() {
    if (this.stopped || !this.paused) return;
    this.paused = false;
    this.attempt = 1;
    this.open();
  }

  setState(state) {
    if (this.state !== state) {
      this.state = state;
      this.opts.onState(state);
    }
  }

  clearTimers() {
    clearTimeout(this.timers.retry);
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.pong);
  }

  open() {
    this.clearTimers();
    this.setState(this.attempt === 0 ? "connecting" : "reconnecting");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/api/sync/ws`);
    this.socket = socket;
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: "hello", token: this.opts.token(), cursor: this.cursor }));
      // No welcome in time: treat it like a lost pong.
      this.timers.pong = setTimeout(() => socket.close(4000, "no welcome"), PONG_WITHIN_MS);
    };
    socket.onmessage = (event) => this.receive(socket, event.data);
    socket.onclose = (event) => this.closed(socket, event.code);
    socket.onerror = () => {
      // onclose follows and decides what to do.
    };
  }

  receive(socket, raw) {
    if (socket !== this.socket) return;
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch {
      return;
    }
    // Any frame proves the link is alive.
    clearTimeout(this.timers.pong);
    switch (frame.type) {
      case "welcome":
        this.attempt = 0;
        this.setState("live");
        this.opts.onServerTime?.(frame.server_time);
        this.timers.ping = setInterval(() => this.ping(socket), PING_EVERY_MS);
        break;
      case "changes":
        this.opts.onChanges(frame.changes || [], { reset: Boolean(frame.reset) });
        this.cursor = frame.cursor;
        this.framesApplied += 1;
        break;
      case "pong":
        this.opts.onServerTime?.(frame.server_time);
        break;
      default:
        break;
    }
  }

  ping(socket) {
    if (socket !== this.socket || socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({ type: "ping" }));
    clearTimeout(this.timers.pong);
    this.timers.pong = setTimeout(() => socket.close(4000, "no pong"), PONG_WITHIN_MS);
  }

  closed(socket, code) {
    if (socket !== this.socket) return;
    this.clearTimers();
    this.socket = null;
    if (this.stopped) {
      this.setState("offline");
      return;
    }
    if (code === 4401) {
      this.stopped = true;
      this.setState("offline");
      this.opts.onUnauthorized?.();
      return;
    }
    this.setState("reconnecting");
    // Too far behind (4408): come straight back from the cursor; anything else backs off.
    const delay = code === 4408 ? 0 : this.backoff();
    this.attempt += 1;
    this.timers.retry = setTimeout(() => this.open(), delay);
  }

  backoff() {
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
    return Math.random() * ceiling;
  }
}
