// The incident panel's logic (command/incident.js): the request each act sends, and what
// a timeline entry says.
import { beforeEach, describe, expect, it } from "vitest";
import { setLang } from "../../command/i18n.js";
import { actRequest, bodySummary, feedbackHtml } from "../../command/incident.js";
import { store } from "../../command/store.js";

beforeEach(() => {
  setLang("zh-CN");
  store.people = new Map([["p1", { id: "p1", name: "张伟" }], ["p2", { id: "p2", name: "王军" }]]);
  store.stationsById = new Map([["s1", { id: "s1", name: "城关派出所" }]]);
});

describe("acts", () => {
  it("dispatch sends the station and every person ticked, and a back-entered time in Beijing time", () => {
    expect(actRequest("dispatch", "i/1", { station_id: "s1", person_ids: "p1" })).toEqual({
      path: "/api/incidents/i%2F1/dispatch",
      body: { station_id: "s1", person_ids: ["p1"] },
    });
    expect(actRequest("dispatch", "i1", { station_id: "s1", person_ids: ["p1", "p2"], dispatched_at: "2026-11-27T10:00:05" }).body)
      .toEqual({ station_id: "s1", person_ids: ["p1", "p2"], dispatched_at: "2026-11-27T10:00:05+08:00" });
  });

  it("reassign sends no back-entered time, and nobody when nobody is ticked", () => {
    expect(actRequest("reassign", "i1", { station_id: "s2", dispatched_at: "2026-11-27T10:00" })).toEqual({
      path: "/api/incidents/i1/reassign",
      body: { station_id: "s2", person_ids: [] },
    });
  });

  it("close, cancel and point-check send their text to their own path", () => {
    expect(actRequest("close", "i1", { summary: "双方和解" })).toEqual({ path: "/api/incidents/i1/close", body: { summary: "双方和解" } });
    expect(actRequest("cancel", "i1", { reason: "重复报警" })).toEqual({ path: "/api/incidents/i1/cancel", body: { reason: "重复报警" } });
    expect(actRequest("point_check", "i1", { text: "请报告" })).toEqual({ path: "/api/incidents/i1/point-check", body: { text: "请报告" } });
    expect(actRequest("something_else", "i1", {})).toBeNull();
  });
});

describe("timeline entries", () => {
  it("say who was sent where", () => {
    expect(bodySummary({ type: "dispatched", body: { station_id: "s1", person_ids: ["p1", "p2"] } })).toBe("城关派出所：张伟、王军");
  });

  it("say what the field recorded, escaped, in the desk's words", () => {
    expect(bodySummary({ type: "scene_report", body: { situation: "<script>", injured: 2, needs_backup: true } }))
      .toBe("&lt;script&gt; · 伤 2 人 · 请求增援");
    expect(bodySummary({ type: "disposition", body: { result: "no_finding", summary: "s" } })).toBe("查无实据：s");
    expect(bodySummary({ type: "evidence_item", body: { kind: "witness_statement", reference: "W-1" } })).toBe("证人证言 · W-1");
    expect(bodySummary({ type: "arrival", body: { lat: 31.5, lon: 120.25, accuracy_m: 8 } })).toBe("31.5, 120.25 (±8 m)");
    expect(bodySummary({ type: "arrival", body: { lat: null, lon: null } })).toBe("");
    expect(bodySummary({ type: "point_check_reply", detail: { text: "已到现场" } })).toBe("已到现场");
    expect(bodySummary({ type: "unknown_type", body: {} })).toBe("");
  });
});

describe("the citizen's verdicts (PROTOCOL §9)", () => {
  const verdict = {
    source: "qr", at: "2026-11-30T02:00:00Z",
    ratings: { reception: "satisfied", timeliness: "basically_satisfied", conduct: "satisfied", handling: "unsatisfied" },
    overall: "unsatisfied", comment: "<处理不公>",
  };

  it("list each with its source, time, the four dimensions, the overall verdict and the comment", () => {
    const html = feedbackHtml({ status: "closed", feedback: [verdict, { ...verdict, source: "callback", overall: "satisfied", comment: null }] });
    expect(html).toContain("群众评价");
    expect(html).toContain("扫码");
    expect(html).toContain("回访");
    expect(html).toContain("11/30 10:00:00");
    for (const word of ["接警态度", "出警时间", "警容风纪", "现场处理", "总体评价", "基本满意"]) expect(html).toContain(word);
    // Unsatisfied is said in words, not only in red.
    expect(html).toContain("⚠ 不满意");
    expect(html).toContain("&lt;处理不公&gt;");
    expect(html.match(/<li class="feedback/g)).toHaveLength(2);
    expect(feedbackHtml({ status: "closed", feedback: [{ ...verdict, source: "poster" }] })).toContain("海报");
  });

  it("say none yet on a closed incident, and nothing for a server without feedback", () => {
    expect(feedbackHtml({ status: "closed", feedback: [] })).toContain("尚无群众评价");
    expect(feedbackHtml({ status: "closed", feedback: [], no_callback: true })).toContain("（不回访）");
    expect(feedbackHtml({ status: "dispatched", feedback: [] })).toBe("");
    expect(feedbackHtml({ status: "closed" })).toBe("");
  });
});

describe("PROTOCOL §11 in the panel", () => {
  it("says what a reply, a rectification and a case's progress hold in the timeline", () => {
    setLang("zh-CN");
    expect(bodySummary({ type: "supervision_reply", body: { order_id: "o", text: "<b>已查处</b>", attachments: ["a", "b"] } }))
      .toBe("&lt;b&gt;已查处&lt;/b&gt; · 附件 2 个");
    expect(bodySummary({ type: "rectification", body: { notice_id: "n", text: "已整改", attachments: [] } })).toBe("已整改");
    expect(bodySummary({ type: "case_progress", body: { case_number: "A-1", stage: "solved" } })).toBe("A-1 · 破案");
  });
});
