// 三反馈 and the case in the incident panel (PROTOCOL §11, the record's `three_feedbacks`
// {arrival, scene, disposition} and `case`): three ticks, each with its word, so a missing
// feedback is stated and not only coloured; closing an incident without all three asks the
// dispatcher to confirm, naming what is missing, before POST /close. The case: its stage,
// number and every stage recorded, in effective-time order.

import { esc } from "./dom.js";
import { formatTime, t } from "./i18n.js";

/** The three feedbacks, in the order the field gives them. */
export const FEEDBACKS = ["arrival", "scene", "disposition"];

/**
 * The feedbacks not yet in, in order. A record without `three_feedbacks` (a server before
 * §11) has nothing to say: nothing is missing and the close asks nothing.
 */
export function missingFeedbacks(record) {
  const tf = record?.three_feedbacks;
  if (!tf || typeof tf !== "object") return [];
  return FEEDBACKS.filter((k) => tf[k] !== true);
}

/**
 * Whether closing `record` asks the dispatcher first: only a police incident closed without
 * all three feedbacks. A diverted call is the agency's to answer (its feedback is §10's
 * `agency_feedback`): no field unit gives three feedbacks, so its close asks nothing.
 */
export function closeNeedsConfirm(record) {
  if (!record || record.status === "diverted") return false;
  return missingFeedbacks(record).length > 0;
}

/** The confirmation's words: what is missing, named. */
export function closeConfirmText(missing) {
  return t("tf_confirm_text", { missing: missing.map((k) => t(`tf_${k}`)).join(t("list_sep")) });
}

/** The three ticks (✓ in / ✗ not yet, in words as well), or nothing for a server before §11. */
export function threeFeedbacksHtml(record) {
  const tf = record?.three_feedbacks;
  if (!tf || typeof tf !== "object" || record.status === "diverted") return "";
  const missing = missingFeedbacks(record);
  const ticks = FEEDBACKS.map((k) => {
    const done = tf[k] === true;
    return `<li class="tf ${done ? "tf-done" : "tf-missing"}" data-feedback="${k}" data-done="${done}">
      <span aria-hidden="true">${done ? "✓" : "✗"}</span> ${t(`tf_${k}`)}
      <small>${t(done ? "tf_in" : "tf_not_in")}</small></li>`;
  }).join("");
  const summary = missing.length ? t("tf_missing_n", { n: missing.length }) : t("tf_complete");
  return `<section class="three-feedbacks" aria-labelledby="tf-h"><h3 id="tf-h">${t("tf_title")}
      <small class="${missing.length ? "tf-summary-missing" : "tf-summary-complete"}">${summary}</small></h3>
    <ul class="tf-list">${ticks}</ul></section>`;
}

/** The incident's case (立案…结案), or nothing when it is none. */
export function caseHtml(record) {
  const c = record?.case;
  if (!c || typeof c !== "object") return "";
  const stage = c.stage ? t(`case_stage_${c.stage}`) : t("case_stage_none");
  const stages = (c.stages || [])
    .map((s) => `<li><span class="tag">${esc(t(`case_stage_${s.stage}`))}</span> ${formatTime(s.at)}</li>`)
    .join("");
  return `<section class="case" aria-labelledby="case-h"><h3 id="case-h">${t("case_title")}</h3>
    <dl class="facts">
      <dt>${t("case_number")}</dt><dd class="case-number">${esc(c.case_number || "—")}</dd>
      <dt>${t("case_stage")}</dt><dd class="case-stage">${esc(stage)}${
        c.accepted === false ? ` <span class="tag flag">${t("case_not_accepted")}</span>` : ""}</dd>
      ${c.filed_at ? `<dt>${t("case_filed_at")}</dt><dd>${formatTime(c.filed_at)}</dd>` : ""}
    </dl>
    ${stages ? `<ol class="case-stages">${stages}</ol>` : ""}</section>`;
}

let dialog = null;

/**
 * Ask the dispatcher to confirm closing without all three feedbacks: a modal naming what is
 * missing. Resolves true (close anyway) or false (go back). Resolves true at once when
 * nothing is missing.
 */
export function confirmClose(record) {
  if (!closeNeedsConfirm(record)) return Promise.resolve(true);
  dialog?.remove();
  dialog = document.createElement("dialog");
  dialog.id = "close-confirm";
  dialog.className = "close-confirm";
  dialog.setAttribute("aria-labelledby", "close-confirm-h");
  dialog.innerHTML = `<h2 id="close-confirm-h">${t("tf_confirm_title")}</h2>
    <p id="close-confirm-text">${esc(closeConfirmText(missingFeedbacks(record)))}</p>
    <div class="buttons">
      <button type="button" id="close-confirm-back" class="primary">${t("tf_confirm_back")}</button>
      <button type="button" id="close-confirm-ok" class="danger">${t("tf_confirm_ok")}</button></div>`;
  document.body.append(dialog);
  return new Promise((resolve) => {
    let answer = false;
    dialog.querySelector("#close-confirm-ok").addEventListener("click", () => {
      answer = true;
      dialog.close();
    });
    dialog.querySelector("#close-confirm-back").addEventListener("click", () => dialog.close());
    // Escape closes it too, as "go back".
    dialog.addEventListener("close", () => {
      dialog.remove();
      dialog = null;
      resolve(answer);
    });
    dialog.showModal();
    dialog.querySelector("#close-confirm-back").focus();
  });
}
