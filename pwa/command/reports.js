// Reports (PROTOCOL §7): daily / monthly / quarterly, a table per station and the bureau,
// SVG charts, and the CSV download (fetched with the token, saved through a Blob URL).
// With the §9 `satisfaction` block, its columns and two charts (satisfaction.js); for an
// admin, the stations' rating posters (posters.js). With the §10 `diversion` block, the
// linked agencies' table and chart (diversion-report.js). PROTOCOL §11: the weekly report
// (日结周评, an ISO week, Monday first: week.js), arrivals still en route (途中, left out of
// compliance), and the 三反馈, mediation and case figures with the monthly and quarterly
// open cases (figures.js).

import { ApiError, CATEGORIES } from "../core/index.js";
import { download, get } from "./api.js";
import { barChart } from "./charts.js";
import { diversionReportHtml } from "./diversion-report.js";
import { $, esc, notify } from "./dom.js";
import { figureBlocksHtml, hasPending, openCasesHtml } from "./figures.js";
import { formatTime, label, t } from "./i18n.js";
import { closePoster, postersHtml, wirePosters } from "./posters.js";
import { hasSatisfaction, SATISFACTION_HEADS, satisfactionCells, satisfactionCharts } from "./satisfaction.js";
import { fieldStations, serverNow, stationName } from "./store.js";
import { isoWeekOf, normalWeek, weekRange } from "./week.js";

let root = null;
const form = { period: "daily", date: "", week: "", month: "", quarter: "", station: "" };
const PERIODS = ["daily", "weekly", "monthly", "quarterly"];

/** Today in Beijing time as YYYY-MM-DD, the day the report parameters mean. */
export function beijingToday(now = serverNow()) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date(now));
}

/** The periods a day falls in: itself, its month (YYYY-MM) and its quarter (YYYY-Qn). */
export function periodsOf(day) {
  return {
    date: day,
    month: day.slice(0, 7),
    quarter: `${day.slice(0, 4)}-Q${Math.floor((Number(day.slice(5, 7)) - 1) / 3) + 1}`,
  };
}

/** GET /api/reports/{period}'s path for the form's choices; `extra` is appended as is. */
export function reportPath({ period, date, week, month, quarter, station }, extra = "") {
  const param = { daily: `date=${date}`, weekly: `week=${week}`, monthly: `month=${month}`, quarterly: `quarter=${quarter}` }[period];
  const stationParam = station ? `&station_id=${encodeURIComponent(station)}` : "";
  return `/api/reports/${period}?${param}${stationParam}${extra}`;
}

/** The CSV's file name: qingling-<period>-<date|week|month|quarter>.csv. */
export function csvName({ period, date, week, month, quarter }) {
  const name = { daily: date, weekly: week, monthly: month, quarterly: quarter }[period];
  return `qingling-${period}-${name}.csv`;
}

/** A failed load in words: a 404 not about a station means the server has no reports yet. */
export function reportErrorText(err) {
  const missing = err instanceof ApiError && err.status === 404 && err.code !== "not_found_station";
  return missing && !err.message.includes("station") ? t("report_missing") : err.message;
}

export function mountReports(element) {
  root = element;
  const today = periodsOf(beijingToday());
  form.date ||= today.date;
  form.week ||= isoWeekOf(today.date);
  form.month ||= today.month;
  form.quarter ||= today.quarter;
  // Linked agencies are not report stations (§10): their figures are the diversion block's.
  const stations = fieldStations()
    .filter((s) => s.kind !== "linked_agency")
    .map((s) => `<option value="${esc(s.id)}">${esc(s.name)}</option>`)
    .join("");
  root.innerHTML = `
    <section aria-labelledby="reports-h">
      <div class="toolbar">
        <h2 id="reports-h">${t("reports_title")}</h2>
        <div role="tablist" class="tabs" aria-label="${t("reports_title")}">
          ${PERIODS
            .map((p) => `<button type="button" role="tab" data-period="${p}" aria-selected="${form.period === p}">${t(`report_${p}`)}</button>`)
            .join("")}
        </div>
        <label data-for="daily">${t("report_date")}<input type="date" id="report-date" value="${esc(form.date)}"></label>
        <label data-for="weekly">${t("report_week")}<input type="week" id="report-week" value="${esc(form.week)}" pattern="\\d{4}-W\\d{2}" size="9"></label>
        <label data-for="monthly">${t("report_month")}<input type="month" id="report-month" value="${esc(form.month)}"></label>
        <label data-for="quarterly">${t("report_quarter")}<input id="report-quarter" value="${esc(form.quarter)}" pattern="\\d{4}-Q[1-4]" size="8"></label>
        <label>${t("station")}<select id="report-station"><option value="">${t("filter_all")}</option>${stations}</select></label>
        <button type="button" class="primary" id="report-load">${t("load")}</button>
        <button type="button" id="report-csv">${t("download_csv")}</button>
      </div>
      <div id="report-body" aria-live="polite"></div>
      ${postersHtml()}
    </section>`;
  wirePosters(root);
  $("#report-station", root).value = form.station;
  showInputs();
  // A named listener: the page's element outlives each visit, and adding the same function
  // again adds nothing (an arrow each visit would load the report once per visit so far).
  root.addEventListener("click", onTabClick);
  $("#report-load", root).addEventListener("click", load);
  $("#report-csv", root).addEventListener("click", csv);
  load();
}

function onTabClick(e) {
  const tab = root && e.target.closest("[data-period]");
  if (!tab) return;
  form.period = tab.dataset.period;
  for (const b of root.querySelectorAll("[data-period]")) b.setAttribute("aria-selected", String(b === tab));
  showInputs();
  load();
}

export function unmountReports() {
  root = null;
  closePoster();
}

function showInputs() {
  for (const el of root.querySelectorAll("label[data-for]")) el.hidden = el.dataset.for !== form.period;
}

function query(extra = "") {
  form.date = $("#report-date", root).value;
  const week = $("#report-week", root).value.trim();
  form.week = normalWeek(week) ?? week.toUpperCase();
  form.month = $("#report-month", root).value;
  form.quarter = $("#report-quarter", root).value.trim().toUpperCase();
  form.station = $("#report-station", root).value;
  return reportPath(form, extra);
}

// Each load's number: only the latest one's answer is shown. Choosing another period or
// day while a report is on its way must not let the earlier, slower answer land last.
let loadSerial = 0;

async function load() {
  if (!root) return;
  const serial = ++loadSerial;
  const body = $("#report-body", root);
  body.innerHTML = `<p class="muted">${t("loading")}</p>`;
  const path = query();
  // A week the server would refuse (W00, W53 of a 52-week year, a typo) is said here.
  if (form.period === "weekly" && !normalWeek(form.week)) {
    body.innerHTML = `<p class="form-error" role="alert">${esc(t("week_invalid"))}</p>`;
    return;
  }
  try {
    const report = await get(path);
    if (root && serial === loadSerial) body.innerHTML = reportHtml(report);
  } catch (err) {
    if (serial === loadSerial) body.innerHTML = `<p class="form-error" role="alert">${esc(reportErrorText(err))}</p>`;
  }
}

async function csv() {
  if (form.period === "weekly" && !normalWeek($("#report-week", root).value)) {
    notify(t("week_invalid"), "error");
    return;
  }
  try {
    await download(query("&format=csv"), csvName(form));
  } catch (err) {
    notify(err.message, "error");
  }
}

/** A rate (0..1) as a percentage to one decimal; "—" when there is none. */
export const pct = (v) => (typeof v === "number" ? `${(v * 100).toFixed(1)}%` : "—");
/** A count or figure; "—" when there is none (0 stays 0). */
export const num = (v) => (v === null || v === undefined ? "—" : String(v));

/** The carried-over incidents a monthly or quarterly report lists, or null (a daily one). */
export function carriedOverList(report) {
  // The server names the list `carried_over_incidents` (`carried_over` is a count).
  const list = report.carried_over_incidents ?? (Array.isArray(report.carried_over) ? report.carried_over : null);
  return Array.isArray(list) ? list : null;
}

function row(name, s, strong = false, satisfaction = false, pending = false) {
  const a = s.arrival || {};
  const r = s.initial_result || {};
  const cell = (v) => `<td>${esc(v)}</td>`;
  return `<tr class="${strong ? "total" : ""}"><th scope="row">${esc(name)}</th>${[
    num(s.received), num(s.cancelled), num(s.cleared), num(s.carried_over), num(s.open),
    num(a.dispatched), num(a.arrived), ...(pending ? [num(a.pending)] : []), num(a.within_target), pct(a.compliance_rate),
    num(a.median_min), num(a.p90_min),
    num(r.due), num(r.within_target), pct(r.compliance_rate),
    ...(satisfaction ? satisfactionCells(s.satisfaction) : []),
  ]
    .map(cell)
    .join("")}</tr>`;
}

/** A report as HTML: the three charts, the table per station with the bureau's row, the carried-over list. */
export function reportHtml(report) {
  const stations = report.stations || [];
  const bureau = report.bureau || {};
  // §11: officers still on their way (途中) get a column; the server leaves them out of the rate.
  const pending = hasPending(report);
  const heads = ["r_received", "r_cancelled", "r_cleared", "r_carried_over", "r_open", "r_dispatched", "r_arrived",
    ...(pending ? ["r_pending"] : []), "r_within", "r_compliance", "r_median", "r_p90", "r_initial_due", "r_initial_within",
    "r_initial_compliance"];
  // The §9 columns only when the server sends the block (an older one does not).
  const sat = hasSatisfaction(report);
  if (sat) heads.push(...SATISFACTION_HEADS);
  const names = stations.map((s) => s.name || stationName(s.station_id));
  const table = `<div class="scroll"><table class="report"><thead><tr><th scope="col">${t("station")}</th>${heads
    .map((h) => `<th scope="col">${t(h)}</th>`)
    .join("")}</tr></thead><tbody>${stations.map((s, n) => row(names[n], s, false, sat, pending)).join("")}${row(t("bureau"), bureau, true, sat, pending)}</tbody></table></div>`;
  const byCategory = bureau.by_category || {};
  const charts = `<div class="charts">
    <figure><figcaption>${t("chart_by_category")}</figcaption>${barChart({
      title: t("chart_by_category"),
      labels: CATEGORIES.map((c) => label("category", c)),
      series: [{ name: t("r_received"), values: CATEGORIES.map((c) => byCategory[c] ?? 0) }],
    })}</figure>
    <figure><figcaption>${t("chart_compliance")}</figcaption>${barChart({
      title: t("chart_compliance"),
      labels: names,
      series: [{ name: t("r_compliance"), values: stations.map((s) => s.arrival?.compliance_rate ?? null) }],
      format: pct,
      max: 1,
    })}</figure>
    <figure><figcaption>${t("chart_minutes")}</figcaption>${barChart({
      title: t("chart_minutes"),
      labels: names,
      series: [
        { name: t("median"), values: stations.map((s) => s.arrival?.median_min ?? null) },
        { name: t("p90"), values: stations.map((s) => s.arrival?.p90_min ?? null) },
      ],
      format: (v) => `${Number(v).toFixed(1)}`,
    })}</figure>${satisfactionCharts(report, names)}</div>`;
  const list = carriedOverList(report);
  const carried = list
    ? `<section aria-labelledby="co-h"><h3 id="co-h">${t("carried_over_list")} (${list.length})</h3>${
        list.length
          ? `<table class="carried"><thead><tr>${["col_number", "col_category", "col_station", "col_received", "clear_due", "col_status"]
              .map((h) => `<th scope="col">${t(h)}</th>`)
              .join("")}</tr></thead><tbody>${list
              .map(
                (i) => `<tr><td>${esc(i.number || i.id)}</td><td>${esc(label("category", i.category))}</td>
                  <td>${i.station_id ? esc(stationName(i.station_id)) : t("undispatched")}</td><td>${formatTime(i.received_at)}</td>
                  <td>${formatTime(i.clear_due_at)}</td><td>${esc(label("status", i.status))}${i.closed_at ? ` ${formatTime(i.closed_at)}` : ""}</td></tr>`,
              )
              .join("")}</tbody></table>`
          : `<p class="muted">${t("none")}</p>`
      }</section>`
    : "";
  return `<p class="period">${esc(periodText(report))}</p>${charts}${table}${figureBlocksHtml(report)}${diversionReportHtml(report)}${carried}${openCasesHtml(report)}`;
}

/** The report's period in words; a week with its Monday and Sunday. */
export function periodText(report) {
  if (report.week) {
    const range = weekRange(report.week);
    return range ? t("week_range", { week: report.week, from: range[0], to: range[1] }) : report.week;
  }
  return report.date || report.month || report.quarter || "";
}
