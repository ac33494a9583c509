// Supervision orders (督办, PROTOCOL §11; level `bureau` is 挂牌督办). A supervisor or admin
// issues one on an incident (the panel's 督办 button, or an overdue item of the review
// queue) with instructions and a due time (default two hours on); the 督办台 page lists the
// orders (GET /api/supervision?state=…) with their state, the due time counting on the
// server's clock, the reply and its attachments, the rejections, and accept / reject for
// supervisors. The station's chief answers an order here (chief.js pushes the op
// `supervision_reply`). Orders change live: `supervision` changes in the feed carry the
// whole order, kept by id. The board shows an incident's orders from its record's
// `supervision` refs, 挂牌督办 in red.

import { ApiError, ERROR, SUPERVISION_LEVELS, SUPERVISION_REPLY, SUPERVISION_STATES } from "../core/index.js";
import { fetchBlob, get, post } from "./api.js";
import { formatSpan } from "./callbacks.js";
import { answersFor, isChief, maySupervise, pushAnswer } from "./chief.js";
import { $, beijingToIso, esc, formValues, notify } from "./dom.js";
import { formatTime, label, t } from "./i18n.js";
import { personName, serverNow, stationName, store } from "./store.js";

export const DEFAULT_DUE_HOURS = 2;
/** What the page shows: the state tab ("all" or one of SUPERVISION_STATES), kept across visits. */
export const supervisionFilters = { state: "all" };
const TABS = ["all", ...SUPERVISION_STATES];

// The orders known, by id (loaded, then kept current by the feed).
export const orders = new Map();
let root = null;
let onOpenIncident = () => {};
const results = new Map(); // order id -> the last push outcome shown under its reply form

// ---- Pure logic (test/command/supervision.test.js) ----

/** GET /api/supervision's path: a state and optionally a station or an incident. */
export function supervisionPath(state = "all", { stationId = "", incidentId = "" } = {}) {
  const params = new URLSearchParams({ state });
  if (stationId) params.set("station_id", stationId);
  if (incidentId) params.set("incident_id", incidentId);
  return `/api/supervision?${params}`;
}

/** A datetime-local value (Beijing time) `hours` after `now`, to the minute: the form's default. */
export function defaultDueLocal(now = serverNow(), hours = DEFAULT_DUE_HOURS) {
  const beijing = new Date(now + hours * 3_600_000 + 8 * 3_600_000);
  return beijing.toISOString().slice(0, 16);
}

/**
 * What is wrong with the supervise form's values at `now`: "instructions" when blank,
 * "due_at" when missing or not in the future.
 */
export function superviseProblems(v, now = serverNow()) {
  const problems = [];
  if (!String(v.instructions ?? "").trim()) problems.push("instructions");
  const due = Date.parse(beijingToIso(v.due_at) ?? "");
  if (Number.isNaN(due) || due <= now) problems.push("due_at");
  return problems;
}

/** POST /api/incidents/{id}/supervise's body: `{level, instructions, due_at}` (due read as Beijing time). */
export function superviseBody(v) {
  return {
    level: SUPERVISION_LEVELS.includes(v.level) ? v.level : "station",
    instructions: String(v.instructions ?? "").trim(),
    due_at: beijingToIso(v.due_at),
  };
}

/** POST /api/supervision/{id}/reject's body. */
export function rejectBody(reason) {
  return { reason: String(reason ?? "").trim() };
}

/** Keep an order (from a list or the feed) by id; returns the map. */
export function putOrder(map, order) {
  if (order?.id) map.set(order.id, order);
  return map;
}

/** The orders a tab shows: those in the state (all for "all"), newest issued first. */
export function ordersShown(all, state = "all") {
  return [...all]
    .filter((o) => state === "all" || o.state === state)
    .sort((a, b) => String(b.issued_at).localeCompare(String(a.issued_at)) || String(b.id).localeCompare(String(a.id)));
}

/**
 * An order's due clock at `now` (server clock): `{state, text}`. Accepted: met or met late;
 * open past its due time: overdue ("⚠ 超时 …", words as well as colour); an answered order
 * awaiting the supervisor is not overdue (PROTOCOL §11 contract).
 */
export function orderClock(order, now = serverNow()) {
  const clock = order.clock || { due_at: order.due_at, met_at: null, state: "running" };
  if (order.state === "accepted" || clock.met_at) {
    const late = clock.state === "met_late";
    return { state: late ? "met_late" : "met", text: late ? `⚠ ${t("met_late")}` : `✓ ${t("met")}` };
  }
  const due = Date.parse(clock.due_at ?? order.due_at);
  if (Number.isNaN(due)) return { state: "running", text: "—" };
  const left = due - now;
  if (order.state === "open" && (left < 0 || clock.state === "overdue")) {
    return { state: "overdue", text: `⚠ ${t("overdue_by", { t: formatSpan(Math.min(left, 0)) })}` };
  }
  if (order.state === "answered") return { state: "waiting", text: t("sup_awaiting_decision") };
  return { state: "running", text: t("remaining", { t: formatSpan(left) }) };
}

/** The record's `supervision` refs as the board shows them: still-open ones first, 挂牌督办 first. */
export function boardRefs(record) {
  const refs = Array.isArray(record?.supervision) ? record.supervision : [];
  const rank = (r) => (r.state === "accepted" ? 2 : 0) + (r.level === "bureau" ? 0 : 1);
  return [...refs].sort((a, b) => rank(a) - rank(b));
}

/** Badges for an incident's orders (board row, panel): 挂牌督办 in red, overdue in words. */
export function supervisionBadgesHtml(record) {
  return boardRefs(record)
    .filter((r) => r.state !== "accepted")
    .map((r) => {
      const overdue = r.clock_state === "overdue";
      const words = `${label("supervision_level", r.level)} · ${label("supervision_state", r.state)}${overdue ? ` · ⚠ ${t("overdue")}` : ""}`;
      return `<span class="tag sup sup-${esc(r.level)}${overdue ? " sup-overdue" : ""}" data-sup="${esc(r.id)}" title="${esc(t("due_at"))} ${esc(formatTime(r.due_at))}">${r.level === "bureau" ? "● " : "◆ "}${esc(words)}</span>`;
    })
    .join(" ");
}

/** A failed supervision call in plain words (the contract's codes), else the server's message. */
export function supervisionErrorText(err) {
  if (err instanceof ApiError) {
    if (err.code === ERROR.NO_STATION) return t("sup_no_station");
    if (err.code === ERROR.INVALID_TIME) return t("sup_invalid_time");
    if (err.code === ERROR.NOT_ANSWERED) return t("sup_not_answered");
    if (err.code === ERROR.ALREADY_ACCEPTED) return t("sup_already_accepted");
    if (err.status === 403) return t("sup_forbidden");
    if ((err.status === 404 || err.status === 405) && (!err.code || err.code.startsWith("http_"))) return t("sup_missing");
  }
  return err?.message || String(err);
}

/** A push outcome in words: 已提交 / 已提交（重复） / 被拒绝：<code words> (code). */
export function pushOutcomeText(outcome) {
  if (outcome.status === "applied") return t("push_applied");
  if (outcome.status === "duplicate") return t("push_duplicate");
  const known = {
    unknown_order: "push_unknown_order",
    unknown_notice: "push_unknown_notice",
    forbidden: "push_forbidden",
    invalid: "push_invalid",
  }[outcome.code];
  const why = known ? t(known) : outcome.message || "";
  return t("push_rejected", { code: outcome.code ?? "?", why });
}

/** A person's name when this desk knows them (a chief's directory holds no command staff), else "". */
export function knownName(id) {
  return id && store.people.has(id) ? personName(id) : "";
}

// ---- The issue dialog (the panel's button and the review queue's) ----

/**
 * Open the 督办 form for an incident `{id, number}`. `onDone(order)` runs after a 201.
 * Only supervisors and admins get the button; the server answers others 403 anyway.
 */
export function openSuperviseDialog(incident, { onDone = () => {}, level = "station" } = {}) {
  $("#supervise-dialog")?.remove();
  const levels = SUPERVISION_LEVELS.map(
    (l) => `<label class="check sup-level-${l}"><input type="radio" name="level" value="${l}" ${l === level ? "checked" : ""}>
      ${esc(label("supervision_level", l))}${l === "bureau" ? ` <small class="muted">${t("sup_bureau_hint")}</small>` : ""}</label>`,
  ).join("");
  document.body.insertAdjacentHTML(
    "beforeend",
    `<dialog id="supervise-dialog" class="supervise-dialog" aria-labelledby="supervise-title">
      <form id="supervise-form" class="stack" novalidate>
        <h2 id="supervise-title">${t("sup_issue_title")} · ${esc(incident.number ?? "")}</h2>
        <fieldset><legend>${t("sup_level")}</legend>${levels}</fieldset>
        <label>${t("sup_instructions")}<textarea name="instructions" id="supervise-instructions" rows="4" maxlength="20000" required></textarea></label>
        <label>${t("sup_due")}<input type="datetime-local" name="due_at" id="supervise-due" step="60" value="${defaultDueLocal()}" required>
          <small class="muted">${t("sup_due_hint", { h: DEFAULT_DUE_HOURS })}</small></label>
        <p class="form-error" role="alert" hidden></p>
        <div class="buttons">
          <button type="button" id="supervise-cancel">${t("cancel_dialog")}</button>
          <button type="submit" class="primary" id="supervise-submit">${t("sup_issue")}</button></div>
      </form></dialog>`,
  );
  const dialog = $("#supervise-dialog");
  const form = $("#supervise-form");
  dialog.addEventListener("close", () => dialog.remove());
  $("#supervise-cancel").addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const values = formValues(form);
    const error = form.querySelector(".form-error");
    const problems = superviseProblems(values);
    if (problems.length) {
      error.textContent = problems.map((p) => t(`sup_problem_${p}`)).join("；");
      error.hidden = false;
      return;
    }
    const button = $("#supervise-submit");
    button.disabled = true;
    try {
      const order = await post(`/api/incidents/${encodeURIComponent(incident.id)}/supervise`, superviseBody(values));
      putOrder(orders, order);
      dialog.close();
      notify(`${order.number ?? incident.number ?? ""} ${label("supervision_level", order.level)} ✓`);
      onDone(order);
      renderSupervision();
    } catch (err) {
      error.textContent = supervisionErrorText(err);
      error.hidden = false;
      button.disabled = false;
    }
  });
  dialog.showModal();
  $("#supervise-instructions").focus();
}

// ---- The 督办台 page ----

export function mountSupervision(element, { openIncident }) {
  root = element;
  onOpenIncident = openIncident;
  root.innerHTML = `
    <section class="supervision" aria-labelledby="sup-h">
      <div class="toolbar">
        <h2 id="sup-h">${t("nav_supervision")}</h2>
        <div role="tablist" class="tabs" aria-label="${t("nav_supervision")}">
          ${TABS.map(
            (s) => `<button type="button" role="tab" data-sup-state="${s}" id="sup-tab-${s}"
              aria-selected="${supervisionFilters.state === s}">${esc(s === "all" ? t("filter_all") : label("supervision_state", s))}<span class="tab-count" data-sup-count="${s}"></span></button>`,
          ).join("")}
        </div>
        <span class="spacer"></span>
        <button type="button" id="sup-reload">${t("refresh")}</button>
      </div>
      <p class="muted">${t(isChief(store.me) ? "sup_help_chief" : maySupervise(store.me) ? "sup_help_supervisor" : "sup_help_readonly")}</p>
      <div id="sup-body" aria-live="polite"><p class="muted">${t("loading")}</p></div>
    </section>`;
  root.addEventListener("click", onClick);
  root.addEventListener("submit", onSubmit);
  loadOrders();
}

export function unmountSupervision() {
  root = null;
}

/** Load the orders of the tab shown (the feed keeps them current after). */
export async function loadOrders() {
  if (!root) return;
  try {
    const answer = await get(supervisionPath(supervisionFilters.state));
    for (const order of answer.orders || []) putOrder(orders, order);
    renderSupervision();
  } catch (err) {
    const body = root && $("#sup-body", root);
    if (body) body.innerHTML = `<p class="form-error" role="alert">${esc(supervisionErrorText(err))}</p>`;
  }
}

/** Feed changes: `supervision` changes replace the order held (the page redraws). */
export function supervisionChanged(changes) {
  let any = false;
  for (const change of changes) {
    if (change.entity === "supervision" && change.data?.id) {
      putOrder(orders, change.data);
      any = true;
    }
  }
  if (any) renderSupervision();
  return any;
}

/** Forget the orders held (sign-out). */
export function resetSupervision() {
  orders.clear();
  results.clear();
}

function renderSupervision() {
  if (!root) return;
  const body = $("#sup-body", root);
  if (!body) return;
  for (const s of TABS) {
    const el = root.querySelector(`[data-sup-count="${s}"]`);
    if (el) el.textContent = ` ${ordersShown(orders.values(), s).length}`;
  }
  // An open form keeps what was typed across a live redraw.
  const typed = new Map(
    [...body.querySelectorAll("textarea[id]")].map((el) => [el.id, el.value]),
  );
  const focused = document.activeElement?.id;
  const list = ordersShown(orders.values(), supervisionFilters.state);
  body.innerHTML = list.length
    ? `<ul class="sup-list">${list.map(orderHtml).join("")}</ul>`
    : `<p class="empty">${t("sup_none")}</p>`;
  for (const [id, value] of typed) {
    const el = document.getElementById(id);
    if (el && value) el.value = value;
  }
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
  tickSupervision();
}

/** The due clocks count every second. */
export function tickSupervision() {
  if (!root) return;
  const now = serverNow();
  for (const el of root.querySelectorAll("[data-sup-clock]")) {
    const order = orders.get(el.dataset.supClock);
    if (!order) continue;
    const { state, text } = orderClock(order, now);
    if (el.textContent !== text) el.textContent = text;
    el.className = `sup-clock sup-clock-${state}`;
    el.closest("li.sup-order")?.classList.toggle("overdue", state === "overdue");
  }
}

function attachmentsHtml(list) {
  if (!list?.length) return "";
  return `<span class="sup-attachments">${t("attachments")}：${list
    .map((sha) => `<button type="button" class="link" data-blob="${esc(sha)}" title="${esc(sha)}">📎 ${esc(sha.slice(0, 10))}…</button>`)
    .join(" ")}</span>`;
}

function replyHtml(reply, heading) {
  return `<div class="sup-reply"><strong>${esc(heading)}</strong>
    <small class="muted">${esc(personName(reply.person_id))} · ${formatTime(reply.at)}</small>
    <p class="sup-reply-text">${esc(reply.text)}</p>${attachmentsHtml(reply.attachments)}</div>`;
}

function orderHtml(o) {
  const bureau = o.level === "bureau";
  const rejected = new Set((o.rejections || []).flatMap((r) => r.reply_op_ids || []));
  const older = (o.replies || []).filter((r) => r.op_id !== o.reply?.op_id);
  const canDecide = maySupervise(store.me) && o.state === "answered";
  const canReply = answersFor(store.me, o.station_id) && o.state !== "accepted";
  const outcome = results.get(o.id);
  return `<li class="sup-order level-${esc(o.level)} state-${esc(o.state)}" data-order="${esc(o.id)}">
    <div class="sup-head">
      <span class="tag sup sup-${esc(o.level)}">${bureau ? "● " : "◆ "}${esc(label("supervision_level", o.level))}</span>
      <a href="#/supervision" data-open="${esc(o.incident_id)}" class="number">${esc(o.number)}</a>
      <span>${esc(stationName(o.station_id))}</span>
      <span class="tag sup-state sup-state-${esc(o.state)}">${esc(label("supervision_state", o.state))}</span>
      <span data-sup-clock="${esc(o.id)}" class="sup-clock"></span>
      <small class="muted">${t("due_at")} ${formatTime(o.due_at)} · ${t("sup_issued")} ${formatTime(o.issued_at)} ${esc(knownName(o.issued_by))}</small>
    </div>
    <p class="sup-instructions"><strong>${t("sup_instructions")}：</strong>${esc(o.instructions)}</p>
    ${o.reply ? replyHtml(o.reply, o.state === "accepted" ? t("sup_reply_accepted") : t("sup_reply")) : `<p class="muted">${t("sup_no_reply")}</p>`}
    ${o.accepted_at ? `<p class="ok-text">✓ ${t("sup_accepted_at", { at: formatTime(o.accepted_at), by: knownName(o.accepted_by) })}</p>` : ""}
    ${(o.rejections || []).length ? `<ul class="sup-rejections">${o.rejections
      .map((r) => `<li>✗ ${t("sup_rejected_at", { at: formatTime(r.at), by: knownName(r.by) })}：<q>${esc(r.reason)}</q></li>`)
      .join("")}</ul>` : ""}
    ${older.length ? `<details class="sup-older"><summary>${t("sup_all_replies", { n: (o.replies || []).length })}</summary>${older
      .map((r) => replyHtml(r, rejected.has(r.op_id) ? t("sup_reply_rejected") : t("sup_reply")))
      .join("")}</details>` : ""}
    ${canDecide ? `<div class="sup-decide">
      <button type="button" class="primary" data-accept="${esc(o.id)}" id="sup-accept-${esc(o.id)}">${t("sup_accept")}</button>
      <form data-reject="${esc(o.id)}" class="inline-form">
        <label class="grow">${t("sup_reject_reason")}<input name="reason" maxlength="2000" id="sup-reject-reason-${esc(o.id)}" autocomplete="off"></label>
        <button type="submit" class="danger">${t("sup_reject")}</button></form>
      <p class="form-error" role="alert" hidden></p></div>` : ""}
    ${canReply ? `<form data-reply="${esc(o.id)}" class="stack sup-reply-form">
      <label>${t(o.state === "answered" ? "sup_reply_again" : "sup_reply_label")}<textarea name="text" rows="3" maxlength="20000" id="sup-reply-text-${esc(o.id)}"></textarea></label>
      <p class="form-error" role="alert" hidden></p>
      <button type="submit" class="primary">${t("sup_reply_submit")}</button></form>` : ""}
    ${outcome ? `<p class="push-result push-${esc(outcome.status)}" role="status" data-push-result="${esc(outcome.status)}">${esc(pushOutcomeText(outcome))}</p>` : ""}
  </li>`;
}

async function openBlob(sha) {
  try {
    const blob = await fetchBlob(`/api/blobs/${encodeURIComponent(sha)}`);
    const url = URL.createObjectURL(blob);
    window.open(url, "_blank", "noopener");
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (err) {
    notify(err.message, "error");
  }
}

function onClick(e) {
  const tab = e.target.closest("[data-sup-state]");
  if (tab) {
    supervisionFilters.state = tab.dataset.supState;
    for (const b of root.querySelectorAll("[data-sup-state]")) b.setAttribute("aria-selected", String(b === tab));
    renderSupervision();
    loadOrders();
    return;
  }
  if (e.target.closest("#sup-reload")) {
    loadOrders();
    return;
  }
  const opener = e.target.closest("[data-open]");
  if (opener) {
    e.preventDefault();
    onOpenIncident(opener.dataset.open);
    return;
  }
  const blob = e.target.closest("[data-blob]");
  if (blob) {
    openBlob(blob.dataset.blob);
    return;
  }
  const accept = e.target.closest("[data-accept]");
  if (accept) decide(accept.dataset.accept, "accept", null, accept);
}

async function decide(orderId, verb, body, button) {
  const li = button.closest("li.sup-order");
  const error = li?.querySelector(".sup-decide .form-error");
  button.disabled = true;
  try {
    const order = await post(`/api/supervision/${encodeURIComponent(orderId)}/${verb}`, body ?? undefined);
    putOrder(orders, order);
    notify(`${order.number} ${t(verb === "accept" ? "sup_accept" : "sup_reject")} ✓`);
    renderSupervision();
  } catch (err) {
    if (error) {
      error.textContent = supervisionErrorText(err);
      error.hidden = false;
    }
    button.disabled = false;
  }
}

async function onSubmit(e) {
  const reject = e.target.closest("form[data-reject]");
  if (reject) {
    e.preventDefault();
    const reason = formValues(reject).reason ?? "";
    if (!reason.trim()) {
      const error = reject.closest(".sup-decide").querySelector(".form-error");
      error.textContent = t("sup_problem_reason");
      error.hidden = false;
      return;
    }
    decide(reject.dataset.reject, "reject", rejectBody(reason), reject.querySelector("button[type=submit]"));
    return;
  }
  const reply = e.target.closest("form[data-reply]");
  if (!reply) return;
  e.preventDefault();
  const order = orders.get(reply.dataset.reply);
  const text = formValues(reply).text ?? "";
  const error = reply.querySelector(".form-error");
  if (!order) return;
  if (!text.trim()) {
    error.textContent = t("sup_problem_text");
    error.hidden = false;
    return;
  }
  const button = reply.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const outcome = await pushAnswer(SUPERVISION_REPLY, order, text);
    results.set(order.id, outcome);
    // A live redraw may have replaced the form while the push was under way: clear the one shown.
    if (outcome.status !== "rejected") root?.querySelector(`form[data-reply="${CSS.escape(order.id)}"]`)?.reset();
    notify(pushOutcomeText(outcome), outcome.status === "rejected" ? "error" : "info");
    renderSupervision();
  } catch (err) {
    error.textContent = `${t("push_failed")}：${err.message}`;
    error.hidden = false;
    button.disabled = false;
  }
}
