// The callback desk (回访台, PROTOCOL §9): every closed incident with a caller phone is called
// back within the bureau's hours. Three lists from GET /api/callbacks — due (oldest due first,
// the due time counting on the server's clock), done, unreachable — the caller's phone one
// click from the clipboard, an unanswered attempt in one click (the third makes the task
// unreachable), and the verdict form: four dimensions, the overall verdict and a comment.
// The lists refresh when the feed says a listed incident changed (a QR or poster verdict
// turns a task done) or an incident closed (which may open a task), coalesced.

import { ApiError, CALLBACK_STATES, COMMENT_MAX, ERROR, RATING_DIMENSIONS, RATINGS } from "../core/index.js";
import { get, post } from "./api.js";
import { $, esc, formValues, notify } from "./dom.js";
import { formatTime, label, t } from "./i18n.js";
import { fieldStations, personName, serverNow, stationName } from "./store.js";

/** What the desk shows: the list (due, done, unreachable) and the station (""), kept across visits. */
export const deskFilters = { state: "due", station: "" };

let root = null;
let onOpenIncident = () => {};
// The lists as last loaded: state -> tasks. The due list is always loaded (its count is on its tab).
const lists = new Map();
let formTask = null; // the task the verdict form is for
let loading = null; // the load under way, if any
let loadAgain = false; // a change arrived while loading: load once more after it
let refreshTimer = null;
const REFRESH_DELAY_MS = 400;

// ---- Pure logic (test/command/callbacks.test.js) ----

/** GET /api/callbacks's path for a state and an optional station. */
export function callbacksPath(state, station = "") {
  const stationParam = station ? `&station_id=${encodeURIComponent(station)}` : "";
  return `/api/callbacks?state=${encodeURIComponent(state)}${stationParam}`;
}

/** Tasks in the order the desk works them: the oldest due first, then closed first, then by number. */
export function oldestDueFirst(tasks) {
  const due = new Map(tasks.map((task) => [task, Date.parse(task.due_at)]));
  const closed = new Map(tasks.map((task) => [task, Date.parse(task.closed_at)]));
  const order = (a, b) => (Number.isNaN(a) ? 1 : 0) - (Number.isNaN(b) ? 1 : 0) || (a - b) || 0;
  return [...tasks].sort(
    (a, b) =>
      order(due.get(a), due.get(b)) ||
      order(closed.get(a), closed.get(b)) ||
      String(a.number ?? "").localeCompare(String(b.number ?? "")),
  );
}

/** Done and unreachable lists: the most recently closed first. */
export function newestClosedFirst(tasks) {
  return [...tasks].sort((a, b) => String(b.closed_at ?? "").localeCompare(String(a.closed_at ?? "")));
}

/**
 * A long span as the desk reads it: "2天 03:04:05" from a day up, else "3:04:05" or "4:05"
 * (by its size: an overdue span is passed negative).
 */
export function formatSpan(ms) {
  const total = Math.max(0, Math.floor(Math.abs(ms) / 1000));
  const days = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (x) => String(x).padStart(2, "0");
  if (days > 0) return `${t("days", { n: days })} ${pad(h)}:${pad(m)}:${pad(s)}`;
  if (h > 0) return `${h}:${pad(m)}:${pad(s)}`;
  return `${m}:${pad(s)}`;
}

/**
 * A due time at `now` (the server's clock): `{overdue, text}`, the text saying overdue in
 * words ("⚠ 超时 1天 02:00:00") as well as the row's colour; "剩余 …" while time is left.
 */
export function dueText(dueAt, now = serverNow()) {
  const due = Date.parse(dueAt);
  if (Number.isNaN(due)) return { overdue: false, text: "—" };
  const left = due - now;
  if (left < 0) return { overdue: true, text: `⚠ ${t("overdue_by", { t: formatSpan(left) })}` };
  return { overdue: false, text: t("remaining", { t: formatSpan(left) }) };
}

/** POST /api/incidents/{id}/callbacks's body for an unanswered call. */
export function attemptBody() {
  return { reached: false };
}

/**
 * What is missing or wrong in the verdict form's values: the dimension names (and
 * "overall") without a choice, "comment" when it runs over COMMENT_MAX characters.
 */
export function verdictProblems(v) {
  const problems = [...RATING_DIMENSIONS, "overall"].filter((name) => !RATINGS.includes(v[name]));
  if ([...String(v.comment ?? "").trim()].length > COMMENT_MAX) problems.push("comment");
  return problems;
}

/**
 * POST /api/incidents/{id}/callbacks's body for a call answered, from the form's values:
 * `{"reached": true, "ratings": {the four dimensions}, "overall", "comment"?}` (PROTOCOL §9);
 * the comment only when there is one, trimmed.
 */
export function verdictBody(v) {
  const ratings = Object.fromEntries(RATING_DIMENSIONS.map((name) => [name, v[name]]));
  const body = { reached: true, ratings, overall: v.overall };
  const comment = String(v.comment ?? "").trim();
  if (comment) body.comment = comment;
  return body;
}

/** A failed callback call in plain words: the protocol's two 409s, else the server's message. */
export function callbackErrorText(err) {
  if (err instanceof ApiError) {
    if (err.code === ERROR.ALREADY_RATED) return t("cb_already_rated");
    if (err.code === ERROR.NOT_CLOSED) return t("cb_not_closed");
    if (err.status === 403) return t("cb_forbidden");
  }
  return err?.message || String(err);
}

/** The unanswered attempts, and the one that reached the caller (null if none did). */
export function attemptsOf(task) {
  const attempts = Array.isArray(task.attempts) ? task.attempts : [];
  return {
    unanswered: attempts.filter((a) => !a.reached),
    reached: attempts.find((a) => a.reached) ?? null,
  };
}

/**
 * Whether feed changes call for the lists to be loaded again: an incident the desk lists
 * changed (a QR or poster verdict turns its task done; `feedback` changed), or an incident
 * was closed (closing one with a caller phone opens a task).
 */
export function refreshNeeded(changes, listedIds) {
  return changes.some(
    (c) => c.entity === "incident" && c.data && (listedIds.has(c.data.id) || c.data.status === "closed"),
  );
}

// ---- The page ----

export function mountCallbacks(element, { openIncident }) {
  root = element;
  onOpenIncident = openIncident;
  lists.clear(); // counts from an earlier visit would be stale
  const stations = fieldStations()
    .map((s) => `<option value="${esc(s.id)}">${esc(s.name)}</option>`)
    .join("");
  root.innerHTML = `
    <section class="callbacks" aria-labelledby="callbacks-h">
      <div class="toolbar">
        <h2 id="callbacks-h">${t("callbacks_title")}</h2>
        <div role="tablist" class="tabs" aria-label="${t("callbacks_title")}">
          ${CALLBACK_STATES.map(
            (s) => `<button type="button" role="tab" data-cb-state="${s}" id="cb-tab-${s}"
              aria-selected="${deskFilters.state === s}">${esc(label("callback_state", s))}<span class="tab-count" data-cb-count="${s}"></span></button>`,
          ).join("")}
        </div>
        <label>${t("filter_station")}
          <select id="cb-station"><option value="">${t("filter_all")}</option>${stations}</select></label>
        <span class="spacer"></span>
        <button type="button" id="cb-reload">${t("refresh")}</button>
      </div>
      <p class="muted cb-help">${t(`cb_help_${deskFilters.state}`)}</p>
      <div id="cb-body" aria-live="polite"><p class="muted">${t("loading")}</p></div>
    </section>
    ${dialogHtml()}`;
  $("#cb-station", root).value = deskFilters.station;
  root.addEventListener("click", onClick);
  $("#cb-station", root).addEventListener("change", (e) => {
    deskFilters.station = e.target.value;
    lists.clear();
    loadCallbacks();
  });
  wireDialog();
  loadCallbacks();
}

export function unmountCallbacks() {
  root = null;
  formTask = null;
  clearTimeout(refreshTimer);
  refreshTimer = null;
}

/** Feed changes arrived: load the lists again if they concern the desk (coalesced). */
export function callbacksChanged(changes) {
  if (!root) return;
  const listed = new Set([...lists.values()].flat().map((task) => task.incident_id));
  if (!refreshNeeded(changes, listed)) return;
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    loadCallbacks();
  }, REFRESH_DELAY_MS);
}

/** Load the due list, and the list shown when it is another; one load at a time. */
export async function loadCallbacks() {
  if (!root) return;
  if (loading) {
    loadAgain = true;
    return loading;
  }
  const state = deskFilters.state;
  const station = deskFilters.station;
  loading = (async () => {
    try {
      const wanted = state === "due" ? ["due"] : ["due", state];
      const answers = await Promise.all(wanted.map((s) => get(callbacksPath(s, station))));
      if (!root || station !== deskFilters.station) return;
      wanted.forEach((s, n) => lists.set(s, answers[n]?.callbacks ?? []));
      renderCallbacks();
    } catch (err) {
      // A server without the §9 calls answers 404 (or 405): say so rather than "not found".
      const missing = err instanceof ApiError && (err.status === 404 || err.status === 405);
      const body = root && $("#cb-body", root);
      if (body) body.innerHTML = `<p class="form-error" role="alert">${esc(missing ? t("cb_missing") : callbackErrorText(err))}</p>`;
    } finally {
      loading = null;
    }
  })();
  await loading;
  if (loadAgain && root) {
    loadAgain = false;
    await loadCallbacks();
  }
}

function renderCallbacks() {
  if (!root) return;
  for (const s of CALLBACK_STATES) {
    const el = root.querySelector(`[data-cb-count="${s}"]`);
    if (el) el.textContent = lists.has(s) ? ` ${lists.get(s).length}` : "";
  }
  const state = deskFilters.state;
  const body = $("#cb-body", root);
  if (!lists.has(state)) {
    body.innerHTML = `<p class="muted">${t("loading")}</p>`;
    return;
  }
  const tasks = lists.get(state);
  if (!tasks.length) {
    body.innerHTML = `<p class="empty">${t(`cb_empty_${state}`)}</p>`;
    return;
  }
  const ordered = state === "due" ? oldestDueFirst(tasks) : newestClosedFirst(tasks);
  const heads = {
    due: ["col_number", "col_station", "col_category", "cb_closed_at", "cb_due", "caller_phone", "cb_attempts", "cb_actions"],
    done: ["col_number", "col_station", "col_category", "cb_closed_at", "cb_done_how", "cb_attempts"],
    unreachable: ["col_number", "col_station", "col_category", "cb_closed_at", "caller_phone", "cb_attempts"],
  }[state];
  body.innerHTML = `<div class="scroll"><table class="callbacks-table" aria-labelledby="cb-tab-${esc(state)}">
    <thead><tr>${heads.map((h) => `<th scope="col">${t(h)}</th>`).join("")}</tr></thead>
    <tbody>${ordered.map((task) => taskRowHtml(task, state)).join("")}</tbody></table></div>`;
  tickCallbacks();
}

/** One row of a list; every server value goes through esc(). */
export function taskRowHtml(task, state) {
  const { unanswered, reached } = attemptsOf(task);
  const number = `<button type="button" class="link number" data-cb-open="${esc(task.incident_id)}">${esc(task.number)}</button>`;
  const common = `<td>${number}</td>
    <td>${esc(task.station_id ? stationName(task.station_id) : "—")}</td>
    <td>${esc(label("category", task.category))}</td>
    <td>${formatTime(task.closed_at)}</td>`;
  const attempts = attemptsHtml(unanswered);
  if (state === "done") {
    const how = reached
      ? `${t("cb_done_by_call")} ${formatTime(reached.at)}${reached.by ? ` · ${esc(personName(reached.by))}` : ""}`
      : t("cb_done_by_citizen");
    return `<tr data-task="${esc(task.incident_id)}">${common}<td>${how}</td><td>${attempts}</td></tr>`;
  }
  if (state === "unreachable") {
    return `<tr data-task="${esc(task.incident_id)}">${common}<td>${phoneHtml(task)}</td><td>${attempts}</td></tr>`;
  }
  return `<tr data-task="${esc(task.incident_id)}" data-due="${esc(task.due_at)}">${common}
    <td><span class="due-clock" data-due="${esc(task.due_at)}"></span><br><small class="muted">${formatTime(task.due_at)}</small></td>
    <td>${phoneHtml(task)}</td>
    <td>${attempts}</td>
    <td><div class="cb-actions">
      <button type="button" data-unanswered="${esc(task.incident_id)}">${t("cb_unanswered")}</button>
      <button type="button" class="primary" data-record="${esc(task.incident_id)}">${t("cb_record")}</button>
    </div></td></tr>`;
}

function attemptsHtml(unanswered) {
  if (!unanswered.length) return `<span class="muted">${t("cb_no_attempts")}</span>`;
  return `<span class="attempts">${t("cb_unanswered_n", { n: unanswered.length })}</span>
    <ol class="attempt-list">${unanswered
      .map((a) => `<li>${formatTime(a.at)}${a.by ? ` · ${esc(personName(a.by))}` : ""}</li>`)
      .join("")}</ol>`;
}

function phoneHtml(task) {
  if (!task.caller_phone) return "—";
  return `<span class="phone"><span class="phone-number" data-phone-text>${esc(task.caller_phone)}</span>
    <button type="button" class="copy" data-copy="${esc(task.caller_phone)}" aria-label="${t("copy_phone")} ${esc(task.caller_phone)}">${t("copy")}</button>
    <span class="copied" role="status"></span></span>`;
}

/** Update every due time on the desk to the current second (and each row's overdue mark). */
export function tickCallbacks(now = serverNow()) {
  if (!root) return;
  for (const row of root.querySelectorAll("tr[data-due]")) {
    const { overdue, text } = dueText(row.dataset.due, now);
    const el = row.querySelector(".due-clock");
    if (el && el.textContent !== text) el.textContent = text;
    if (el) el.className = `due-clock${overdue ? " due-overdue" : ""}`;
    row.classList.toggle("overdue", overdue);
  }
}

function findTask(id) {
  return (lists.get(deskFilters.state) ?? []).find((task) => task.incident_id === id) ?? null;
}

function onClick(e) {
  // The page's element outlives the desk: clicks on other pages are not the desk's.
  if (!root) return;
  const tab = e.target.closest("[data-cb-state]");
  if (tab) {
    deskFilters.state = tab.dataset.cbState;
    for (const b of root.querySelectorAll("[data-cb-state]")) b.setAttribute("aria-selected", String(b === tab));
    const help = root.querySelector(".cb-help");
    if (help) help.textContent = t(`cb_help_${deskFilters.state}`);
    if (lists.has(deskFilters.state)) renderCallbacks();
    loadCallbacks();
    return;
  }
  // Not `data-open`: the review queue's listener on the same element acts on that.
  const opener = e.target.closest("[data-cb-open]");
  if (opener) {
    onOpenIncident(opener.dataset.cbOpen);
    return;
  }
  const copy = e.target.closest("[data-copy]");
  if (copy) {
    copyPhone(copy);
    return;
  }
  if (e.target.id === "cb-reload") {
    loadCallbacks();
    return;
  }
  const unanswered = e.target.closest("[data-unanswered]");
  if (unanswered) {
    recordUnanswered(unanswered.dataset.unanswered, unanswered);
    return;
  }
  const record = e.target.closest("[data-record]");
  if (record) openForm(findTask(record.dataset.record));
}

/** Copy the phone: the clipboard API, else select the number so Ctrl+C copies it. */
async function copyPhone(button) {
  const phone = button.dataset.copy;
  const box = button.closest(".phone");
  const said = box?.querySelector(".copied");
  const say = (text) => {
    if (!said) return;
    said.textContent = text;
    clearTimeout(said.timer);
    said.timer = setTimeout(() => {
      said.textContent = "";
    }, 2500);
  };
  try {
    if (!navigator.clipboard?.writeText) throw new Error("no clipboard");
    await navigator.clipboard.writeText(phone);
    say(t("copied"));
    return;
  } catch {
    // Not a secure context (http:// on a LAN address), or the browser refused: select it.
  }
  const text = box?.querySelector("[data-phone-text]");
  if (text) {
    const range = document.createRange();
    range.selectNodeContents(text);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  say(copied ? t("copied") : t("copy_selected"));
}

async function recordUnanswered(incidentId, button) {
  button.disabled = true;
  try {
    const task = await post(`/api/incidents/${encodeURIComponent(incidentId)}/callbacks`, attemptBody());
    notify(
      task?.state === "unreachable"
        ? t("cb_now_unreachable", { number: task.number ?? "" })
        : t("cb_attempt_saved", { number: task?.number ?? "" }),
    );
  } catch (err) {
    notify(callbackErrorText(err), "error");
  } finally {
    button.disabled = false;
  }
  await loadCallbacks();
}

// ---- The verdict form ----

function ratingFieldset(name) {
  return `<fieldset class="rating-choice" data-dimension="${name}">
    <legend>${esc(label("dimension", name))}</legend>
    <div class="big-radios">${RATINGS.map(
      (r) => `<label class="big-radio rating-${r}"><input type="radio" name="${name}" value="${r}" required>
        <span>${esc(label("rating", r))}</span></label>`,
    ).join("")}</div></fieldset>`;
}

function dialogHtml() {
  return `<dialog id="callback-dialog" class="callback-dialog" aria-labelledby="callback-title">
    <form id="callback-form" method="dialog" class="stack" novalidate>
      <h2 id="callback-title">${t("cb_record")}</h2>
      <p class="cb-form-phone" id="callback-phone"></p>
      ${RATING_DIMENSIONS.map(ratingFieldset).join("")}
      ${ratingFieldset("overall")}
      <label>${t("cb_comment")}
        <textarea name="comment" id="callback-comment" rows="3" maxlength="${COMMENT_MAX}"></textarea>
        <small class="muted" id="callback-comment-count" aria-live="polite">0/${COMMENT_MAX}</small></label>
      <p class="form-error" role="alert" hidden></p>
      <div class="buttons">
        <button type="button" id="callback-cancel">${t("cancel_dialog")}</button>
        <button type="submit" class="primary" id="callback-submit">${t("cb_submit")}</button>
      </div>
    </form>
  </dialog>`;
}

function openForm(task) {
  if (!task || !root) return;
  formTask = task;
  const dialog = $("#callback-dialog", root);
  const form = $("#callback-form", root);
  form.reset();
  form.querySelector(".form-error").hidden = true;
  $("#callback-comment-count", root).textContent = `0/${COMMENT_MAX}`;
  $("#callback-title", root).textContent = `${t("cb_record")} · ${task.number}`;
  $("#callback-phone", root).innerHTML = `${t("caller_phone")}：${phoneHtml(task)}
    · ${esc(task.station_id ? stationName(task.station_id) : "")} · ${esc(label("category", task.category))}`;
  dialog.showModal();
}

function wireDialog() {
  const dialog = $("#callback-dialog", root);
  const form = $("#callback-form", root);
  $("#callback-cancel", root).addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    formTask = null;
  });
  form.addEventListener("change", () => {
    const error = form.querySelector(".form-error");
    if (!error.hidden && !verdictProblems(formValues(form)).length) error.hidden = true;
  });
  $("#callback-comment", root).addEventListener("input", (e) => {
    $("#callback-comment-count", root).textContent = `${[...e.target.value].length}/${COMMENT_MAX}`;
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!formTask) return;
    const error = form.querySelector(".form-error");
    const values = formValues(form);
    const problems = verdictProblems(values);
    if (problems.length) {
      error.textContent = problems.includes("comment")
        ? t("cb_comment_too_long", { n: COMMENT_MAX })
        : t("cb_choose", { what: problems.map((p) => label("dimension", p)).join(t("list_sep")) });
      error.hidden = false;
      return;
    }
    const button = $("#callback-submit", root);
    button.disabled = true;
    const task = formTask;
    try {
      await post(`/api/incidents/${encodeURIComponent(task.incident_id)}/callbacks`, verdictBody(values));
      dialog.close();
      notify(t("cb_done_saved", { number: task.number }));
    } catch (err) {
      error.textContent = callbackErrorText(err);
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
    // Done, or someone else's verdict got there first (409 already_rated): the row moves on.
    await loadCallbacks();
  });
}
