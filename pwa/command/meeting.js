// The daily meeting view (调度会: 淮南's 点名通报, 犍为's 日结周评): one printable page for a
// chosen day (yesterday by default, Beijing time) — the day's figures per station and for
// the bureau (GET /api/reports/daily), the incidents whose clocks ran out that day and the
// citizens' unsatisfied verdicts (GET /api/reviews), the supervision orders still open or
// awaiting a decision (GET /api/supervision) and the rectifications owed or overdue
// (GET /api/notices). "打印" prints a clean A4 handout (meeting.css, @media print).
//
// Each source loads on its own: a server without a call yet (404), or a role that may not
// read it (403), leaves that section saying so while the others show. The review filters
// (`kind`, `since`, `until`) are asked for, and applied here again, so a server that
// ignores them still gives the right lists.

import { ApiError } from "../core/index.js";
import { get } from "./api.js";
import { $, esc } from "./dom.js";
import { arrivalCompliance } from "./figures.js";
import { currentLang, formatTime, label, t } from "./i18n.js";
import { rate1 } from "./satisfaction.js";
import { serverNow, stationName, store } from "./store.js";
import { beijingDayBounds, dayBefore } from "./week.js";
import { beijingToday } from "./reports.js";

let root = null;
let chosen = ""; // the day shown (YYYY-MM-DD); kept across visits
let loadSerial = 0;
const records = new Map(); // incident id -> {number, station_id}, looked up once each

/** The calls the meeting reads for `day`. */
export function meetingPaths(day) {
  const { since, until } = beijingDayBounds(day);
  const q = (params) => new URLSearchParams(params).toString();
  return {
    report: `/api/reports/daily?date=${day}`,
    // A clock that ran out on the day raised its item at (or, after downtime, after) its due
    // time: `since` the day's start narrows the list; which day it ran out is its due time.
    overdue: `/api/reviews?${q({ state: "all", kind: "overdue", since, limit: 1000 })}`,
    unsatisfied: `/api/reviews?${q({ state: "all", kind: "citizen_unsatisfied", since, until, limit: 1000 })}`,
    ordersOpen: "/api/supervision?state=open",
    ordersAnswered: "/api/supervision?state=answered",
    notices: "/api/notices",
  };
}

const within = (iso, { since, until }) => {
  const ms = Date.parse(iso);
  return !Number.isNaN(ms) && ms >= Date.parse(since) && ms < Date.parse(until);
};

/** When an overdue item's clock ran out: its detail's `due_at`, else when the item was raised. */
export const overdueAt = (item) => item?.detail?.due_at || item?.created_at;

/**
 * The overdue review items whose clock ran out on `day` (Beijing time), grouped by
 * incident (one row each, its clocks in due order), then those without an incident (a
 * rectification owed by a station), in due order.
 */
export function overdueOfDay(items, day) {
  const bounds = beijingDayBounds(day);
  const mine = (items || [])
    .filter((i) => i.kind === "overdue" && within(overdueAt(i), bounds))
    .sort((a, b) => Date.parse(overdueAt(a)) - Date.parse(overdueAt(b)));
  const groups = new Map();
  for (const item of mine) {
    const key = item.incident_id || `item:${item.id}`;
    if (!groups.has(key)) groups.set(key, { incident_id: item.incident_id, items: [] });
    groups.get(key).items.push(item);
  }
  return [...groups.values()];
}

/** The citizens' unsatisfied verdicts raised on `day`, oldest first. */
export function unsatisfiedOfDay(items, day) {
  const bounds = beijingDayBounds(day);
  return (items || [])
    .filter((i) => i.kind === "citizen_unsatisfied" && within(i.created_at, bounds))
    .sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at));
}

/** Open and answered orders as one list, each once, the soonest due first. */
export function pendingOrders(...lists) {
  const byId = new Map();
  for (const list of lists) for (const o of list?.orders || []) if (o.state === "open" || o.state === "answered") byId.set(o.id, o);
  return [...byId.values()].sort((a, b) => Date.parse(a.due_at) - Date.parse(b.due_at));
}

/** Rectifications still owed or overdue, one entry per notice and station: overdue first, then by due. */
export function owedRectifications(noticeList) {
  const out = [];
  for (const notice of noticeList?.notices || []) {
    if (!notice.rectify_by) continue;
    for (const s of notice.stations || []) {
      if (s.state === "owed" || s.state === "overdue") out.push({ notice, station: s });
    }
  }
  const rank = (e) => (e.station.state === "overdue" ? 0 : 1);
  return out.sort((a, b) => rank(a) - rank(b) || Date.parse(a.notice.rectify_by) - Date.parse(b.notice.rectify_by));
}

/** A section's load, settled: {data} or {problem: "forbidden" | "missing" | message}. */
export function settled(result) {
  if (result.status === "fulfilled") return { data: result.value };
  const err = result.reason;
  if (err instanceof ApiError && err.status === 403) return { problem: "forbidden" };
  if (err instanceof ApiError && (err.status === 404 || err.status === 405) && !err.code?.startsWith("not_found_")) return { problem: "missing" };
  return { problem: err?.message || String(err) };
}

const problemHtml = (problem) =>
  `<p class="muted m-problem">${esc(problem === "forbidden" ? t("m_forbidden") : problem === "missing" ? t("m_missing") : `${t("error")}: ${problem}`)}</p>`;

/** "3/4 · 75.0%" — a figure over its base and the rate; "—" when nothing is due. */
export function ratio(within_, base, rate) {
  if (!base) return "—";
  return `${within_}/${base} · ${rate1(rate ?? within_ / base)}`;
}

/** One row of the figures table: the cells in the order of FIGURE_HEADS. */
export function figureCells(s) {
  const a = arrivalCompliance(s?.arrival);
  const r = s?.initial_result || {};
  const sat = s?.satisfaction;
  const tf = s?.three_feedbacks;
  const cases = s?.cases;
  const n = (v) => (typeof v === "number" ? String(v) : "—");
  return [
    n(s?.received), n(s?.cleared), n(s?.carried_over), n(s?.open),
    ratio(a.within, a.base, a.rate), n(s?.arrival?.pending),
    ratio(r.within_target ?? 0, r.due ?? 0, r.compliance_rate),
    sat ? rate1(sat.satisfaction_rate) : "—", sat ? n(sat.unsatisfied) : "—",
    tf ? ratio(tf.complete ?? 0, tf.closed ?? 0, tf.complete_rate) : "—",
    cases ? n(cases.filed) : "—", cases ? rate1(cases.closure_rate) : "—",
  ];
}

export const FIGURE_HEADS = [
  "r_received", "r_cleared", "r_carried_over", "r_open", "m_arrival", "r_pending", "m_initial",
  "r_satisfaction_rate", "m_unsatisfied", "m_three_feedbacks", "f_case_filed", "f_case_closure_rate",
];

/** The day's figures: one row per station and the bureau's. */
export function figuresTableHtml(report) {
  const row = (name, s, total) =>
    `<tr class="${total ? "total" : ""}"><th scope="row">${esc(name)}</th>${figureCells(s).map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`;
  return `<table class="report meeting-figures"><thead><tr><th scope="col">${t("station")}</th>${FIGURE_HEADS.map(
    (h) => `<th scope="col">${t(h)}</th>`,
  ).join("")}</tr></thead><tbody>${(report.stations || [])
    .map((s) => row(s.name || stationName(s.station_id), s, false))
    .join("")}${row(t("bureau"), report.bureau || {}, true)}</tbody></table>`;
}

/** The roll-call in one paragraph (点名通报): the bureau's day in words. */
export function summaryText({ report, overdue, unsatisfied, orders, owed }) {
  const b = report?.bureau;
  const parts = [];
  if (b) {
    const a = arrivalCompliance(b.arrival);
    parts.push(t("m_sum_received", { received: b.received ?? 0, cleared: b.cleared ?? 0, carried: b.carried_over ?? 0, open: b.open ?? 0 }));
    // En route is said only by a server that counts it (§11 `arrival.pending`).
    const enRoute = typeof b.arrival?.pending === "number";
    parts.push(t(enRoute ? "m_sum_arrival" : "m_sum_arrival_plain", { rate: rate1(a.rate), pending: a.pending }));
  }
  if (overdue) parts.push(t("m_sum_overdue", { n: overdue.length }));
  if (unsatisfied) parts.push(t("m_sum_unsatisfied", { n: unsatisfied.length }));
  if (orders) parts.push(t("m_sum_orders", { n: orders.length }));
  if (owed) parts.push(t("m_sum_owed", { n: owed.length }));
  return parts.join(t("m_sum_sep")) + (parts.length ? t("m_sum_end") : "");
}

/** The day's name: "2026-11-29 星期日" / "2026-11-29 Sunday". */
export function dayTitle(day) {
  const [y, m, d] = day.split("-").map(Number);
  const weekday = new Intl.DateTimeFormat(currentLang() === "en" ? "en-GB" : "zh-CN", { weekday: "long", timeZone: "UTC" })
    .format(new Date(Date.UTC(y, m - 1, d)));
  return `${day} ${weekday}`;
}

/** The bureau's name for the header: the command center's station (the API names no bureau), else the caller's station. */
export function bureauName(stations = store.stations, me = store.me) {
  const center = (stations || []).find((s) => s.kind === "command_center");
  if (center) return center.name;
  return (stations || []).find((s) => s.id === me?.station_id)?.name || "";
}

const incidentCell = (id, number) => {
  if (!id) return "—";
  const shown = number || records.get(id)?.number || id.slice(0, 8);
  return `<button type="button" class="link" data-open-incident="${esc(id)}">${esc(shown)}</button>`;
};
const stationOf = (id, fallback) => esc(stationName(records.get(id)?.station_id || fallback) || "—");

function overdueHtml(groups) {
  if (!groups.length) return `<p class="muted">${t("m_overdue_none")}</p>`;
  return `<table class="carried meeting-list" data-list="overdue"><thead><tr>${["col_number", "col_station", "m_clocks_run_out", "col_status"]
    .map((h) => `<th scope="col">${t(h)}</th>`).join("")}</tr></thead><tbody>${groups
    .map((g) => {
      const first = g.items[0];
      const clocks = g.items
        .map((i) => `${esc(label("clock", i.clock || i.detail?.clock))} ${formatTime(overdueAt(i), { date: false })}`)
        .join("；");
      const open = g.items.some((i) => i.state === "open");
      return `<tr data-incident="${esc(g.incident_id || "")}"><td>${incidentCell(g.incident_id)}</td>
        <td>${stationOf(g.incident_id, first.detail?.station_id)}</td><td>⚠ ${clocks}</td>
        <td>${t(open ? "m_review_open" : "m_review_resolved")}</td></tr>`;
    })
    .join("")}</tbody></table>`;
}

function unsatisfiedHtml(items) {
  if (!items.length) return `<p class="muted">${t("m_unsatisfied_none")}</p>`;
  return `<table class="carried meeting-list" data-list="unsatisfied"><thead><tr>${["col_number", "col_station", "m_source", "m_comment", "created_at", "col_status"]
    .map((h) => `<th scope="col">${t(h)}</th>`).join("")}</tr></thead><tbody>${items
    .map(
      (i) => `<tr data-incident="${esc(i.incident_id || "")}"><td>${incidentCell(i.incident_id)}</td><td>${stationOf(i.incident_id)}</td>
        <td>${i.detail?.source ? esc(label("feedback_source", i.detail.source)) : "—"}</td>
        <td>${esc(i.detail?.comment || "—")}</td><td>${formatTime(i.created_at)}</td>
        <td>${t(i.state === "open" ? "m_review_open" : "m_review_resolved")}</td></tr>`,
    )
    .join("")}</tbody></table>`;
}

function ordersHtml(orders, now) {
  if (!orders.length) return `<p class="muted">${t("m_orders_none")}</p>`;
  return `<table class="carried meeting-list" data-list="orders"><thead><tr>${["col_number", "m_level", "col_station", "m_instructions", "m_due", "col_status"]
    .map((h) => `<th scope="col">${t(h)}</th>`).join("")}</tr></thead><tbody>${orders
    .map((o) => {
      const late = o.clock?.state === "overdue" || (o.state === "open" && Date.parse(o.due_at) < now);
      return `<tr class="${late ? "overdue" : ""}" data-order="${esc(o.id)}"><td>${incidentCell(o.incident_id, o.number)}</td>
        <td>${o.level === "bureau" ? `<strong>${t("m_level_bureau")}</strong>` : t("m_level_station")}</td>
        <td>${esc(stationName(o.station_id))}</td><td>${esc(o.instructions)}</td><td>${formatTime(o.due_at)}</td>
        <td>${t(o.state === "answered" ? "m_order_answered" : "m_order_open")}${late ? ` <strong class="overdue-text">⚠ ${t("overdue")}</strong>` : ""}</td></tr>`;
    })
    .join("")}</tbody></table>`;
}

function owedHtml(entries) {
  if (!entries.length) return `<p class="muted">${t("m_owed_none")}</p>`;
  return `<table class="carried meeting-list" data-list="rectifications"><thead><tr>${["col_station", "m_notice", "m_due", "col_status"]
    .map((h) => `<th scope="col">${t(h)}</th>`).join("")}</tr></thead><tbody>${entries
    .map(({ notice, station }) => {
      const late = station.state === "overdue";
      return `<tr class="${late ? "overdue" : ""}"><td>${esc(station.name || stationName(station.station_id))}</td>
        <td><span class="tag">${esc(t(`m_notice_${notice.kind}`))}</span> ${esc(notice.text)}</td><td>${formatTime(notice.rectify_by)}</td>
        <td>${late ? `<strong class="overdue-text">⚠ ${t("m_rect_overdue")}</strong>` : t("m_rect_owed")}</td></tr>`;
    })
    .join("")}</tbody></table>`;
}

/**
 * The whole handout from what loaded: `{day, report, overdue, unsatisfied, orders, owed}`,
 * each `{data}` or `{problem}`; `generatedAt` is when it was made (the report's
 * `generated_at` when there is one).
 */
export function meetingHtml({ day, report, overdue, unsatisfied, orders, owed, generatedAt, now = serverNow() }) {
  const running = `<p class="m-running print-only">${esc(bureauName())} · ${t("meeting_title")} · ${esc(day)}</p>`;
  const section = (id, n, title, body, first = false) =>
    `<section class="m-section${first ? " m-first" : ""}" id="m-${id}" aria-labelledby="m-${id}-h">${first ? "" : running}
      <h3 id="m-${id}-h">${t(`m_num_${n}`)}${title}</h3>${body}</section>`;
  const count = (part) => (part.data ? ` (${part.data.length})` : "");
  const summary = summaryText({
    report: report.data, overdue: overdue.data, unsatisfied: unsatisfied.data, orders: orders.data, owed: owed.data,
  });
  return `<header class="m-head">
      <p class="m-bureau">${esc(bureauName())}</p>
      <h2 class="m-title">${t("meeting_title")} · ${esc(dayTitle(day))}</h2>
      <p class="m-generated">${t("m_generated", { at: formatTime(generatedAt) })}</p>
    </header>
    ${summary ? `<p class="m-summary" id="m-summary">${esc(summary)}</p>` : ""}
    ${section("figures", 1, t("m_figures"), report.data ? figuresTableHtml(report.data) : problemHtml(report.problem), true)}
    ${section("overdue", 2, `${t("m_overdue")}${count(overdue)}`, overdue.data ? overdueHtml(overdue.data) : problemHtml(overdue.problem))}
    ${section("unsatisfied", 3, `${t("m_unsatisfied_title")}${count(unsatisfied)}`, unsatisfied.data ? unsatisfiedHtml(unsatisfied.data) : problemHtml(unsatisfied.problem))}
    ${section("orders", 4, `${t("m_orders")}${count(orders)}`, orders.data ? ordersHtml(orders.data, now) : problemHtml(orders.problem))}
    ${section("rectifications", 5, `${t("m_owed")}${count(owed)}`, owed.data ? owedHtml(owed.data) : problemHtml(owed.problem))}`;
}

export function mountMeeting(element, { openIncident } = {}) {
  root = element;
  document.body.classList.add("page-meeting");
  chosen ||= dayBefore(beijingToday());
  root.innerHTML = `
    <section class="meeting" aria-labelledby="meeting-h">
      <div class="toolbar no-print">
        <h2 id="meeting-h">${t("meeting_title")}</h2>
        <label>${t("report_date")}<input type="date" id="meeting-date" value="${esc(chosen)}"></label>
        <button type="button" class="primary" id="meeting-load">${t("load")}</button>
        <button type="button" id="meeting-print">${t("print")}</button>
      </div>
      <div id="meeting-body" class="meeting-body" aria-live="polite"></div>
    </section>`;
  $("#meeting-load", root).addEventListener("click", () => {
    chosen = $("#meeting-date", root).value || chosen;
    load();
  });
  $("#meeting-print", root).addEventListener("click", () => window.print());
  $("#meeting-body", root).addEventListener("click", (e) => {
    const b = e.target.closest("[data-open-incident]");
    if (b && openIncident) openIncident(b.dataset.openIncident);
  });
  load();
}

export function unmountMeeting() {
  root = null;
  document.body.classList.remove("page-meeting");
}

async function lookUp(ids) {
  const missing = [...new Set(ids)].filter((id) => id && !records.has(id));
  await Promise.all(
    missing.map(async (id) => {
      try {
        const r = await get(`/api/incidents/${encodeURIComponent(id)}`);
        records.set(id, { number: r.number, station_id: r.station_id });
      } catch {
        // Named by its id instead: the section still shows.
      }
    }),
  );
}

async function load() {
  if (!root) return;
  const serial = ++loadSerial;
  const day = chosen;
  const body = $("#meeting-body", root);
  body.dataset.state = "loading";
  body.innerHTML = `<p class="muted">${t("loading")}</p>`;
  const paths = meetingPaths(day);
  const [report, overdue, unsatisfied, open, answered, notices] = (
    await Promise.allSettled([
      get(paths.report), get(paths.overdue), get(paths.unsatisfied),
      get(paths.ordersOpen), get(paths.ordersAnswered), get(paths.notices),
    ])
  ).map(settled);
  const parts = {
    day,
    report,
    overdue: overdue.data ? { data: overdueOfDay(overdue.data, day) } : overdue,
    unsatisfied: unsatisfied.data ? { data: unsatisfiedOfDay(unsatisfied.data, day) } : unsatisfied,
    // Open and answered orders together; one failing is the section's problem.
    orders: open.data && answered.data ? { data: pendingOrders(open.data, answered.data) } : open.data ? answered : open,
    owed: notices.data ? { data: owedRectifications(notices.data) } : notices,
    generatedAt: report.data?.generated_at || new Date(serverNow()).toISOString(),
  };
  await lookUp([
    ...(parts.overdue.data || []).map((g) => g.incident_id),
    ...(parts.unsatisfied.data || []).map((i) => i.incident_id),
  ]);
  if (!root || serial !== loadSerial) return; // left the page, or another day was asked for
  body.innerHTML = meetingHtml(parts);
  body.dataset.state = "loaded";
}
