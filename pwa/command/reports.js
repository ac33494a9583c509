// Reports (PROTOCOL §7): daily / monthly / quarterly, a table per station and the bureau,
// SVG charts, and the CSV download (fetched with the token, saved through a Blob URL).

import { ApiError, download, get } from "./api.js";
import { barChart } from "./charts.js";
import { $, esc, notify } from "./dom.js";
import { formatTime, label, t } from "./i18n.js";
import { serverNow, stationName, store } from "./store.js";

const CATEGORIES = ["criminal", "public_order", "dispute", "help", "traffic", "non_police", "other"];

let root = null;
const form = { period: "daily", date: "", month: "", quarter: "", station: "" };

/** Today (and this month, this quarter) in Beijing time, as the report parameters want. */
function beijingToday() {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date(serverNow()));
  return parts; // YYYY-MM-DD
}

export function mountReports(element) {
  root = element;
  const today = beijingToday();
  form.date ||= today;
  form.month ||= today.slice(0, 7);
  form.quarter ||= `${today.slice(0, 4)}-Q${Math.floor((Number(today.slice(5, 7)) - 1) / 3) + 1}`;
  const stations = store.stations
    .filter((s) => s.kind !== "command_center")
    .map((s) => `<option value="${esc(s.id)}">${esc(s.name)}</option>`)
    .join("");
  root.innerHTML = `
    <section aria-labelledby="reports-h">
      <div class="toolbar">
        <h2 id="reports-h">${t("reports_title")}</h2>
        <div role="tablist" class="tabs" aria-label="${t("reports_title")}">
          ${["daily", "monthly", "quarterly"]
            .map((p) => `<button type="button" role="tab" data-period="${p}" aria-selected="${form.period === p}">${t(`report_${p}`)}</button>`)
            .join("")}
        </div>
        <label data-for="daily">${t("report_date")}<input type="date" id="report-date" value="${esc(form.date)}"></label>
        <label data-for="monthly">${t("report_month")}<input type="month" id="report-month" value="${esc(form.month)}"></label>
        <label data-for="quarterly">${t("report_quarter")}<input id="report-quarter" value="${esc(form.quarter)}" pattern="\\d{4}-Q[1-4]" size="8"></label>
        <label>${t("station")}<select id="report-station"><option value="">${t("filter_all")}</option>${stations}</select></label>
        <button type="button" class="primary" id="report-load">${t("load")}</button>
        <button type="button" id="report-csv">${t("download_csv")}</button>
      </div>
      <div id="report-body" aria-live="polite"></div>
    </section>`;
  $("#report-station", root).value = form.station;
  showInputs();
  root.addEventListener("click", (e) => {
    const tab = e.target.closest("[data-period]");
    if (tab) {
      form.period = tab.dataset.period;
      for (const b of root.querySelectorAll("[data-period]")) b.setAttribute("aria-selected", String(b === tab));
      showInputs();
      load();
    }
  });
  $("#report-load", root).addEventListener("click", load);
  $("#report-csv", root).addEventListener("click", csv);
  load();
}

export function unmountReports() {
  root = null;
}

function showInputs() {
  for (const el of root.querySelectorAll("label[data-for]")) el.hidden = el.dataset.for !== form.period;
}

function query(extra = "") {
  form.date = $("#report-date", root).value;
  form.month = $("#report-month", root).value;
  form.quarter = $("#report-quarter", root).value.trim().toUpperCase();
  form.station = $("#report-station", root).value;
  const param = { daily: `date=${form.date}`, monthly: `month=${form.month}`, quarterly: `quarter=${form.quarter}` }[form.period];
  const station = form.station ? `&station_id=${encodeURIComponent(form.station)}` : "";
  return `/api/reports/${form.period}?${param}${station}${extra}`;
}

async function load() {
  if (!root) return;
  const body = $("#report-body", root);
  body.innerHTML = `<p class="muted">${t("loading")}</p>`;
  try {
    const report = await get(query());
    if (root) body.innerHTML = reportHtml(report);
  } catch (err) {
    const missing = err instanceof ApiError && err.status === 404 && err.code !== "not_found_station";
    body.innerHTML = `<p class="form-error" role="alert">${esc(missing && !err.message.includes("station") ? t("report_missing") : err.message)}</p>`;
  }
}

async function csv() {
  const name = { daily: form.date, monthly: form.month, quarterly: form.quarter }[form.period];
  try {
    await download(query("&format=csv"), `qingling-${form.period}-${name}.csv`);
  } catch (err) {
    notify(err.message, "error");
  }
}

const pct = (v) => (typeof v === "number" ? `${(v * 100).toFixed(1)}%` : "—");
const num = (v) => (v === null || v === undefined ? "—" : String(v));

function row(name, s, strong = false) {
  const a = s.arrival || {};
  const r = s.initial_result || {};
  const cell = (v) => `<td>${esc(v)}</td>`;
  return `<tr class="${strong ? "total" : ""}"><th scope="row">${esc(name)}</th>${[
    num(s.received), num(s.cancelled), num(s.cleared), num(s.carried_over), num(s.open),
    num(a.dispatched), num(a.arrived), num(a.within_target), pct(a.compliance_rate), num(a.median_min), num(a.p90_min),
    num(r.due), num(r.within_target), pct(r.compliance_rate),
  ]
    .map(cell)
    .join("")}</tr>`;
}

function reportHtml(report) {
  const stations = report.stations || [];
  const bureau = report.bureau || {};
  const heads = ["r_received", "r_cancelled", "r_cleared", "r_carried_over", "r_open", "r_dispatched", "r_arrived", "r_within",
    "r_compliance", "r_median", "r_p90", "r_initial_due", "r_initial_within", "r_initial_compliance"];
  const names = stations.map((s) => s.name || stationName(s.station_id));
  const table = `<div class="scroll"><table class="report"><thead><tr><th scope="col">${t("station")}</th>${heads
    .map((h) => `<th scope="col">${t(h)}</th>`)
    .join("")}</tr></thead><tbody>${stations.map((s, n) => row(names[n], s)).join("")}${row(t("bureau"), bureau, true)}</tbody></table></div>`;
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
    })}</figure></div>`;
  // The server names the list `carried_over_incidents` (`carried_over` is a count).
  const list = report.carried_over_incidents ?? (Array.isArray(report.carried_over) ? report.carried_over : null);
  const carried = Array.isArray(list)
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
  const period = report.date || report.month || report.quarter || "";
  return `<p class="period">${esc(period)}</p>${charts}${table}${carried}`;
}
