// The daily meeting view's logic (command/meeting.js): the calls, which items belong to the
// day, the orders and rectifications still owed, the figures and the handout.
import { beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../../core/index.js";
import { setLang } from "../../command/i18n.js";
import {
  bureauName, dayTitle, figureCells, meetingHtml, meetingPaths, overdueOfDay, owedRectifications, pendingOrders, ratio,
  settled, summaryText, unsatisfiedOfDay,
} from "../../command/meeting.js";
import { store } from "../../command/store.js";

beforeEach(() => {
  setLang("zh-CN");
  store.stations = [{ id: "c", name: "清岭县公安局指挥中心", kind: "command_center" }, { id: "s1", name: "城关派出所", kind: "police_station" }];
  store.stationsById = new Map(store.stations.map((s) => [s.id, s]));
  store.me = { id: "p", station_id: "c" };
});

const item = (id, kind, created_at, extra = {}) => ({ id, kind, created_at, state: "open", incident_id: null, clock: null, detail: {}, ...extra });

describe("the calls", () => {
  it("ask for the day's report and the review items with the filters, and the open orders and notices", () => {
    const p = meetingPaths("2026-11-29");
    expect(p.report).toBe("/api/reports/daily?date=2026-11-29");
    expect(p.overdue).toBe("/api/reviews?state=all&kind=overdue&since=2026-11-28T16%3A00%3A00.000Z&limit=1000");
    expect(p.unsatisfied).toBe(
      "/api/reviews?state=all&kind=citizen_unsatisfied&since=2026-11-28T16%3A00%3A00.000Z&until=2026-11-29T16%3A00%3A00.000Z&limit=1000",
    );
    expect([p.ordersOpen, p.ordersAnswered, p.notices]).toEqual(["/api/supervision?state=open", "/api/supervision?state=answered", "/api/notices"]);
  });

  it("tell a call the server lacks and a role's refusal from a fault", () => {
    expect(settled({ status: "fulfilled", value: 1 })).toEqual({ data: 1 });
    expect(settled({ status: "rejected", reason: new ApiError(403, "forbidden", "no") })).toEqual({ problem: "forbidden" });
    expect(settled({ status: "rejected", reason: new ApiError(404, "not_found", "no route") })).toEqual({ problem: "missing" });
    expect(settled({ status: "rejected", reason: new Error("offline") })).toEqual({ problem: "offline" });
  });
});

describe("the day's items", () => {
  it("keep overdue items whose clock ran out that day (Beijing time), by incident, whatever the server filtered", () => {
    const items = [
      // ran out late on the 29th (Beijing), raised the next morning after a restart
      item("a", "overdue", "2026-11-30T01:00:00Z", { incident_id: "i1", clock: "initial_result", detail: { clock: "initial_result", due_at: "2026-11-29T15:47:00Z" } }),
      item("b", "overdue", "2026-11-29T12:07:02Z", { incident_id: "i1", clock: "arrival", detail: { clock: "arrival", due_at: "2026-11-29T12:07:00Z" } }),
      item("c", "overdue", "2026-11-29T03:40:01Z", { incident_id: "i2", clock: "clear", state: "resolved", detail: { due_at: "2026-11-29T03:40:00Z" } }),
      // the 30th in Beijing already, and the 28th: not that day
      item("d", "overdue", "2026-11-29T16:00:00Z", { incident_id: "i3", detail: { due_at: "2026-11-29T16:00:00Z" } }),
      item("e", "overdue", "2026-11-28T15:59:59Z", { incident_id: "i4", detail: { due_at: "2026-11-28T15:59:59Z" } }),
      // a rectification owed by a station: no incident; no due_at: when it was raised
      item("f", "overdue", "2026-11-29T02:00:00Z", { clock: "rectification", detail: { clock: "rectification", station_id: "s1" } }),
      item("g", "late", "2026-11-29T02:00:00Z", { incident_id: "i5" }),
    ];
    const groups = overdueOfDay(items, "2026-11-29");
    expect(groups.map((g) => [g.incident_id, g.items.map((i) => i.id)])).toEqual([
      [null, ["f"]], ["i2", ["c"]], ["i1", ["b", "a"]],
    ]);
  });

  it("keep unsatisfied verdicts raised that day, oldest first", () => {
    const items = [
      item("u2", "citizen_unsatisfied", "2026-11-29T10:00:00Z"),
      item("u1", "citizen_unsatisfied", "2026-11-28T23:40:00Z"),
      item("u0", "citizen_unsatisfied", "2026-11-28T15:00:00Z"),
      item("o", "overdue", "2026-11-29T10:00:00Z"),
    ];
    expect(unsatisfiedOfDay(items, "2026-11-29").map((i) => i.id)).toEqual(["u1", "u2"]);
  });

  it("join open and answered orders once each, soonest due first", () => {
    const o = (id, state, due_at) => ({ id, state, due_at });
    const orders = pendingOrders({ orders: [o("1", "open", "2026-12-02T00:00:00Z"), o("2", "open", "2026-12-01T00:00:00Z")] },
      { orders: [o("3", "answered", "2026-12-03T00:00:00Z"), o("2", "open", "2026-12-01T00:00:00Z"), o("4", "accepted", "2026-11-01T00:00:00Z")] });
    expect(orders.map((x) => x.id)).toEqual(["2", "1", "3"]);
  });

  it("list rectifications owed or overdue per station, overdue first", () => {
    const notices = { notices: [
      { id: "n1", kind: "criticism", text: "x", rectify_by: "2026-12-05T00:00:00Z", stations: [
        { station_id: "s1", name: "城关派出所", state: "owed" }, { station_id: "s2", name: "河口派出所", state: "done" }] },
      { id: "n2", kind: "briefing", text: "y", rectify_by: null, stations: [{ station_id: "s1", name: "城关派出所", state: null }] },
      { id: "n3", kind: "criticism", text: "z", rectify_by: "2026-11-28T00:00:00Z", stations: [{ station_id: "s2", name: "河口派出所", state: "overdue" }] },
    ] };
    expect(owedRectifications(notices).map((e) => [e.notice.id, e.station.station_id, e.station.state])).toEqual([
      ["n3", "s2", "overdue"], ["n1", "s1", "owed"],
    ]);
  });
});

describe("the handout", () => {
  const s1 = {
    station_id: "s1", name: "城关派出所", received: 4, cleared: 3, carried_over: 1, open: 0,
    arrival: { dispatched: 4, arrived: 3, within_target: 2, pending: 1, compliance_rate: 0.6667 },
    initial_result: { due: 4, within_target: 4, compliance_rate: 1 },
    satisfaction: { satisfaction_rate: 0.825, unsatisfied: 1 },
    three_feedbacks: { closed: 3, complete: 2, complete_rate: 0.6667 },
    cases: { filed: 2, closure_rate: 0.5 },
  };

  it("writes each station's figures: x/y and the rate, en route apart", () => {
    expect(figureCells(s1)).toEqual(["4", "3", "1", "0", "2/3 · 66.7%", "1", "4/4 · 100.0%", "82.5%", "1", "2/3 · 66.7%", "2", "50.0%"]);
    // A server before §11: no pending, no 三反馈, no cases.
    expect(figureCells({ received: 1, cleared: 1, carried_over: 0, open: 0, arrival: { dispatched: 1, within_target: 1, compliance_rate: 1 } }))
      .toEqual(["1", "1", "0", "0", "1/1 · 100.0%", "—", "—", "—", "—", "—", "—", "—"]);
    expect(ratio(0, 0, null)).toBe("—");
  });

  it("sums the day up in words", () => {
    const text = summaryText({ report: { bureau: s1 }, overdue: [1, 2], unsatisfied: [1], orders: [], owed: null });
    expect(text).toBe("全局接警 4 起，日清 3 起，结转 1 起，在办 0 起；到场达标率 66.7%（途中 1 起不计）；超时警情 2 起；群众不满意 1 起；在办督办 0 件。");
    // A server before §11 counts nobody en route: nothing said of it.
    const old = { ...s1, arrival: { dispatched: 4, within_target: 3, compliance_rate: 0.75 } };
    expect(summaryText({ report: { bureau: old } })).toBe("全局接警 4 起，日清 3 起，结转 1 起，在办 0 起；到场达标率 75.0%。");
    setLang("en");
    expect(summaryText({ report: { bureau: s1 }, overdue: [] })).toBe(
      "Bureau: 4 received, 3 cleared, 1 carried over, 0 open; arrival compliance 66.7% (1 en route not counted); 0 went overdue.",
    );
  });

  it("names the day and the bureau", () => {
    expect(dayTitle("2026-11-29")).toBe("2026-11-29 星期日");
    expect(bureauName()).toBe("清岭县公安局指挥中心");
    expect(bureauName([{ id: "s1", name: "城关派出所" }], { station_id: "s1" })).toBe("城关派出所");
    setLang("en");
    expect(dayTitle("2026-11-30")).toBe("2026-11-30 Monday");
  });

  it("has the header and five sections, each saying what it lacks", () => {
    const html = meetingHtml({
      day: "2026-11-29",
      report: { data: { stations: [s1], bureau: s1 } },
      overdue: { data: [] },
      unsatisfied: { problem: "forbidden" },
      orders: { problem: "missing" },
      owed: { data: [{ notice: { kind: "criticism", text: "接处警不规范", rectify_by: "2026-11-28T00:00:00Z" }, station: { station_id: "s1", name: "城关派出所", state: "overdue" } }] },
      generatedAt: "2026-11-30T00:30:00Z",
      now: Date.parse("2026-11-30T00:30:00Z"),
    });
    expect(html).toContain("清岭县公安局指挥中心");
    expect(html).toContain("调度会 · 2026-11-29 星期日");
    expect(html).toContain("生成时间：11/30 08:30:00（北京时间）");
    for (const id of ["figures", "overdue", "unsatisfied", "orders", "rectifications"]) expect(html).toContain(`id="m-${id}"`);
    expect(html).toContain("当日没有超时警情");
    expect(html).toContain("您的角色无权查看此项");
    expect(html).toContain("服务器尚未提供此项数据");
    expect(html).toContain("⚠ 逾期未整改");
    expect(html).toContain("批评通报");
    // Only the first section starts on the first page; the others carry the running line.
    expect(html.match(/class="m-running print-only"/g)).toHaveLength(4);
  });
});
