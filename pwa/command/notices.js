// Notices (通报, PROTOCOL §11): a supervisor or admin issues one — its kind (通报批评,
// 通报表扬, 情况通报), the stations it names, optionally the incidents it is about (typed by
// number), the text and optionally a time by which each named station owes a rectification
// (整改) — with POST /api/notices. The list (GET /api/notices) shows each named station's
// rectification state: owed, done (and done late), overdue; it changes live: each `notice`
// change carries the whole notice (one copy per named station, the same data), kept by id.
// A station chief answers a notice naming their station here (chief.js pushes the op
// `rectification`).

import { ApiError, ERROR, NOTICE_KINDS, RECTIFICATION } from "../core/index.js";
import { get, post } from "./api.js";
import { answersFor, isChief, maySupervise, pushAnswer } from "./chief.js";
import { $, beijingToIso, esc, formValues, notify } from "./dom.js";
import { formatTime, label, t } from "./i18n.js";
import { formatSpan } from "./callbacks.js";
import { knownName, pushOutcomeText } from "./supervision.js";
import { fieldStations, serverNow, store } from "./store.js";

export const notices = new Map();
let root = null;
let onOpenIncident = () => {};
const results = new Map(); // notice id -> the chief's last push outcome

// ---- Pure logic (test/command/notices.test.js) ----

/** Incident numbers typed in the form: split on commas, 、, spaces and new lines, each once. */
export function splitNumbers(text) {
  const seen = new Set();
  for (const part of String(text ?? "").split(/[\s,，、;；]+/)) {
    const n = part.trim();
    if (n) seen.add(n);
  }
  return [...seen];
}

/**
 * Resolve incident numbers to ids against `known` (records with id and number):
 * `{ids, unknown}` (numbers nobody knows are named back to the desk, never sent).
 */
export function resolveNumbers(numbers, known) {
  const byNumber = new Map();
  for (const r of known) if (r?.number) byNumber.set(r.number, r.id);
  const ids = [];
  const unknown = [];
  for (const n of numbers) {
    if (byNumber.has(n)) ids.push(byNumber.get(n));
    else unknown.push(n);
  }
  return { ids: [...new Set(ids)], unknown };
}

/** What is wrong with the notice form's values at `now`: kind, stations, text, rectify_by. */
export function noticeProblems(v, now = serverNow()) {
  const problems = [];
  if (!NOTICE_KINDS.includes(v.kind)) problems.push("kind");
  if (![].concat(v.station_ids ?? []).length) problems.push("stations");
  if (!String(v.text ?? "").trim()) problems.push("text");
  if (v.rectify_by) {
    const at = Date.parse(beijingToIso(v.rectify_by));
    if (Number.isNaN(at) || at <= now) problems.push("rectify_by");
  }
  return problems;
}

/** POST /api/notices's body from the form's values and the resolved incident ids. */
export function noticeBody(v, incidentIds = []) {
  const body = {
    kind: v.kind,
    station_ids: [...new Set([].concat(v.station_ids ?? []))],
    incident_ids: incidentIds,
    text: String(v.text ?? "").trim(),
  };
  if (v.rectify_by) body.rectify_by = beijingToIso(v.rectify_by);
  return body;
}

export function putNotice(map, notice) {
  if (notice?.id) map.set(notice.id, notice);
  return map;
}

/** Newest issued first. */
export function noticesShown(all) {
  return [...all].sort(
    (a, b) => String(b.issued_at).localeCompare(String(a.issued_at)) || String(b.id).localeCompare(String(a.id)),
  );
}

/**
 * A named station's rectification as shown at `now`: `{state, text, late}`. Null state: the
 * notice asks for none. An owed one past `rectify_by` reads overdue at once (the server
 * follows within seconds); a done one after `rectify_by` says it came late.
 */
export function stationState(notice, entry, now = serverNow()) {
  if (!notice.rectify_by || entry.state == null) return { state: "none", text: t("rect_none"), late: false };
  const due = Date.parse(notice.rectify_by);
  if (entry.state === "done") {
    const late = Boolean(entry.done_at) && Date.parse(entry.done_at) > due;
    return {
      state: "done",
      late,
      text: `✓ ${label("rectification_state", "done")} ${formatTime(entry.done_at)}${late ? ` · ⚠ ${t("rect_done_late")}` : ""}`,
    };
  }
  if (entry.state === "overdue" || due < now) {
    return { state: "overdue", late: true, text: `⚠ ${label("rectification_state", "overdue")} ${formatSpan(Math.min(due - now, 0))}` };
  }
  return { state: "owed", late: false, text: `${label("rectification_state", "owed")} · ${t("remaining", { t: formatSpan(due - now) })}` };
}

/** A failed notice call in plain words. */
export function noticeErrorText(err) {
  if (err instanceof ApiError) {
    if (err.code === ERROR.UNKNOWN_STATION) return t("notice_unknown_station");
    if (err.code === ERROR.UNKNOWN_INCIDENT) return t("notice_unknown_incident");
    if (err.code === ERROR.INVALID_TIME) return t("notice_invalid_time");
    if (err.status === 403) return t("notice_forbidden");
    if ((err.status === 404 || err.status === 405) && (!err.code || err.code.startsWith("http_"))) return t("notice_missing");
  }
  return err?.message || String(err);
}

// ---- The page ----

export function mountNotices(element, { openIncident }) {
  root = element;
  onOpenIncident = openIncident;
  root.innerHTML = `
    <section class="notices" aria-labelledby="notices-h">
      <div class="toolbar"><h2 id="notices-h">${t("nav_notices")}</h2><span class="spacer"></span>
        <button type="button" id="notices-reload">${t("refresh")}</button></div>
      ${maySupervise(store.me) ? issueFormHtml() : ""}
      ${isChief(store.me) ? `<p class="muted">${t("notice_help_chief")}</p>` : ""}
      <div id="notices-body" aria-live="polite"><p class="muted">${t("loading")}</p></div>
    </section>`;
  root.addEventListener("click", onClick);
  root.addEventListener("submit", onSubmit);
  loadNotices();
}

export function unmountNotices() {
  root = null;
}

export function resetNotices() {
  notices.clear();
  results.clear();
}

function issueFormHtml() {
  const stations = fieldStations()
    .map((s) => `<label class="check"><input type="checkbox" name="station_ids" value="${esc(s.id)}"> ${esc(s.name)}</label>`)
    .join("");
  return `<details class="actions notice-issue" id="notice-issue" open><summary><h3>${t("notice_issue_title")}</h3></summary>
    <form id="notice-form" class="form-grid" novalidate>
      <label>${t("notice_kind")}<select name="kind" id="notice-kind">${NOTICE_KINDS.map(
        (k) => `<option value="${k}">${esc(label("notice_kind", k))}</option>`,
      ).join("")}</select></label>
      <label>${t("notice_rectify_by")}<input type="datetime-local" name="rectify_by" id="notice-rectify-by" step="60">
        <small class="muted">${t("notice_rectify_hint")}</small></label>
      <fieldset class="wide"><legend>${t("notice_stations")}</legend><div class="station-choice">${stations}</div></fieldset>
      <label class="wide">${t("notice_incidents")}<input name="numbers" id="notice-numbers" autocomplete="off" placeholder="${t("notice_incidents_hint")}"></label>
      <label class="wide">${t("notice_text")}<textarea name="text" id="notice-text" rows="4" maxlength="20000"></textarea></label>
      <p class="form-error wide" role="alert" hidden></p>
      <div class="buttons wide"><button type="submit" class="primary" id="notice-submit">${t("notice_issue")}</button></div>
    </form></details>`;
}

export async function loadNotices() {
  if (!root) return;
  try {
    const answer = await get("/api/notices");
    for (const n of answer.notices || []) putNotice(notices, n);
    renderNotices();
  } catch (err) {
    const body = root && $("#notices-body", root);
    if (body) body.innerHTML = `<p class="form-error" role="alert">${esc(noticeErrorText(err))}</p>`;
  }
}

/** Feed changes: `notice` changes replace the notice held (every copy carries the same data). */
export function noticesChanged(changes) {
  let any = false;
  for (const change of changes) {
    if (change.entity === "notice" && change.data?.id) {
      putNotice(notices, change.data);
      any = true;
    }
  }
  if (any) renderNotices();
  return any;
}

function renderNotices() {
  if (!root) return;
  const body = $("#notices-body", root);
  if (!body) return;
  const typed = new Map([...body.querySelectorAll("textarea[id]")].map((el) => [el.id, el.value]));
  const list = noticesShown(notices.values());
  body.innerHTML = list.length ? `<ul class="notice-list">${list.map(noticeHtml).join("")}</ul>` : `<p class="empty">${t("notice_none")}</p>`;
  for (const [id, value] of typed) {
    const el = document.getElementById(id);
    if (el && value) el.value = value;
  }
  tickNotices();
}

/** The rectification states count on the server's clock. */
export function tickNotices() {
  if (!root) return;
  const now = serverNow();
  for (const el of root.querySelectorAll("[data-rect]")) {
    const [noticeId, stationId] = el.dataset.rect.split("|");
    const notice = notices.get(noticeId);
    const entry = notice?.stations?.find((s) => s.station_id === stationId);
    if (!entry) continue;
    const { state, text, late } = stationState(notice, entry, now);
    if (el.textContent !== text) el.textContent = text;
    el.className = `rect rect-${state}${late ? " rect-late" : ""}`;
    el.closest("tr")?.classList.toggle("overdue", state === "overdue");
  }
}

function noticeHtml(n) {
  const mine = (n.stations || []).find((s) => answersFor(store.me, s.station_id));
  const canAnswer = Boolean(mine) && n.rectify_by && mine.state !== "done";
  const outcome = results.get(n.id);
  const rows = (n.stations || [])
    .map(
      (s) => `<tr data-station="${esc(s.station_id)}"><th scope="row">${esc(s.name)}</th>
        <td><span data-rect="${esc(n.id)}|${esc(s.station_id)}" class="rect"></span></td>
        <td>${s.text ? `<q>${esc(s.text)}</q>` : ""}</td></tr>`,
    )
    .join("");
  return `<li class="notice kind-${esc(n.kind)}" data-notice="${esc(n.id)}">
    <div class="notice-head">
      <span class="tag notice-kind notice-${esc(n.kind)}">${esc(label("notice_kind", n.kind))}</span>
      <small class="muted">${formatTime(n.issued_at)} · ${esc(knownName(n.issued_by))}</small>
      ${n.rectify_by ? `<span class="tag">${t("notice_rectify_by")} ${formatTime(n.rectify_by)}</span>` : ""}
      ${(n.incidents || []).map((i) => `<a href="#/notices" data-open="${esc(i.incident_id)}" class="number">${esc(i.number)}</a>`).join(" ")}
    </div>
    <p class="notice-text">${esc(n.text)}</p>
    <table class="rect-table"><thead><tr><th scope="col">${t("notice_station")}</th><th scope="col">${t("notice_rect_state")}</th>
      <th scope="col">${t("notice_rect_text")}</th></tr></thead><tbody>${rows}</tbody></table>
    ${canAnswer ? `<form data-rectify="${esc(n.id)}" class="stack rect-form">
      <label>${t("rect_label")}<textarea name="text" rows="3" maxlength="20000" id="rect-text-${esc(n.id)}"></textarea></label>
      <p class="form-error" role="alert" hidden></p>
      <button type="submit" class="primary">${t("rect_submit")}</button></form>` : ""}
    ${outcome ? `<p class="push-result push-${esc(outcome.status)}" role="status" data-push-result="${esc(outcome.status)}">${esc(pushOutcomeText(outcome))}</p>` : ""}
  </li>`;
}

function onClick(e) {
  if (e.target.closest("#notices-reload")) {
    loadNotices();
    return;
  }
  const opener = e.target.closest("[data-open]");
  if (opener) {
    e.preventDefault();
    onOpenIncident(opener.dataset.open);
  }
}

/** Incidents the desk may name by number: the board's, then (if needed) the latest 500 of any status. */
async function knownIncidents(numbers) {
  const held = [...store.incidents.values()];
  if (resolveNumbers(numbers, held).unknown.length === 0) return held;
  const more = await get("/api/incidents?status=all&limit=500");
  return held.concat(more);
}

async function onSubmit(e) {
  const issue = e.target.closest("#notice-form");
  if (issue) {
    e.preventDefault();
    await issueNotice(issue);
    return;
  }
  const rectify = e.target.closest("form[data-rectify]");
  if (!rectify) return;
  e.preventDefault();
  const notice = notices.get(rectify.dataset.rectify);
  const text = formValues(rectify).text ?? "";
  const error = rectify.querySelector(".form-error");
  if (!notice) return;
  if (!text.trim()) {
    error.textContent = t("rect_problem_text");
    error.hidden = false;
    return;
  }
  const button = rectify.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const outcome = await pushAnswer(RECTIFICATION, notice, text);
    results.set(notice.id, outcome);
    // A live redraw may have replaced the form while the push was under way: clear the one shown.
    if (outcome.status !== "rejected") root?.querySelector(`form[data-rectify="${CSS.escape(notice.id)}"]`)?.reset();
    notify(pushOutcomeText(outcome), outcome.status === "rejected" ? "error" : "info");
    renderNotices();
  } catch (err) {
    error.textContent = `${t("push_failed")}：${err.message}`;
    error.hidden = false;
    button.disabled = false;
  }
}

async function issueNotice(form) {
  const v = formValues(form);
  const error = form.querySelector(".form-error");
  const problems = noticeProblems(v);
  const say = (text) => {
    error.textContent = text;
    error.hidden = false;
  };
  if (problems.length) return say(problems.map((p) => t(`notice_problem_${p}`)).join("；"));
  const button = $("#notice-submit", form);
  button.disabled = true;
  try {
    const numbers = splitNumbers(v.numbers);
    let ids = [];
    if (numbers.length) {
      const { ids: found, unknown } = resolveNumbers(numbers, await knownIncidents(numbers));
      if (unknown.length) return say(t("notice_unknown_numbers", { n: unknown.join("、") }));
      ids = found;
    }
    const notice = await post("/api/notices", noticeBody(v, ids));
    putNotice(notices, notice);
    form.reset();
    error.hidden = true;
    notify(`${label("notice_kind", notice.kind)} ✓`);
    renderNotices();
  } catch (err) {
    say(noticeErrorText(err));
  } finally {
    button.disabled = false;
  }
}
