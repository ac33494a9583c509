// The reports' §11 figures (docs/reports.md, /work §11 contract "Figures" and "Cases"):
// arrivals still en route (`arrival.pending`, 途中), 三反馈 `three_feedbacks`, 矛盾调解
// `mediation`, 案件 `cases`, and the monthly (月清仓) and quarterly (季清底) `open_cases`
// list. Each block shows only when the server sends it (an older server does not): nothing
// breaks, nothing shows. Shared by the reports page and the meeting view.

import { esc } from "./dom.js";
import { formatTime, t } from "./i18n.js";
import { rate1 } from "./satisfaction.js";
import { stationName } from "./store.js";

const count = (v) => (typeof v === "number" ? String(v) : "—");

/**
 * Arrival compliance as the contract defines it: officers still on their way (`pending`,
 * the arrival clock still running) are neither late nor on time, so they leave the
 * denominator: within_target ÷ (dispatched − pending). The server's `compliance_rate` is
 * that figure; it is computed here only when the server sent none (null when nothing is
 * decided). `base` is the denominator, for "3/4".
 */
export function arrivalCompliance(arrival) {
  const a = arrival || {};
  const pending = typeof a.pending === "number" ? a.pending : 0;
  const within = typeof a.within_target === "number" ? a.within_target : 0;
  const base = typeof a.dispatched === "number" ? Math.max(0, a.dispatched - pending) : 0;
  const computed = base > 0 ? Math.round((within / base) * 10_000) / 10_000 : null;
  const rate = typeof a.compliance_rate === "number" || a.compliance_rate === null ? a.compliance_rate : computed;
  return { within, base, pending, rate };
}

/** Does the report carry `key` as a block in the bureau or any station? */
export function hasBlock(report, key) {
  const isBlock = (s) => s && typeof s[key] === "object" && s[key] !== null;
  return isBlock(report?.bureau) || (report?.stations || []).some(isBlock);
}

/** Does the report count arrivals still en route (`arrival.pending`)? */
export function hasPending(report) {
  const has = (s) => typeof s?.arrival?.pending === "number";
  return has(report?.bureau) || (report?.stations || []).some(has);
}

/** The columns of each block: [figure, interface text key, format]. */
export const FIGURE_BLOCKS = {
  three_feedbacks: [
    ["closed", "f_tf_closed", count],
    ["complete", "f_tf_complete", count],
    ["complete_rate", "f_tf_rate", rate1],
  ],
  mediation: [
    ["outcomes", "f_med_outcomes", count],
    ["reached", "f_med_reached", count],
    ["partial", "f_med_partial", count],
    ["failed", "f_med_failed", count],
    ["follow_ups_due", "f_med_follow_ups_due", count],
  ],
  cases: [
    ["accepted", "f_case_accepted", count],
    ["filed", "f_case_filed", count],
    ["solved", "f_case_solved", count],
    ["closed", "f_case_closed", count],
    ["transferred", "f_case_transferred", count],
    ["closure_rate", "f_case_closure_rate", rate1],
  ],
};

/** One row's cells for a block (dashes for a station without it). */
export function blockCells(key, block) {
  const b = block || {};
  return FIGURE_BLOCKS[key].map(([figure, , format]) => format(b[figure]));
}

/** A block's table: one row per station, then the bureau's. Empty when the report has none. */
export function blockTableHtml(report, key) {
  if (!hasBlock(report, key)) return "";
  const stations = report.stations || [];
  const row = (name, s, total) =>
    `<tr class="${total ? "total" : ""}"><th scope="row">${esc(name)}</th>${blockCells(key, s?.[key])
      .map((c) => `<td>${esc(c)}</td>`)
      .join("")}</tr>`;
  return `<section class="figure-block" data-block="${key}" aria-labelledby="fb-${key}-h">
    <h3 id="fb-${key}-h">${t(`f_${key}_title`)}</h3>
    <div class="scroll"><table class="figure-table"><thead><tr><th scope="col">${t("station")}</th>${FIGURE_BLOCKS[key]
      .map(([, head]) => `<th scope="col">${t(head)}</th>`)
      .join("")}</tr></thead><tbody>${stations
      .map((s) => row(s.name || stationName(s.station_id), s, false))
      .join("")}${row(t("bureau"), report.bureau, true)}</tbody></table></div></section>`;
}

/** Every §11 block the report carries, as tables: 三反馈, 矛盾调解, 案件办理. */
export function figureBlocksHtml(report) {
  return Object.keys(FIGURE_BLOCKS).map((key) => blockTableHtml(report, key)).join("");
}

/** A case stage in words (立案 / 破案 / 结案 / 移送); "—" for none. */
export function caseStageText(stage) {
  return stage ? t(`case_stage_${stage}`) : "—";
}

/** The open cases a monthly or quarterly report lists (`open_cases`), or null (daily, weekly, older servers). */
export function openCasesList(report) {
  return Array.isArray(report?.open_cases) ? report.open_cases : null;
}

/**
 * The open-cases section: 月清仓 (cases filed in the month, still open at its end) on a
 * monthly report, 季清底 (every case still open at the quarter's end, however old) on a
 * quarterly one; oldest filed first as the server sends them.
 */
export function openCasesHtml(report) {
  const list = openCasesList(report);
  if (!list) return "";
  const title = t(report.quarter ? "open_cases_quarterly" : "open_cases_monthly");
  const heads = ["col_number", "case_number", "col_station", "case_stage", "case_filed_at"];
  return `<section class="open-cases" aria-labelledby="oc-h"><h3 id="oc-h">${title} (${list.length})</h3>${
    list.length
      ? `<table class="carried open-cases-table"><thead><tr>${heads.map((h) => `<th scope="col">${t(h)}</th>`).join("")}</tr></thead><tbody>${list
          .map(
            (c) => `<tr><td>${esc(c.number || c.incident_id)}</td><td>${esc(c.case_number || "—")}</td>
              <td>${c.station_id ? esc(stationName(c.station_id)) : "—"}</td><td>${esc(caseStageText(c.stage))}</td>
              <td>${formatTime(c.filed_at)}</td></tr>`,
          )
          .join("")}</tbody></table>`
      : `<p class="muted">${t("open_cases_none")}</p>`
  }</section>`;
}
