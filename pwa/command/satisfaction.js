// The reports' `satisfaction` block (PROTOCOL §9): per station and for the bureau, how many
// incidents were rated, the satisfaction and unsatisfied rates, the callback tasks in each
// state, and the verdicts per dimension. Columns for the report's table and two charts.
// A report without the block (an older server) gets neither: nothing breaks, nothing shows.

import { RATING_DIMENSIONS, RATINGS } from "../core/index.js";
import { barChart, stackedBarChart } from "./charts.js";
import { label, t } from "./i18n.js";

/** A rate (0..1) as a percentage to one decimal (0.825 → "82.5%"); "—" when there is none. */
export const rate1 = (v) => (typeof v === "number" && Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : "—");

/** A small rate to two decimals (0.0013 → "0.13%"): unsatisfied shares are small. */
export const rate2 = (v) => (typeof v === "number" && Number.isFinite(v) ? `${(v * 100).toFixed(2)}%` : "—");

const count = (v) => (typeof v === "number" ? String(v) : "—");

/** Does the report carry the satisfaction block anywhere (the bureau or a station)? */
export function hasSatisfaction(report) {
  const isBlock = (s) => s && typeof s.satisfaction === "object" && s.satisfaction !== null;
  return isBlock(report?.bureau) || (report?.stations || []).some(isBlock);
}

/** The table's extra column heads (interface text keys), in order. */
export const SATISFACTION_HEADS = [
  "r_rated", "r_satisfaction_rate", "r_unsatisfied_rate", "r_callbacks_due", "r_callbacks_done", "r_callbacks_unreachable",
];

/** One row's extra cells from its `satisfaction` block (dashes when it has none). */
export function satisfactionCells(block) {
  const s = block || {};
  return [
    count(s.rated), rate1(s.satisfaction_rate), rate2(s.unsatisfied_rate),
    count(s.callbacks_due), count(s.callbacks_done), count(s.callbacks_unreachable),
  ];
}

/**
 * The bureau's verdicts as rows for the stacked chart: the four dimensions, then the overall
 * verdict (the block's own counts); each row [satisfied, basically satisfied, unsatisfied].
 */
export function dimensionRows(block) {
  const s = block || {};
  const rows = RATING_DIMENSIONS.map((d) => RATINGS.map((r) => s.by_dimension?.[d]?.[r] ?? 0));
  rows.push(RATINGS.map((r) => s[r] ?? 0));
  return { labels: [...RATING_DIMENSIONS, "overall"].map((d) => label("dimension", d)), rows };
}

/** The two charts (satisfaction rate per station; the bureau's verdicts per dimension), or "". */
export function satisfactionCharts(report, names) {
  if (!hasSatisfaction(report)) return "";
  const stations = report.stations || [];
  const { labels, rows } = dimensionRows(report.bureau?.satisfaction);
  return `<figure><figcaption>${t("chart_satisfaction")}</figcaption>${barChart({
    title: t("chart_satisfaction"),
    labels: names,
    series: [{ name: t("r_satisfaction_rate"), values: stations.map((s) => s.satisfaction?.satisfaction_rate ?? null) }],
    format: rate1,
    max: 1,
  })}</figure>
    <figure><figcaption>${t("chart_dimensions")}</figcaption>${stackedBarChart({
      title: t("chart_dimensions"),
      labels,
      segments: RATINGS.map((r) => label("rating", r)),
      rows,
    })}</figure>`;
}
