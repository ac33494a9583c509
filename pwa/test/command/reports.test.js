// The reports page's logic (command/reports.js): periods in Beijing time, the request,
// the file name, figures, and the rendered report.
import { beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../../core/index.js";
import { setLang } from "../../command/i18n.js";
import {
  beijingToday, carriedOverList, csvName, num, pct, periodsOf, periodText, reportErrorText, reportHtml, reportPath,
} from "../../command/reports.js";
import { store } from "../../command/store.js";

beforeEach(() => {
  setLang("zh-CN");
  store.stationsById = new Map([["s1", { id: "s1", name: "城关派出所" }]]);
});

describe("periods", () => {
  it("take today in Beijing time, whatever the desk's zone", () => {
    // 2026-03-31 17:30 UTC is already 1 April in Beijing.
    expect(beijingToday(Date.parse("2026-03-31T17:30:00Z"))).toBe("2026-04-01");
    expect(beijingToday(Date.parse("2026-03-31T15:59:59Z"))).toBe("2026-03-31");
  });

  it("place a day in its month and quarter", () => {
    expect(periodsOf("2026-04-01")).toEqual({ date: "2026-04-01", month: "2026-04", quarter: "2026-Q2" });
    expect(periodsOf("2026-03-31").quarter).toBe("2026-Q1");
    expect(periodsOf("2026-12-31").quarter).toBe("2026-Q4");
    expect(periodsOf("2026-07-01").quarter).toBe("2026-Q3");
  });
});

describe("the request", () => {
  const form = { period: "daily", date: "2026-11-27", month: "2026-11", quarter: "2026-Q4", station: "" };

  it("asks for the chosen period, for one station or the bureau", () => {
    expect(reportPath(form)).toBe("/api/reports/daily?date=2026-11-27");
    expect(reportPath({ ...form, period: "monthly", station: "s 1" })).toBe("/api/reports/monthly?month=2026-11&station_id=s%201");
    expect(reportPath({ ...form, period: "quarterly" }, "&format=csv")).toBe("/api/reports/quarterly?quarter=2026-Q4&format=csv");
  });

  it("names the CSV after the period", () => {
    expect(csvName(form)).toBe("qingling-daily-2026-11-27.csv");
    expect(csvName({ ...form, period: "quarterly" })).toBe("qingling-quarterly-2026-Q4.csv");
  });

  it("tells a missing reports endpoint from an unknown station", () => {
    expect(reportErrorText(new ApiError(404, "not_found", "no such route"))).toBe("报表接口尚未上线");
    expect(reportErrorText(new ApiError(404, "not_found", "no such station"))).toBe("no such station");
    expect(reportErrorText(new ApiError(400, "invalid_date", "2026-02-30 is not a date"))).toBe("2026-02-30 is not a date");
  });
});

describe("figures", () => {
  it("show rates as percentages and nothing as a dash, keeping 0", () => {
    expect(pct(0.8766)).toBe("87.7%");
    expect(pct(0)).toBe("0.0%");
    expect(pct(null)).toBe("—");
    expect(num(0)).toBe("0");
    expect(num(undefined)).toBe("—");
  });

  it("find the carried-over list under either name, and none in a daily report", () => {
    expect(carriedOverList({ carried_over_incidents: [{ id: "a" }], carried_over: 1 })).toEqual([{ id: "a" }]);
    expect(carriedOverList({ carried_over: [{ id: "b" }] })).toEqual([{ id: "b" }]);
    expect(carriedOverList({ carried_over: 3 })).toBeNull();
  });
});

describe("the report", () => {
  const report = {
    month: "2026-11",
    stations: [{
      station_id: "s1", name: "城关派出所", received: 12, cancelled: 1, cleared: 9, carried_over: 2, open: 0,
      arrival: { dispatched: 11, arrived: 10, within_target: 8, compliance_rate: 0.8, median_min: 9.5, p90_min: 18 },
      initial_result: { due: 10, within_target: 9, compliance_rate: 0.9 },
    }],
    bureau: {
      received: 12, cancelled: 1, cleared: 9, carried_over: 2, open: 0, by_category: { dispute: 7, help: 5 },
      arrival: { dispatched: 11, arrived: 10, within_target: 8, compliance_rate: 0.8, median_min: 9.5, p90_min: 18 },
      initial_result: { due: 10, within_target: 9, compliance_rate: 0.9 },
    },
    carried_over_incidents: [{ id: "i9", number: "J009", category: "dispute", station_id: "s1", status: "closed",
      received_at: "2026-11-30T15:00:00Z", clear_due_at: "2026-12-01T15:00:00Z", closed_at: "2026-12-02T01:00:00Z" }],
  };

  it("has a row per station and the bureau's, with every figure", () => {
    const html = reportHtml(report);
    expect(html).toContain('<p class="period">2026-11</p>');
    const bureau = html.match(/<tr class="total">(.*?)<\/tr>/s)[1];
    const cells = [...bureau.matchAll(/<td>([^<]*)<\/td>/g)].map((m) => m[1]);
    expect(cells).toEqual(["12", "1", "9", "2", "0", "11", "10", "8", "80.0%", "9.5", "18", "10", "9", "90.0%"]);
    expect(bureau).toContain("全局");
  });

  it("draws the three charts and lists what was carried over", () => {
    const html = reportHtml(report);
    expect(html.match(/<svg class="chart"/g)).toHaveLength(3);
    expect(html).toContain("结转警情 (1)");
    expect(html).toContain("J009");
    expect(html).toContain("已办结 12/02 09:00:00");
  });

  it("shows a daily report without a carried-over list", () => {
    const { carried_over_incidents: _list, month: _month, ...rest } = report;
    const html = reportHtml({ ...rest, date: "2026-11-27" });
    expect(html).not.toContain("结转警情");
    expect(html).toContain("2026-11-27");
  });
});

describe("the weekly report (§11 日结周评)", () => {
  const form = { period: "weekly", date: "2026-11-27", week: "2026-W48", month: "2026-11", quarter: "2026-Q4", station: "" };

  it("asks for the ISO week and names the CSV after it", () => {
    expect(reportPath(form)).toBe("/api/reports/weekly?week=2026-W48");
    expect(reportPath({ ...form, station: "s1" }, "&format=csv")).toBe("/api/reports/weekly?week=2026-W48&station_id=s1&format=csv");
    expect(csvName(form)).toBe("qingling-weekly-2026-W48.csv");
  });

  it("shows the week with its Monday and Sunday", () => {
    expect(periodText({ week: "2026-W53" })).toBe("2026-W53（2026-12-28 至 2027-01-03）");
    expect(periodText({ date: "2026-11-27" })).toBe("2026-11-27");
    setLang("en");
    expect(periodText({ week: "2026-W48" })).toBe("2026-W48 (2026-11-23 to 2026-11-29)");
  });
});

describe("the §11 figures in the report", () => {
  const s = {
    station_id: "s1", name: "城关派出所", received: 5, cancelled: 0, cleared: 3, carried_over: 0, open: 2,
    arrival: { dispatched: 5, arrived: 3, within_target: 3, pending: 2, compliance_rate: 1, median_min: 8, p90_min: 9 },
    initial_result: { due: 3, within_target: 3, compliance_rate: 1 },
    three_feedbacks: { closed: 3, complete: 2, complete_rate: 0.6667 },
    cases: { accepted: 1, filed: 1, solved: 0, closed: 0, transferred: 0, closure_rate: 0 },
  };

  it("gives arrivals en route (途中) their column, beside arrived", () => {
    const html = reportHtml({ week: "2026-W48", stations: [s], bureau: s });
    expect(html).toContain("<th scope=\"col\">途中</th>");
    const bureau = html.match(/<tr class="total">(.*?)<\/tr>/s)[1];
    const cells = [...bureau.matchAll(/<td>([^<]*)<\/td>/g)].map((m) => m[1]);
    expect(cells.slice(5, 9)).toEqual(["5", "3", "2", "3"]);
    expect(cells[9]).toBe("100.0%");
  });

  it("adds the 三反馈 and case tables, and the monthly open cases", () => {
    const html = reportHtml({
      month: "2026-11", stations: [s], bureau: s,
      open_cases: [{ incident_id: "i1", number: "J20261102-0001", station_id: "s1", case_number: "A1", stage: "filed", filed_at: "2026-11-02T01:00:00Z" }],
    });
    expect(html).toContain('data-block="three_feedbacks"');
    expect(html).toContain('data-block="cases"');
    expect(html).not.toContain('data-block="mediation"');
    expect(html).toContain("月清仓：本月立案未结 (1)");
  });

  it("shows none of it for a server before §11", () => {
    const { three_feedbacks: _t, cases: _c, ...old } = s;
    const html = reportHtml({ date: "2026-11-27", stations: [{ ...old, arrival: { dispatched: 1 } }], bureau: {} });
    expect(html).not.toContain("途中");
    expect(html).not.toContain("figure-block");
    expect(html).not.toContain("open-cases");
  });
});
