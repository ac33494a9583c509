// The live feed (command/live.js) against a scripted socket: the server is the edge of the
// world here (tests/browser/test_command.py runs the real one). Timers fire by hand.
import { beforeEach, describe, expect, it } from "vitest";
import { LiveFeed } from "../../command/live.js";

/** Timers the test fires by hand. */
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
    pending() {
      return [...timers.values()].filter((t) => !t.every).map((t) => t.ms);
    },
    intervals() {
      return [...timers.values()].filter((t) => t.every).map((t) => t.ms);
    },
    /** Fire the one-shot timers due within `ms` (all of them by default). */
    fire(ms = Infinity) {
      for (const [key, t] of [...timers]) {
        if (!t.every && t.ms <= ms) {
          timers.delete(key);
          t.fn();
        }
      }
    },
    tickIntervals() {
      for (const t of [...timers.values()]) if (t.every) t.fn();
    },
  };
}

/** A WebSocket the test drives: it records what was sent and how it was closed. */
class ScriptedSocket {
  static opened = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.closedWith = null;
    ScriptedSocket.opened.push(this);
  }
  send(text) {
    this.sent.push(JSON.parse(text));
  }
  close(code) {
    this.closedWith = code;
  }
  // --- the server's side
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  frame(message) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop(code, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

let timers;
let events;
const latest = () => ScriptedSocket.opened.at(-1);

function feed(extra = {}) {
  const live = new LiveFeed({
    url: "ws://server/api/sync/ws",
    token: () => "tok",
    cursor: "e1.10",
    WebSocketImpl: ScriptedSocket,
    timers,
    random: () => 0.5,
    onChanges: (changes, info) => events.push(["changes", changes.map((c) => c.pos), info.reset]),
    onState: (state) => events.push(["state", state]),
    onServerTime: (time) => events.push(["time", time]),
    onUnauthorized: (code) => events.push(["unauthorized", code]),
    ...extra,
  });
  live.start();
  return live;
}

/** Open the latest socket and welcome it. */
function welcome() {
  latest().open();
  latest().frame({ type: "welcome", server_time: "2026-11-27T02:00:00Z" });
}

beforeEach(() => {
  timers = manualTimers();
  events = [];
  ScriptedSocket.opened = [];
});

describe("the live feed", () => {
  it("says hello with the snapshot's cursor, and is live on welcome", () => {
    feed();
    expect(latest().url).toBe("ws://server/api/sync/ws");
    latest().open();
    expect(latest().sent).toEqual([{ type: "hello", token: "tok", cursor: "e1.10" }]);
    latest().frame({ type: "welcome", server_time: "2026-11-27T02:00:00Z" });
    expect(events).toEqual([["state", "live"], ["time", "2026-11-27T02:00:00Z"]]);
    expect(timers.intervals()).toEqual([15_000]); // the ping
  });

  it("moves the cursor only after a frame's changes were handed over, and resumes from it", () => {
    const live = feed();
    welcome();
    latest().frame({ type: "changes", changes: [{ pos: 11 }, { pos: 12 }], cursor: "e1.12" });
    expect(live.cursor).toBe("e1.12");
    latest().frame({ type: "changes", changes: [], cursor: "e1.12", reset: true });
    expect(events.filter((e) => e[0] === "changes")).toEqual([["changes", [11, 12], false], ["changes", [], true]]);

    latest().drop(1006);
    expect(live.state).toBe("reconnecting");
    timers.fire();
    expect(ScriptedSocket.opened).toHaveLength(2);
    latest().open();
    expect(latest().sent[0]).toEqual({ type: "hello", token: "tok", cursor: "e1.12" });
  });

  it("a change handler that throws does not move the cursor", () => {
    const live = feed({ onChanges: () => { throw new Error("boom"); } });
    welcome();
    expect(() => latest().frame({ type: "changes", changes: [{ pos: 11 }], cursor: "e1.11" })).toThrow("boom");
    expect(live.cursor).toBe("e1.10");
  });

  it("backs off with full jitter between reconnects, and starts over after a welcome", () => {
    feed();
    const delays = [];
    for (let n = 0; n < 8; n++) {
      latest().drop(1006);
      delays.push(...timers.pending());
      timers.fire();
    }
    // random() = 0.5 of min(15 s, 0.5 s · 2^n)
    expect(delays).toEqual([250, 500, 1000, 2000, 4000, 7500, 7500, 7500]);
    welcome();
    latest().drop(1006);
    expect(timers.pending()).toEqual([250]);
  });

  it("comes straight back when the server says it fell too far behind (4408)", () => {
    feed();
    welcome();
    latest().drop(4408);
    expect(timers.pending()).toEqual([0]);
  });

  it("stops for good and signs out on 4401", () => {
    const live = feed();
    welcome();
    latest().drop(4401, "token revoked or expired");
    expect(events.slice(-2)).toEqual([["state", "offline"], ["unauthorized", "unauthenticated"]]);
    expect(timers.pending()).toEqual([]);
    expect(live.stopped).toBe(true);
  });

  it("tells an expired token from a revoked one by the 4401's reason", () => {
    feed();
    welcome();
    latest().drop(4401, "token expired");
    expect(events.at(-1)).toEqual(["unauthorized", "token_expired"]);
  });

  it("treats a link with no welcome or no pong in 10 s as dead", () => {
    feed();
    latest().open();
    expect(timers.pending()).toEqual([10_000]);
    timers.fire();
    expect(latest().closedWith).toBe(4000);

    latest().drop(4000);
    timers.fire(); // reconnect
    welcome();
    timers.tickIntervals(); // the 15 s ping
    expect(latest().sent.at(-1)).toEqual({ type: "ping" });
    latest().frame({ type: "pong", server_time: "2026-11-27T02:00:15Z" });
    expect(timers.pending()).toEqual([]); // a pong clears the deadline
    timers.tickIntervals();
    timers.fire();
    expect(latest().closedWith).toBe(4000);
  });

  it("waits while the browser is offline and reconnects at once when it is back", () => {
    const live = feed();
    welcome();
    const first = latest();
    live.pause();
    expect(first.closedWith).toBe(1000);
    expect(live.state).toBe("offline");
    first.drop(1000); // the close the browser reports later changes nothing
    expect(timers.pending()).toEqual([]);
    live.resume();
    expect(ScriptedSocket.opened).toHaveLength(2);
    expect(live.state).toBe("reconnecting");
  });

  it("ignores frames from a socket it has already replaced", () => {
    const live = feed();
    welcome();
    const old = latest();
    old.drop(1006);
    timers.fire();
    old.frame({ type: "changes", changes: [{ pos: 99 }], cursor: "e1.99" });
    expect(live.cursor).toBe("e1.10");
  });
});
