// Simple SVG bar charts, no library: horizontal bars, one or two series, labelled with
// their values so the chart reads without colour (and with a <title> for screen readers).

import { esc } from "./dom.js";

const SERIES_COLOURS = ["#2563eb", "#f59e0b"];

/**
 * A horizontal bar chart as an SVG string.
 * @param {object} opts
 * @param {string} opts.title accessible title
 * @param {string[]} opts.labels one per row
 * @param {{name: string, values: (number|null)[]}[]} opts.series one or two series
 * @param {(v: number) => string} [opts.format] value label
 * @param {number} [opts.max] the scale's maximum (default: the largest value)
 */
export function barChart({ title, labels, series, format = (v) => String(v), max }) {
  const rowH = series.length > 1 ? 30 : 22;
  const labelW = 130;
  const width = 560;
  const barW = width - labelW - 70;
  const legendH = series.length > 1 ? 22 : 0;
  const height = legendH + Math.max(1, labels.length) * (rowH + 8) + 8;
  const all = series.flatMap((s) => s.values).filter((v) => typeof v === "number");
  const top = max ?? Math.max(1, ...all);
  const parts = [];
  parts.push(
    `<svg class="chart" role="img" aria-label="${esc(title)}" viewBox="0 0 ${width} ${height}" width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">`,
    `<title>${esc(title)}</title>`,
  );
  if (series.length > 1) {
    series.forEach((s, i) => {
      const x = labelW + i * 120;
      parts.push(
        `<rect x="${x}" y="4" width="12" height="12" fill="${SERIES_COLOURS[i]}"/>`,
        `<text x="${x + 18}" y="14" class="chart-legend">${esc(s.name)}</text>`,
      );
    });
  }
  if (!labels.length) {
    parts.push(`<text x="${labelW}" y="${legendH + 20}" class="chart-empty">—</text>`);
  }
  labels.forEach((name, row) => {
    const y = legendH + 8 + row * (rowH + 8);
    parts.push(
      `<text x="${labelW - 8}" y="${y + rowH / 2 + 4}" text-anchor="end" class="chart-label">${esc(name)}</text>`,
    );
    const h = (rowH - 2) / series.length;
    series.forEach((s, i) => {
      const v = s.values[row];
      const by = y + i * h;
      if (typeof v !== "number") {
        parts.push(`<text x="${labelW + 4}" y="${by + h / 2 + 4}" class="chart-value">—</text>`);
        return;
      }
      const w = Math.max(1, (v / top) * barW);
      parts.push(
        `<rect x="${labelW}" y="${by}" width="${w.toFixed(1)}" height="${(h - 2).toFixed(1)}" fill="${SERIES_COLOURS[i]}"><title>${esc(name)} ${esc(s.name)}: ${esc(format(v))}</title></rect>`,
        `<text x="${(labelW + w + 6).toFixed(1)}" y="${by + h / 2 + 4}" class="chart-value">${esc(format(v))}</text>`,
      );
    });
  });
  parts.push("</svg>");
  return parts.join("");
}
