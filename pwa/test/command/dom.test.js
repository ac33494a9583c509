import { describe, expect, it } from "vitest";
import { beijingToIso, esc } from "../../command/dom.js";

describe("dom helpers", () => {
  it("escape every character HTML gives meaning to, and nothing as empty", () => {
    expect(esc(`<a href="x" title='y'>&</a>`)).toBe("&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
    expect(esc(0)).toBe("0");
    expect(esc(null)).toBe("");
    expect(esc(undefined)).toBe("");
  });

  it("read a datetime-local value as Beijing time", () => {
    expect(beijingToIso("2026-11-27T08:30")).toBe("2026-11-27T08:30:00+08:00");
    expect(beijingToIso("2026-11-27T08:30:15")).toBe("2026-11-27T08:30:15+08:00");
    expect(beijingToIso("")).toBeUndefined();
  });
});
