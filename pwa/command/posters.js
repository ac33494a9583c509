// Station rating posters (评价海报, PROTOCOL §9): a QR code per station for patrol cars and the
// front desk. An admin fetches GET /api/stations/{id}/rating-poster (an SVG; it needs the
// Authorization header, so it is fetched and shown through a Blob URL, like the CSV) and
// gets a printable page: the poster big and centred, the print CSS hiding everything else.
// Admin only: others do not see the section (the server answers them 403 anyway).

import { fetchBlob } from "./api.js";
import { $, esc, notify } from "./dom.js";
import { t } from "./i18n.js";
import { store } from "./store.js";

/** May this person print posters? (The server also lets a station chief print their own.) */
export function mayPrintPosters(person) {
  return person?.role === "admin";
}

/**
 * The stations that have a poster: those the server gave a `rating_code`, by name. Not the
 * command center: it has neither patrol cars nor a front desk to put one on; nor a linked
 * agency (PROTOCOL §10): the poster rates the police's handling of a call.
 */
export function posterStations(stations = store.stations) {
  return stations
    .filter((s) => typeof s.rating_code === "string" && s.rating_code && !["command_center", "linked_agency"].includes(s.kind))
    .sort((a, b) => String(a.name).localeCompare(String(b.name), "zh-CN"));
}

/** GET /api/stations/{id}/rating-poster's path. */
export function posterPath(stationId) {
  return `/api/stations/${encodeURIComponent(stationId)}/rating-poster`;
}

/** The posters section for the reports page, or "" for anyone but an admin (or no codes). */
export function postersHtml(person = store.me, stations = store.stations) {
  if (!mayPrintPosters(person)) return "";
  const list = posterStations(stations);
  if (!list.length) return "";
  return `<section class="posters" aria-labelledby="posters-h">
    <h3 id="posters-h">${t("posters_title")}</h3>
    <p class="muted">${t("posters_help")}</p>
    <ul class="poster-list">${list
      .map(
        (s) => `<li><span class="poster-station">${esc(s.name)}</span>
          <code class="muted" title="${t("rating_code")}">${esc(s.rating_code)}</code>
          <button type="button" data-poster="${esc(s.id)}">${t("poster_open")}</button></li>`,
      )
      .join("")}</ul></section>`;
}

function onPosterClick(e) {
  const button = e.target.closest("[data-poster]");
  if (button) openPoster(button.dataset.poster, button);
}

/** Wire the section's buttons (one listener however often the page is mounted on `root`). */
export function wirePosters(root) {
  root.addEventListener("click", onPosterClick);
}

let shown = null; // {url, overlay} of the poster open for printing

export function closePoster() {
  if (!shown) return;
  shown.overlay.remove();
  URL.revokeObjectURL(shown.url);
  document.body.classList.remove("printing-poster");
  shown = null;
}

async function openPoster(stationId, button) {
  button.disabled = true;
  let blob;
  try {
    blob = await fetchBlob(posterPath(stationId), "image/svg+xml");
  } catch (err) {
    notify(err.status === 403 ? t("poster_forbidden") : err.message, "error");
    return;
  } finally {
    button.disabled = false;
  }
  closePoster();
  const station = store.stationsById.get(stationId);
  // The answer is the server's image/svg+xml; shown as an <img>, its scripts (it has none)
  // could never run.
  const url = URL.createObjectURL(new Blob([blob], { type: "image/svg+xml" }));
  const overlay = document.createElement("div");
  overlay.id = "poster-print";
  overlay.className = "poster-print";
  overlay.setAttribute("role", "dialog");
  overlay.setAttribute("aria-modal", "true");
  overlay.setAttribute("aria-labelledby", "poster-print-h");
  overlay.innerHTML = `<div class="poster-toolbar">
      <h2 id="poster-print-h">${t("posters_title")} · ${esc(station?.name ?? "")}</h2>
      <button type="button" class="primary" id="poster-print-go">${t("poster_print")}</button>
      <button type="button" id="poster-print-close">${t("close_panel")}</button>
    </div>
    <img class="poster-image" src="${url}" alt="${esc(t("poster_alt", { name: station?.name ?? "" }))}">`;
  document.body.append(overlay);
  document.body.classList.add("printing-poster");
  shown = { url, overlay };
  $("#poster-print-go").addEventListener("click", () => window.print());
  $("#poster-print-close").addEventListener("click", closePoster);
  overlay.addEventListener("keydown", (e) => {
    if (e.key === "Escape") closePoster();
  });
  $("#poster-print-go").focus();
}
