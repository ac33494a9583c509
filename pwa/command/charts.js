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

/** About how wide a text is at the charts' 12 px: Chinese characters twice a Latin one. */
export function textWidth(text) {
  return [...String(text)].reduce((w, c) => w + (c.charCodeAt(0) > 0x2e80 ? 12 : 7), 0);
}

// Satisfied, basically satisfied, unsatisfied: green, amber, red; the words say it too.
export const RATING_COLOURS = ["#15803d", "#f59e0b", "#b91c1c"];

/**
 * A 100 % stacked horizontal bar chart as an SVG string: each row's counts split into
 * segments (e.g. satisfied / basically satisfied / unsatisfied), a legend, each segment's
 * share written in it when it fits, and under every bar its counts in words, so the chart
 * reads without colour.
 * @param {object} opts
 * @param {string} opts.title accessible title
 * @param {string[]} opts.labels one per row
 * @param {string[]} opts.segments the segments' names, in order
 * @param {number[][]} opts.rows one array of counts per row, in the segments' order
 * @param {(share: number) => string} [opts.share] a share (0..1) as text
 * @param {string[]} [opts.colours]
 */
export function stackedBarChart({
  title, labels, segments, rows, share = (v) => `${(v * 100).toFixed(1)}%`, colours = RATING_COLOURS,
}) {
  const labelW = 110;
  const width = 560;
  const barW = width - labelW - 10;
  const barH = 20;
  const rowH = barH + 26;
  const legendH = 24;
  const height = legendH + Math.max(1, labels.length) * rowH + 4;
  const parts = [
    `<svg class="chart stacked" role="img" aria-label="${esc(title)}" viewBox="0 0 ${width} ${height}" width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">`,
    `<title>${esc(title)}</title>`,
  ];
  let x = labelW;
  segments.forEach((name, i) => {
    parts.push(
      `<rect x="${x}" y="4" width="12" height="12" fill="${colours[i]}"/>`,
      `<text x="${x + 18}" y="14" class="chart-legend">${esc(name)}</text>`,
    );
    x += 30 + textWidth(name);
  });
  if (!labels.length) parts.push(`<text x="${labelW}" y="${legendH + 16}" class="chart-empty">—</text>`);
  labels.forEach((name, r) => {
    const y = legendH + r * rowH;
    const counts = (rows[r] || []).map((v) => (typeof v === "number" && v > 0 ? v : 0));
    const total = counts.reduce((a, b) => a + b, 0);
    parts.push(`<text x="${labelW - 8}" y="${y + barH / 2 + 4}" text-anchor="end" class="chart-label">${esc(name)}</text>`);
    if (!total) {
      parts.push(`<text x="${labelW + 4}" y="${y + barH / 2 + 4}" class="chart-value">—</text>`);
      return;
    }
    let at = labelW;
    counts.forEach((count, i) => {
      if (!count) return;
      const w = (count / total) * barW;
      const text = share(count / total);
      parts.push(
        `<rect x="${at.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${colours[i]}"><title>${esc(name)} ${esc(segments[i])}: ${count} (${esc(text)})</title></rect>`,
      );
      // The share inside its segment when there is room for it.
      if (w >= 8 * text.length) {
        parts.push(`<text x="${(at + w / 2).toFixed(1)}" y="${y + barH / 2 + 4}" text-anchor="middle" class="chart-inside">${esc(text)}</text>`);
      }
      at += w;
    });
    const words = segments.map((s, i) => `${s} ${counts[i]}`).join(" · ");
    parts.push(`<text x="${labelW}" y="${y + barH + 15}" class="chart-value">${esc(words)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("");
}
