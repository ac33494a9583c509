// Non-police diversion, the dispatcher's side (command/diversion.js, PROTOCOL §10): the
// chooser's order and its keyword highlight, the divert request and its errors, what the
// board and the panel say of a diverted call and of one an agency returned.
import { beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../../core/index.js";
import { boardRows, clockBadge, rowHtml } from "../../command/board.js";
import {
  agenciesPath, agencyListHtml, agencyOptionHtml, divertErrorText, divertProblems, divertRequest, diversionHtml,
  diversionSummary, highlight, matchedKeywords, matchText, rankedAgencies, returnedBadgeHtml, returnedReason, statusText,
  targetsText,
} from "../../command/diversion.js";
import { label, setLang } from "../../command/i18n.js";
import { bodySummary } from "../../command/incident.js";
import { putIncident, resetStore, store } from "../../command/store.js";

const T0 = Date.parse("2026-11-30T02:00:00Z");
const at = (minutes) => new Date(T0 + minutes * 60_000).toISOString();
const running = (minutes) => ({ due_at: at(minutes), met_at: null, state: "running" });

const duties = (keywords, ack = 30, hours = 24) => ({ keywords, categories: ["non_police"], ack_minutes: ack, feedback_hours: hours });
const agency = (id, name, score, keywords) => ({ station_id: id, name, score, duties: duties(keywords) });

const AGENCIES = [
  agency("hotline", "县12345热线", 1, ["噪音", "物业", "小区"]),
  agency("zjj", "县住建局", 3, ["水管", "爆裂", "楼道"]),
  agency("gds", "城关供电所", 0, ["停电", "电线"]),
  agency("water", "县自来水公司", 3, ["水管", "停水", "爆裂", "漏水"]),
  agency("town", "河口镇人民政府", 0, ["土地"]),
];
const CALL = { id: "i1", number: "J20261130-0012", narrative: "小区水管爆裂，水漫进楼道", address: "城关镇幸福小区3栋" };

const diverted = (over = {}) => ({
  id: "d1", number: "J20261130-0009", status: "diverted", version: 3, station_id: "hotline", category: "non_police",
  area_type: "urban", address: "解放路18号", narrative: "饭店夜间噪音扰民", received_at: at(-50), assignees: [],
  clocks: { agency_ack: running(-15), agency_feedback: running(24 * 60 - 45), clear: running(23 * 60) },
  diversion: {
    agency_id: "hotline", agency_name: "县12345热线", diverted_at: at(-45), instructions: "请联系商户整改",
    person_ids: ["p9"], acknowledged_at: null, feedback: null,
  },
  diversions_returned: 0, returned_reason: null, review_items: [],
  ...over,
});

const returned = (over = {}) => ({
  id: "r1", number: "J20261130-0003", status: "received", version: 5, station_id: null, category: "non_police",
  area_type: "rural", address: "石桥村5组", narrative: "邻居家的狗每天晚上叫", received_at: at(-300), assignees: [],
  clocks: { dispatch: running(-2), clear: running(18 * 60) }, diversion: null,
  diversions_returned: 1, returned_reason: "属村委会调解范围，不属我单位职责", review_items: [],
  ...over,
});

beforeEach(() => {
  setLang("zh-CN");
  resetStore();
  store.stationsById = new Map([
    ["hotline", { id: "hotline", name: "县12345热线", kind: "linked_agency" }],
    ["cg", { id: "cg", name: "城关派出所", kind: "police_station" }],
  ]);
  store.people = new Map([["p9", { id: "p9", name: "郑洁" }], ["p1", { id: "p1", name: "王丽" }]]);
});

describe("the chooser's ranking", () => {
  it("asks the server to rank against the narrative and the address", () => {
    expect(matchText(CALL)).toBe("小区水管爆裂，水漫进楼道 城关镇幸福小区3栋");
    expect(agenciesPath(matchText(CALL))).toBe(`/api/agencies?match=${encodeURIComponent("小区水管爆裂，水漫进楼道 城关镇幸福小区3栋")}`);
    expect(agenciesPath("  ")).toBe("/api/agencies");
    expect(matchText({ narrative: "停电", address: null })).toBe("停电");
  });

  it("puts the scored agencies first, highest first, keeping the server's order among equals", () => {
    const { matched, others } = rankedAgencies(AGENCIES);
    expect(matched.map((a) => a.station_id)).toEqual(["zjj", "water", "hotline"]);
    expect(others.map((a) => a.station_id)).toEqual(["gds", "town"]);
    // The list given is left as it was.
    expect(AGENCIES.map((a) => a.station_id)).toEqual(["hotline", "zjj", "gds", "water", "town"]);
  });

  it("draws the score-0 agencies after the divider 其他单位", () => {
    const html = agencyListHtml(AGENCIES, matchText(CALL));
    const order = [...html.matchAll(/value="([^"]+)"/g)].map((m) => m[1]);
    expect(order).toEqual(["zjj", "water", "hotline", "gds", "town"]);
    const divider = html.indexOf("其他单位");
    expect(divider).toBeGreaterThan(html.indexOf('value="hotline"'));
    expect(divider).toBeLessThan(html.indexOf('value="gds"'));
    expect(agencyListHtml([], "x")).toContain("尚无联动单位");
    // Nothing matched: the divider says so instead of "other".
    expect(agencyListHtml([AGENCIES[2]], "x")).toContain("没有单位的关键词与本警情匹配");
  });

  it("shows each agency's score in words, its targets, and marks its matching keywords", () => {
    const html = agencyOptionHtml(AGENCIES[1], matchText(CALL));
    expect(html).toContain("匹配 3 个关键词");
    expect(html).toContain("签收 30 分钟 · 反馈 24 小时");
    expect(html).toContain('<mark class="chip chip-hit">水管</mark>');
    expect(html).toContain('<mark class="chip chip-hit">楼道</mark>');
    const other = agencyOptionHtml(AGENCIES[2], matchText(CALL));
    expect(other).toContain("无匹配关键词");
    expect(other).toContain('<span class="chip">停电</span>');
    expect(other).not.toContain("<mark");
    expect(agencyOptionHtml(AGENCIES[1], "", "zjj")).toContain("checked");
  });

  it("finds the matching keywords case-insensitively, and tolerates an agency without duties", () => {
    expect(matchedKeywords(AGENCIES[3], matchText(CALL))).toEqual(["水管", "爆裂"]);
    expect(matchedKeywords({ duties: { keywords: ["Pipe"] } }, "burst PIPE")).toEqual(["Pipe"]);
    expect(matchedKeywords({ station_id: "x", duties: null }, "anything")).toEqual([]);
    expect(targetsText(null)).toBe("尚未设置时限");
    expect(agencyOptionHtml({ station_id: "x", name: "新单位", score: 0, duties: null }, "x")).toContain("尚无关键词");
  });

  it("highlights the keywords in the call's text, longest first, and escapes the rest", () => {
    expect(highlight("小区水管爆裂，水漫进楼道", ["水管", "楼道"])).toBe("小区<mark>水管</mark>爆裂，水漫进<mark>楼道</mark>");
    // Adjacent matches join; an overlapping shorter keyword does not split a longer one.
    expect(highlight("水管爆裂", ["水管", "爆裂"])).toBe("<mark>水管爆裂</mark>");
    expect(highlight("自来水管道", ["水管", "自来水管道"])).toBe("<mark>自来水管道</mark>");
    expect(highlight("Burst pipe", ["PIPE"])).toBe("Burst <mark>pipe</mark>");
    expect(highlight("<b>水管</b>", ["水管"])).toBe("&lt;b&gt;<mark>水管</mark>&lt;/b&gt;");
    expect(highlight("两个小区，两个小区", ["小区"])).toBe("两个<mark>小区</mark>，两个<mark>小区</mark>");
    expect(highlight("无关", [])).toBe("无关");
    expect(highlight(null, ["x"])).toBe("");
  });
});

describe("the divert request", () => {
  it("sends the agency, the people ticked (or none) and the instructions, trimmed", () => {
    expect(divertRequest("i/1", { agency_id: "zjj", person_ids: "p9", instructions: " 请派员抢修 " })).toEqual({
      path: "/api/incidents/i%2F1/divert",
      body: { agency_id: "zjj", person_ids: ["p9"], instructions: "请派员抢修" },
    });
    expect(divertRequest("i1", { agency_id: "zjj", person_ids: ["a", "b"], instructions: "x" }).body.person_ids).toEqual(["a", "b"]);
    expect(divertRequest("i1", { agency_id: "zjj", instructions: "x" }).body).toEqual({ agency_id: "zjj", person_ids: [], instructions: "x" });
  });

  it("needs an agency and instructions of at most 500 characters", () => {
    expect(divertProblems({})).toEqual(["请选择联动单位", "请填写交办要求"]);
    expect(divertProblems({ agency_id: "zjj", instructions: "   " })).toEqual(["请填写交办要求"]);
    expect(divertProblems({ agency_id: "zjj", instructions: "水".repeat(500) })).toEqual([]);
    expect(divertProblems({ agency_id: "zjj", instructions: "水".repeat(501) })).toEqual(["交办要求不能超过 500 字"]);
  });

  it("says the server's refusals in plain words", () => {
    expect(divertErrorText(new ApiError(422, "unknown_agency", "no"))).toBe("所选单位不是联动单位，不能分流");
    expect(divertErrorText(new ApiError(409, "invalid_state", "no"))).toContain("不能分流");
    expect(divertErrorText(new ApiError(403, "forbidden", "no"))).toBe("您没有分流警情的权限");
    expect(divertErrorText(new ApiError(404, "http_404", "Not Found"))).toBe("分流接口尚未上线（服务器版本较旧）");
    expect(divertErrorText(new ApiError(0, "network", "offline"))).toBe("offline");
  });
});

describe("the board", () => {
  it("shows a diverted call as 已分流 · its agency, with the agency's clocks", () => {
    const row = rowHtml(diverted());
    expect(statusText(diverted())).toBe("已分流 · 县12345热线");
    expect(row).toContain("已分流 · 县12345热线");
    expect(row).toContain('data-clock="agency_ack"');
    expect(row).toContain('data-clock="agency_feedback"');
    expect(row.indexOf('data-clock="agency_ack"')).toBeLessThan(row.indexOf('data-clock="clear"'));
    expect(row).not.toContain("退回");
    // Without a name in the record, the station's name.
    expect(statusText(diverted({ diversion: null }))).toBe("已分流 · 县12345热线");
  });

  it("counts the agency's clocks down, and says overdue in words naming the clock", () => {
    const d = diverted();
    expect(clockBadge("agency_ack", d.clocks.agency_ack, T0)).toEqual({ text: "签收 ⚠ 超时 15:00", className: "clock clock-overdue" });
    expect(clockBadge("agency_feedback", d.clocks.agency_feedback, T0).text).toBe("反馈 剩余 23:15:00");
    expect(clockBadge("agency_ack", { due_at: at(5), met_at: at(-1), state: "met" }, T0).text).toBe("签收 ✓ 已达标");
    expect(boardRows([d, returned()], { overdueOnly: true }, T0).map((i) => i.id)).toEqual(["d1", "r1"]);
  });

  it("keeps a diverted call on the board and filters by 已分流", () => {
    putIncident(diverted());
    putIncident(returned());
    expect(store.incidents.size).toBe(2);
    expect(boardRows(store.incidents.values(), { status: "diverted" }, T0).map((i) => i.id)).toEqual(["d1"]);
    expect(boardRows(store.incidents.values(), { station: "hotline" }, T0).map((i) => i.id)).toEqual(["d1"]);
    // Closed after the agency's feedback: off the board.
    putIncident(diverted({ status: "closed", version: 9 }));
    expect(store.incidents.has("d1")).toBe(false);
  });

  it("shows a returned call as received with 退回：<reason>, live as its record changes", () => {
    const back = returned();
    expect(returnedReason(back)).toBe("属村委会调解范围，不属我单位职责");
    const row = rowHtml(back);
    expect(row).toContain("待派警");
    expect(row).toContain("退回：属村委会调解范围，不属我单位职责");
    expect(returnedBadgeHtml(returned({ diversions_returned: 2 }))).toContain("已退回 2 次");
    expect(returnedBadgeHtml(back)).not.toContain("次");
    // The reason is the server's text: escaped.
    expect(rowHtml(returned({ returned_reason: "<img src=x>" }))).toContain("退回：&lt;img src=x&gt;");
    // Diverted again: the old reason is no badge on the board.
    expect(returnedBadgeHtml(diverted({ returned_reason: "旧理由", diversions_returned: 1 }))).toBe("");
    // Never diverted, or a server without §10: nothing.
    expect(returnedBadgeHtml({ status: "received" })).toBe("");
    expect(returnedBadgeHtml(returned({ returned_reason: null, diversions_returned: 1 }))).toContain("退回：—");
  });

  it("takes the record the feed sends, so a return shows without a reload", () => {
    putIncident(diverted({ id: "x", version: 3 }));
    expect(rowHtml(store.incidents.get("x"))).toContain("已分流");
    putIncident(returned({ id: "x", version: 4 }));
    const row = rowHtml(store.incidents.get("x"));
    expect(row).toContain("待派警");
    expect(row).toContain("退回：");
    expect(row).not.toContain("已分流");
  });
});

describe("the incident panel", () => {
  it("shows the diversion: agency, instructions, people, not yet acknowledged, waiting", () => {
    const html = diversionHtml(diverted());
    expect(html).toContain("县12345热线");
    expect(html).toContain("请联系商户整改");
    expect(html).toContain("郑洁");
    expect(html).toContain("尚未签收");
    expect(html).toContain("等待联动单位反馈");
  });

  it("shows the acknowledgement and the feedback with its outcome, text and attachments", () => {
    const sha = "a".repeat(64);
    const html = diversionHtml(diverted({
      diversion: {
        ...diverted().diversion, person_ids: [], acknowledged_at: at(-40),
        feedback: { outcome: "handled", text: "已督促商户整改", attachments: [sha], at: at(-5), person_id: "p9" },
      },
      attachments: { [sha]: "stored" },
    }));
    expect(html).toContain("✓");
    expect(html).not.toContain("尚未签收");
    expect(html).toContain("已办结");
    expect(html).toContain("已督促商户整改");
    expect(html).toContain("aaaaaaaaaaaaaaaa…");
    expect(html).toContain("已上传");
    expect(html).toContain("该单位全体人员");
  });

  it("shows why a call came back, and nothing for a call never diverted", () => {
    expect(diversionHtml(returned())).toContain("退回：属村委会调解范围，不属我单位职责");
    expect(diversionHtml(returned())).toContain("已退回 1 次");
    expect(diversionHtml({ status: "received" })).toBe("");
    expect(diversionHtml({ status: "dispatched", diversion: null, returned_reason: null })).toBe("");
  });

  it("words the timeline's diversion and the agency's feedback", () => {
    expect(label("event", "diverted")).toBe("分流");
    expect(label("event", "agency_feedback")).toBe("办理反馈");
    expect(["handled", "referred", "returned"].map((o) => label("agency_outcome", o))).toEqual(["已办结", "已转交", "退回"]);
    const act = { type: "diverted", op_id: null, detail: { agency_id: "hotline", person_ids: ["p9"], instructions: "请处理" } };
    expect(diversionSummary(act)).toBe("县12345热线（郑洁）：请处理");
    expect(bodySummary(act)).toBe("县12345热线（郑洁）：请处理");
    const feedback = { type: "agency_feedback", op_id: "o1", body: { outcome: "returned", text: "不属我单位职责", attachments: ["x", "y"] } };
    expect(bodySummary(feedback)).toBe("退回：不属我单位职责 · 附件 2 个");
    expect(bodySummary({ type: "agency_feedback", body: { outcome: "referred", text: "已转供水公司", attachments: [] } })).toBe("已转交：已转供水公司");
  });
});

describe("in English", () => {
  it("says the same things", () => {
    setLang("en");
    expect(statusText(diverted())).toBe("diverted · 县12345热线");
    expect(returnedBadgeHtml(returned())).toContain("Returned: ");
    expect(agencyOptionHtml(AGENCIES[1], matchText(CALL))).toContain("3 keywords match");
    expect(clockBadge("agency_ack", running(-1), T0).text).toBe("agency ack ⚠ Overdue 1:00");
    setLang("zh-CN");
  });
});
