// SVG bar charts (command/charts.js): readable without colour, scaled, escaped.
import { describe, expect, it } from "vitest";
import { barChart } from "../../command/charts.js";

const widths = (svg) => [...svg.matchAll(/<rect x="130" y="[^"]+" width="([^"]+)"/g)].map((m) => Number(m[1]));

describe("bar charts", () => {
  it("label every bar with its value, scaled to the largest", () => {
    const svg = barChart({ title: "接警", labels: ["刑事", "纠纷"], series: [{ name: "接警", values: [5, 10] }] });
    expect(svg).toContain('aria-label="接警"');
    expect(svg).toContain(">5</text>");
    expect(svg).toContain(">10</text>");
    const [five, ten] = widths(svg);
    expect(ten).toBeCloseTo(2 * five, 0);
  });

  it("use a fixed scale when told (rates out of 1), and a dash for no value", () => {
    const svg = barChart({
      title: "rate", labels: ["a", "b"], series: [{ name: "r", values: [0.5, null] }], format: (v) => `${v * 100}%`, max: 1,
    });
    expect(widths(svg)).toEqual([180]);
    expect(svg).toContain(">50%</text>");
    expect(svg).toContain(">—</text>");
  });

  it("show a legend for two series, and escape names", () => {
    const svg = barChart({
      title: "<t>", labels: ["<s>"],
      series: [{ name: "median", values: [3] }, { name: "p90", values: [6] }],
    });
    expect(svg).toContain("chart-legend");
    expect(svg).not.toContain("<s>");
    expect(svg).toContain("&lt;s&gt;");
    expect(svg).toContain("<title>&lt;t&gt;</title>");
  });

  it("draw an empty chart as a dash", () => {
    expect(barChart({ title: "x", labels: [], series: [{ name: "n", values: [] }] })).toContain("chart-empty");
  });
});
