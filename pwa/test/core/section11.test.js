// PROTOCOL §11's vocabulary on the JavaScript side (core/protocol.js, core/labels.js):
// the same values as sync/messages.py, and a word for each in both languages — the new
// clocks (督办时限, 整改时限), op types (the timeline) and the orders', notices' and cases' values.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LABELS } from "../../core/labels.js";
import {
  CASE_STAGES, ERROR, NOTICE_KINDS, RECTIFICATION, RECTIFICATION_STATES, SUPERVISION_LEVELS, SUPERVISION_REPLY,
  SUPERVISION_STATES,
} from "../../core/protocol.js";

const repo = new URL("../../../", import.meta.url);
const messages = readFileSync(new URL("sync/messages.py", repo), "utf8");

function literal(name) {
  const m = messages.match(new RegExp(`^${name} = Literal\\[([^\\]]*)\\]`, "m"));
  if (!m) throw new Error(`${name} not found in sync/messages.py`);
  return [...m[1].matchAll(/"([^"]+)"/g)].map((x) => x[1]);
}

describe("§11 vocabulary", () => {
  it("matches sync/messages.py", () => {
    expect(SUPERVISION_LEVELS).toEqual(literal("SupervisionLevel"));
    expect(SUPERVISION_STATES).toEqual(literal("SupervisionState"));
    expect(NOTICE_KINDS).toEqual(literal("NoticeKind"));
    expect(RECTIFICATION_STATES).toEqual(literal("RectificationState"));
    expect(CASE_STAGES).toEqual(literal("CaseStage"));
    for (const type of [SUPERVISION_REPLY, RECTIFICATION, "case_progress"]) expect(messages).toContain(`"${type}"`);
  });

  it("names the contract's codes", () => {
    expect([ERROR.NO_STATION, ERROR.NOT_ANSWERED, ERROR.ALREADY_ACCEPTED, ERROR.INVALID_PARAM]).toEqual([
      "no_station", "not_answered", "already_accepted", "invalid_param",
    ]);
    expect([ERROR.UNKNOWN_ORDER, ERROR.UNKNOWN_NOTICE]).toEqual(["unknown_order", "unknown_notice"]);
  });

  it("has a word for each value in both languages", () => {
    const groups = {
      supervision_level: SUPERVISION_LEVELS, supervision_state: SUPERVISION_STATES, notice_kind: NOTICE_KINDS,
      rectification_state: RECTIFICATION_STATES, case_stage: CASE_STAGES,
    };
    for (const lang of ["zh-CN", "en"]) {
      for (const [group, values] of Object.entries(groups)) {
        expect(Object.keys(LABELS[lang][group]), `${lang} ${group}`).toEqual([...values]);
      }
      for (const clock of ["supervision", "rectification"]) expect(LABELS[lang].clock[clock], `${lang} ${clock}`).toBeTruthy();
      for (const type of ["supervision_reply", "rectification", "case_progress"]) expect(LABELS[lang].event[type], type).toBeTruthy();
    }
    expect(LABELS["zh-CN"].supervision_level.bureau).toBe("挂牌督办");
    expect(LABELS["zh-CN"].clock).toMatchObject({ supervision: "督办时限", rectification: "整改时限" });
    expect(LABELS["zh-CN"].event).toMatchObject({ supervision_reply: "督办回复", rectification: "整改报告", case_progress: "案件进展" });
  });
});
