// PROTOCOL §11 on the phone: supervision orders and notices from the feed kept in IndexedDB
// (sealed with a PIN set, latest copy wins, cleared on a reset), what the phone shows of
// them with its own queued replies, the ops' shapes, cases, 三反馈 and the follow-up rule.
import "fake-indexeddb/auto";
import { beforeEach, describe, expect, it } from "vitest";
import { openAppDb } from "../../field/db.js";
import { buildOp } from "../../field/model.js";
import { pendingEntries, record } from "../../field/outbox.js";
import { setPin } from "../../field/pin.js";
import { allMediationViews, loadSnapshot } from "../../field/snapshot.js";
import {
  canRectify, canReply, caseProgressBody, caseView, dueFollowUps, isCase, noticeView, orderClock, orderView,
  ordersOfIncident, rectificationBody, replyBody, replyOptions, shanghaiToday, sortOrders, threeFeedbacks,
  unseenCounts,
} from "../../field/supervision.js";
import { applyChanges } from "../../field/sync.js";
import { setLang } from "../../field/i18n.js";
import { LevelTag, OrderClock } from "../../field/screens/desk.js";
import { Nav } from "../../field/screens/nav.js";
import { Work } from "../../field/screens/work.js";
import { createVault } from "../../field/vault.js";
import { dumpDatabase } from "./idb-dump.js";

const CHIEF = { id: "chief", role: "station_chief", station_id: "st-1" };
const OFFICER = { id: "off", role: "officer", station_id: "st-1" };
const OTHER_CHIEF = { id: "chief2", role: "station_chief", station_id: "st-2" };

function order(over = {}) {
  return {
    id: "o1", incident_id: "inc-1", number: "J20261130001", station_id: "st-1", level: "bureau",
    instructions: "三日内查明并回复", due_at: "2026-12-02T10:00:00Z", issued_by: "sup", issued_at: "2026-11-30T10:00:00Z",
    state: "open", clock: { due_at: "2026-12-02T10:00:00Z", met_at: null, state: "running" },
    reply: null, replies: [], rejections: [], accepted_at: null, accepted_by: null, ...over,
  };
}

function notice(over = {}) {
  return {
    id: "n1", kind: "criticism", text: "多起警情未按时到场", station_ids: ["st-1", "st-2"],
    incidents: [{ incident_id: "inc-1", number: "J20261130001" }], rectify_by: "2026-12-07T10:00:00Z",
    issued_by: "sup", issued_at: "2026-11-30T10:00:00Z",
    stations: [
      { station_id: "st-1", name: "城关派出所", state: "owed", done_at: null, op_id: null, text: null },
      { station_id: "st-2", name: "河口派出所", state: "owed", done_at: null, op_id: null, text: null },
    ],
    ...over,
  };
}

const change = (pos, entity, data) => ({ pos, entity, id: data.id ?? data.op_id, data });

let db;
let n = 0;
beforeEach(async () => {
  db = await openAppDb(`supervision-${++n}`);
});

describe("orders and notices from the feed", () => {
  it("keeps them beside the incidents, split out in the snapshot, the latest copy winning", async () => {
    await applyChanges(db, [
      change(1, "incident", { id: "inc-1", version: 3, number: "J20261130001", status: "closed", records: [] }),
      change(2, "supervision", order()),
      change(3, "notice", notice()),
      change(4, "notice", notice()), // the copy for the second station: same id, same data
      change(5, "supervision", order({ state: "answered", replies: [{ op_id: "r1", person_id: "chief", text: "已处理", attachments: [], at: "2026-11-30T11:00:00Z" }] })),
    ], "c5");
    const snap = await loadSnapshot(db);
    expect(snap.incidents.map((i) => i.id)).toEqual(["inc-1"]);
    expect(snap.orders).toHaveLength(1);
    expect(snap.orders[0]).toMatchObject({ id: "o1", kind: "supervision", state: "answered" });
    expect(snap.notices).toHaveLength(1);
    expect(snap.notices[0]).toMatchObject({ id: "n1", kind: "criticism", text: "多起警情未按时到场" });
    expect(await db.get("incidents", "n1")).toMatchObject({ kind: "notice", notice_kind: "criticism" });
    expect(snap.byId.has("o1")).toBe(false);
  });

  it("forgets them on a reset like incidents", async () => {
    await applyChanges(db, [change(1, "supervision", order()), change(2, "notice", notice())], "c2");
    await applyChanges(db, [], "c0", { reset: true });
    const snap = await loadSnapshot(db);
    expect(snap.orders).toEqual([]);
    expect(snap.notices).toEqual([]);
  });

  it("seals them at rest once a PIN is set", async () => {
    const vault = createVault({ iterations: 1000 });
    await setPin(db, vault, "482913");
    await applyChanges(db, [change(1, "supervision", order()), change(2, "notice", notice())], "c2", { vault });
    const dump = JSON.stringify(await dumpDatabase(db));
    expect(dump).not.toContain("三日内查明并回复");
    expect(dump).not.toContain("多起警情未按时到场");
    const snap = await loadSnapshot(db, vault);
    expect(snap.orders[0].instructions).toBe("三日内查明并回复");
    expect(snap.notices[0].text).toBe("多起警情未按时到场");
  });

  it("files a rectification under its notice, not as a standalone mediation", async () => {
    const op = await record(db, buildOp("rectification", rectificationBody(notice(), "已整改"), { incidentId: null }));
    const stored = await db.get("records", op.op_id);
    expect(stored.parent).toBe("notice:n1");
    const snap = await loadSnapshot(db);
    expect(allMediationViews(snap)).toEqual([]);
  });
});

describe("the ops' shapes", () => {
  it("a reply names the order and goes on its incident", async () => {
    const o = order();
    const op = await record(db, buildOp("supervision_reply", replyBody(o, "已查明，已回访报警人", ["a".repeat(64)]), replyOptions(o)));
    expect(op).toMatchObject({
      type: "supervision_reply", incident_id: "inc-1", record_id: null, base_op_id: null,
      body: { order_id: "o1", text: "已查明，已回访报警人", attachments: ["a".repeat(64)] },
    });
    expect(Object.keys(op.body).sort()).toEqual(["attachments", "order_id", "text"]);
    const [entry] = await pendingEntries(db);
    expect(entry.op.incident_id).toBe("inc-1");
  });

  it("a rectification names the notice and no incident", () => {
    const op = buildOp("rectification", rectificationBody(notice(), "已组织全所整改"), { incidentId: null });
    expect(op.incident_id).toBeNull();
    expect(op.body).toEqual({ notice_id: "n1", text: "已组织全所整改", attachments: [] });
  });

  it("case progress: a trimmed case number and one of the four stages", () => {
    expect(caseProgressBody(" A2026-0017 ", "filed")).toEqual({ case_number: "A2026-0017", stage: "filed" });
    for (const stage of ["filed", "solved", "closed", "transferred"]) expect(caseProgressBody("X", stage).stage).toBe(stage);
    expect(() => caseProgressBody("  ", "filed")).toThrow(RangeError);
    expect(() => caseProgressBody("x".repeat(65), "filed")).toThrow(RangeError);
    expect(() => caseProgressBody("X", "accepted")).toThrow(RangeError);
  });
});

describe("who answers", () => {
  it("the chief of the order's station (or an agency's person for its own), nobody else", () => {
    expect(canReply(order(), CHIEF)).toBe(true);
    expect(canReply(order(), OFFICER)).toBe(false);
    expect(canReply(order(), OTHER_CHIEF)).toBe(false);
    expect(canReply(order({ station_id: "ag" }), { id: "a", role: "agency", station_id: "ag" })).toBe(true);
  });

  it("the chief of a named station, only when the notice asks for a rectification", () => {
    expect(canRectify(notice(), CHIEF)).toBe(true);
    expect(canRectify(notice(), OTHER_CHIEF)).toBe(true);
    expect(canRectify(notice(), OFFICER)).toBe(false);
    expect(canRectify(notice({ rectify_by: null }), CHIEF)).toBe(false);
    expect(canRectify(notice({ station_ids: ["st-2"] }), CHIEF)).toBe(false);
  });
});

describe("an order on the phone", () => {
  const reply = (opId, orderId = "o1", local = true) => ({
    op_id: opId, type: "supervision_reply", incident_id: "inc-1", body: { order_id: orderId, text: "已处理", attachments: [] },
    device_time: "2026-11-30T12:00:00Z", local,
  });

  it("reads answered at once when replied here, offline, and open again when the reply was refused", () => {
    const o = order();
    expect(orderView(o, []).state).toBe("open");
    const v = orderView(o, [reply("r1"), reply("x", "other")]);
    expect(v.state).toBe("answered");
    expect(v.server_state).toBe("open");
    expect(v.pending.op_id).toBe("r1");
    expect(orderView(o, [reply("r1")], new Set(["r1"])).state).toBe("open");
  });

  it("follows the server once it lists the reply: a rejection reopens it, acceptance closes it", () => {
    const listed = { op_id: "r1", person_id: "chief", text: "已处理", attachments: [], at: "2026-11-30T12:00:00Z" };
    const rejected = order({ state: "open", replies: [listed], rejections: [{ reason: "不够具体", by: "sup", at: "2026-11-30T13:00:00Z", reply_op_ids: ["r1"] }] });
    expect(orderView(rejected, [reply("r1")]).state).toBe("open");
    expect(orderView(rejected, [reply("r1")]).pending).toBeNull();
    const accepted = order({ state: "accepted", replies: [listed], reply: listed, clock: { due_at: "2026-12-02T10:00:00Z", met_at: listed.at, state: "met" } });
    expect(orderView(accepted, [reply("r1")]).state).toBe("accepted");
  });

  it("its clock: counts down on the server's clock, overdue when open past due, never while answered", () => {
    const due = Date.parse("2026-12-02T10:00:00Z");
    expect(orderClock(orderView(order()), due - 60000)).toMatchObject({ state: "running", ms: 60000 });
    expect(orderClock(orderView(order()), due - 60000, 120000).state).toBe("overdue");
    expect(orderClock(orderView(order(), [reply("r1")]), due + 60000).state).toBe("answered");
    expect(orderClock(orderView(order({ state: "accepted", clock: { due_at: "x", met_at: "y", state: "met_late" } })), due).state).toBe("met_late");
  });

  it("lists open first, 挂牌督办 before the station's own, newest first", () => {
    const views = sortOrders([
      order({ id: "a", level: "station", issued_at: "2026-11-30T12:00:00Z" }),
      order({ id: "b", level: "bureau", issued_at: "2026-11-30T09:00:00Z" }),
      order({ id: "c", state: "accepted", level: "bureau" }),
      order({ id: "d", level: "station", issued_at: "2026-11-30T13:00:00Z" }),
    ]);
    expect(views.map((v) => v.id)).toEqual(["b", "d", "a", "c"]);
  });

  it("on the incident: the record's refs, completed from the store when the phone holds the order", () => {
    const incident = { id: "inc-1", number: "J1", supervision: [
      { id: "o1", level: "bureau", state: "open", due_at: "2026-12-02T10:00:00Z", clock_state: "running" },
      { id: "o2", level: "station", state: "open", due_at: "2026-12-03T10:00:00Z", clock_state: "running" },
    ] };
    const list = ordersOfIncident(incident, [order()]);
    expect(list.map((o) => [o.id, Boolean(o.partial)])).toEqual([["o1", false], ["o2", true]]);
    expect(list[1].clock).toEqual({ due_at: "2026-12-03T10:00:00Z", state: "running" });
  });

  it("the badge counts orders and notices not opened here; accepted orders do not count", () => {
    const orders = [order({ id: "a" }), order({ id: "b" }), order({ id: "c", state: "accepted" })];
    expect(unseenCounts(orders, [notice()], {})).toEqual({ orders: 2, notices: 1 });
    expect(unseenCounts(orders, [notice()], { orders: ["a"], notices: ["n1"] })).toEqual({ orders: 1, notices: 0 });
  });
});

describe("a notice on the phone", () => {
  const rect = (opId) => ({ op_id: opId, type: "rectification", incident_id: null, body: { notice_id: "n1", text: "已整改", attachments: [] }, device_time: "2026-12-01T00:00:00Z", local: true });
  const before = Date.parse("2026-12-01T00:00:00Z");

  it("my station's state: owed, done here before the server says so, overdue past the deadline", () => {
    expect(noticeView(notice(), "st-1", [], new Set(), before)).toMatchObject({ state: "owed", owed: true, pending: null });
    const here = noticeView(notice(), "st-1", [rect("r1")], new Set(), before);
    expect(here).toMatchObject({ state: "done", owed: false });
    expect(here.pending.op_id).toBe("r1");
    expect(noticeView(notice(), "st-1", [rect("r1")], new Set(["r1"]), before).state).toBe("owed");
    expect(noticeView(notice(), "st-1", [], new Set(), Date.parse("2026-12-08T00:00:00Z")).state).toBe("overdue");
    const done = notice({ stations: [{ station_id: "st-1", name: "城关派出所", state: "done", done_at: "2026-12-01T00:00:00Z", op_id: "r1", text: "已整改" }] });
    expect(noticeView(done, "st-1", [rect("r1")], new Set(), before)).toMatchObject({ state: "done", pending: null });
  });

  it("a notice without rectify_by owes nothing; one not naming my station has no entry for me", () => {
    const briefing = notice({ kind: "briefing", rectify_by: null, stations: [{ station_id: "st-1", name: "城关派出所", state: null, done_at: null, op_id: null, text: null }] });
    expect(noticeView(briefing, "st-1")).toMatchObject({ state: null, owed: false });
    expect(noticeView(notice(), "st-9")).toMatchObject({ mine: null, state: null, owed: false });
  });
});

describe("cases", () => {
  const disp = (result, opId = "d1") => ({ op_id: opId, type: "disposition", incident_id: "inc-1", body: { result, summary: "" }, device_time: "2026-11-30T10:00:00Z" });
  const progress = (opId, stage, number = "A-1", time = "2026-11-30T11:00:00Z") => ({
    op_id: opId, type: "case_progress", incident_id: "inc-1", body: { case_number: number, stage }, device_time: time, local: true,
  });

  it("is a case with the record's accepted case, or a case_accepted disposition held here", () => {
    expect(isCase({ id: "inc-1", case: { accepted: true } })).toBe(true);
    expect(isCase({ id: "inc-1" }, [disp("resolved")])).toBe(false);
    expect(isCase({ id: "inc-1" }, [disp("case_accepted")])).toBe(true);
    expect(isCase({ id: "inc-1" }, [disp("case_accepted")], new Set(["d1"]))).toBe(false);
  });

  it("shows the record's stages, then progress recorded here that it does not list yet", () => {
    const incident = { id: "inc-1", case: { accepted: true, case_number: "A-1", stage: "filed", filed_at: "2026-11-30T10:30:00Z",
      stages: [{ stage: "filed", at: "2026-11-30T10:30:00Z", op_id: "p1" }] } };
    const view = caseView(incident, [progress("p1", "filed"), progress("p2", "solved", "A-1", "2026-11-30T12:00:00Z")]);
    expect(view.stages.map((s) => [s.stage, s.pending])).toEqual([["filed", false], ["solved", true]]);
    expect(view).toMatchObject({ accepted: true, case_number: "A-1", stage: "solved", filed_at: "2026-11-30T10:30:00Z" });
    expect(caseView({ id: "inc-1" }, [])).toBeNull();
    expect(caseView({ id: "inc-1" }, [progress("p9", "filed", "B-2")])).toMatchObject({ accepted: false, case_number: "B-2", stage: "filed" });
  });
});

describe("三反馈", () => {
  it("the record's answer, or-ed with what this phone holds (its queued ops too), rejected ones left out", () => {
    const incident = { id: "inc-1", three_feedbacks: { arrival: true, scene: false, disposition: false } };
    const fact = (type, opId) => ({ op_id: opId, type, incident_id: "inc-1", body: {}, local: true });
    expect(threeFeedbacks(incident, [])).toEqual({ arrival: "server", scene: null, disposition: null });
    expect(threeFeedbacks(incident, [fact("scene_report", "s1"), fact("disposition", "d1"), fact("note", "n1")], new Set(["d1"])))
      .toEqual({ arrival: "server", scene: "here", disposition: null });
    expect(threeFeedbacks({ id: "inc-1" }, [fact("arrival", "a1")])).toEqual({ arrival: "here", scene: null, disposition: null });
  });
});

describe("mediation follow-ups", () => {
  const view = (id, followUpOn, mediators = ["med"]) => ({ record_id: id, body: { dispute_type: "邻里", follow_up_on: followUpOn, mediator_ids: mediators } });

  it("today is the date in Asia/Shanghai, on the server's clock", () => {
    expect(shanghaiToday(Date.parse("2026-11-30T15:59:00Z"))).toBe("2026-11-30");
    expect(shanghaiToday(Date.parse("2026-11-30T16:00:00Z"))).toBe("2026-12-01");
    expect(shanghaiToday(Date.parse("2026-11-30T15:59:00Z"), 120000)).toBe("2026-12-01");
  });

  it("due when the head's date is on or before today, for its mediators, oldest first", () => {
    const views = [view("a", "2026-12-01"), view("b", "2026-11-28"), view("c", "2026-11-30"), view("d", null), view("e", "2026-11-01", ["other"])];
    expect(dueFollowUps(views, "med", "2026-11-30").map((v) => v.record_id)).toEqual(["b", "c"]);
    expect(dueFollowUps(views, "med", "2026-12-01").map((v) => v.record_id)).toEqual(["b", "c", "a"]);
  });

  it("a new version with the next date (or none) ends the reminder, offline too", async () => {
    const first = await record(db, buildOp("mediation_outcome", {
      dispute_type: "邻里", parties: [], agreement: "reached", terms: "", follow_up_on: "2026-11-30", mediator_ids: ["med"], attachments: [],
    }), { personId: "med" });
    let snap = await loadSnapshot(db);
    expect(dueFollowUps(allMediationViews(snap), "med", "2026-11-30").map((v) => v.record_id)).toEqual([first.op_id]);
    await record(db, buildOp("mediation_outcome", {
      dispute_type: "邻里", parties: [], agreement: "reached", terms: "已回访", follow_up_on: "2026-12-30", mediator_ids: ["med"], attachments: [],
    }, { recordId: first.op_id, baseOpId: first.op_id }), { personId: "med" });
    snap = await loadSnapshot(db);
    expect(dueFollowUps(allMediationViews(snap), "med", "2026-11-30")).toEqual([]);
  });

  it("finds records on incidents too, from the incident's records", async () => {
    await applyChanges(db, [change(1, "incident", { id: "inc-1", version: 1, number: "J1", records: [
      { record_id: "m1", type: "mediation_outcome", head: "m1", heads: ["m1"], versions: ["m1"], conflicted: false,
        body: { dispute_type: "邻里", follow_up_on: "2026-11-29", mediator_ids: ["med"], parties: [] } },
    ] })], "c1");
    const snap = await loadSnapshot(db);
    const due = dueFollowUps(allMediationViews(snap), "med", "2026-11-30");
    expect(due.map((v) => [v.record_id, v.incident_id])).toEqual([["m1", "inc-1"]]);
  });
});

/** Every element of a vnode tree, function components (hookless) expanded. */
function elements(node, out = []) {
  if (node == null || typeof node !== "object") return out;
  if (Array.isArray(node)) {
    for (const x of node) elements(x, out);
    return out;
  }
  if (typeof node.type === "function") return elements(node.type(node.props), out);
  out.push(node);
  elements(node.props?.children, out);
  return out;
}
const textOf = (tree) => {
  const parts = [];
  const walk = (x) => {
    if (x == null || typeof x === "boolean") return;
    if (typeof x === "string" || typeof x === "number") return parts.push(String(x));
    if (Array.isArray(x)) return x.forEach(walk);
    if (typeof x.type === "function") return walk(x.type(x.props));
    walk(x.props?.children);
  };
  walk(tree);
  return parts.join("");
};
const byTestId = (tree, id) => elements(tree).find((e) => e.props?.["data-testid"] === id) || null;

describe("what the screens draw", () => {
  beforeEach(() => setLang("zh-CN"));

  it("the tabs: 督办通报 for everyone, its badge and the follow-ups' only when there is something", () => {
    const quiet = Nav({ route: "#/" });
    expect(textOf(quiet)).toContain("督办通报");
    expect(byTestId(quiet, "desk-badge")).toBeNull();
    const busy = Nav({ route: "#/", badges: { desk: 2, followUps: 1 } });
    expect(byTestId(busy, "desk-badge").props["data-count"]).toBe(2);
    expect(byTestId(busy, "follow-up-badge").props["data-count"]).toBe(1);
    expect(textOf(Nav({ route: "#/", agency: true, badges: { desk: 1 } }))).toContain("督办通报");
  });

  it("挂牌督办 and the order's clock in words", () => {
    expect(textOf(LevelTag({ level: "bureau" }))).toBe("挂牌督办");
    const due = Date.parse("2026-12-02T10:00:00Z");
    expect(textOf(OrderClock({ view: orderView(order()), now: due - 90 * 60000, offset: 0 }))).toBe("督办时限 · 剩余 1:30:00");
    expect(textOf(OrderClock({ view: orderView(order()), now: due + 60000, offset: 0 }))).toContain("已超时");
    const answered = orderView(order({ state: "answered" }));
    expect(textOf(OrderClock({ view: answered, now: due + 60000, offset: 0 }))).toBe("督办时限 · 已回复，待督察审核");
    setLang("en");
    expect(textOf(LevelTag({ level: "bureau" }))).toBe("Bureau order");
  });

  it("my work lists the follow-ups due first, each opening its record", () => {
    const snap = { incidents: [], byId: new Map(), records: [] };
    const followUps = [{ record_id: "m1", incident_id: null, body: { dispute_type: "宅基地纠纷", follow_up_on: "2026-11-30", parties: [{ name: "赵大" }] } }];
    const tree = Work({ snap, session: { person: { id: "med" } }, now: 0, offset: 0, followUps });
    const section = byTestId(tree, "follow-ups");
    expect(textOf(section)).toContain("回访提醒");
    expect(textOf(section)).toContain("回访 2026-11-30");
    expect(elements(section).some((e) => e.props?.href === "#/mediation/m1")).toBe(true);
    expect(byTestId(Work({ snap, session: { person: { id: "med" } }, now: 0, offset: 0 }), "follow-ups")).toBeNull();
  });
});
