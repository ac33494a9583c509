// The board's logic (command/board.js): which rows show, in what order, what each clock
// badge says, rows escaping what the server sent, the new-incident request.
import { beforeEach, describe, expect, it } from "vitest";
import { boardRows, clockBadge, clockHtml, clockStopped, newIncidentBody, rowHtml } from "../../command/board.js";
import { setLang } from "../../command/i18n.js";
import { resetStore, store } from "../../command/store.js";

const T0 = Date.parse("2026-11-27T02:00:00Z");
const at = (minutes) => new Date(T0 + minutes * 60_000).toISOString();
const running = (minutes) => ({ due_at: at(minutes), met_at: null, state: "running" });

const incidents = [
  { id: "a", number: "J001", status: "received", station_id: null, received_at: at(-30), clocks: {} },
  { id: "b", number: "J002", status: "dispatched", station_id: "s1", received_at: at(-10), clocks: { arrival: running(-1) } },
  { id: "c", number: "J003", status: "dispatched", station_id: "s2", received_at: at(-20), clocks: { arrival: running(5) } },
  { id: "d", number: "J004", status: "dispatched", station_id: "s1", received_at: at(-10), clocks: { clear: running(600) } },
];
const ids = (rows) => rows.map((i) => i.id);

beforeEach(() => {
  setLang("zh-CN");
  resetStore();
});

describe("board rows", () => {
  it("shows every open incident, newest received first, then by number", () => {
    expect(ids(boardRows(incidents, {}, T0))).toEqual(["d", "b", "c", "a"]);
  });

  it("filters by station, or by not yet dispatched", () => {
    expect(ids(boardRows(incidents, { station: "s1" }, T0))).toEqual(["d", "b"]);
    expect(ids(boardRows(incidents, { station: "-" }, T0))).toEqual(["a"]);
    expect(ids(boardRows(incidents, { station: "nowhere" }, T0))).toEqual([]);
  });

  it("filters by status and by overdue, together", () => {
    expect(ids(boardRows(incidents, { status: "received" }, T0))).toEqual(["a"]);
    expect(ids(boardRows(incidents, { overdueOnly: true }, T0))).toEqual(["b"]);
    // Six minutes on, the second arrival clock has run out too.
    expect(ids(boardRows(incidents, { overdueOnly: true }, T0 + 6 * 60_000))).toEqual(["b", "c"]);
    expect(ids(boardRows(incidents, { station: "s1", status: "dispatched", overdueOnly: true }, T0))).toEqual(["b"]);
  });

  it("does not reorder what it was given", () => {
    const given = [...incidents];
    boardRows(given, {}, T0);
    expect(ids(given)).toEqual(["a", "b", "c", "d"]);
  });
});

describe("clock badges", () => {
  it("count down, and say overdue in words as well as colour", () => {
    expect(clockBadge("arrival", running(12), T0)).toEqual({ text: "到场 剩余 12:00", className: "clock clock-running" });
    expect(clockBadge("arrival", running(1), T0)).toEqual({ text: "到场 剩余 1:00", className: "clock clock-running clock-soon" });
    expect(clockBadge("arrival", running(-2), T0)).toEqual({ text: "到场 ⚠ 超时 2:00", className: "clock clock-overdue" });
    expect(clockBadge("clear", running(90), T0).text).toBe("日清 剩余 1:30:00");
  });

  it("say met, met late, or not started", () => {
    expect(clockBadge("arrival", { due_at: at(5), met_at: at(-1), state: "met" }, T0).text).toBe("到场 ✓ 已达标");
    expect(clockBadge("arrival", { due_at: at(-5), met_at: at(-1), state: "met_late" }, T0).text).toBe("到场 ⚠ 超时完成");
    expect(clockBadge("evidence", { due_at: null, met_at: null, state: "pending" }, T0).className).toBe("clock clock-not_started");
  });

  it("stop counting on a closed or cancelled incident: an unmet clock says so", () => {
    expect(clockStopped("closed", "arrival")).toBe(true);
    expect(clockStopped("closed", "evidence")).toBe(false); // the case file still runs
    expect(clockStopped("cancelled", "evidence")).toBe(true);
    expect(clockStopped("dispatched", "arrival")).toBe(false);
    expect(clockBadge("arrival", running(5), T0, true)).toEqual({ text: "到场 · 未达成（已停止）", className: "clock clock-stopped" });
    expect(clockBadge("arrival", running(-5), T0, true).className).toBe("clock clock-stopped");
    // A clock met before the stop still says met.
    expect(clockBadge("arrival", { due_at: at(5), met_at: at(-1), state: "met" }, T0, true).text).toBe("到场 ✓ 已达标");
    expect(clockHtml("arrival", running(5), true)).toContain('data-stopped="1"');
    expect(clockHtml("arrival", running(5))).not.toContain("data-stopped");
  });

  it("speak English when the desk does", () => {
    setLang("en");
    expect(clockBadge("initial_result", running(-1), T0).text).toBe("initial result ⚠ Overdue 1:00");
  });
});

describe("rows", () => {
  it("escape what the server sent and name the station, or say not dispatched", () => {
    store.stationsById = new Map([["s1", { id: "s1", name: "城关派出所" }]]);
    const html = rowHtml({
      id: "x", number: "J9", category: "dispute", area_type: "urban", status: "dispatched", station_id: "s1",
      address: '<img src=x onerror="alert(1)">', narrative: "a & b", received_at: at(0),
      assignees: [{ person_id: "p1", name: "<b>张伟</b>" }], clocks: { arrival: running(5) },
      review_items: [{ state: "open" }, { state: "resolved" }],
    });
    expect(html).not.toContain("<img");
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(html).toContain("a &amp; b");
    expect(html).toContain("&lt;b&gt;张伟&lt;/b&gt;");
    expect(html).toContain("城关派出所");
    expect(html).toContain("纠纷");
    expect(html).toContain("待审核 1");
    expect(html).toContain('data-clock="arrival"');
    expect(rowHtml({ id: "y", number: "J10", status: "received", station_id: null, clocks: {} })).toContain("未派警");
  });
});

describe("a new incident", () => {
  it("sends the required fields, the optional ones only when filled, numbers as numbers", () => {
    expect(newIncidentBody({ category: "help", area_type: "rural", address: "河口村", narrative: "老人走失" })).toEqual({
      category: "help", area_type: "rural", address: "河口村", narrative: "老人走失",
    });
    const body = newIncidentBody({
      category: "dispute", area_type: "urban", address: "a", narrative: "n",
      caller_name: "王先生", caller_phone: "13800000000", lat: "31.5", lon: "120.25", received_at: "2026-11-27T09:58",
    });
    expect(body).toMatchObject({ caller_name: "王先生", caller_phone: "13800000000", lat: 31.5, lon: 120.25 });
    // A back-entered time is typed in Beijing time.
    expect(body.received_at).toBe("2026-11-27T09:58:00+08:00");
    expect(Date.parse(body.received_at)).toBe(Date.parse("2026-11-27T01:58:00Z"));
  });

  it("says no_callback only when the box is ticked (PROTOCOL §9)", () => {
    const base = { category: "dispute", area_type: "urban", address: "a", narrative: "n", caller_phone: "13800000000" };
    expect(newIncidentBody({ ...base, no_callback: "1" }).no_callback).toBe(true);
    expect(newIncidentBody(base)).not.toHaveProperty("no_callback");
  });
});
