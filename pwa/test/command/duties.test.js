// The responsibility list (command/duties.js, PROTOCOL §10): who may edit it, how a typed
// keyword list is split, the PUT body, and the form's checks and errors.
import { beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../../core/index.js";
import {
  agencyFormHtml, chipsHtml, dutiesBody, dutiesErrorText, dutiesPath, dutiesProblems, keywordsText, mayEditDuties, parseKeywords,
} from "../../command/duties.js";
import { setLang } from "../../command/i18n.js";

beforeEach(() => setLang("zh-CN"));

describe("the responsibility list", () => {
  it("is the admin's alone", () => {
    expect(mayEditDuties({ role: "admin" })).toBe(true);
    for (const role of ["dispatcher", "supervisor", "agency", "station_chief"]) expect(mayEditDuties({ role })).toBe(false);
    expect(mayEditDuties(null)).toBe(false);
  });

  it("splits keywords on Chinese and Latin commas, 、, semicolons and new lines, once each", () => {
    expect(parseKeywords("水管，爆裂, 漏水、楼道;燃气；停水\n水管")).toEqual(["水管", "爆裂", "漏水", "楼道", "燃气", "停水"]);
    expect(parseKeywords("  ")).toEqual([]);
    expect(parseKeywords("burst pipe, 水管")).toEqual(["burst pipe", "水管"]);
    expect(keywordsText(["水管", "爆裂"])).toBe("水管，爆裂");
    expect(parseKeywords(keywordsText(["水管", "爆裂"]))).toEqual(["水管", "爆裂"]);
  });

  it("sends keywords, categories in the protocol's order, and whole numbers", () => {
    expect(dutiesBody({ keywords: "水管，爆裂", categories: ["non_police", "help"], ack_minutes: "30", feedback_hours: "24" })).toEqual({
      keywords: ["水管", "爆裂"], categories: ["help", "non_police"], ack_minutes: 30, feedback_hours: 24,
    });
    expect(dutiesBody({ keywords: "", categories: "dispute", ack_minutes: "5", feedback_hours: "1" }).categories).toEqual(["dispute"]);
    expect(dutiesBody({ keywords: "", ack_minutes: "5", feedback_hours: "1" }).categories).toEqual([]);
    expect(dutiesPath("a/b")).toBe("/api/agencies/a%2Fb/duties");
  });

  it("asks for whole numbers within the server's bounds, and keywords it takes, before sending", () => {
    expect(dutiesProblems({ ack_minutes: "30", feedback_hours: "24" })).toEqual([]);
    expect(dutiesProblems({ ack_minutes: "", feedback_hours: "1.5" })).toEqual([
      "签收时限（分钟）须为 1 到 10080 的整数", "反馈时限（小时）须为 1 到 8760 的整数",
    ]);
    expect(dutiesProblems({ ack_minutes: "0", feedback_hours: "-1" })).toHaveLength(2);
    expect(dutiesProblems({ ack_minutes: "10080", feedback_hours: "8760" })).toEqual([]);
    expect(dutiesProblems({ ack_minutes: "10081", feedback_hours: "8761" })).toHaveLength(2);
    const many = Array.from({ length: 51 }, (_, n) => `词${n}`).join("，");
    expect(dutiesProblems({ keywords: many, ack_minutes: "1", feedback_hours: "1" })).toEqual(["关键词最多 50 个"]);
    expect(dutiesProblems({ keywords: `水管，${"长".repeat(51)}`, ack_minutes: "1", feedback_hours: "1" })[0])
      .toMatch(/^每个关键词最多 50 个字：长/);
  });

  it("says the server's refusals in plain words", () => {
    expect(dutiesErrorText(new ApiError(403, "forbidden", "no"))).toBe("仅管理员可以修改责任清单");
    expect(dutiesErrorText(new ApiError(404, "not_found", "no"))).toBe("该单位不是联动单位");
    expect(dutiesErrorText(new ApiError(400, "invalid", "ack_minutes: at most 1440"))).toBe("ack_minutes: at most 1440");
  });

  it("draws an agency's form with its duties, escaped, and a new agency's empty", () => {
    const html = agencyFormHtml({
      station_id: "zjj", name: "县住建局<script>",
      duties: { keywords: ["水管", "楼<道"], categories: ["non_police"], ack_minutes: 20, feedback_hours: 12 },
    });
    expect(html).toContain("县住建局&lt;script&gt;");
    expect(html).toContain("水管，楼&lt;道");
    expect(html).toMatch(/value="non_police" checked/);
    expect(html).not.toMatch(/value="criminal" checked/);
    expect(html).toContain('value="20"');
    expect(html).toContain('value="12"');
    const empty = agencyFormHtml({ station_id: "new", name: "新单位", duties: null });
    expect(empty).toContain('name="ack_minutes" type="number" min="1" max="10080" step="1" required value=""');
    expect(empty).toContain("novalidate");
    expect(chipsHtml([])).toContain("尚无关键词");
    expect(chipsHtml(["水管"])).toBe('<span class="chip">水管</span>');
  });
});
