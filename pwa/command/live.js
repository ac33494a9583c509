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
import { CLOSE, fullJitter, unauthorizedCloseCode } from "../core/index.js";

const PING_EVERY_MS = 15_000;
const PONG_WITHIN_MS = 10_000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 15_000;
const OPEN = 1; // WebSocket.OPEN

/** The feed's address on the page's own server. */
function pageSocketUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/api/sync/ws`;
}

export class LiveFeed {
  /**
   * @param {object} opts
   * @param {() => string} opts.token the current bearer token
   * @param {string|null} opts.cursor where the view's snapshot is current as of
   * @param {(changes: object[], info: {reset: boolean}) => void} opts.onChanges
   * @param {(state: string) => void} opts.onState "connecting" | "live" | "reconnecting" | "offline"
   * @param {(serverTime: string) => void} [opts.onServerTime]
   * @param {(code: string) => void} [opts.onUnauthorized] closed 4401: `token_expired` or `unauthenticated`
   * @param {string} [opts.url] the socket's address (default: /api/sync/ws on this page's host)
   * @param {typeof WebSocket} [opts.WebSocketImpl]
   * @param {{setTimeout, clearTimeout, setInterval, clearInterval}} [opts.timers]
   * @param {() => number} [opts.random] for the backoff's jitter
   */
  constructor(opts) {
    this.opts = opts;
    this.WebSocketImpl = opts.WebSocketImpl ?? globalThis.WebSocket;
    this.timers = opts.timers ?? globalThis;
    this.random = opts.random ?? Math.random;
    this.url = opts.url ?? null;
    this.cursor = opts.cursor ?? null;
    this.socket = null;
    this.attempt = 0;
    this.stopped = false;
    this.paused = false;
    this.state = "connecting";
    this.timer = { retry: null, ping: null, pong: null };
    this.framesApplied = 0;
  }

  start() {
    this.stopped = false;
    this.open();
  }

  stop() {
    this.stopped = true;
    this.clearTimers();
    if (this.socket) this.socket.close(CLOSE.NORMAL, "bye");
    this.socket = null;
  }

  /** The network is gone (the browser says so): close and wait for resume(). */
  pause() {
    if (this.stopped || this.paused) return;
    this.paused = true;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close(CLOSE.NORMAL, "offline");
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
    this.timers.clearTimeout(this.timer.retry);
    this.timers.clearInterval(this.timer.ping);
    this.timers.clearTimeout(this.timer.pong);
  }

  open() {
    this.clearTimers();
    this.setState(this.attempt === 0 ? "connecting" : "reconnecting");
    const socket = new this.WebSocketImpl(this.url ?? pageSocketUrl());
    this.socket = socket;
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: "hello", token: this.opts.token(), cursor: this.cursor }));
      // No welcome in time: treat it like a lost pong.
      this.timer.pong = this.timers.setTimeout(() => socket.close(CLOSE.NO_ANSWER, "no welcome"), PONG_WITHIN_MS);
    };
    socket.onmessage = (event) => this.receive(socket, event.data);
    socket.onclose = (event) => this.closed(socket, event.code, event.reason);
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
    this.timers.clearTimeout(this.timer.pong);
    switch (frame.type) {
      case "welcome":
        this.attempt = 0;
        this.setState("live");
        this.opts.onServerTime?.(frame.server_time);
        this.timer.ping = this.timers.setInterval(() => this.ping(socket), PING_EVERY_MS);
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
    if (socket !== this.socket || socket.readyState !== OPEN) return;
    socket.send(JSON.stringify({ type: "ping" }));
    this.timers.clearTimeout(this.timer.pong);
    this.timer.pong = this.timers.setTimeout(() => socket.close(CLOSE.NO_ANSWER, "no pong"), PONG_WITHIN_MS);
  }

  closed(socket, code, reason = "") {
    if (socket !== this.socket) return;
    this.clearTimers();
    this.socket = null;
    if (this.stopped) {
      this.setState("offline");
      return;
    }
    if (code === CLOSE.UNAUTHORIZED) {
      this.stopped = true;
      this.setState("offline");
      this.opts.onUnauthorized?.(unauthorizedCloseCode(reason));
      return;
    }
    this.setState("reconnecting");
    // Too far behind (4408): come straight back from the cursor; anything else backs off.
    const delay =
      code === CLOSE.BACKLOG
        ? 0
        : fullJitter(this.attempt, { baseMs: BACKOFF_BASE_MS, capMs: BACKOFF_CAP_MS, random: this.random });
    this.attempt += 1;
    this.timer.retry = this.timers.setTimeout(() => this.open(), delay);
  }
}
