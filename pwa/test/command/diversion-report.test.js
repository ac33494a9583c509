// The reports' diversion block (command/diversion-report.js, PROTOCOL §10): the bureau's sums,
// the diversion rate as a percentage, the returned count marked, the chart, and a report
// without the block.
import { beforeEach, describe, expect, it } from "vitest";
import { diversionRate, diversionReportHtml, diversionTotals, hasDiversion, returnedCell } from "../../command/diversion-report.js";
import { setLang } from "../../command/i18n.js";
import { reportHtml } from "../../command/reports.js";
import { store } from "../../command/store.js";

const agencies = [
  { agency_id: "hotline", name: "县12345热线", diverted: 5, acknowledged_within_target: 4, fed_back: 3, fed_back_within_target: 2, returned: 1, open: 1 },
  { agency_id: "zjj", name: "县住建局", diverted: 2, acknowledged_within_target: 2, fed_back: 2, fed_back_within_target: 2, returned: 0, open: 0 },
  { agency_id: "town", name: "河口镇人民政府", diverted: 3, acknowledged_within_target: 1, fed_back: 0, fed_back_within_target: 0, returned: 3, open: 0 },
];
const bureau = { diverted: 10, acknowledged_within_target: 7, fed_back: 5, fed_back_within_target: 4, returned: 4, open: 1, diversion_rate: 0.3125 };
const report = (diversion) => ({
  date: "2026-11-30",
  stations: [],
  bureau: { received: 32, by_category: {}, arrival: {}, initial_result: {} },
  ...(diversion ? { diversion } : {}),
});

beforeEach(() => {
  setLang("zh-CN");
  store.stationsById = new Map([["zjj", { id: "zjj", name: "县住建局" }]]);
});

describe("the diversion figures", () => {
  it("format the rate as a percentage to one decimal", () => {
    expect(diversionRate(0.3125)).toBe("31.3%");
    expect(diversionRate(0.0625)).toBe("6.3%");
    expect(diversionRate(0)).toBe("0.0%");
    expect(diversionRate(1)).toBe("100.0%");
    expect(diversionRate(null)).toBe("—");
    expect(diversionRate(undefined)).toBe("—");
  });

  it("take the bureau's sums as sent, and add up the agencies where one is missing", () => {
    expect(diversionTotals({ agencies, bureau })).toEqual(bureau);
    const { returned: _r, open: _o, ...partial } = bureau;
    expect(diversionTotals({ agencies, bureau: partial })).toEqual(bureau);
    expect(diversionTotals({ agencies, bureau: {} })).toEqual({ ...bureau, diversion_rate: null });
    expect(diversionTotals({ agencies: [], bureau: { diversion_rate: null } })).toEqual({
      diverted: 0, acknowledged_within_target: 0, fed_back: 0, fed_back_within_target: 0, returned: 0, open: 0, diversion_rate: null,
    });
  });

  it("mark an agency that returned calls (踢皮球) in red and in words", () => {
    expect(returnedCell(0)).toBe("0");
    expect(returnedCell(3)).toBe('<strong class="kicked" title="退回 3 次">⚠ 3</strong>');
    expect(returnedCell(null)).toBe("—");
  });
});

describe("the diversion section", () => {
  it("is a table per agency with the bureau's row, its rate, and a chart of diverted vs returned", () => {
    const html = diversionReportHtml(report({ agencies, bureau }));
    expect(html).toContain("非警务分流");
    expect(html).toContain("分流率 31.3%（分流 10 / 接警 32）");
    const rows = [...html.matchAll(/<tr class="([^"]*)"><th scope="row">([^<]+)<\/th>(.*?)<\/tr>/g)].map((m) => ({
      cls: m[1], name: m[2], cells: [...m[3].matchAll(/<td>(.*?)<\/td>/g)].map((c) => c[1].replace(/<[^>]+>/g, "")),
    }));
    expect(rows.map((r) => r.name)).toEqual(["县12345热线", "县住建局", "河口镇人民政府", "全局"]);
    expect(rows[0].cells).toEqual(["5", "4", "3", "2", "⚠ 1", "1", ""]);
    expect(rows[1].cells).toEqual(["2", "2", "2", "2", "0", "0", ""]);
    expect(rows[3].cells).toEqual(["10", "7", "5", "4", "⚠ 4", "1", "31.3%"]);
    expect(rows[2].cls).toBe("has-returned");
    expect(rows[1].cls).toBe("");
    expect(rows[3].cls).toBe("total has-returned");
    // The chart: two series, every value written as text.
    expect(html).toContain("各联动单位分流与退回");
    expect(html).toMatch(/<svg class="chart"/);
    for (const v of [">5<", ">2<", ">3<", ">1<", ">0<"]) expect(html).toContain(v);
  });

  it("names an agency the report leaves unnamed by its station, and escapes names", () => {
    const html = diversionReportHtml(report({
      agencies: [{ agency_id: "zjj", diverted: 1, returned: 0 }, { agency_id: "x", name: "<b>镇</b>", diverted: 1, returned: 1 }],
      bureau: { diversion_rate: null },
    }));
    expect(html).toContain("县住建局");
    expect(html).toContain("&lt;b&gt;镇&lt;/b&gt;");
    expect(html).toContain("分流率 —");
  });

  it("is absent from a report without the block, and part of one with it", () => {
    expect(hasDiversion(report(null))).toBe(false);
    expect(hasDiversion({ diversion: { bureau: {} } })).toBe(false);
    expect(diversionReportHtml(report(null))).toBe("");
    expect(reportHtml(report(null))).not.toContain("非警务分流");
    expect(reportHtml(report({ agencies, bureau }))).toContain("分流率 31.3%");
  });

  it("reads in English", () => {
    setLang("en");
    expect(diversionReportHtml(report({ agencies, bureau }))).toContain("Diversion rate 31.3% (10 diverted of 32 received)");
    setLang("zh-CN");
  });
});
