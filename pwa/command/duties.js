// The responsibility list (责任清单, PROTOCOL §10), the admin's screen: every linked agency
// (GET /api/agencies) with its duties — keywords, the categories it takes, how many minutes
// it has to acknowledge a diverted call and how many hours to report back — edited and saved
// with PUT /api/agencies/{station_id}/duties. Admin only: the page is not offered to others
// (the server answers them 403 anyway).

import { ApiError, CATEGORIES } from "../core/index.js";
import { call, get } from "./api.js";
import { $, esc, notify } from "./dom.js";
import { label, t } from "./i18n.js";
import { store } from "./store.js";

let root = null;
let agencies = [];

// The server's bounds (PROTOCOL §10 leaves them to it): a week to acknowledge, a year to
// answer, 50 keywords of at most 50 characters.
export const ACK_MINUTES_MAX = 10_080;
export const FEEDBACK_HOURS_MAX = 8_760;
export const KEYWORDS_MAX = 50;
export const KEYWORD_CHARS_MAX = 50;

/** May this person see and edit the responsibility list? */
export function mayEditDuties(person) {
  return person?.role === "admin";
}

/** Keywords typed as a list: split on commas (, ，), 、, semicolons and new lines; trimmed, once each. */
export function parseKeywords(text) {
  const seen = new Set();
  const out = [];
  for (const raw of String(text || "").split(/[,，、;；\n]+/)) {
    const word = raw.trim();
    if (word && !seen.has(word)) {
      seen.add(word);
      out.push(word);
    }
  }
  return out;
}

/** Keywords as the form shows them: "水管, 停水, 供水". */
export const keywordsText = (keywords) => (keywords || []).join("，");

/** What is wrong with a duties form's values (words, empty when nothing). */
export function dutiesProblems(v) {
  const problems = [];
  const whole = (x, max) => /^\d+$/.test(String(x ?? "").trim()) && Number(x) > 0 && Number(x) <= max;
  if (!whole(v.ack_minutes, ACK_MINUTES_MAX)) {
    problems.push(t("duties_need_number", { what: t("duties_ack_minutes"), max: ACK_MINUTES_MAX }));
  }
  if (!whole(v.feedback_hours, FEEDBACK_HOURS_MAX)) {
    problems.push(t("duties_need_number", { what: t("duties_feedback_hours"), max: FEEDBACK_HOURS_MAX }));
  }
  const keywords = parseKeywords(v.keywords);
  if (keywords.length > KEYWORDS_MAX) problems.push(t("duties_too_many_keywords", { n: KEYWORDS_MAX }));
  const long = keywords.filter((k) => [...k].length > KEYWORD_CHARS_MAX);
  if (long.length) problems.push(t("duties_keyword_too_long", { n: KEYWORD_CHARS_MAX, k: long[0] }));
  return problems;
}

/** PUT /api/agencies/{id}/duties's body from the form's values (PROTOCOL §10). */
export function dutiesBody(v) {
  return {
    keywords: parseKeywords(v.keywords),
    categories: CATEGORIES.filter((c) => [].concat(v.categories || []).includes(c)),
    ack_minutes: Number(v.ack_minutes),
    feedback_hours: Number(v.feedback_hours),
  };
}

/** PUT /api/agencies/{id}/duties's path. */
export function dutiesPath(stationId) {
  return `/api/agencies/${encodeURIComponent(stationId)}/duties`;
}

/** A failed save in words. */
export function dutiesErrorText(err) {
  if (err instanceof ApiError || err?.status) {
    if (err.status === 403) return t("duties_forbidden");
    if (err.status === 404) return t("duties_not_agency");
  }
  return err?.message || String(err);
}

/** The keyword chips under the list, so the desk sees how the text will be split. */
export function chipsHtml(keywords) {
  return keywords.length
    ? keywords.map((k) => `<span class="chip">${esc(k)}</span>`).join(" ")
    : `<span class="muted">${t("duties_no_keywords")}</span>`;
}

/** One agency's form. */
export function agencyFormHtml(agency) {
  const d = agency.duties || {};
  const id = esc(agency.station_id);
  const categories = CATEGORIES.map(
    (c) => `<label class="check"><input type="checkbox" name="categories" value="${c}" ${(d.categories || []).includes(c) ? "checked" : ""}> ${esc(label("category", c))}</label>`,
  ).join("");
  // novalidate: the form's own checks say what is wrong in words, in the form.
  return `<form class="duties-form" data-agency="${id}" aria-labelledby="duties-${id}-h" novalidate>
    <h3 id="duties-${id}-h">${esc(agency.name)}</h3>
    <label class="wide">${t("duties_keywords")}
      <textarea name="keywords" rows="2" id="duties-${id}-keywords">${esc(keywordsText(d.keywords))}</textarea></label>
    <div class="chips wide" data-chips aria-hidden="true">${chipsHtml(d.keywords || [])}</div>
    <fieldset class="wide categories"><legend>${t("duties_categories")}</legend>${categories}</fieldset>
    <label>${t("duties_ack_minutes")}<input name="ack_minutes" type="number" min="1" max="${ACK_MINUTES_MAX}" step="1" required value="${esc(d.ack_minutes ?? "")}" id="duties-${id}-ack"></label>
    <label>${t("duties_feedback_hours")}<input name="feedback_hours" type="number" min="1" max="${FEEDBACK_HOURS_MAX}" step="1" required value="${esc(d.feedback_hours ?? "")}" id="duties-${id}-feedback"></label>
    <p class="form-error wide" role="alert" hidden></p>
    <div class="buttons wide"><button type="submit" class="primary">${t("duties_save")}</button></div>
  </form>`;
}

/** The form's values, with every ticked category (FormData gives each once). */
function valuesOf(form) {
  const data = new FormData(form);
  return {
    keywords: data.get("keywords") || "",
    categories: data.getAll("categories"),
    ack_minutes: data.get("ack_minutes"),
    feedback_hours: data.get("feedback_hours"),
  };
}

export function mountDuties(element) {
  root = element;
  if (!mayEditDuties(store.me)) {
    root.innerHTML = `<section><h2>${t("duties_title")}</h2><p class="muted">${t("duties_admin_only")}</p></section>`;
    return;
  }
  root.innerHTML = `<section class="duties" aria-labelledby="duties-h">
      <div class="toolbar"><h2 id="duties-h">${t("duties_title")}</h2></div>
      <p class="muted">${t("duties_help")}</p>
      <div id="duties-list" class="duties-list"><p class="muted">${t("loading")}</p></div>
    </section>`;
  root.addEventListener("submit", onSubmit);
  root.addEventListener("input", onInput);
  load();
}

export function unmountDuties() {
  if (root) {
    root.removeEventListener("submit", onSubmit);
    root.removeEventListener("input", onInput);
  }
  root = null;
}

async function load() {
  const list = root && $("#duties-list", root);
  if (!list) return;
  try {
    const answer = await get("/api/agencies");
    agencies = answer?.agencies || [];
    if (!root) return;
    list.innerHTML = agencies.length
      ? [...agencies].sort((a, b) => String(a.name).localeCompare(String(b.name), "zh-CN")).map(agencyFormHtml).join("")
      : `<p class="empty">${t("duties_empty")}</p>`;
  } catch (err) {
    list.innerHTML = `<p class="form-error" role="alert">${esc(err instanceof ApiError && err.status === 404 ? t("agencies_missing") : dutiesErrorText(err))}</p>`;
  }
}

function onInput(e) {
  if (e.target.name !== "keywords") return;
  const chips = e.target.closest("form")?.querySelector("[data-chips]");
  if (chips) chips.innerHTML = chipsHtml(parseKeywords(e.target.value));
}

async function onSubmit(e) {
  const form = e.target.closest("form[data-agency]");
  if (!form) return;
  e.preventDefault();
  const error = form.querySelector(".form-error");
  const values = valuesOf(form);
  const problems = dutiesProblems(values);
  if (problems.length) {
    error.textContent = problems.join(t("list_sep"));
    error.hidden = false;
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  const agency = agencies.find((a) => a.station_id === form.dataset.agency);
  try {
    const saved = await call("PUT", dutiesPath(form.dataset.agency), dutiesBody(values));
    // The answer is the agency (or its duties): keep what the server holds now.
    const duties = saved?.duties ?? (saved && "keywords" in saved ? saved : dutiesBody(values));
    if (agency) agency.duties = duties;
    error.hidden = true;
    form.querySelector("[name=keywords]").value = keywordsText(duties.keywords);
    form.querySelector("[data-chips]").innerHTML = chipsHtml(duties.keywords || []);
    notify(t("duties_saved", { name: agency?.name ?? "" }));
  } catch (err) {
    error.textContent = dutiesErrorText(err);
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
}
