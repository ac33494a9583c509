// The review queue: open review items (late, clock_suspect, conflict, evidence_mismatch,
// overdue, missing_evidence, far_arrival, citizen_unsatisfied) with their resolve actions, and body-camera clips waiting
// to be marked reviewed. Items join and leave live (review changes in the feed).

import { ApiError } from "../core/index.js";
import { get, post } from "./api.js";
import { $, esc, formValues, notify } from "./dom.js";
import { formatTime, label, t } from "./i18n.js";
import { emit, mayResolve, openReviewItems, personName, putReview, stationName, store } from "./store.js";
import { maySupervise } from "./chief.js";
import { openSuperviseDialog } from "./supervision.js";

let root = null;
let openIncident = () => {};
const expanded = new Map(); // review id -> the incident record loaded for its context
const bodycam = { available: null, clips: [] };
// Incidents an item names that the board does not hold (closed ones: a citizen's unsatisfied
// verdict, a missed clear clock): id -> {number, address}, fetched once each.
const looked = new Map();
const lookingUp = new Set();
let bodycamTimer = null;

const canResolve = () => mayResolve(store.me);

export function mountReviews(element, { open }) {
  root = element;
  openIncident = open;
  root.innerHTML = `
    <section aria-labelledby="reviews-h">
      <div class="toolbar"><h2 id="reviews-h">${t("reviews_title")}</h2>
        <span class="count-pill" id="reviews-count"></span></div>
      ${canResolve() ? "" : `<p class="muted">${t("reviews_readonly")}</p>`}
      <ul id="review-list" class="review-list" aria-live="polite"></ul>
      <p id="reviews-empty" class="empty" hidden>${t("no_reviews")}</p>
    </section>
    <section aria-labelledby="bodycam-h" id="bodycam-section" hidden>
      <h2 id="bodycam-h">${t("bodycam_title")}</h2>
      <ul id="bodycam-list" class="review-list"></ul>
      <p id="bodycam-empty" class="empty" hidden>${t("no_bodycam")}</p>
    </section>`;
  root.addEventListener("click", onClick);
  root.addEventListener("submit", onSubmit);
  renderReviews();
  if (canResolve()) loadBodycam();
}

export function unmountReviews() {
  root = null;
  expanded.clear();
}

/** Re-draw after live changes; refresh the clips list too (a new clip, or one marked). */
export function renderReviews() {
  if (!root) return;
  const list = $("#review-list", root);
  const items = newestFirst(openReviewItems());
  // An open resolve form survives a redraw: only items that are gone are dropped.
  const keep = new Map([...list.querySelectorAll("li[data-review]")].map((li) => [li.dataset.review, li]));
  list.innerHTML = "";
  for (const item of items) {
    const old = keep.get(item.id);
    if (old && expanded.has(item.id)) {
      list.append(old);
    } else {
      list.insertAdjacentHTML("beforeend", itemHtml(item));
    }
  }
  for (const id of [...expanded.keys()]) if (!items.some((i) => i.id === id)) expanded.delete(id);
  $("#reviews-empty", root).hidden = items.length > 0;
  lookUpIncidents(items);
  $("#reviews-count", root).textContent = String(items.length);
  if (canResolve() && bodycam.available) {
    clearTimeout(bodycamTimer);
    bodycamTimer = setTimeout(loadBodycam, 300);
  }
}

/** Review items, newest raised first (an item without a time goes last). */
export function newestFirst(items) {
  return [...items].sort((a, b) => String(b.created_at || "").localeCompare(String(a.created_at || "")));
}

/** How an item names its incident: number and address when held or looked up, else a short id. */
export function incidentLabel(incidentId) {
  const incident = store.incidents.get(incidentId) ?? looked.get(incidentId);
  return incident ? `${incident.number} · ${incident.address}` : incidentId ? incidentId.slice(0, 8) : "—";
}

/** Look up the incidents items name that the board does not hold, then draw again. */
async function lookUpIncidents(items) {
  const missing = [...new Set(items.map((i) => i.incident_id))]
    .filter((id) => id && !store.incidents.has(id) && !looked.has(id) && !lookingUp.has(id))
    .slice(0, 20);
  if (!missing.length) return;
  for (const id of missing) lookingUp.add(id);
  await Promise.all(
    missing.map(async (id) => {
      try {
        const record = await get(`/api/incidents/${encodeURIComponent(id)}`);
        looked.set(id, { number: record.number, address: record.address });
      } catch {
        looked.set(id, null); // gone or out of scope: the short id stays
      } finally {
        lookingUp.delete(id);
      }
    }),
  );
  renderReviews();
}

/** What the item's detail says, in words: the missed due time, the missing evidence. */
export function detailHtml(item) {
  const d = item.detail || {};
  const parts = [];
  if (d.due_at) parts.push(`${t("due_at")} ${formatTime(d.due_at)}`);
  if (Array.isArray(d.missing) && d.missing.length) {
    parts.push(`${t("missing")}：${d.missing.map((m) => esc(label("evidence", m))).join("、")}`);
  }
  if (typeof d.distance_m === "number") {
    parts.push(esc(t("far_by", { d: d.distance_m, max: d.max_distance_m ?? "—" })));
  }
  // A citizen's unsatisfied verdict: where it came from and what they said, when the item says.
  if (d.source) parts.push(esc(label("feedback_source", d.source)));
  // PROTOCOL §11: an overdue supervision order (its level) or a station's owed rectification.
  if (d.level) parts.push(esc(label("supervision_level", d.level)));
  if (d.clock === "rectification" && d.station_id) parts.push(esc(stationName(d.station_id)));
  if (d.comment) parts.push(`<q>${esc(d.comment)}</q>`);
  return parts.length ? `<span class="review-detail">${parts.join(" · ")}</span>` : "";
}

/** An overdue item on an incident offers 督办 to a supervisor or admin (PROTOCOL §11). */
export function mayOrder(item, person = store.me) {
  return maySupervise(person) && item.kind === "overdue" && Boolean(item.incident_id);
}

function itemHtml(item) {
  const what = `${label("review", item.kind)}${item.clock ? ` · ${label("clock", item.clock)}` : ""}`;
  return `<li data-review="${esc(item.id)}" class="review kind-${esc(item.kind)}">
    <div class="review-head">
      <span class="tag flag flag-${esc(item.kind)}">⚑ ${esc(what)}</span>
      <span>${t("incident")}：${
        item.incident_id
          ? `<a href="#/board" data-open="${esc(item.incident_id)}">${esc(incidentLabel(item.incident_id))}</a>`
          : "—"
      }</span>
      ${detailHtml(item)}
      <small class="muted">${item.created_at ? `${t("created_at")} ${formatTime(item.created_at)}` : ""}</small>
      <span class="spacer"></span>
      ${mayOrder(item) ? `<button type="button" class="supervise-open" data-supervise="${esc(item.id)}">${t("sup_supervise")}</button>` : ""}
      ${canResolve() ? `<button type="button" data-expand="${esc(item.id)}" aria-expanded="false">${t("resolve")}</button>` : ""}
    </div>
    <div class="review-body" hidden></div></li>`;
}

async function expand(li, item) {
  const body = li.querySelector(".review-body");
  body.hidden = false;
  body.innerHTML = `<p class="muted">${t("loading")}</p>`;
  li.querySelector("[data-expand]")?.setAttribute("aria-expanded", "true");
  let incident = null;
  if (item.incident_id) {
    try {
      incident = await get(`/api/incidents/${encodeURIComponent(item.incident_id)}`);
    } catch (err) {
      body.innerHTML = `<p class="form-error">${esc(err.message)}</p>`;
    }
  }
  expanded.set(item.id, incident);
  const entries = new Map((incident?.timeline || []).filter((e) => e.op_id).map((e) => [e.op_id, e]));
  const describe = (opId) => {
    const e = entries.get(opId);
    if (!e) return esc(opId);
    const b = e.body || {};
    const text = b.situation ?? b.terms ?? b.summary ?? b.text ?? "";
    return `${esc(label("event", e.type))} · ${esc(personName(e.person_id))} · ${t("tl_device")} ${formatTime(e.device_time)} · ${t("tl_received")} ${formatTime(e.received_at)}${text ? `<br><q>${esc(text)}</q>` : ""}`;
  };
  let context = "";
  if (item.kind === "conflict") {
    const heads = conflictHeads(item, incident);
    context = `<fieldset><legend>${t("keep_version")}</legend>${heads
      .map(
        (h, n) => `<label class="check version"><input type="radio" name="keep_op_id" value="${esc(h)}" ${n === 0 ? "checked" : ""}>
          <span>${describe(h)}</span></label>`,
      )
      .join("")}</fieldset>`;
  } else if (item.op_id) {
    context = `<p>${describe(item.op_id)}</p>`;
  }
  body.innerHTML = `<form data-resolve="${esc(item.id)}" class="stack">
      ${context}
      <label>${t("note")}<textarea name="note" rows="2" maxlength="20000"></textarea></label>
      <p class="form-error" role="alert" hidden></p>
      <button type="submit" class="primary">${t("resolve_submit")}</button></form>`;
}

/** The versions a conflict item offers to keep: its own list, else its record's heads. */
export function conflictHeads(item, incident) {
  return item.detail?.heads || incident?.records?.find((r) => r.record_id === item.record_id)?.heads || [];
}

/** POST /api/reviews/{id}/resolve's body: the version kept and the note, when given. */
export function resolveBody(v) {
  const body = {};
  if (v.keep_op_id) body.keep_op_id = v.keep_op_id;
  if (v.note) body.note = v.note;
  return body;
}

function onClick(e) {
  const opener = e.target.closest("[data-open]");
  if (opener) {
    e.preventDefault();
    openIncident(opener.dataset.open);
    return;
  }
  const button = e.target.closest("[data-expand]");
  if (button) {
    const li = button.closest("li[data-review]");
    const item = openReviewItems().find((i) => i.id === li.dataset.review);
    if (!item) return;
    if (expanded.has(item.id)) {
      expanded.delete(item.id);
      li.querySelector(".review-body").hidden = true;
      button.setAttribute("aria-expanded", "false");
    } else {
      expand(li, item);
    }
    return;
  }
  const supervise = e.target.closest("[data-supervise]");
  if (supervise) {
    const item = openReviewItems().find((i) => i.id === supervise.dataset.supervise);
    if (!item) return;
    const held = store.incidents.get(item.incident_id) ?? looked.get(item.incident_id);
    // An order already overdue is escalated to the bureau by default (挂牌督办).
    const level = item.clock === "supervision" ? "bureau" : "station";
    openSuperviseDialog({ id: item.incident_id, number: held?.number ?? "" }, { level });
    return;
  }
  const mark = e.target.closest("[data-mark]");
  if (mark) markReviewed(mark.dataset.mark, mark);
}

async function onSubmit(e) {
  const form = e.target.closest("form[data-resolve]");
  if (!form) return;
  e.preventDefault();
  const id = form.dataset.resolve;
  const body = resolveBody(formValues(form));
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const item = await post(`/api/reviews/${encodeURIComponent(id)}/resolve`, body);
    expanded.delete(id);
    putReview(item);
    // Those who see the queue through incidents get the record through the feed.
    emit({ kind: "local" });
    notify(`${label("review", item.kind)} ✓`);
  } catch (err) {
    const box = form.querySelector(".form-error");
    box.textContent = err.message;
    box.hidden = false;
    button.disabled = false;
  }
}

async function loadBodycam() {
  if (!root) return;
  try {
    bodycam.clips = await get("/api/bodycam?state=unreviewed");
    bodycam.available = true;
  } catch (err) {
    // A server without the body-camera queue: the section stays hidden.
    if (err instanceof ApiError && (err.status === 404 || err.status === 405)) bodycam.available = false;
    return;
  }
  if (!root) return;
  const section = $("#bodycam-section", root);
  section.hidden = false;
  $("#bodycam-list", root).innerHTML = bodycam.clips
    .map(
      (c) => `<li class="review"><div class="review-head">
        <span class="tag">${t("clip")} ${esc(c.camera_serial)} / ${esc(c.clip_id)}</span>
        <span>${t("incident")}：<a href="#/board" data-open="${esc(c.incident_id)}">${esc(c.incident_number || incidentLabel(c.incident_id))}</a></span>
        <small class="muted">${formatTime(c.started_at)} – ${formatTime(c.ended_at, { date: false })} · ${esc(personName(c.person_id))}</small>
        <span class="spacer"></span>
        <button type="button" data-mark="${esc(c.op_id)}">${t("bodycam_mark")}</button></div></li>`,
    )
    .join("");
  $("#bodycam-empty", root).hidden = bodycam.clips.length > 0;
}

async function markReviewed(opId, button) {
  button.disabled = true;
  try {
    await post(`/api/bodycam/${encodeURIComponent(opId)}/review`, {});
    notify(`${t("bodycam_mark")} ✓`);
    await loadBodycam();
  } catch (err) {
    notify(err.message, "error");
    button.disabled = false;
  }
}
