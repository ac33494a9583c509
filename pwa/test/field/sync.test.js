// The sync loop with a real IndexedDB (fake-indexeddb) and a fake server at the edge: the
// server is the one thing outside the app, so a scripted one stands in for it here; the
// browser tests run the real one.
import "fake-indexeddb/auto";
import { beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../../core/api.js";
import { getMeta, openAppDb } from "../../field/db.js";
import { buildOp } from "../../field/model.js";
import { pendingEntries, record, rejectedEntries } from "../../field/outbox.js";
import { applyChanges, SyncLoop } from "../../field/sync.js";

/** Timers the test fires by hand: no real waiting, no timed assertions. */
function manualTimers() {
  const timers = new Map();
  let id = 0;
  return {
    setTimeout(fn, ms) {
      timers.set(++id, { fn, ms });
      return id;
    },
    clearTimeout(x) {
      timers.delete(x);
    },
    setInterval(fn, ms) {
      timers.set(++id, { fn, ms, every: true });
      return id;
    },
    clearInterval(x) {
      timers.delete(x);
    },
    pending: () => [...timers.values()].filter((t) => !t.every),
    async fire() {
      const due = [...timers.entries()].filter(([, t]) => !t.every);
      for (const [k, t] of due) {
        timers.delete(k);
        await t.fn();
      }
    },
  };
}

/** A server that holds ops by op_id like PROTOCOL §3, with scripted failures. */
function fakeServer() {
  const held = new Map();
  const server = {
    pushes: [],
    failNext: [],
    rejectTypes: new Set(),
    loseAnswerNext: 0,
    held,
    async push(deviceId, ops) {
      server.pushes.push(ops.map((o) => o.seq));
      const failure = server.failNext.shift();
      if (failure) throw failure;
      const results = ops.map((op) => {
        if (server.rejectTypes.has(op.type))
          return { op_id: op.op_id, status: "rejected", code: "invalid", message: "bad body" };
        if (held.has(op.op_id)) return { op_id: op.op_id, status: "duplicate" };
        held.set(op.op_id, op);
        return { op_id: op.op_id, status: "applied" };
      });
      if (server.loseAnswerNext > 0) {
        server.loseAnswerNext -= 1;
        throw new ApiError(0, "network", "connection reset after the server committed");
      }
      return { server_time: new Date().toISOString(), acked_seq: 0, cursor: "e.1", results };
    },
    async putBlob() {
      return null;
    },
    async pull() {
      return { changes: [], cursor: "e.1", more: false };
    },
  };
  return server;
}

let db;
let n = 0;
let timers;
let server;
beforeEach(async () => {
  db = await openAppDb(`sync-test-${++n}`);
  timers = manualTimers();
  server = fakeServer();
});

function loop(extra = {}) {
  const l = new SyncLoop({
    db,
    api: server,
    session: { token: "t", device_id: "d1" },
    WebSocketImpl: null,
    timers,
    random: () => 0.5,
    ...extra,
  });
  l.running = true;
  return l;
}

const note = (text) => buildOp("note", { text }, { incidentId: "inc-1" });

describe("sync loop", () => {
  it("sends every pending op in seq order and empties the outbox", async () => {
    for (const x of ["a", "b", "c", "d", "e"]) await record(db, note(x));
    await loop({ batchSize: 2 }).flush();
    expect(server.pushes).toEqual([[1, 2], [3, 4], [5]]);
    expect(await pendingEntries(db)).toEqual([]);
    expect(await getMeta(db, "last_synced")).not.toBeNull();
  });

  it("keeps ops through a failed push and retries them on the backoff timer", async () => {
    await record(db, note("a"));
    await record(db, note("b"));
    server.failNext.push(new ApiError(0, "network", "offline"));
    const sync = loop();
    await sync.flush();
    expect((await pendingEntries(db)).map((e) => e.seq)).toEqual([1, 2]);
    expect((await pendingEntries(db))[0].attempts).toBe(1);
    expect(timers.pending()).toHaveLength(1);
    await timers.fire();
    await sync.flushing;
    expect(await pendingEntries(db)).toEqual([]);
    expect(server.pushes).toEqual([[1, 2], [1, 2]]);
  });

  it("honours Retry-After from a 503", async () => {
    await record(db, note("a"));
    server.failNext.push(new ApiError(503, "unavailable", "busy", 30));
    await loop().flush();
    expect(timers.pending()[0].ms).toBeGreaterThanOrEqual(30000);
  });

  it("an answer lost on the way back: the op is sent again and the duplicate clears it", async () => {
    const a = await record(db, note("a"));
    server.loseAnswerNext = 1;
    const sync = loop();
    await sync.flush();
    expect((await pendingEntries(db)).map((e) => e.op.op_id)).toEqual([a.op_id]);
    await timers.fire();
    await sync.flushing;
    expect(await pendingEntries(db)).toEqual([]);
    expect(server.held.size).toBe(1); // applied once, acknowledged as a duplicate
  });

  it("a rejected op stays visible with its reason and does not block the others", async () => {
    await record(db, note("a"));
    await record(db, buildOp("arrival", { lat: 999 }, { incidentId: "inc-1" }));
    await record(db, note("c"));
    server.rejectTypes.add("arrival");
    await loop().flush();
    expect(await pendingEntries(db)).toEqual([]);
    const rejected = await rejectedEntries(db);
    expect(rejected.map((e) => [e.seq, e.code])).toEqual([[2, "invalid"]]);
    // Not sent again: a retry cannot fix it.
    await record(db, note("d"));
    await loop().flush();
    expect(server.pushes.at(-1)).toEqual([4]);
  });

  it("ops recorded while a push is in flight go out in a following push", async () => {
    await record(db, note("a"));
    const sync = loop();
    const first = sync.flush();
    await record(db, note("b"));
    sync.flush();
    await first;
    await sync.flushing;
    expect(await pendingEntries(db)).toEqual([]);
    expect(server.pushes.flat()).toEqual([1, 2]);
  });

  it("a 401 stops the loop and reports the lost session, keeping the outbox", async () => {
    await record(db, note("a"));
    server.failNext.push(new ApiError(401, "unauthenticated", "revoked"));
    let lost = false;
    await loop({ onAuthLost: () => (lost = true) }).flush();
    expect(lost).toBe(true);
    expect(await pendingEntries(db)).toHaveLength(1);
    expect(timers.pending()).toHaveLength(0);
  });

  it("a 401 token_expired is reported as such (the sign-in screen says the session expired)", async () => {
    await record(db, note("a"));
    server.failNext.push(new ApiError(401, "token_expired", "idle too long"));
    const lost = [];
    await loop({ onAuthLost: (code) => lost.push(code) }).flush();
    expect(lost).toEqual(["token_expired"]);
    expect(await pendingEntries(db)).toHaveLength(1);
  });
});

describe("feed changes", () => {
  it("stores incidents, keeps the newer version, and stores the cursor with them", async () => {
    const inc = { id: "i1", version: 3, status: "dispatched" };
    await applyChanges(db, [{ pos: 1, entity: "incident", id: "i1", data: inc }], "e.1");
    await applyChanges(db, [{ pos: 2, entity: "incident", id: "i1", data: { ...inc, version: 2 } }], "e.2");
    expect((await db.get("incidents", "i1")).version).toBe(3);
    expect(await getMeta(db, "cursor")).toBe("e.2");
  });

  it("a reset drops what came from the server but never what waits to be sent", async () => {
    await applyChanges(db, [{ pos: 1, entity: "incident", id: "i1", data: { id: "i1", version: 1 } }], "e.1");
    const mine = await record(db, note("mine"));
    await applyChanges(db, [], "f.0", { reset: true });
    expect(await db.get("incidents", "i1")).toBeUndefined();
    expect(await db.get("records", mine.op_id)).toBeDefined();
    expect(await pendingEntries(db)).toHaveLength(1);
  });
});

describe("WebSocket", () => {
  class FakeSocket {
    static last = null;
    constructor(url) {
      this.url = url;
      this.sent = [];
      FakeSocket.last = this;
    }
    send(data) {
      this.sent.push(JSON.parse(data));
    }
    close() {}
    async receive(message) {
      this.onmessage({ data: JSON.stringify(message) });
    }
  }

  it("says hello with the stored cursor and stores changes after them; reconnects after a close", async () => {
    await applyChanges(db, [], "e.7");
    const sync = loop({ WebSocketImpl: FakeSocket, wsUrl: "ws://x/api/sync/ws" });
    sync.connect();
    const ws = FakeSocket.last;
    await ws.onopen();
    expect(ws.sent[0]).toEqual({ type: "hello", token: "t", cursor: "e.7" });
    await ws.receive({ type: "welcome", server_time: new Date().toISOString() });
    await ws.receive({
      type: "changes",
      cursor: "e.8",
      changes: [{ pos: 8, entity: "incident", id: "i9", data: { id: "i9", version: 1 } }],
    });
    await sync.inbox;
    expect(sync.state.connected).toBe(true);
    expect(await db.get("incidents", "i9")).toBeDefined();
    expect(await getMeta(db, "cursor")).toBe("e.8");
    ws.onclose({ code: 1006 });
    expect(sync.state.connected).toBe(false);
    await timers.fire(); // the reconnect timer: a pull, then a new socket
    expect(FakeSocket.last).not.toBe(ws);
    await FakeSocket.last.onopen();
    expect(FakeSocket.last.sent[0].cursor).toBe("e.1"); // the pull's cursor
  });

  it("4401 means the token ended (revoked or expired): no reconnect", async () => {
    const lost = [];
    const sync = loop({ WebSocketImpl: FakeSocket, wsUrl: "ws://x", onAuthLost: (code) => lost.push(code) });
    sync.connect();
    FakeSocket.last.onclose({ code: 4401, reason: "token revoked or expired" });
    expect(lost).toEqual(["unauthenticated"]);
    expect(timers.pending()).toHaveLength(0);
    const again = loop({ WebSocketImpl: FakeSocket, wsUrl: "ws://x", onAuthLost: (code) => lost.push(code) });
    again.connect();
    FakeSocket.last.onclose({ code: 4401, reason: "token expired" });
    expect(lost).toEqual(["unauthenticated", "token_expired"]);
  });
});
