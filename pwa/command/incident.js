// The incident panel: the record, its clocks, the command-center actions (dispatch,
// reassign, cancel, close), point-checks (点调) and their replies, the timeline with
// its three times and flags, records, attachments and review items. It reloads the
// full record whenever the feed touches the incident. A received call can also be diverted
// to a linked agency (PROTOCOL §10, diversion.js); the diversion and the agency's feedback
// show under the clocks. 三反馈 and the case (PROTOCOL §11) show under the clocks too, and
// closing without all three feedbacks asks first (three-feedbacks.js).

import { get, post } from "./api.js";
import { tickClocks, clockHtml, clockStopped } from "./board.js";
import { diversionHtml, diversionSummary, openDivertChooser } from "./diversion.js";
import { beijingToIso, esc, formValues, notify } from "./dom.js";
import { formatTime, label, t } from "./i18n.js";
import { isCommandRole, isOpen, RATING_DIMENSIONS } from "../core/index.js";
import { emit, fieldStations, mayDispatch, personName, putIncident, stationName, store } from "./store.js";
import { caseHtml, confirmClose, threeFeedbacksHtml } from "./three-feedbacks.js";
import { maySupervise } from "./chief.js";
import { boardRefs, openSuperviseDialog } from "./supervision.js";

const FLAG_HELP = {
  late: "late", clock_suspect: "clock_suspect", conflict: "conflict",
  evidence_mismatch: "evidence_mismatch", pending_base: "pending_base",
};

let current = null; // the incident shown, with its timeline
let shownId = null; // the incident the panel is for (set before its record arrives)
let actionsOpen = null; // the desk opened or folded the actions (null: the default)
let actionsTouched = 0; // how many times the desk has opened or folded them by hand
let root = null;
let reloadTimer = null;
const peopleByStation = new Map();

export function currentIncidentId() {
  return current?.id ?? null;
}

export function mountIncidentPanel(element) {
  root = element;
  root.addEventListener("click", onClick);
  root.addEventListener("submit", onSubmit);
  root.addEventListener("change", onChange);
  root.addEventListener(
    "click",
    (e) => {
      // Taken at the click, before the details toggle: a redraw can come between the two
      // (the toggle event then fires on a panel no longer shown).
      const summary = e.target.closest?.("details[data-actions] > summary");
      if (!summary) return;
      actionsTouched += 1;
      actionsOpen = !summary.parentElement.open;
    },
    true,
  );
  root.addEventListener(
    "toggle",
    (e) => {
      if (e.target.matches?.("details[data-actions]")) actionsOpen = e.target.open;
    },
    true,
  );
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !root.hidden && !document.querySelector("dialog[open]")) closeIncident();
  });
}

export async function openIncident(id, seed) {
  root.hidden = false;
  if (shownId !== id) actionsOpen = null;
  shownId = id;
  if (seed && current?.id !== id) {
    current = { ...seed, timeline: seed.timeline || [] };
    render();
  }
  await reload(id);
  root.querySelector("h2")?.focus();
}

export function closeIncident() {
  current = null;
  shownId = null;
  root.hidden = true;
  root.innerHTML = "";
}

/** The feed touched this incident: fetch it again (coalescing bursts of changes). */
export function incidentTouched(ids) {
  if (!shownId || !ids.has(shownId)) return;
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => reload(shownId), 100);
}

async function reload(id) {
  if (!id) return;
  try {
    const record = await get(`/api/incidents/${encodeURIComponent(id)}`);
    putIncident(record);
    emit({ kind: "local" });
    if (shownId !== id) return; // the desk moved on while this was loading
    current = record;
    render();
  } catch (err) {
    notify(err.message, "error");
  }
}

async function peopleOf(stationId) {
  if (!peopleByStation.has(stationId)) {
    const list = await get(`/api/people?station_id=${encodeURIComponent(stationId)}`);
    peopleByStation.set(
      stationId,
      list.filter((p) => !isCommandRole(p.role)),
    );
  }
  return peopleByStation.get(stationId);
}

function render() {
  const i = current;
  if (!i) return;
  const canDispatch = mayDispatch(store.me);
  const open = isOpen(i.status);
  const focusId = document.activeElement?.id;
  const typed = new Map(
    [...root.querySelectorAll("input[id], textarea[id], select[id]")].map((el) => [el.id, el.value]),
  );
  const ticked = new Set([...root.querySelectorAll(".people-list input:checked")].map((el) => el.value));
  root.innerHTML = `
    <div class="panel-head">
      <h2 tabindex="-1">${esc(i.number)} · ${esc(label("category", i.category))}
        <span class="status status-${esc(i.status)}">${esc(label("status", i.status))}</span></h2>
      <button type="button" class="close-panel" data-action="close" aria-label="${t("close_panel")}">✕</button>
    </div>
    <section aria-label="${t("details")}">
      <dl class="facts">
        <dt>${t("address")}</dt><dd>${esc(i.address)} <small>(${esc(label("area_type", i.area_type))})</small></dd>
        <dt>${t("narrative")}</dt><dd>${esc(i.narrative)}</dd>
        ${i.caller_name || i.caller_phone ? `<dt>${t("caller_name")}</dt><dd>${esc(i.caller_name)} ${esc(i.caller_phone)}</dd>` : ""}
        ${i.no_callback ? `<dt>${t("callback")}</dt><dd><span class="tag no-callback">${t("no_callback_tag")}</span> <small class="muted">${t("no_callback_why")}</small></dd>` : ""}
        <dt>${t("col_received")}</dt><dd>${formatTime(i.received_at)}
          ${i.received_back_entered ? `<span class="tag muted">${t("back_entered")}</span>` : ""}</dd>
        <dt>${t("col_station")}</dt><dd>${i.station_id ? esc(stationName(i.station_id)) : t("undispatched")}</dd>
        <dt>${t("col_people")}</dt><dd>${(i.assignees || []).map((a) => esc(a.name || personName(a.person_id))).join("、") || "—"}</dd>
        ${i.close_summary ? `<dt>${t("summary")}</dt><dd>${esc(i.close_summary)}</dd>` : ""}
        ${i.cancel_reason ? `<dt>${t("reason")}</dt><dd>${esc(i.cancel_reason)}</dd>` : ""}
      </dl>
    </section>
    <section aria-labelledby="clocks-h"><h3 id="clocks-h">${t("clocks")}</h3>
      <div class="clock-row">${Object.entries(i.clocks || {}).map(([n, c]) => clockHtml(n, c, clockStopped(i.status, n))).join("")}</div>
    </section>
    ${threeFeedbacksHtml(i)}
    ${caseHtml(i)}
    ${diversionHtml(i)}
    ${supervisionSectionHtml(i)}
    ${canDispatch && open ? actionsHtml(i) : ""}
    ${pointChecksHtml(i, canDispatch && open)}
    ${feedbackHtml(i)}
    ${timelineHtml(i)}
    ${recordsHtml(i)}
    ${attachmentsHtml(i)}
    ${reviewItemsHtml(i)}`;
  tickClocks(root);
  // A live re-render keeps what the desk was typing or choosing.
  for (const [elId, value] of typed) {
    const el = document.getElementById(elId);
    if (el && value) el.value = value;
  }
  if (focusId && document.getElementById(focusId)) document.getElementById(focusId).focus();
  for (const select of root.querySelectorAll("select[data-station-select]")) {
    if (select.value) fillPeople(select, ticked.size ? ticked : null);
  }
}

/**
 * The incident's supervision orders (督办, PROTOCOL §11) from its record's `supervision`
 * refs — 挂牌督办 in red — and, for a supervisor or admin, the 督办 button (whatever the
 * status: after-the-fact 督办 of a closed incident too). The orders in full: 督办台.
 */
export function supervisionSectionHtml(i) {
  const refs = boardRefs(i);
  // An incident never dispatched has no station to answer for it (the server says 409 no_station).
  const can = maySupervise(store.me) && Boolean(i.station_id);
  if (!refs.length && !can) return "";
  const list = refs.length
    ? `<ul class="sup-mini">${refs
        .map(
          (r) => `<li class="sup-${esc(r.level)} state-${esc(r.state)}">
            <span class="tag sup sup-${esc(r.level)}">${r.level === "bureau" ? "● " : "◆ "}${esc(label("supervision_level", r.level))}</span>
            ${esc(label("supervision_state", r.state))} · ${t("due_at")} ${formatTime(r.due_at)}
            ${r.clock_state === "overdue" ? `<strong class="overdue-label">⚠ ${t("overdue")}</strong>` : ""}</li>`,
        )
        .join("")}</ul>
        <p><a href="#/supervision">${t("sup_open_desk")}</a></p>`
    : "";
  return `<section aria-labelledby="sup-panel-h" class="sup-section"><h3 id="sup-panel-h">${t("sup_orders")}
      ${can ? `<button type="button" data-action="supervise" id="supervise-open" class="supervise-open">${t("sup_supervise")}</button>` : ""}</h3>
    ${list}</section>`;
}

function stationOptions(selected) {
  return [`<option value="">${t("choose_station")}</option>`]
    .concat(
      // Linked agencies get a call by diversion (§10), with their own clocks, not by dispatch.
      fieldStations()
        .filter((s) => s.kind !== "linked_agency" || s.id === selected)
        .map((s) => `<option value="${esc(s.id)}" ${s.id === selected ? "selected" : ""}>${esc(s.name)}</option>`),
    )
    .join("");
}

function actionsHtml(i) {
  if (i.status === "diverted") return divertedActionsHtml();
  const verb = i.status === "received" ? "dispatch" : "reassign";
  // Dispatching is the next step for a received call: open. Later acts fold away so the
  // timeline stays in view; a live redraw keeps the fold as the desk left it.
  const open = actionsOpen ?? verb === "dispatch";
  const title = verb === "dispatch" ? t("dispatch") : `${t("reassign")} / ${t("close_incident")} / ${t("cancel_incident")}`;
  return `<details class="actions" data-actions ${open ? "open" : ""}><summary><h3 id="actions-h">${title}</h3></summary>
    <form data-form="${verb}" class="form-grid">
      <label>${t("station")}<select name="station_id" data-station-select required id="${verb}-station">
        ${stationOptions(verb === "reassign" ? i.station_id : "")}</select></label>
      ${verb === "dispatch" ? `<label>${t("dispatched_at_back")}<input type="datetime-local" step="1" name="dispatched_at"></label>` : "<span></span>"}
      <fieldset class="wide people-choice" aria-label="${t("people")}"><legend>${t("people")}</legend>
        <div class="people-list" data-people-for="${verb}"><small class="muted">${t("choose_station")}</small></div></fieldset>
      <p class="form-error wide" role="alert" hidden></p>
      <div class="buttons wide">
        ${verb === "dispatch" ? `<button type="button" data-action="divert" id="divert-open" class="divert-open">${t("divert_open")}</button>` : ""}
        <button type="submit" class="primary" id="${verb}-submit">${t(verb)}</button></div>
    </form>
    <div class="two-forms">
      ${i.status === "dispatched" ? `<form data-form="close" class="stack">
        <label>${t("summary")}<textarea name="summary" rows="2" required id="close-summary"></textarea></label>
        <p class="form-error" role="alert" hidden></p>
        <button type="submit" id="close-submit">${t("close_incident")}</button></form>` : ""}
      <form data-form="cancel" class="stack">
        <label>${t("reason")}<textarea name="reason" rows="2" required id="cancel-reason"></textarea></label>
        <p class="form-error" role="alert" hidden></p>
        <button type="submit" class="danger" id="cancel-submit">${t("cancel_incident")}</button></form>
    </div></details>`;
}

/** A diverted call: the dispatcher closes it after the agency's feedback, or cancels it. */
function divertedActionsHtml() {
  const open = actionsOpen ?? false;
  return `<details class="actions" data-actions ${open ? "open" : ""}><summary><h3 id="actions-h">${t("close_incident")} / ${t("cancel_incident")}</h3></summary>
    <div class="two-forms">
      <form data-form="close" class="stack">
        <label>${t("summary")}<textarea name="summary" rows="2" required id="close-summary"></textarea></label>
        <p class="form-error" role="alert" hidden></p>
        <button type="submit" id="close-submit">${t("close_incident")}</button></form>
      <form data-form="cancel" class="stack">
        <label>${t("reason")}<textarea name="reason" rows="2" required id="cancel-reason"></textarea></label>
        <p class="form-error" role="alert" hidden></p>
        <button type="submit" class="danger" id="cancel-submit">${t("cancel_incident")}</button></form>
    </div></details>`;
}

async function fillPeople(select, preset = null) {
  const form = select.closest("form");
  const box = form.querySelector(".people-list");
  if (!select.value) {
    box.innerHTML = `<small class="muted">${t("choose_station")}</small>`;
    return;
  }
  const assigned = preset ?? new Set((current?.assignees || []).map((a) => a.person_id));
  const people = await peopleOf(select.value);
  box.innerHTML = people.length
    ? people
        .map(
          (p) => `<label class="check"><input type="checkbox" name="person_ids" value="${esc(p.id)}"
            ${assigned.has(p.id) ? "checked" : ""}> ${esc(p.name)} <small>${esc(label("role", p.role))}</small></label>`,
        )
        .join("")
    : `<small class="muted">${t("no_people")}</small>`;
}

function pointChecksHtml(i, canSend) {
  const checks = i.point_checks || [];
  const list = checks.length
    ? `<ol class="point-checks">${checks
        .map(
          (c) => `<li class="${c.replied_at ? "replied" : "waiting"}">
            <div><strong>${formatTime(c.requested_at)}</strong> ${esc(personName(c.requested_by))}：${esc(c.text)}</div>
            ${
              c.replied_at
                ? `<div class="reply">✓ ${t("replied")} ${formatTime(c.replied_at)} ${esc(personName(c.reply_person_id))}：${esc(c.reply)}</div>`
                : `<div class="reply muted">… ${t("point_check_waiting")}</div>`
            }</li>`,
        )
        .join("")}</ol>`
    : `<p class="muted">${t("point_check_none")}</p>`;
  const form = canSend && i.status === "dispatched"
    ? `<form data-form="point_check" class="inline-form">
        <label class="grow">${t("point_check_text")}<input name="text" required maxlength="500" id="point-check-text" autocomplete="off"></label>
        <button type="submit" id="point-check-submit">${t("point_check_send")}</button>
        <p class="form-error" role="alert" hidden></p></form>`
    : "";
  return `<section aria-labelledby="pc-h"><h3 id="pc-h">${t("point_check")}</h3>${list}${form}</section>`;
}

function flagTags(flags) {
  return (flags || [])
    .map((f) => `<span class="tag flag flag-${esc(f)}" title="${esc(FLAG_HELP[f] || f)}">⚑ ${esc(label("flag", f))}</span>`)
    .join(" ");
}

/** What a timeline entry or record says, in one line of HTML (server values escaped). */
export function bodySummary(entry) {
  const b = entry.body || entry.detail || {};
  switch (entry.type) {
    case "dispatched":
    case "reassigned":
      return `${esc(stationName(b.station_id))}：${(b.person_ids || []).map((p) => esc(personName(p))).join("、")}`;
    case "closed":
      return esc(b.summary);
    case "cancelled":
      return esc(b.reason);
    case "point_check":
      return esc(b.text);
    case "arrival":
      return b.lat != null ? `${esc(b.lat)}, ${esc(b.lon)} (±${esc(b.accuracy_m ?? "?")} m)` : "";
    case "scene_report":
      return `${esc(b.situation)}${b.injured ? ` · ${t("injured", { n: b.injured })}` : ""}${b.needs_backup ? ` · ${t("needs_backup")}` : ""}`;
    case "disposition":
      return `${esc(label("result", b.result))}：${esc(b.summary)}`;
    case "bodycam_ref":
      return `${esc(b.camera_serial)} / ${esc(b.clip_id)} · ${esc((b.sha256 || "").slice(0, 12))}`;
    case "mediation_outcome":
      return `${esc(b.dispute_type)} · ${esc(label("agreement", b.agreement))} · ${esc(b.terms)}`;
    case "evidence_item":
      return `${esc(label("evidence", b.kind))} · ${esc(b.reference)}`;
    case "note":
    case "point_check_reply":
      return esc(b.text);
    case "diverted":
    case "agency_feedback":
      return diversionSummary(entry);
    // PROTOCOL §11: a chief's reply to an order, a station's rectification, a case's progress.
    case "supervision_reply":
    case "rectification":
      return `${esc(b.text)}${(b.attachments || []).length ? ` · ${t("n_attachments", { n: b.attachments.length })}` : ""}`;
    case "case_progress":
      return `${esc(b.case_number)} · ${esc(label("case_stage", b.stage))}`;
    default:
      return "";
  }
}

/** A rating's words; an unsatisfied one is marked ⚠ as well as coloured. */
function ratingHtml(value) {
  const text = esc(label("rating", value));
  return value === "unsatisfied" ? `<strong class="rating-bad">⚠ ${text}</strong>` : `<span class="rating-${esc(value)}">${text}</span>`;
}

/**
 * The citizen's verdicts on the incident (PROTOCOL §9 `feedback`): where each came from
 * (回访 / 扫码 / 海报), when, the four dimensions, the overall verdict and the comment. Nothing
 * from a server that sends no `feedback`; "none yet" for a closed incident without one.
 */
export function feedbackHtml(i) {
  if (!Array.isArray(i.feedback)) return "";
  if (!i.feedback.length) {
    return i.status === "closed"
      ? `<section aria-labelledby="fb-h"><h3 id="fb-h">${t("feedback")}</h3><p class="muted">${t(i.no_callback ? "feedback_none_no_callback" : "feedback_none")}</p></section>`
      : "";
  }
  const items = i.feedback
    .map(
      (f) => `<li class="feedback${f.overall === "unsatisfied" ? " feedback-bad" : ""}">
        <div class="feedback-head"><span class="tag source-${esc(f.source)}">${esc(label("feedback_source", f.source))}</span>
          <span>${formatTime(f.at)}</span>
          <span>${esc(label("dimension", "overall"))}：${ratingHtml(f.overall)}</span></div>
        <dl class="ratings">${RATING_DIMENSIONS.map(
          (d) => `<dt>${esc(label("dimension", d))}</dt><dd>${f.ratings?.[d] ? ratingHtml(f.ratings[d]) : "—"}</dd>`,
        ).join("")}</dl>
        ${f.comment ? `<p class="feedback-comment"><q>${esc(f.comment)}</q></p>` : ""}</li>`,
    )
    .join("");
  return `<section aria-labelledby="fb-h"><h3 id="fb-h">${t("feedback")}</h3><ul class="feedback-list">${items}</ul></section>`;
}

function timelineHtml(i) {
  const rows = (i.timeline || [])
    .map((e) => {
      const actor = e.op_id === null ? `<span class="tag muted">${t("command_action")}</span> ` : "";
      return `<tr class="${(e.flags || []).length ? "flagged" : ""}">
        <td>${formatTime(e.effective_time || e.received_at)}</td>
        <td>${actor}${esc(label("event", e.type))}
          ${e.back_entered ? `<span class="tag back">${t("back_entered")}</span>` : ""}</td>
        <td>${esc(personName(e.person_id))}</td>
        <td>${formatTime(e.device_time)}</td>
        <td>${formatTime(e.received_at)}</td>
        <td>${flagTags(e.flags)}</td>
        <td class="detail">${bodySummary(e)}</td></tr>`;
    })
    .join("");
  return `<section aria-labelledby="tl-h"><h3 id="tl-h">${t("timeline")}</h3>
    <div class="scroll"><table class="timeline"><thead><tr>
      <th scope="col">${t("tl_effective")}</th><th scope="col">${t("tl_type")}</th><th scope="col">${t("tl_person")}</th>
      <th scope="col">${t("tl_device")}</th><th scope="col">${t("tl_received")}</th>
      <th scope="col">${t("tl_flags")}</th><th scope="col">${t("tl_detail")}</th></tr></thead>
      <tbody>${rows}</tbody></table></div></section>`;
}

function recordsHtml(i) {
  const records = i.records || [];
  if (!records.length) return "";
  return `<section aria-labelledby="rec-h"><h3 id="rec-h">${t("records")}</h3><ul class="records">${records
    .map(
      (r) => `<li class="${r.conflicted ? "conflicted" : ""}"><strong>${esc(label("event", r.type))}</strong>
        <small>${(r.versions || []).length} ${t("versions")}</small>
        ${r.conflicted ? `<span class="tag flag flag-conflict">⚑ ${t("conflicted")} (${(r.heads || []).length})</span>` : ""}
        <div>${bodySummary({ type: r.type, body: r.body })}</div></li>`,
    )
    .join("")}</ul></section>`;
}

function attachmentsHtml(i) {
  const entries = Object.entries(i.attachments || {});
  if (!entries.length) return "";
  return `<section aria-labelledby="att-h"><h3 id="att-h">${t("attachments")}</h3><ul class="attachments">${entries
    .map(
      ([sha, state]) => `<li><code>${esc(sha.slice(0, 16))}…</code>
        <span class="tag ${state === "stored" ? "ok" : "muted"}">${t(state === "stored" ? "att_stored" : "att_pending")}</span></li>`,
    )
    .join("")}</ul></section>`;
}

function reviewItemsHtml(i) {
  const items = i.review_items || [];
  if (!items.length) return "";
  return `<section aria-labelledby="ri-h"><h3 id="ri-h">${t("review_items")}</h3><ul class="review-mini">${items
    .map(
      (r) => `<li class="${r.state}"><span class="tag flag">${esc(label("review", r.kind))}${r.clock ? ` · ${esc(label("clock", r.clock))}` : ""}</span>
        ${r.state === "open" ? "⏳" : "✓"} ${esc(r.state === "open" ? t("count_reviews") : t("saved"))}</li>`,
    )
    .join("")}</ul></section>`;
}

function onClick(e) {
  const button = e.target.closest("[data-action]");
  if (button?.dataset.action === "close") closeIncident();
  if (button?.dataset.action === "supervise" && current) {
    const id = current.id;
    openSuperviseDialog(current, { onDone: () => shownId === id && reload(id) });
  }
  if (button?.dataset.action === "divert" && current?.status === "received") {
    const id = current.id;
    openDivertChooser(current, {
      onDone: (record) => {
        putIncident(record);
        emit({ kind: "local" });
        actionsOpen = null;
        if (shownId === id) reload(id);
      },
    });
  }
}

function onChange(e) {
  if (e.target.matches("select[data-station-select]")) fillPeople(e.target);
}

// The words of the notice once an act is done.
const ACT_DONE = {
  dispatch: "dispatch",
  reassign: "reassign",
  close: "close_incident",
  cancel: "cancel_incident",
  point_check: "point_check",
};

/**
 * The request for a command-center act on an incident (PROTOCOL §7) from its form's
 * values: `{path, body}`, or null for a form that is not an act. A back-entered
 * `dispatched_at` is read as Beijing time.
 */
export function actRequest(kind, incidentId, v) {
  const base = `/api/incidents/${encodeURIComponent(incidentId)}`;
  switch (kind) {
    case "dispatch":
    case "reassign": {
      const body = { station_id: v.station_id, person_ids: [].concat(v.person_ids || []) };
      if (kind === "dispatch" && v.dispatched_at) body.dispatched_at = beijingToIso(v.dispatched_at);
      return { path: `${base}/${kind}`, body };
    }
    case "close":
      return { path: `${base}/close`, body: { summary: v.summary } };
    case "cancel":
      return { path: `${base}/cancel`, body: { reason: v.reason } };
    case "point_check":
      return { path: `${base}/point-check`, body: { text: v.text } };
    default:
      return null;
  }
}

async function onSubmit(e) {
  const form = e.target.closest("form[data-form]");
  if (!form || !current) return;
  e.preventDefault();
  const kind = form.dataset.form;
  const request = actRequest(kind, current.id, formValues(form));
  if (!request) return;
  // 三反馈: closing without all three asks the dispatcher first, naming what is missing.
  if (kind === "close" && !(await confirmClose(current))) return;
  const error = form.querySelector(".form-error");
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  const touched = actionsTouched;
  try {
    const record = await post(request.path, request.body);
    putIncident(record);
    emit({ kind: "local" });
    form.reset(); // done: the redraw must not bring the text back
    // An act done folds the acts away, unless the desk opened or folded them by hand
    // while its answer was on the way (a live redraw can come first).
    if (kind !== "point_check" && actionsTouched === touched) actionsOpen = null;
    if (error) error.hidden = true;
    notify(`${record.number} ${t(ACT_DONE[kind])} ✓`);
    await reload(current.id);
  } catch (err) {
    if (error) {
      error.textContent = err.message;
      error.hidden = false;
    }
  } finally {
    button.disabled = false;
  }
}
