// 三反馈 and the case in the incident panel (command/three-feedbacks.js): what is missing, when
// closing asks first, and the words.
import { beforeEach, describe, expect, it } from "vitest";
import { setLang } from "../../command/i18n.js";
import {
  caseHtml, closeConfirmText, closeNeedsConfirm, missingFeedbacks, threeFeedbacksHtml,
} from "../../command/three-feedbacks.js";

const record = (tf, extra = {}) => ({ id: "i1", status: "dispatched", three_feedbacks: tf, ...extra });

beforeEach(() => setLang("zh-CN"));

describe("the close confirmation rule", () => {
  it("names the feedbacks not yet in, in order", () => {
    expect(missingFeedbacks(record({ arrival: true, scene: false, disposition: false }))).toEqual(["scene", "disposition"]);
    expect(missingFeedbacks(record({ arrival: false, scene: true, disposition: true }))).toEqual(["arrival"]);
    expect(missingFeedbacks(record({ arrival: true, scene: true, disposition: true }))).toEqual([]);
  });

  it("asks before closing only when one is missing", () => {
    expect(closeNeedsConfirm(record({ arrival: true, scene: true, disposition: true }))).toBe(false);
    expect(closeNeedsConfirm(record({ arrival: true, scene: true, disposition: false }))).toBe(true);
    expect(closeNeedsConfirm(record({ arrival: false, scene: false, disposition: false }))).toBe(true);
  });

  it("asks nothing of a server before §11 or of a diverted call (the agency answers it)", () => {
    expect(closeNeedsConfirm({ id: "i1", status: "dispatched" })).toBe(false);
    expect(closeNeedsConfirm(record({ arrival: false, scene: false, disposition: false }, { status: "diverted" }))).toBe(false);
    expect(closeNeedsConfirm(null)).toBe(false);
  });

  it("says what is missing, in both languages", () => {
    expect(closeConfirmText(["scene", "disposition"])).toBe("该警情尚缺：现场反馈、处置反馈。仍要办结销号吗？");
    setLang("en");
    expect(closeConfirmText(["arrival"])).toBe("This incident still lacks: Arrival. Close it anyway?");
  });
});

describe("the panel", () => {
  it("shows three ticks, each in words", () => {
    const html = threeFeedbacksHtml(record({ arrival: true, scene: false, disposition: true }));
    expect(html).toContain('data-feedback="arrival" data-done="true"');
    expect(html).toContain('data-feedback="scene" data-done="false"');
    expect(html).toMatch(/✗<\/span> 现场反馈\s*<small>未反馈/);
    expect(html).toContain("缺 1 项");
    expect(threeFeedbacksHtml(record({ arrival: true, scene: true, disposition: true }))).toContain("三反馈齐全");
    expect(threeFeedbacksHtml({ status: "dispatched" })).toBe("");
  });

  it("shows the case: stage, number, stages; none without one", () => {
    const html = caseHtml({
      case: {
        accepted: true, case_number: "A<1>", stage: "solved", filed_at: "2026-11-27T02:00:00Z",
        stages: [{ stage: "filed", at: "2026-11-27T02:00:00Z", op_id: "o1" }, { stage: "solved", at: "2026-11-28T02:00:00Z", op_id: "o2" }],
      },
    });
    expect(html).toContain("A&lt;1&gt;");
    expect(html).toContain('class="case-stage">破案');
    expect(html).toContain("立案</span> 11/27 10:00:00");
    expect(caseHtml({ case: null })).toBe("");
    expect(caseHtml({ case: { accepted: false, case_number: "B2", stage: "filed", stages: [] } })).toContain("尚未受案");
    expect(caseHtml({ case: { accepted: true, case_number: null, stage: null, stages: [] } })).toContain("已受案");
  });
});
