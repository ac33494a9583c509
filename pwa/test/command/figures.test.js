// The reports' §11 figures (command/figures.js): arrivals en route, 三反馈, mediation, cases
// and the open-cases lists; blocks a server leaves out show nothing.
import { beforeEach, describe, expect, it } from "vitest";
import { setLang } from "../../command/i18n.js";
import {
  arrivalCompliance, blockCells, blockTableHtml, caseStageText, figureBlocksHtml, hasBlock, hasPending, openCasesHtml, openCasesList,
} from "../../command/figures.js";
import { store } from "../../command/store.js";

beforeEach(() => {
  setLang("zh-CN");
  store.stationsById = new Map([["s1", { id: "s1", name: "城关派出所" }]]);
});

const station = {
  station_id: "s1", name: "城关派出所",
  arrival: { dispatched: 10, arrived: 7, within_target: 6, pending: 2, compliance_rate: 0.75 },
  three_feedbacks: { closed: 8, complete: 6, complete_rate: 0.75 },
  mediation: { outcomes: 4, reached: 2, partial: 1, failed: 1, follow_ups_due: 3 },
  cases: { accepted: 5, filed: 4, solved: 2, closed: 1, transferred: 1, closure_rate: 0.5 },
};

describe("arrival compliance", () => {
  it("leaves officers en route out of the denominator", () => {
    expect(arrivalCompliance(station.arrival)).toEqual({ within: 6, base: 8, pending: 2, rate: 0.75 });
  });

  it("computes the rate only when the server sent none, and keeps its null", () => {
    expect(arrivalCompliance({ dispatched: 3, within_target: 2, pending: 0 }).rate).toBe(0.6667);
    expect(arrivalCompliance({ dispatched: 2, within_target: 0, pending: 2, compliance_rate: null })).toEqual({
      within: 0, base: 0, pending: 2, rate: null,
    });
    // A server before §11: no pending, the old rate.
    expect(arrivalCompliance({ dispatched: 4, within_target: 3, compliance_rate: 0.75 })).toEqual({ within: 3, base: 4, pending: 0, rate: 0.75 });
    expect(arrivalCompliance(undefined)).toEqual({ within: 0, base: 0, pending: 0, rate: null });
  });

  it("knows whether a report counts arrivals en route", () => {
    expect(hasPending({ bureau: { arrival: { pending: 0 } } })).toBe(true);
    expect(hasPending({ bureau: { arrival: { dispatched: 1 } }, stations: [] })).toBe(false);
  });
});

describe("blocks", () => {
  it("format each figure: counts, rates to one decimal, dashes for nothing", () => {
    expect(blockCells("three_feedbacks", station.three_feedbacks)).toEqual(["8", "6", "75.0%"]);
    expect(blockCells("mediation", station.mediation)).toEqual(["4", "2", "1", "1", "3"]);
    expect(blockCells("cases", station.cases)).toEqual(["5", "4", "2", "1", "1", "50.0%"]);
    expect(blockCells("cases", { accepted: 0, filed: 0, solved: 0, closed: 0, transferred: 0, closure_rate: null })).toEqual(["0", "0", "0", "0", "0", "—"]);
    expect(blockCells("three_feedbacks", undefined)).toEqual(["—", "—", "—"]);
  });

  it("draw a table per block with the bureau's row, and nothing without the block", () => {
    const report = { stations: [station], bureau: { ...station, station_id: undefined } };
    expect(hasBlock(report, "cases")).toBe(true);
    const html = blockTableHtml(report, "cases");
    expect(html).toContain("案件办理");
    expect(html).toContain("结案率");
    expect(html).toContain("<th scope=\"row\">城关派出所</th>");
    expect(html).toContain("<tr class=\"total\"><th scope=\"row\">全局</th>");
    const all = figureBlocksHtml(report);
    for (const title of ["三反馈", "矛盾调解", "案件办理", "待回访", "齐全率"]) expect(all).toContain(title);
    expect(figureBlocksHtml({ stations: [{ station_id: "s1" }], bureau: {} })).toBe("");
  });
});

describe("open cases", () => {
  const entry = { incident_id: "i1", number: "J20261101-0001", station_id: "s1", case_number: "A2026-1", stage: "filed", filed_at: "2026-11-01T02:00:00Z" };

  it("are listed on monthly (月清仓) and quarterly (季清底) reports only", () => {
    expect(openCasesList({ date: "2026-11-29" })).toBeNull();
    const monthly = openCasesHtml({ month: "2026-11", open_cases: [entry] });
    expect(monthly).toContain("月清仓");
    expect(monthly).toContain("J20261101-0001");
    expect(monthly).toContain("A2026-1");
    expect(monthly).toContain("城关派出所");
    expect(monthly).toContain("<td>立案</td>");
    expect(openCasesHtml({ quarter: "2026-Q4", open_cases: [] })).toContain("季清底");
    expect(openCasesHtml({ quarter: "2026-Q4", open_cases: [] })).toContain("没有未结案件");
    expect(openCasesHtml({ month: "2026-11" })).toBe("");
  });

  it("name stages in both languages", () => {
    expect(caseStageText("transferred")).toBe("移送");
    expect(caseStageText(null)).toBe("—");
    setLang("en");
    expect(caseStageText("solved")).toBe("solved");
  });
});
