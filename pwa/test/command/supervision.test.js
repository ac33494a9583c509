// Supervision orders (督办, PROTOCOL §11) in the command view (command/supervision.js): the
// form's default and checks, the request bodies, the list's order, the due clock's words,
// the board's badges (挂牌督办 in red), the feed's `supervision` changes, errors in words.
import { beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../../core/index.js";
import { setLang } from "../../command/i18n.js";
import {
  boardRefs,
  defaultDueLocal,
  orderClock,
  orders,
  ordersShown,
  pushOutcomeText,
  putOrder,
  rejectBody,
  resetSupervision,
  superviseBody,
  superviseProblems,
  supervisionBadgesHtml,
  supervisionChanged,
  supervisionErrorText,
  supervisionPath,
} from "../../command/supervision.js";

const NOW = Date.parse("2026-11-30T02:00:00Z"); // 10:00 in Beijing

function order(fields = {}) {
  return {
    id: "o1",
    incident_id: "i1",
    number: "J20261130-0001",
    station_id: "s1",
    level: "station",
    instructions: "查明情况",
    due_at: "2026-11-30T04:00:00Z",
    issued_by: "p1",
    issued_at: "2026-11-30T02:00:00Z",
    state: "open",
    clock: { due_at: "2026-11-30T04:00:00Z", met_at: null, state: "running" },
    reply: null,
    replies: [],
    rejections: [],
    accepted_at: null,
    accepted_by: null,
    ...fields,
  };
}

beforeEach(() => {
  setLang("zh-CN");
  resetSupervision();
});

describe("the supervise form", () => {
  it("defaults the due time to two hours on, in Beijing time, to the minute", () => {
    expect(defaultDueLocal(NOW)).toBe("2026-11-30T12:00");
    expect(defaultDueLocal(NOW, 24)).toBe("2026-12-01T10:00");
  });

  it("asks for instructions and a due time in the future", () => {
    expect(superviseProblems({ instructions: "x", due_at: "2026-11-30T12:00" }, NOW)).toEqual([]);
    expect(superviseProblems({ instructions: "  ", due_at: "2026-11-30T09:59" }, NOW)).toEqual(["instructions", "due_at"]);
    expect(superviseProblems({ instructions: "x" }, NOW)).toEqual(["due_at"]);
  });

  it("sends the level, the trimmed instructions and the due time as RFC 3339 (+08:00)", () => {
    expect(superviseBody({ level: "bureau", instructions: " 限期查处 ", due_at: "2026-11-30T12:00" })).toEqual({
      level: "bureau",
      instructions: "限期查处",
      due_at: "2026-11-30T12:00:00+08:00",
    });
    expect(superviseBody({ level: "nonsense", instructions: "x", due_at: "2026-11-30T12:00" }).level).toBe("station");
    expect(rejectBody("  不够具体 ")).toEqual({ reason: "不够具体" });
  });

  it("lists with the state and optional filters", () => {
    expect(supervisionPath()).toBe("/api/supervision?state=all");
    expect(supervisionPath("open", { stationId: "s 1", incidentId: "i1" })).toBe(
      "/api/supervision?state=open&station_id=s+1&incident_id=i1",
    );
  });
});

describe("the 督办台", () => {
  it("shows a tab's orders, newest issued first", () => {
    const all = [
      order({ id: "a", issued_at: "2026-11-30T01:00:00Z", state: "accepted" }),
      order({ id: "b", issued_at: "2026-11-30T03:00:00Z", state: "open" }),
      order({ id: "c", issued_at: "2026-11-30T02:00:00Z", state: "answered" }),
    ];
    expect(ordersShown(all).map((o) => o.id)).toEqual(["b", "c", "a"]);
    expect(ordersShown(all, "open").map((o) => o.id)).toEqual(["b"]);
    expect(ordersShown(all, "accepted").map((o) => o.id)).toEqual(["a"]);
  });

  it("counts the due time down on the server's clock, overdue in words", () => {
    expect(orderClock(order(), NOW)).toEqual({ state: "running", text: "剩余 2:00:00" });
    const late = orderClock(order(), Date.parse("2026-11-30T04:01:05Z"));
    expect(late).toEqual({ state: "overdue", text: "⚠ 超时 1:05" });
    // The server says overdue: so does the view, even with its clock behind.
    expect(orderClock(order({ clock: { due_at: "2026-11-30T04:00:00Z", met_at: null, state: "overdue" } }), NOW).state).toBe("overdue");
  });

  it("does not call an answered order overdue: it waits for the supervisor", () => {
    const o = order({ state: "answered" });
    expect(orderClock(o, Date.parse("2026-11-30T05:00:00Z"))).toEqual({ state: "waiting", text: "已回复，待督察审核" });
  });

  it("says met or met late once accepted", () => {
    const met = order({ state: "accepted", clock: { due_at: "2026-11-30T04:00:00Z", met_at: "2026-11-30T03:00:00Z", state: "met" } });
    expect(orderClock(met, NOW)).toEqual({ state: "met", text: "✓ 已达标" });
    const late = order({ state: "accepted", clock: { due_at: "2026-11-30T04:00:00Z", met_at: "2026-11-30T05:00:00Z", state: "met_late" } });
    expect(orderClock(late, NOW)).toEqual({ state: "met_late", text: "⚠ 超时完成" });
  });

  it("keeps the latest copy of each order from the feed", () => {
    putOrder(orders, order());
    const changed = supervisionChanged([
      { pos: 1, entity: "incident", id: "i1", data: { id: "i1" } },
      { pos: 2, entity: "supervision", id: "o1", data: order({ state: "answered" }) },
      { pos: 3, entity: "supervision", id: "o2", data: order({ id: "o2" }) },
    ]);
    expect(changed).toBe(true);
    expect(orders.get("o1").state).toBe("answered");
    expect([...orders.keys()].sort()).toEqual(["o1", "o2"]);
    expect(supervisionChanged([{ entity: "review", data: { id: "r" } }])).toBe(false);
  });
});

describe("the board's badges", () => {
  const record = {
    supervision: [
      { id: "s1", level: "station", state: "answered", due_at: "2026-11-30T04:00:00Z", clock_state: "running" },
      { id: "s2", level: "bureau", state: "open", due_at: "2026-11-30T04:00:00Z", clock_state: "overdue" },
      { id: "s3", level: "bureau", state: "accepted", due_at: "2026-11-30T04:00:00Z", clock_state: "met" },
    ],
  };

  it("put 挂牌督办 first, in red, overdue in words; accepted orders leave the row", () => {
    expect(boardRefs(record).map((r) => r.id)).toEqual(["s2", "s1", "s3"]);
    const html = supervisionBadgesHtml(record);
    expect(html).toContain('class="tag sup sup-bureau sup-overdue"');
    expect(html).toContain("● 挂牌督办 · 待回复 · ⚠ 超时");
    expect(html).toContain("◆ 督办 · 已回复待审");
    expect(html).not.toContain('data-sup="s3"');
    expect(html.indexOf("s2")).toBeLessThan(html.indexOf("s1"));
  });

  it("draw nothing for a record without orders (an older server)", () => {
    expect(supervisionBadgesHtml({})).toBe("");
    expect(supervisionBadgesHtml({ supervision: [] })).toBe("");
  });

  it("escape what the server sends", () => {
    expect(supervisionBadgesHtml({ supervision: [{ id: '"><x>', level: "station", state: "open", due_at: null }] })).not.toContain("<x>");
  });
});

describe("words", () => {
  it("name the contract's errors", () => {
    expect(supervisionErrorText(new ApiError(409, "no_station", ""))).toContain("尚未派警");
    expect(supervisionErrorText(new ApiError(409, "not_answered", ""))).toBe("该督办尚无待审核的回复");
    expect(supervisionErrorText(new ApiError(409, "already_accepted", ""))).toBe("该督办已办结");
    expect(supervisionErrorText(new ApiError(422, "invalid_time", ""))).toContain("须晚于现在");
    expect(supervisionErrorText(new ApiError(403, "forbidden", ""))).toContain("仅督察或管理员");
    expect(supervisionErrorText(new ApiError(404, "http_404", ""))).toBe("督办接口尚未上线");
    expect(supervisionErrorText(new ApiError(404, "not_found", "no such"))).toBe("no such");
  });

  it("say what a push answered, the rejection's code included", () => {
    expect(pushOutcomeText({ status: "applied" })).toBe("已提交 ✓");
    expect(pushOutcomeText({ status: "duplicate" })).toContain("已提交");
    expect(pushOutcomeText({ status: "rejected", code: "forbidden" })).toBe("被拒绝（forbidden）：只有被督办（被通报）单位的所长可以回复");
    expect(pushOutcomeText({ status: "rejected", code: "clock_suspect", message: "odd" })).toBe("被拒绝（clock_suspect）：odd");
    setLang("en");
    expect(pushOutcomeText({ status: "rejected", code: "unknown_order" })).toBe("Rejected (unknown_order): no such supervision order");
  });
});
