// The field app's interface text: every key in both languages, every placeholder in both.
import { describe, expect, it } from "vitest";
import { MESSAGES } from "../../field/i18n.js";

const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("the field app's words", () => {
  it("has every key in Chinese and in English, with the same placeholders", () => {
    const zh = MESSAGES["zh-CN"];
    const en = MESSAGES.en;
    expect(Object.keys(en).sort()).toEqual(Object.keys(zh).sort());
    for (const key of Object.keys(zh)) expect(placeholders(en[key]), key).toEqual(placeholders(zh[key]));
  });
});
