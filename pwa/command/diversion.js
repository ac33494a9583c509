// Non-police diversion (非警务分流, PROTOCOL §10), the dispatcher's side: the chooser that
// ranks the linked agencies by the duties matching a received call's narrative and address
// (GET /api/agencies?match=), picks one and optionally its people, and sends the divert
// with instructions (POST /api/incidents/{id}/divert); the diversion shown in the incident
// panel (agency, instructions, acknowledgement, the agency's feedback); and what the board
// says of a diverted call ("已分流 · 县12345热线") or of one an agency returned ("退回：…").

import { ApiError, ERROR, isCommandRole } from "../core/index.js";
import { get, post } from "./api.js";
import { $, esc, formValues, notify } from "./dom.js";
import { formatTime, label, t } from "./i18n.js";
import { personName, stationName } from "./store.js";

/** PROTOCOL §10: a diversion's instructions to the agency, at most this many characters. */
export const INSTRUCTIONS_MAX = 500;

/** GET /api/agencies's path, ranked against `text` when there is any. */
export function agenciesPath(text = "") {
  const match = String(text).trim();
  return match ? `/api/agencies?match=${encodeURIComponent(match)}` : "/api/agencies";
}

/** What the agencies are matched against: the call's narrative and its address. */
export function matchText(incident) {
  return [incident?.narrative, incident?.address].filter(Boolean).join(" ");
}

/** An agency's keywords, whatever the server left out (no duties yet: none). */
export function keywordsOf(agency) {
  return (agency?.duties?.keywords || []).filter((k) => typeof k === "string" && k.trim());
}

/** The keywords of an agency that `text` contains (case-insensitive, as written in its duties). */
export function matchedKeywords(agency, text) {
  const haystack = String(text || "").toLowerCase();
  return keywordsOf(agency).filter((k) => haystack.includes(k.trim().toLowerCase()));
}

/**
 * The chooser's order: agencies with a score first, highest score first (the server's order
 * among equals), then the others after the divider "其他单位", in the server's order.
 * `{matched, others}`; the list given is not reordered.
 */
export function rankedAgencies(agencies) {
  const list = [...(agencies || [])].map((a, n) => ({ a, n }));
  const score = (x) => (typeof x.a.score === "number" ? x.a.score : 0);
  const matched = list.filter((x) => score(x) > 0).sort((x, y) => score(y) - score(x) || x.n - y.n);
  const others = list.filter((x) => score(x) <= 0);
  return { matched: matched.map((x) => x.a), others: others.map((x) => x.a) };
}

/**
 * `text` as HTML with every occurrence of the keywords wrapped in <mark> (case-insensitive,
 * longest keyword first where two overlap); everything else escaped.
 */
export function highlight(text, keywords) {
  const source = String(text ?? "");
  const lower = source.toLowerCase();
  const words = [...new Set((keywords || []).map((k) => String(k).trim()).filter(Boolean))].sort((a, b) => b.length - a.length);
  const marked = new Array(source.length).fill(false);
  for (const word of words) {
    const w = word.toLowerCase();
    for (let at = lower.indexOf(w); at !== -1; at = lower.indexOf(w, at + w.length)) {
      if (marked.slice(at, at + w.length).some(Boolean)) continue;
      marked.fill(true, at, at + w.length);
    }
  }
  let html = "";
  let open = false;
  for (let i = 0; i < source.length; i += 1) {
    if (marked[i] && !open) html += "<mark>";
    if (!marked[i] && open) html += "</mark>";
    open = marked[i];
    html += esc(source[i]);
  }
  return open ? `${html}</mark>` : html;
}

/** An agency's targets in words: "签收 30 分钟 · 反馈 24 小时". */
export function targetsText(duties) {
  const d = duties || {};
  const parts = [];
  if (typeof d.ack_minutes === "number") parts.push(t("agency_ack_target", { n: d.ack_minutes }));
  if (typeof d.feedback_hours === "number") parts.push(t("agency_feedback_target", { n: d.feedback_hours }));
  return parts.join(" · ") || t("duties_none");
}

/** One agency in the chooser: a radio, its name, score, keywords (matched ones marked), targets. */
export function agencyOptionHtml(agency, text, chosen = "") {
  const matched = new Set(matchedKeywords(agency, text));
  const keywords = keywordsOf(agency);
  const score = typeof agency.score === "number" ? agency.score : 0;
  const chips = keywords.length
    ? keywords
        .map((k) => (matched.has(k) ? `<mark class="chip chip-hit">${esc(k)}</mark>` : `<span class="chip">${esc(k)}</span>`))
        .join(" ")
    : `<span class="muted">${t("duties_no_keywords")}</span>`;
  return `<label class="agency-option${score > 0 ? " matched" : ""}">
      <input type="radio" name="agency_id" value="${esc(agency.station_id)}" ${agency.station_id === chosen ? "checked" : ""} required>
      <span class="agency-main"><strong class="agency-name">${esc(agency.name)}</strong>
        <span class="score">${score > 0 ? esc(t("match_score", { n: score })) : t("match_none")}</span>
        <span class="agency-targets muted">${esc(targetsText(agency.duties))}</span>
        <span class="chips">${chips}</span></span>
    </label>`;
}

/** The chooser's list: the ranked agencies, a divider "其他单位", then the unmatched ones. */
export function agencyListHtml(agencies, text, chosen = "") {
  const { matched, others } = rankedAgencies(agencies);
  if (!matched.length && !others.length) return `<p class="muted">${t("no_agencies")}</p>`;
  const parts = matched.map((a) => agencyOptionHtml(a, text, chosen));
  if (others.length) {
    parts.push(`<div class="agency-divider" role="separator">${t(matched.length ? "agencies_other" : "agencies_none_matched")}</div>`);
    parts.push(...others.map((a) => agencyOptionHtml(a, text, chosen)));
  }
  return parts.join("");
}

/**
 * What is wrong with the divert form's values, in words (empty when nothing): an agency
 * must be chosen, and the instructions given, at most 500 characters.
 */
export function divertProblems(v) {
  const problems = [];
  if (!v.agency_id) problems.push(t("divert_choose_agency"));
  const text = String(v.instructions || "").trim();
  if (!text) problems.push(t("divert_need_instructions"));
  else if ([...text].length > INSTRUCTIONS_MAX) problems.push(t("divert_instructions_too_long", { n: INSTRUCTIONS_MAX }));
  return problems;
}

/** POST /api/incidents/{id}/divert's request from the form's values: `{path, body}`. */
export function divertRequest(incidentId, v) {
  return {
    path: `/api/incidents/${encodeURIComponent(incidentId)}/divert`,
    body: {
      agency_id: v.agency_id,
      person_ids: [].concat(v.person_ids || []),
      instructions: String(v.instructions || "").trim(),
    },
  };
}

/** A failed divert in plain words: 422 unknown_agency, 409 invalid_state, 403. */
export function divertErrorText(err) {
  if (err instanceof ApiError || err?.code) {
    if (err.code === ERROR.UNKNOWN_AGENCY) return t("divert_unknown_agency");
    if (err.code === ERROR.INVALID_STATE || err.status === 409) return t("divert_invalid_state");
    if (err.status === 403) return t("divert_forbidden");
    if (err.status === 404 && err.code !== ERROR.NOT_FOUND) return t("divert_missing");
  }
  return err?.message || String(err);
}

/** The agency a diverted incident is with: its diversion's name, or its station's. */
export function agencyName(incident) {
  return incident?.diversion?.agency_name || (incident?.diversion?.agency_id && stationName(incident.diversion.agency_id)) || stationName(incident?.station_id);
}

/** The board's status cell: "已分流 · 县12345热线" for a diverted call, else the status's label. */
export function statusText(incident) {
  const status = label("status", incident.status);
  return incident.status === "diverted" ? `${status} · ${agencyName(incident)}` : status;
}

/**
 * The reason an agency sent the call back, when it is back on the board as received
 * (`returned_reason`, PROTOCOL §10 choice 3), or null.
 */
export function returnedReason(incident) {
  if (incident?.status !== "received") return null;
  const reason = incident.returned_reason;
  if (typeof reason === "string" && reason.trim()) return reason;
  // Returned with no words (should not happen: the text is the reason), still say so.
  return (incident.diversions_returned || 0) > 0 ? "" : null;
}

/** The board's "退回：<reason>" badge (with the count after a second return), or "". */
export function returnedBadgeHtml(incident) {
  const reason = returnedReason(incident);
  if (reason === null) return "";
  const times = incident.diversions_returned || 0;
  const words = t("returned_reason", { reason: reason || "—" });
  // A long reason is clamped to two lines on the board (the count first, so it always
  // shows); the whole of it is in the title.
  const count = times > 1 ? `<small>[${esc(t("returned_times", { n: times }))}]</small> ` : "";
  return `<span class="tag returned" title="${esc(`${words}（${t("returned_help")}）`)}">↩ ${count}${esc(words)}</span>`;
}

/** The attachments of a feedback, each with its state from the record (stored / pending). */
function attachmentList(hashes, states = {}) {
  if (!hashes?.length) return "";
  return `<ul class="attachments">${hashes
    .map(
      (sha) => `<li><code>${esc(String(sha).slice(0, 16))}…</code>
        <span class="tag ${states[sha] === "stored" ? "ok" : "muted"}">${t(states[sha] === "stored" ? "att_stored" : "att_pending")}</span></li>`,
    )
    .join("")}</ul>`;
}

/**
 * The incident panel's diversion section (PROTOCOL §10 choice 2): the agency, when and with
 * which instructions, the people named, acknowledged or not, and the agency's feedback
 * (outcome, text, attachments). A call returned shows the agency's reason instead. "" when
 * the record has neither.
 */
export function diversionHtml(i) {
  const d = i.diversion;
  const back = returnedReason(i);
  if (!d && back === null && !i.returned_reason) return "";
  let body = "";
  if (d) {
    const people = (d.person_ids || []).map((p) => esc(personName(p))).join(t("list_sep"));
    const fb = d.feedback;
    const feedback = fb
      ? `<div class="agency-feedback outcome-${esc(fb.outcome)}">
          <div><span class="tag outcome">${esc(label("agency_outcome", fb.outcome))}</span>
            ${formatTime(fb.at)} ${esc(personName(fb.person_id))}</div>
          ${fb.text ? `<p class="feedback-text">${esc(fb.text)}</p>` : ""}
          ${attachmentList(fb.attachments, i.attachments)}</div>`
      : `<p class="muted">… ${t("agency_feedback_waiting")}</p>`;
    body = `<dl class="facts">
        <dt>${t("agency")}</dt><dd><strong>${esc(d.agency_name || stationName(d.agency_id))}</strong></dd>
        <dt>${t("diverted_at")}</dt><dd>${formatTime(d.diverted_at)}</dd>
        <dt>${t("instructions")}</dt><dd class="instructions">${esc(d.instructions)}</dd>
        <dt>${t("people")}</dt><dd>${people || `<span class="muted">${t("agency_everyone")}</span>`}</dd>
        <dt>${t("acknowledged_at")}</dt><dd>${d.acknowledged_at ? `✓ ${formatTime(d.acknowledged_at)}` : `<span class="muted">${t("not_acknowledged")}</span>`}</dd>
        <dt>${t("agency_feedback")}</dt><dd>${feedback}</dd>
      </dl>`;
  }
  const returned = i.returned_reason
    ? `<p class="returned-note"><span class="tag returned">↩ ${esc(t("returned_reason", { reason: i.returned_reason }))}</span>
        ${(i.diversions_returned || 0) > 0 ? `<small class="muted">${esc(t("returned_times", { n: i.diversions_returned }))}</small>` : ""}</p>`
    : "";
  return `<section aria-labelledby="div-h" class="diversion"><h3 id="div-h">${t("diversion")}</h3>${returned}${body}</section>`;
}

/** The timeline's line for a diversion act or an agency's feedback (server values escaped). */
export function diversionSummary(entry) {
  const b = entry.body || entry.detail || {};
  if (entry.type === "diverted") {
    const agency = b.agency_name || stationName(b.agency_id || b.station_id);
    const people = (b.person_ids || []).map((p) => esc(personName(p))).join(t("list_sep"));
    return `${esc(agency)}${people ? `（${people}）` : ""}${b.instructions ? `：${esc(b.instructions)}` : ""}`;
  }
  if (entry.type === "agency_feedback") {
    const n = (b.attachments || []).length;
    return `${esc(label("agency_outcome", b.outcome))}：${esc(b.text)}${n ? ` · ${esc(t("n_attachments", { n }))}` : ""}`;
  }
  return "";
}

// ---- the chooser (a dialog over the panel) ----

let chooser = null; // {incident, agencies, onDone}
const peopleByAgency = new Map();

function dialogHtml(incident) {
  return `<dialog id="divert-dialog" class="divert-dialog" aria-labelledby="divert-title">
    <form id="divert-form" class="stack" novalidate>
      <h2 id="divert-title">${t("divert_title")} · ${esc(incident.number)}</h2>
      <p class="divert-text"><small class="muted">${t("divert_matched_on")}</small><br>
        <span id="divert-text">${esc(matchText(incident))}</span></p>
      <fieldset class="agency-choice"><legend>${t("agency")}</legend>
        <div id="agency-list" class="agency-list" aria-live="polite"><p class="muted">${t("loading")}</p></div></fieldset>
      <fieldset class="people-choice" aria-label="${t("people")}"><legend>${t("people")} <small class="muted">${t("divert_people_optional")}</small></legend>
        <div class="people-list" id="divert-people"><small class="muted">${t("divert_choose_agency")}</small></div></fieldset>
      <label>${t("instructions")} <small class="muted" id="divert-count">0 / ${INSTRUCTIONS_MAX}</small>
        <textarea name="instructions" id="divert-instructions" rows="3" maxlength="${INSTRUCTIONS_MAX}" required></textarea></label>
      <p class="form-error" role="alert" hidden></p>
      <div class="buttons">
        <button type="button" id="divert-cancel">${t("cancel_dialog")}</button>
        <button type="submit" class="primary" id="divert-submit">${t("divert_submit")}</button>
      </div>
    </form>
  </dialog>`;
}

/** Open the chooser for a received incident; `onDone(record)` once it is diverted. */
export async function openDivertChooser(incident, { onDone = () => {} } = {}) {
  $("#divert-dialog")?.remove();
  document.body.insertAdjacentHTML("beforeend", dialogHtml(incident));
  const dialog = $("#divert-dialog");
  const form = $("#divert-form");
  chooser = { incident, agencies: [], onDone };
  dialog.addEventListener("close", () => {
    dialog.remove();
    chooser = null;
  });
  $("#divert-cancel").addEventListener("click", () => dialog.close());
  form.addEventListener("change", onChooserChange);
  form.addEventListener("submit", onChooserSubmit);
  $("#divert-instructions").addEventListener("input", (e) => {
    $("#divert-count").textContent = `${[...e.target.value].length} / ${INSTRUCTIONS_MAX}`;
    form.querySelector(".form-error").hidden = true;
  });
  dialog.showModal();
  const text = matchText(incident);
  try {
    const answer = await get(agenciesPath(text));
    if (!chooser) return;
    chooser.agencies = answer?.agencies || [];
    $("#agency-list").innerHTML = agencyListHtml(chooser.agencies, text);
  } catch (err) {
    if (!chooser) return;
    const missing = err instanceof ApiError && err.status === 404;
    $("#agency-list").innerHTML = `<p class="form-error" role="alert">${esc(missing ? t("agencies_missing") : err.message)}</p>`;
  }
}

async function onChooserChange(e) {
  if (e.target.name !== "agency_id" || !chooser) return;
  const agency = chooser.agencies.find((a) => a.station_id === e.target.value);
  // The call's words, the chosen agency's keywords marked in them.
  $("#divert-text").innerHTML = highlight(matchText(chooser.incident), matchedKeywords(agency, matchText(chooser.incident)));
  const box = $("#divert-people");
  box.innerHTML = `<small class="muted">${t("loading")}</small>`;
  try {
    if (!peopleByAgency.has(agency.station_id)) {
      const list = await get(`/api/people?station_id=${encodeURIComponent(agency.station_id)}`);
      peopleByAgency.set(agency.station_id, (list || []).filter((p) => !isCommandRole(p.role)));
    }
    if (!chooser || form()?.elements.agency_id.value !== agency.station_id) return;
    const people = peopleByAgency.get(agency.station_id);
    box.innerHTML = people.length
      ? people
          .map((p) => `<label class="check"><input type="checkbox" name="person_ids" value="${esc(p.id)}"> ${esc(p.name)} <small>${esc(label("role", p.role))}</small></label>`)
          .join("")
      : `<small class="muted">${t("agency_no_people")}</small>`;
  } catch (err) {
    box.innerHTML = `<small class="form-error">${esc(err.message)}</small>`;
  }
}

const form = () => $("#divert-form");

async function onChooserSubmit(e) {
  e.preventDefault();
  if (!chooser) return;
  const f = form();
  const values = formValues(f);
  const error = f.querySelector(".form-error");
  const problems = divertProblems(values);
  if (problems.length) {
    error.textContent = problems.join(t("list_sep"));
    error.hidden = false;
    return;
  }
  const { incident, onDone } = chooser;
  const request = divertRequest(incident.id, values);
  const button = $("#divert-submit");
  button.disabled = true;
  try {
    const record = await post(request.path, request.body);
    $("#divert-dialog")?.close();
    notify(`${record.number} ${t("divert_done", { agency: agencyName(record) })}`);
    onDone(record);
  } catch (err) {
    error.textContent = divertErrorText(err);
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
}
