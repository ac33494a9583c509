// What the command view holds and how live changes apply to it (command/store.js).
import { beforeEach, describe, expect, it } from "vitest";
import {
  applyChanges,
  boardRow,
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

// A full record as the feed and GET /api/incidents/{id} carry it (PROTOCOL §7).
const fullRecord = (fields = {}) => ({
  id: "f1",
  number: "J20261127-0001",
  bureau_id: "bu",
  status: "dispatched",
  version: 4,
  category: "dispute",
  area_type: "urban",
  address: "人民路18号",
  lat: 30.1,
  lon: 120.2,
  caller_name: "张三",
  caller_phone: "13812345678",
  narrative: "邻里纠纷",
  received_at: at(0),
  received_back_entered: false,
  station_id: "st-a",
  dispatched_at: at(1),
  closed_at: null,
  cancelled_at: null,
  close_summary: null,
  cancel_reason: null,
  assignees: [{ person_id: "p1", name: "李警官", station_id: "st-a", assigned_at: at(1) }],
  clocks: { arrival: { due_at: at(11), met_at: null, state: "running" } },
  records: [{ record_id: "r", type: "scene_report" }],
  attachments: { abc: "stored" },
  review_items: [
    { id: "ri1", kind: "late", clock: null, op_id: "o1", record_id: null, state: "open" },
    { id: "ri2", kind: "late", clock: null, op_id: "o2", record_id: null, state: "resolved" },
  ],
  point_checks: [],
  no_callback: false,
  feedback: [],
  updated_at: at(2),
  diversion: null,
  diversions_returned: 0,
  returned_reason: null,
  supervision: [
    { id: "s1", level: "bureau", state: "open", due_at: at(120), clock_state: "running" },
    { id: "s2", level: "station", state: "accepted", due_at: at(60), clock_state: "met" },
  ],
  case: null,
  three_feedbacks: { arrival: false, scene: false, disposition: false },
  ...fields,
});

describe("board rows from full records", () => {
  it("keeps what the board shows and nothing else: no caller data, no records", () => {
    const row = boardRow(fullRecord());
    expect(Object.keys(row).sort()).toEqual(
      [
        "id", "number", "status", "version", "category", "area_type", "address", "narrative",
        "received_at", "received_back_entered", "station_id", "assignees", "clocks",
        "review_items", "supervision", "diversion", "diversions_returned", "returned_reason",
      ].sort(),
    );
    expect(JSON.stringify(row)).not.toMatch(/张三|13812345678|caller_|scene_report/);
    expect(row.assignees).toEqual([{ person_id: "p1", name: "李警官" }]);
    expect(row.review_items.map((r) => r.id)).toEqual(["ri1"]);
    expect(row.supervision.map((r) => r.id)).toEqual(["s1"]);
    expect(row.clocks).toEqual(fullRecord().clocks);
  });

  it("a board row is its own row (GET /api/board's rows go in as they are)", () => {
    const row = boardRow(fullRecord({ diversion: { agency_id: "ag", agency_name: "住建局", diverted_at: at(3), instructions: "x", person_ids: [], acknowledged_at: null, feedback: null } }));
    expect(row.diversion).toEqual({ agency_id: "ag", agency_name: "住建局" });
    expect(boardRow(row)).toEqual(row);
  });

  it("a full record over the feed replaces the board's row, held as a row", () => {
    putIncident(boardRow(fullRecord()));
    applyChanges([change(1, "incident", fullRecord({ version: 5, address: "新地址", review_items: [] }))]);
    const held = store.incidents.get("f1");
    expect(held).toEqual(boardRow(fullRecord({ version: 5, address: "新地址", review_items: [] })));
    expect(held.caller_name).toBeUndefined();
    // An older full record (a panel's GET read before the change) loses.
    expect(putIncident(fullRecord({ version: 4 }))).toBe(false);
    expect(store.incidents.get("f1").address).toBe("新地址");
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
