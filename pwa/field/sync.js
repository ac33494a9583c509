// The sync loop. It lives in the page (not in a background-sync queue some browsers never
// fire): the outbox is flushed on start, when the browser comes online, when the app comes
// back to the foreground, and on a backoff timer with full jitter after a failure. Changes
// come in over the WebSocket (hello with our cursor, so a reconnect resumes where we were),
// kept alive by a heartbeat ping; while the socket is down, HTTP pull fills in.
import { CLOSE, ERROR, fullJitter, unauthorizedCloseCode } from "../core/index.js";
import { openBlob, sealIncident } from "./at-rest.js";
import { addSample, bestOffset, sampleFrom } from "./clock.js";
import { getMeta, setMeta, strictTx } from "./db.js";
import { applyResults, isEditable, noteAttempt, parentKey, pendingEntries } from "./outbox.js";
import { STORED_KINDS } from "./supervision.js";
import { CLEAR } from "./vault.js";

const MAX_BATCH_BYTES = 900 * 1024; // under the server's 1 MiB request limit

/**
 * Store a page of feed changes and the cursor after them, in one durable transaction:
 * the cursor never runs ahead of what we hold. With a PIN set, incidents and event bodies
 * are sealed first (a transaction does not stay open across WebCrypto's promises).
 */
export async function applyChanges(db, changes, cursor, { reset = false, vault = CLEAR } = {}) {
  const stored = await Promise.all(
    changes.map((change) => {
      const data = change.data || {};
      if (change.entity === "incident" || change.entity === "mediation") {
        return sealIncident(vault, { ...data, id: change.id, kind: change.entity });
      }
      // PROTOCOL §11: orders and notices are kept beside the incidents, sealed the same way.
      // A notice's own `kind` (criticism, ...) is kept as `notice_kind` (snapshot.js restores it).
      if (STORED_KINDS[change.entity]) {
        const own = data.kind === undefined ? {} : { [`${change.entity}_kind`]: data.kind };
        return sealIncident(vault, { ...data, ...own, id: change.id, kind: STORED_KINDS[change.entity] });
      }
      if (change.entity === "event") return vault.seal(data.body, "records");
      return null;
    }),
  );
  const tx = strictTx(db, ["incidents", "records", "meta"]);
  const incidents = tx.objectStore("incidents");
  const records = tx.objectStore("records");
  if (reset) {
    await incidents.clear();
    let c = await records.openCursor();
    while (c) {
      if (!c.value.local) await c.delete();
      c = await c.continue();
    }
  }
  for (const [i, change] of changes.entries()) {
    const data = change.data;
    if (change.entity === "incident") {
      const old = await incidents.get(change.id);
      if (!old || (old.version ?? 0) <= (data.version ?? 0)) await incidents.put(stored[i]);
    } else if (change.entity === "mediation" || STORED_KINDS[change.entity]) {
      // The feed's latest copy is the current one (a notice comes once per named station,
      // each copy the same: the last one wins).
      await incidents.put(stored[i]);
    } else if (change.entity === "event") {
      const local = await records.get(change.id);
      const recordId = data.record_id || (isEditable(data.type) ? data.op_id : null);
      await records.put({
        ...(local || {}),
        op_id: data.op_id,
        type: data.type,
        incident_id: data.incident_id,
        parent: parentKey({ ...data, record_id: recordId }),
        record_id: recordId,
        base_op_id: data.base_op_id,
        person_id: data.person_id,
        device_time: data.device_time,
        effective_time: data.effective_time,
        body: stored[i],
        flags: data.flags || [],
        local: Boolean(local?.local),
        delivered: true,
      });
    }
  }
  if (cursor != null) await tx.objectStore("meta").put(cursor, "cursor");
  await tx.done;
}

export class SyncLoop {
  /**
   * `session`: {token, device_id}. `WebSocketImpl` null disables the socket (tests).
   * `timers`: {setTimeout, clearTimeout, setInterval, clearInterval}. `vault` opens and
   * seals what is stored (field/vault.js); it must be unlocked while the loop runs.
   * `onAuthLost(code)`: the server no longer takes the token (`token_expired`, or
   * `unauthenticated` for a revoked or unknown one).
   */
  constructor({
    db,
    api,
    session,
    vault = CLEAR,
    wsUrl = null,
    WebSocketImpl = globalThis.WebSocket,
    timers = globalThis,
    random = Math.random,
    now = () => Date.now(),
    heartbeatMs = 25000,
    batchSize = 200,
    onChange = () => {},
    onAuthLost = () => {},
  }) {
    Object.assign(this, { db, api, session, vault, wsUrl, WebSocketImpl, timers, random, now });
    Object.assign(this, { heartbeatMs, batchSize, onChange, onAuthLost });
    this.state = { connected: false, flushing: false, lastError: null };
    this.pushAttempt = 0;
    this.wsAttempt = 0;
    this.retryTimer = null;
    this.reconnectTimer = null;
    this.ws = null;
    this.running = false;
    this.inbox = Promise.resolve();
    this.listeners = [];
  }

  /** Start: flush, open the socket, and listen for online / visibility changes. */
  start() {
    this.running = true;
    const on = (target, type, fn) => {
      if (!target?.addEventListener) return;
      target.addEventListener(type, fn);
      this.listeners.push(() => target.removeEventListener(type, fn));
    };
    on(globalThis.window, "online", () => this.wake());
    on(globalThis.document, "visibilitychange", () => {
      if (globalThis.document.visibilityState === "visible") this.wake();
    });
    this.flush();
    this.connect();
  }

  stop() {
    this.running = false;
    for (const off of this.listeners) off();
    this.listeners = [];
    this.timers.clearTimeout(this.retryTimer);
    this.timers.clearTimeout(this.reconnectTimer);
    this.stopHeartbeat();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      try {
        ws.close();
      } catch {
        /* already closed */
      }
    }
  }

  /** Connectivity may be back: send now and reconnect now, without waiting for a timer. */
  wake() {
    if (!this.running) return;
    this.pushAttempt = 0;
    this.flush();
    if (!this.ws) {
      this.wsAttempt = 0;
      this.timers.clearTimeout(this.reconnectTimer);
      this.connect();
    }
  }

  async clockOffset() {
    return bestOffset(await getMeta(this.db, "clock", []));
  }

  async noteClock(sentAt, receivedAt, serverTime) {
    const samples = await getMeta(this.db, "clock", []);
    await setMeta(this.db, "clock", addSample(samples, sampleFrom(sentAt, receivedAt, serverTime)));
  }

  async markSynced() {
    await setMeta(this.db, "last_synced", new Date(this.now()).toISOString());
  }

  /** Send every pending op, oldest seq first; resolves when the outbox is empty or a try failed. */
  flush() {
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      do {
        this.flushAgain = false;
        await this.flushOnce();
      } while (this.flushAgain && this.running);
    })().finally(() => {
      this.flushing = null;
      this.state.flushing = false;
      this.onChange();
    });
    return this.flushing;
  }

  async flushOnce() {
    this.state.flushing = true;
    this.onChange();
    for (;;) {
      const entries = await pendingEntries(this.db, this.vault);
      if (entries.length === 0) break;
      const batch = [];
      let bytes = 0;
      for (const e of entries.slice(0, this.batchSize)) {
        const size = JSON.stringify(e.op).length;
        if (batch.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
        batch.push(e);
        bytes += size;
      }
      const sentAt = this.now();
      let answer;
      try {
        answer = await this.api.push(
          this.session.device_id,
          batch.map((e) => e.op),
          new Date(sentAt).toISOString(),
        );
      } catch (error) {
        this.state.lastError = error.code || String(error);
        if (error.status === 401) {
          this.authLost(error.code);
          return;
        }
        if (error.status === 413 && this.batchSize > 1) {
          this.batchSize = Math.max(1, Math.floor(batch.length / 2));
        }
        await noteAttempt(this.db, batch.map((e) => e.seq), error.code || "error");
        this.scheduleRetry(error.retryAfterS);
        return;
      }
      this.pushAttempt = 0;
      this.state.lastError = null;
      await this.noteClock(sentAt, this.now(), answer.server_time);
      const counts = await applyResults(this.db, answer.results || []);
      await this.markSynced();
      this.onChange();
      // An answer that settles none of what we sent would loop for ever: try again later.
      if (counts.delivered + counts.rejected === 0) {
        this.scheduleRetry(null);
        return;
      }
    }
    await this.uploadBlobs();
  }

  /** Attachments go after the ops that refer to them: an op never waits for its file. */
  async uploadBlobs() {
    const blobs = await this.db.getAll("blobs");
    for (const stored of blobs) {
      if (stored.failed) continue;
      const b = await openBlob(this.vault, stored);
      try {
        await this.api.putBlob(b.sha256, b.blob);
        await this.db.delete("blobs", b.sha256);
      } catch (error) {
        if (error.status === 422) {
          await this.db.put("blobs", { ...stored, failed: error.code });
        } else if (error.status === 401) {
          this.authLost(error.code);
          return;
        } else {
          this.scheduleRetry(error.retryAfterS);
          return;
        }
      }
      this.onChange();
    }
  }

  scheduleRetry(retryAfterS) {
    if (!this.running) return;
    const jitter = fullJitter(this.pushAttempt++, { random: this.random });
    const delay = Math.max(jitter, (retryAfterS || 0) * 1000);
    this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = this.timers.setTimeout(() => this.flush(), delay);
    this.state.nextRetryAt = this.now() + delay;
  }

  authLost(code = ERROR.UNAUTHENTICATED) {
    if (!this.running) return;
    this.stop();
    this.onAuthLost(code);
  }

  // --- WebSocket -------------------------------------------------------------------------

  connect() {
    if (!this.running || this.ws || !this.WebSocketImpl || !this.wsUrl) return;
    let ws;
    try {
      ws = new this.WebSocketImpl(this.wsUrl);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.lastHeard = this.now();
    ws.onopen = async () => {
      const cursor = await getMeta(this.db, "cursor", "");
      this.helloSentAt = this.now();
      ws.send(JSON.stringify({ type: "hello", token: this.session.token, cursor }));
    };
    ws.onmessage = (event) => {
      this.lastHeard = this.now();
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      // Frames are handled one after another: a cursor is stored only after its changes.
      this.inbox = this.inbox.then(() => this.handle(message)).catch(() => {});
    };
    ws.onerror = () => {};
    ws.onclose = (event) => this.closed(ws, event.code, event.reason);
  }

  closed(ws, code, reason = "") {
    if (this.ws !== ws) return;
    this.ws = null;
    this.stopHeartbeat();
    this.state.connected = false;
    this.onChange();
    if (code === CLOSE.UNAUTHORIZED) {
      this.authLost(unauthorizedCloseCode(reason));
      return;
    }
    this.scheduleReconnect();
  }

  async handle(message) {
    switch (message.type) {
      case "welcome":
        this.state.connected = true;
        this.wsAttempt = 0;
        await this.noteClock(this.helloSentAt, this.now(), message.server_time);
        this.startHeartbeat();
        this.onChange();
        this.flush(); // the network is back: send what waited
        break;
      case "changes":
        await applyChanges(this.db, message.changes || [], message.cursor, {
          reset: Boolean(message.reset),
          vault: this.vault,
        });
        await this.markSynced();
        this.onChange();
        break;
      case "pong":
        await this.noteClock(this.pingSentAt, this.now(), message.server_time);
        break;
      default:
        break;
    }
  }

  startHeartbeat() {
    this.stopHeartbeat();
    this.heartbeat = this.timers.setInterval(() => {
      const ws = this.ws;
      if (!ws) return;
      if (this.now() - this.lastHeard > 2 * this.heartbeatMs) {
        // Nothing heard for two beats: the link is dead even if the socket does not know.
        this.closed(ws, CLOSE.NO_ANSWER);
        try {
          ws.close();
        } catch {
          /* ignore */
        }
        return;
      }
      this.pingSentAt = this.now();
      try {
        ws.send(JSON.stringify({ type: "ping" }));
      } catch {
        /* close follows */
      }
    }, this.heartbeatMs);
  }

  stopHeartbeat() {
    if (this.heartbeat) this.timers.clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  scheduleReconnect() {
    if (!this.running) return;
    const delay = fullJitter(this.wsAttempt++, { baseMs: 1000, capMs: 30000, random: this.random });
    this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = this.timers.setTimeout(async () => {
      await this.pull().catch(() => {});
      this.connect();
    }, delay);
  }

  /** HTTP pull from our cursor until the feed has no more: the fallback while the socket is down. */
  async pull() {
    for (let page = 0; page < 1000; page++) {
      const cursor = await getMeta(this.db, "cursor", "");
      let answer;
      try {
        answer = await this.api.pull(cursor);
      } catch (error) {
        if (error.status === 401) this.authLost(error.code);
        throw error;
      }
      await applyChanges(this.db, answer.changes || [], answer.cursor, {
        reset: Boolean(answer.reset),
        vault: this.vault,
      });
      await this.markSynced();
      this.onChange();
      if (!answer.more) return;
    }
  }
}
