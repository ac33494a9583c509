// The reports' top-level `diversion` block (PROTOCOL §10): per linked agency, how many calls
// were diverted to it, acknowledged within its target, fed back (handled or referred), fed
// back within target, returned ("not our duty": passing the buck, 踢皮球, shown in red and in
// words) and still open; the bureau's sums and its diversion rate (diverted ÷ received).
// A table and one chart (diverted vs returned per agency). A report without the block (an
// older server) shows nothing of it.

import { barChart } from "./charts.js";
import { esc } from "./dom.js";
import { t } from "./i18n.js";
import { stationName } from "./store.js";

/** The figures of each row, in the table's order, with their column heads. */
export const DIVERSION_FIGURES = [
  ["diverted", "d_diverted"],
  ["acknowledged_within_target", "d_ack_within"],
  ["fed_back", "d_fed_back"],
  ["fed_back_within_target", "d_fed_back_within"],
  ["returned", "d_returned"],
  ["open", "d_open"],
];

/** Does the report carry the diversion block? */
export function hasDiversion(report) {
  return Boolean(report?.diversion && typeof report.diversion === "object" && Array.isArray(report.diversion.agencies));
}

/** The diversion rate (0..1) as a percentage to one decimal: 0.0625 → "6.3%"; "—" when null. */
export const diversionRate = (v) => (typeof v === "number" && Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : "—");

/**
 * The bureau's row: the server's sums where it sent them, else the agencies' figures added
 * up (so a bureau block missing a figure still reads right), and its `diversion_rate`.
 */
export function diversionTotals(block) {
  const agencies = block?.agencies || [];
  const bureau = block?.bureau || {};
  const totals = {};
  for (const [key] of DIVERSION_FIGURES) {
    totals[key] = typeof bureau[key] === "number" ? bureau[key] : agencies.reduce((sum, a) => sum + (Number(a[key]) || 0), 0);
  }
  totals.diversion_rate = typeof bureau.diversion_rate === "number" ? bureau.diversion_rate : null;
  return totals;
}

const count = (v) => (typeof v === "number" ? String(v) : "—");

/** A returned count: red with words when an agency passed calls back, plain otherwise. */
export function returnedCell(n) {
  if (typeof n !== "number") return "—";
  if (n <= 0) return "0";
  return `<strong class="kicked" title="${esc(t("d_kicked", { n }))}">⚠ ${n}</strong>`;
}

function rowHtml(name, figures, strong = false) {
  const cells = DIVERSION_FIGURES.map(([key]) => (key === "returned" ? returnedCell(figures[key]) : esc(count(figures[key]))));
  const kicked = typeof figures.returned === "number" && figures.returned > 0;
  return `<tr class="${[strong ? "total" : "", kicked ? "has-returned" : ""].join(" ").trim()}"><th scope="row">${esc(name)}</th>${cells
    .map((c) => `<td>${c}</td>`)
    .join("")}${strong ? `<td>${esc(diversionRate(figures.diversion_rate))}</td>` : "<td></td>"}</tr>`;
}

/** The diversion section of a report (heading, rate, chart, table), or "" without the block. */
export function diversionReportHtml(report) {
  if (!hasDiversion(report)) return "";
  const agencies = report.diversion.agencies;
  const totals = diversionTotals(report.diversion);
  const names = agencies.map((a) => a.name || stationName(a.agency_id));
  const received = report.bureau?.received;
  const rate = t("d_rate_of", { rate: diversionRate(totals.diversion_rate), diverted: totals.diverted, received: count(received) });
  const chart = `<figure><figcaption>${t("d_chart")}</figcaption>${barChart({
    title: t("d_chart"),
    labels: names,
    series: [
      { name: t("d_diverted"), values: agencies.map((a) => (typeof a.diverted === "number" ? a.diverted : null)) },
      { name: t("d_returned"), values: agencies.map((a) => (typeof a.returned === "number" ? a.returned : null)) },
    ],
  })}</figure>`;
  const table = `<div class="scroll"><table class="report diversion-table"><thead><tr><th scope="col">${t("agency")}</th>${DIVERSION_FIGURES.map(
    ([, head]) => `<th scope="col">${t(head)}</th>`,
  ).join("")}<th scope="col">${t("d_rate")}</th></tr></thead><tbody>${agencies
    .map((a, n) => rowHtml(names[n], a))
    .join("")}${rowHtml(t("bureau"), totals, true)}</tbody></table></div>`;
  return `<section class="diversion-report" aria-labelledby="dv-h"><h3 id="dv-h">${t("d_title")}</h3>
    <p class="diversion-rate"><strong>${esc(rate)}</strong></p>
    <div class="charts charts-one">${chart}</div>${table}</section>`;
}
