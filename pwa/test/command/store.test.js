// What the command view holds and how live changes apply to it (command/store.js).
import { beforeEach, describe, expect, it } from "vitest";
import {
  applyChanges,
  clockNow,
  fieldStations,
  isOverdue,
  mayDispatch,
  mayResolve,
  noteServerTime,
  openReviewItems,
  personName,
  putIncident,
  putReview,
  resetStore,
  serverNow,
  stationName,
  store,
  subscribe,
} from "../../command/store.js";

const T0 = Date.parse("2026-11-27T02:00:00Z");
const at = (minutes) => new Date(T0 + minutes * 60_000).toISOString();
const incident = (id, fields = {}) => ({ id, number: `J${id}`, version: 1, status: "dispatched", clocks: {}, ...fields });
const change = (pos, entity, data) => ({ pos, entity, id: data.id, data });

beforeEach(() => {
  resetStore();
  store.me = null;
  store.stations = [];
  store.stationsById = new Map();
  store.people = new Map();
  store.serverOffsetMs = 0;
});

describe("incidents on the board", () => {
  it("holds open incidents and lets a closed or cancelled one leave", () => {
    putIncident(incident("a", { status: "received" }));
    putIncident(incident("b"));
    expect([...store.incidents.keys()]).toEqual(["a", "b"]);
    putIncident(incident("a", { status: "closed", version: 2 }));
    putIncident(incident("b", { status: "cancelled", version: 2 }));
    expect(store.incidents.size).toBe(0);
  });

  it("never lets a record go backwards: an older version loses", () => {
    expect(putIncident(incident("a", { version: 3, address: "new" }))).toBe(true);
    expect(putIncident(incident("a", { version: 2, address: "old" }))).toBe(false);
    expect(store.incidents.get("a").address).toBe("new");
    expect(putIncident(incident("a", { version: 3, address: "same version, later read" }))).toBe(true);
  });
});

describe("feed changes", () => {
  it("applies incidents and review items, marks touched incidents, and tells subscribers", () => {
    store.reviewsListed = true;
    const told = [];
    const off = subscribe((what) => told.push(what));
    const touched = applyChanges([
      change(1, "incident", incident("a")),
      change(2, "review", { id: "r1", incident_id: "a", state: "open", kind: "late" }),
      change(3, "event", { id: "e1", incident_id: "b", type: "note" }),
    ]);
    off();
    expect([...touched].sort()).toEqual(["a", "b"]);
    expect(store.incidents.has("a")).toBe(true);
    expect([...store.reviews.keys()]).toEqual(["r1"]);
    expect(told).toEqual([{ kind: "changes", touched }]);
    applyChanges([change(4, "review", { id: "r1", incident_id: "a", state: "resolved" })]);
    expect(store.reviews.size).toBe(0);
    expect(told).toHaveLength(1); // unsubscribed
  });

  it("counts a change seen twice (a reconnect must resume, not replay)", () => {
    applyChanges([change(1, "incident", incident("a")), change(2, "incident", incident("b"))]);
    applyChanges([change(2, "incident", incident("b")), change(3, "incident", incident("c"))]);
    expect(store.stats).toEqual({ changes: 4, duplicates: 1, lastPos: 3 });
  });

  it("a reset starts again from nothing", () => {
    store.reviewsListed = true;
    applyChanges([change(7, "incident", incident("old")), change(8, "review", { id: "r", state: "open" })]);
    applyChanges([change(1, "incident", incident("new"))], { reset: true });
    expect([...store.incidents.keys()]).toEqual(["new"]);
    expect(store.reviews.size).toBe(0);
    expect(store.stats.duplicates).toBe(0);
  });

  it("keeps review items only for those who list the queue", () => {
    putReview({ id: "r", state: "open" });
    expect(store.reviews.size).toBe(0);
  });
});

describe("the review queue", () => {
  it("is the listed queue for a supervisor", () => {
    store.reviewsListed = true;
    putReview({ id: "r1", state: "open", kind: "late" });
    expect(openReviewItems().map((r) => r.id)).toEqual(["r1"]);
  });

  it("is built from the open items on open incidents for a dispatcher", () => {
    putIncident(incident("a", { review_items: [{ id: "r1", state: "open" }, { id: "r2", state: "resolved" }] }));
    putIncident(incident("b", { review_items: [{ id: "r3", state: "open" }] }));
    expect(openReviewItems()).toEqual([
      { id: "r1", state: "open", incident_id: "a" },
      { id: "r3", state: "open", incident_id: "b" },
    ]);
  });
});

describe("clocks", () => {
  it("runs until its due time, then is overdue at that second", () => {
    const clock = { due_at: at(10), met_at: null, state: "running" };
    expect(clockNow(clock, T0)).toEqual({ state: "running", msLeft: 600_000 });
    expect(clockNow(clock, T0 + 600_000).state).toBe("running");
    expect(clockNow(clock, T0 + 600_001)).toEqual({ state: "overdue", msLeft: -1 });
  });

  it("believes the server when it already says overdue", () => {
    expect(clockNow({ due_at: at(10), state: "overdue" }, T0).state).toBe("overdue");
  });

  it("is met or met late once met, not started without a due time, none without a clock", () => {
    expect(clockNow({ due_at: at(-5), met_at: at(-6), state: "met" }, T0)).toEqual({ state: "met", msLeft: null });
    expect(clockNow({ due_at: at(-5), met_at: at(-1), state: "met_late" }, T0).state).toBe("met_late");
    expect(clockNow({ due_at: null, met_at: null, state: "pending" }, T0).state).toBe("not_started");
    expect(clockNow(undefined, T0).state).toBe("none");
  });

  it("an incident is overdue when any of its clocks is", () => {
    const i = incident("a", { clocks: { arrival: { due_at: at(-1) }, clear: { due_at: at(600) } } });
    expect(isOverdue(i, T0)).toBe(true);
    expect(isOverdue(incident("b", { clocks: { clear: { due_at: at(600) } } }), T0)).toBe(false);
    expect(isOverdue(incident("c", { clocks: undefined }), T0)).toBe(false);
  });

  it("counts on the server's clock, whatever the desk's clock says", () => {
    noteServerTime(new Date(Date.now() + 3_600_000).toISOString());
    expect(serverNow() - Date.now()).toBeGreaterThan(3_590_000);
    expect(serverNow() - Date.now()).toBeLessThan(3_610_000);
    noteServerTime("not a time");
    expect(store.serverOffsetMs).toBeGreaterThan(3_590_000); // a bad value changes nothing
  });
});

describe("names and roles", () => {
  it("names people and stations, or shows a short id", () => {
    store.people = new Map([["p1", { id: "p1", name: "张伟" }]]);
    store.stationsById = new Map([["s1", { id: "s1", name: "城关派出所" }]]);
    expect(personName("p1")).toBe("张伟");
    expect(personName("0123456789abcdef")).toBe("01234567");
    expect(personName(null)).toBe("");
    expect(stationName("s1")).toBe("城关派出所");
    expect(stationName("fedcba9876543210")).toBe("fedcba98");
  });

  it("lets dispatchers and admins dispatch, supervisors and admins resolve", () => {
    const roles = ["dispatcher", "supervisor", "admin", "officer"];
    expect(roles.filter((role) => mayDispatch({ role }))).toEqual(["dispatcher", "admin"]);
    expect(roles.filter((role) => mayResolve({ role }))).toEqual(["supervisor", "admin"]);
    expect(mayDispatch(null)).toBe(false);
  });

  it("never offers the command center itself as a station to send a unit to", () => {
    const stations = [{ id: "c", kind: "command_center" }, { id: "s", kind: "police_station" }, { id: "j", kind: "joint_service_post" }];
    expect(fieldStations(stations).map((s) => s.id)).toEqual(["s", "j"]);
  });
});
