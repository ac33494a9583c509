// The reports' satisfaction block (command/satisfaction.js, PROTOCOL §9): rates as the
// bureau publishes them (seed 004: 7,031 satisfied and 11 unsatisfied of 8,520 → 82.5% and
// 0.13%), the table's cells, the per-dimension rows, and a report without the block.
import { beforeEach, describe, expect, it } from "vitest";
import { setLang } from "../../command/i18n.js";
import { reportHtml } from "../../command/reports.js";
import {
  dimensionRows, hasSatisfaction, rate1, rate2, satisfactionCells, satisfactionCharts,
} from "../../command/satisfaction.js";
import { stackedBarChart } from "../../command/charts.js";
import { store } from "../../command/store.js";

const block = (over = {}) => ({
  rated: 8520, satisfied: 7031, basically_satisfied: 1478, unsatisfied: 11,
  satisfaction_rate: 0.825, unsatisfied_rate: 0.0013,
  by_dimension: {
    reception: { satisfied: 7100, basically_satisfied: 1410, unsatisfied: 10 },
    timeliness: { satisfied: 6900, basically_satisfied: 1600, unsatisfied: 20 },
    conduct: { satisfied: 7200, basically_satisfied: 1315, unsatisfied: 5 },
    handling: { satisfied: 7000, basically_satisfied: 1500, unsatisfied: 20 },
  },
  callbacks_due: 18, callbacks_done: 570, callbacks_unreachable: 11,
  ...over,
});

const station = (id, name, satisfaction) => ({
  station_id: id, name, received: 3, cancelled: 0, cleared: 3, carried_over: 0, open: 0,
  arrival: { dispatched: 3, arrived: 3, within_target: 3, compliance_rate: 1, median_min: 6, p90_min: 9 },
  initial_result: { due: 3, within_target: 3, compliance_rate: 1 },
  ...(satisfaction ? { satisfaction } : {}),
});

beforeEach(() => {
  setLang("zh-CN");
  store.stationsById = new Map();
});

describe("rates", () => {
  it("read as the bureau publishes them", () => {
    expect(rate1(0.825)).toBe("82.5%");
    expect(rate1(7031 / 8520)).toBe("82.5%");
    expect(rate2(0.0013)).toBe("0.13%");
    expect(rate2(11 / 8520)).toBe("0.13%");
    expect(rate1(1)).toBe("100.0%");
    expect(rate2(0)).toBe("0.00%");
  });

  it("show a dash when nothing was rated (the server sends null)", () => {
    expect(rate1(null)).toBe("—");
    expect(rate2(null)).toBe("—");
    expect(rate1(undefined)).toBe("—");
    expect(rate1(Number.NaN)).toBe("—");
  });
});

describe("the table's cells", () => {
  it("rated, the two rates, and the callbacks in each state", () => {
    expect(satisfactionCells(block())).toEqual(["8520", "82.5%", "0.13%", "18", "570", "11"]);
    expect(satisfactionCells(block({ rated: 0, satisfaction_rate: null, unsatisfied_rate: null, callbacks_due: 0 })))
      .toEqual(["0", "—", "—", "0", "570", "11"]);
    expect(satisfactionCells(undefined)).toEqual(["—", "—", "—", "—", "—", "—"]);
  });

  it("join the report's table only when the server sends the block", () => {
    const report = {
      date: "2026-11-30",
      stations: [station("s1", "城关派出所", block()), station("s2", "河口派出所", null)],
      bureau: { ...station(null, ""), by_category: {}, satisfaction: block() },
    };
    expect(hasSatisfaction(report)).toBe(true);
    const html = reportHtml(report);
    expect(html).toContain("<th scope=\"col\">满意率</th>");
    const bureau = html.match(/<tr class="total">(.*?)<\/tr>/s)[1];
    const cells = [...bureau.matchAll(/<td>([^<]*)<\/td>/g)].map((m) => m[1]);
    expect(cells.slice(-6)).toEqual(["8520", "82.5%", "0.13%", "18", "570", "11"]);
    // A station without the block gets dashes, not a broken row.
    const hekou = html.match(/<tr class="">\s*<th scope="row">河口派出所<\/th>(.*?)<\/tr>/s)[1];
    expect([...hekou.matchAll(/<td>([^<]*)<\/td>/g)].map((m) => m[1]).slice(-6)).toEqual(["—", "—", "—", "—", "—", "—"]);
    expect(html.match(/<svg class="chart/g)).toHaveLength(5);
  });

  it("an older server's report shows no satisfaction at all, and does not break", () => {
    const report = { date: "2026-11-30", stations: [station("s1", "城关派出所")], bureau: { ...station(null, ""), by_category: {} } };
    expect(hasSatisfaction(report)).toBe(false);
    expect(satisfactionCharts(report, ["城关派出所"])).toBe("");
    const html = reportHtml(report);
    expect(html).not.toContain("满意率");
    expect(html.match(/<svg class="chart/g)).toHaveLength(3);
    expect(hasSatisfaction({})).toBe(false);
    expect(hasSatisfaction({ bureau: { satisfaction: null } })).toBe(false);
  });
});

describe("the charts", () => {
  it("the per-dimension rows are the four dimensions and the overall verdict", () => {
    const { labels, rows } = dimensionRows(block());
    expect(labels).toEqual(["接警态度", "出警时间", "警容风纪", "现场处理", "总体评价"]);
    expect(rows[0]).toEqual([7100, 1410, 10]);
    expect(rows[4]).toEqual([7031, 1478, 11]);
    expect(dimensionRows(undefined).rows).toEqual([[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]]);
  });

  it("the satisfaction rate per station is labelled with its percentage", () => {
    const report = {
      stations: [station("s1", "城关派出所", block()), station("s2", "河口派出所", block({ rated: 0, satisfaction_rate: null }))],
      bureau: { satisfaction: block() },
    };
    const html = satisfactionCharts(report, ["城关派出所", "河口派出所"]);
    expect(html).toContain("各单位群众满意率");
    expect(html).toContain(">82.5%</text>");
    expect(html).toContain(">—</text>"); // nothing rated: a dash, not 0%
  });

  it("stacked bars have a legend, and say every count in words under each bar", () => {
    const svg = stackedBarChart({
      title: "分项", labels: ["接警态度", "空"], segments: ["满意", "基本满意", "不满意"], rows: [[80, 15, 5], [0, 0, 0]],
    });
    expect(svg).toContain('aria-label="分项"');
    for (const name of ["满意", "基本满意", "不满意"]) expect(svg).toContain(`class="chart-legend">${name}</text>`);
    expect(svg).toContain("满意 80 · 基本满意 15 · 不满意 5");
    expect(svg).toContain(">80.0%</text>"); // the wide segment carries its share
    expect(svg).toContain("不满意: 5 (5.0%)"); // every segment has its <title>
    // Segments fill the bar in proportion: 80 % of it, then 15 %, then 5 %.
    const widths = [...svg.matchAll(/<rect x="[^"]+" y="24" width="([^"]+)"/g)].map((m) => Number(m[1]));
    expect(widths[0] / widths[1]).toBeCloseTo(80 / 15, 1);
    expect(widths[1] / widths[2]).toBeCloseTo(3, 1);
    // A row with nothing rated reads as a dash.
    expect(svg).toMatch(/class="chart-value">—<\/text>/);
  });

  it("escape what they are given", () => {
    const svg = stackedBarChart({ title: "<t>", labels: ["<x>"], segments: ["a&b", "b", "c"], rows: [[1, 1, 1]] });
    expect(svg).not.toContain("<x>");
    expect(svg).toContain("&lt;x&gt;");
    expect(svg).toContain("a&amp;b");
  });
});
