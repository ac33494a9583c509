// The domain's words: one table, both languages complete, every protocol value named.
import { describe, expect, it } from "vitest";
import { createI18n, fill, normalizeLang, withWording } from "../../core/i18n.js";
import { LABELS } from "../../core/labels.js";
import {
  AGENCY_CLOCKS, AGENCY_OUTCOMES, AGREEMENTS, AREA_TYPES, CALLBACK_STATES, CATEGORIES, EVIDENCE_KINDS, FEEDBACK_SOURCES, RATING_DIMENSIONS, RATINGS, RESULTS,
  ROLES, STATUSES,
} from "../../core/protocol.js";

describe("the labels table", () => {
  it("has the same groups and values in Chinese and English, none empty", () => {
    expect(Object.keys(LABELS)).toEqual(["zh-CN", "en"]);
    expect(Object.keys(LABELS.en).sort()).toEqual(Object.keys(LABELS["zh-CN"]).sort());
    for (const group of Object.keys(LABELS["zh-CN"])) {
      expect(Object.keys(LABELS.en[group]).sort(), group).toEqual(Object.keys(LABELS["zh-CN"][group]).sort());
      for (const lang of ["zh-CN", "en"]) {
        for (const [value, text] of Object.entries(LABELS[lang][group])) {
          expect(typeof text === "string" && text.trim().length > 0, `${lang} ${group}.${value}`).toBe(true);
        }
      }
    }
  });

  it("names every value the protocol can send", () => {
    const groups = {
      category: CATEGORIES, area_type: AREA_TYPES, status: STATUSES, result: RESULTS,
      agreement: AGREEMENTS, evidence: EVIDENCE_KINDS, role: ROLES,
    };
    for (const [group, values] of Object.entries(groups)) {
      for (const value of values) expect(LABELS["zh-CN"][group][value], `${group}.${value}`).toBeTruthy();
    }
    // Every op type has an event label (the timeline and the field's outbox show them).
    for (const type of ["arrival", "scene_report", "disposition", "bodycam_ref", "mediation_outcome",
      "evidence_item", "note", "ack_dispatch", "point_check_reply", "rating_invite"]) {
      expect(LABELS["zh-CN"].event[type], type).toBeTruthy();
    }
    // Flags and review kinds.
    for (const flag of ["late", "clock_suspect", "conflict", "evidence_mismatch", "pending_base"]) {
      expect(LABELS["zh-CN"].flag[flag], flag).toBeTruthy();
    }
    for (const kind of ["late", "clock_suspect", "conflict", "evidence_mismatch", "overdue", "missing_evidence",
      "far_arrival", "citizen_unsatisfied"]) {
      expect(LABELS["zh-CN"].review[kind], kind).toBeTruthy();
    }
    expect(LABELS["zh-CN"].flag.far_arrival).toBeTruthy();
    // PROTOCOL §9: verdicts, their dimensions and sources, the callback task's states.
    const verdicts = { rating: RATINGS, dimension: [...RATING_DIMENSIONS, "overall"], feedback_source: FEEDBACK_SOURCES,
      callback_state: CALLBACK_STATES };
    for (const [group, values] of Object.entries(verdicts)) {
      for (const value of values) expect(LABELS["zh-CN"][group][value], `${group}.${value}`).toBeTruthy();
    }
    expect(LABELS["zh-CN"].dimension).toMatchObject({ reception: "接警态度", timeliness: "出警时间", conduct: "警容风纪", handling: "现场处理" });
    expect(LABELS["zh-CN"].rating).toEqual({ satisfied: "满意", basically_satisfied: "基本满意", unsatisfied: "不满意" });
    // PROTOCOL §10: the diverted status, the agency's clocks, its op and its outcomes.
    expect(LABELS["zh-CN"].status.diverted).toBeTruthy();
    for (const clock of AGENCY_CLOCKS) expect(LABELS["zh-CN"].clock[clock], clock).toBeTruthy();
    expect(LABELS["zh-CN"].clock).toMatchObject({ agency_ack: "签收时限", agency_feedback: "反馈时限" });
    expect(LABELS["zh-CN"].event.agency_feedback).toBe("办理反馈");
    expect(Object.keys(LABELS["zh-CN"].agency_outcome)).toEqual([...AGENCY_OUTCOMES]);
    expect(LABELS["zh-CN"].agency_outcome).toEqual({ handled: "已办结", referred: "已转交", returned: "退回（非本单位职责）" });
  });
});

describe("lookups", () => {
  const messages = {
    "zh-CN": { hello: "你好，{name}", only_zh: "只有中文" },
    en: { hello: "Hello, {name}" },
  };

  it("reads labels in the current language, Chinese by default", () => {
    const i18n = createI18n({ messages });
    expect(i18n.getLang()).toBe("zh-CN");
    expect(i18n.label("category", "public_order")).toBe("治安");
    expect(i18n.label("status", "received")).toBe("待派警");
    i18n.setLang("en");
    expect(i18n.label("category", "public_order")).toBe("public order");
    expect(i18n.label("role", "station_chief")).toBe("station chief");
  });

  it("shows an unknown value as itself and a missing one as nothing", () => {
    const i18n = createI18n({ messages });
    expect(i18n.label("category", "arson")).toBe("arson");
    expect(i18n.label("no_such_group", "x")).toBe("x");
    expect(i18n.label("category", null)).toBe("");
    expect(i18n.label("category", undefined)).toBe("");
  });

  it("fills placeholders and falls back to Chinese, then to the key", () => {
    const i18n = createI18n({ messages, lang: "en" });
    expect(i18n.t("hello", { name: "Zhang" })).toBe("Hello, Zhang");
    expect(i18n.t("only_zh")).toBe("只有中文");
    expect(i18n.t("missing.key")).toBe("missing.key");
    expect(fill("{n} of {total}", { n: 0 })).toBe("0 of {total}");
  });

  it("accepts only the languages it has", () => {
    expect(normalizeLang("en")).toBe("en");
    expect(normalizeLang("fr")).toBe("zh-CN");
    expect(normalizeLang(null)).toBe("zh-CN");
    const i18n = createI18n({ messages });
    expect(i18n.setLang("de")).toBe("zh-CN");
  });

  it("a front end's own wording replaces only the values it names", () => {
    const labels = withWording({ "zh-CN": { status: { received: "已接警" } }, en: { agreement: { reached: "Reached" } } });
    const i18n = createI18n({ messages, labels });
    expect(i18n.label("status", "received")).toBe("已接警");
    expect(i18n.label("status", "dispatched")).toBe("已派警");
    i18n.setLang("en");
    expect(i18n.label("agreement", "reached")).toBe("Reached");
    expect(i18n.label("agreement", "failed")).toBe("no agreement");
    // The shared table itself is untouched.
    expect(LABELS["zh-CN"].status.received).toBe("待派警");
    expect(LABELS.en.agreement.reached).toBe("agreement reached");
  });
});
