// The command-center view: sign-in, the header (connection, counts, language), the pages
// (board, review queue, callback desk, reports, and for an admin the responsibility list of
// the linked agencies) and the live feed that keeps them current.
//
// Start-up order matters for "a reconnect loses nothing": the board snapshot comes with
// the feed cursor it is current as of (GET /api/board), and the WebSocket starts from
// exactly that cursor, so every later change is applied on top of the snapshot.

import { ApiError, ERROR } from "../core/index.js";
import { currentSession, endToken, forgetSession, get, keepSession, login, signOut, whenSignedOut } from "./api.js";
import { mountBoard, renderBoard, tickBoard, tickClocks } from "./board.js";
import { callbacksChanged, mountCallbacks, tickCallbacks, unmountCallbacks } from "./callbacks.js";
import { mayUseCommandView, pagesFor } from "./chief.js";
import { mountNotices, noticesChanged, resetNotices, tickNotices, unmountNotices } from "./notices.js";
import {
  mountSupervision,
  resetSupervision,
  supervisionChanged,
  tickSupervision,
  unmountSupervision,
} from "./supervision.js";
import { $, esc } from "./dom.js";
import { currentLang, label, setLang, t } from "./i18n.js";
import { closeIncident, incidentTouched, mountIncidentPanel, openIncident } from "./incident.js";
import { LiveFeed } from "./live.js";
import { mountDuties, unmountDuties } from "./duties.js";
import { mountMeeting, unmountMeeting } from "./meeting.js";
import { mountReports, unmountReports } from "./reports.js";
import { mountReviews, renderReviews, unmountReviews } from "./reviews.js";
import {
  applyChanges,
  isOverdue,
  mayListReviews,
  noteServerTime,
  openReviewItems,
  putIncident,
  putReview,
  resetStore,
  serverNow,
  store,
  subscribe,
} from "./store.js";

let live = null;
let page = "board";
let redraw = null;

// For tests and for a curious operator in the console.
window.qingling = { store, get live() { return live; } };

function shell() {
  document.documentElement.lang = currentLang();
  document.title = t("app_title");
  $("#app").innerHTML = `
    <header class="top">
      <h1>${t("app_title")}</h1>
      <nav aria-label="${t("app_title")}">
        ${pagesFor(store.me)
          .map((p) => `<a href="#/${p}" data-page="${p}">${t(`nav_${p}`)}</a>`)
          .join("")}
      </nav>
      <div class="counts" aria-live="polite">
        <span class="count" id="count-open"><b>0</b> ${t("count_open")}</span>
        <span class="count overdue-count" id="count-overdue"><b>0</b> ${t("count_overdue")}</span>
        <span class="count" id="count-reviews"><b>0</b> ${t("count_reviews")}</span>
      </div>
      <span class="conn" id="conn" role="status" aria-label="${t("conn_label")}"></span>
      <span class="who">${esc(t("signed_in_as", { name: store.me.name, role: label("role", store.me.role) }))}</span>
      <button type="button" id="lang">${t("lang_switch")}</button>
      <button type="button" id="sign-out">${t("sign_out")}</button>
    </header>
    <p id="notice" class="notice" role="status" hidden></p>
    <main id="page"></main>
    <aside id="incident-panel" class="incident-panel" aria-label="${t("details")}" hidden></aside>`;
  $("#lang").addEventListener("click", () => {
    setLang(currentLang() === "en" ? "zh-CN" : "en");
    shell();
    showPage(page);
  });
  $("#sign-out").addEventListener("click", async (e) => {
    const button = e.currentTarget;
    button.disabled = true;
    button.textContent = t("signing_out");
    // The socket first: the server closes it (4401) once the token ends, which is not news.
    stopLive();
    const answer = await signOut();
    // No answer (offline) or a server fault: the token lives on until it expires or the
    // device is revoked; say so. An older server without the call (404/405): nothing to say.
    const told = answer.confirmed || answer.status === 404 || answer.status === 405;
    showSignIn(told ? "" : t("signout_unconfirmed"));
  });
  mountIncidentPanel($("#incident-panel"));
  renderConnection();
  renderCounts();
}

function showPage(name) {
  // Each role its own menu (a station chief: no callbacks, no responsibility list).
  const pages = pagesFor(store.me);
  page = pages.includes(name) ? name : "board";
  closeIncidentQuietly();
  for (const a of document.querySelectorAll("nav a[data-page]")) {
    if (a.dataset.page === page) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  unmountReviews();
  unmountCallbacks();
  unmountReports();
  unmountDuties();
  unmountMeeting();
  unmountSupervision();
  unmountNotices();
  const main = $("#page");
  if (page === "board") mountBoard(main, { openIncident });
  else if (page === "reviews") mountReviews(main, { open: (id) => openIncident(id) });
  else if (page === "callbacks") mountCallbacks(main, { openIncident: (id) => openIncident(id) });
  else if (page === "duties") mountDuties(main);
  else if (page === "meeting") mountMeeting(main, { openIncident: (id) => openIncident(id) });
  else if (page === "supervision") mountSupervision(main, { openIncident: (id) => openIncident(id) });
  else if (page === "notices") mountNotices(main, { openIncident: (id) => openIncident(id) });
  else mountReports(main);
}

function renderConnection() {
  const el = $("#conn");
  if (!el) return;
  el.className = `conn conn-${store.connection}`;
  const symbol = { live: "●", connecting: "◌", reconnecting: "◌", offline: "○" }[store.connection];
  el.textContent = `${symbol} ${t(`conn_${store.connection}`)}`;
}

function renderCounts() {
  const now = serverNow();
  const open = store.incidents.size;
  let overdue = 0;
  for (const incident of store.incidents.values()) if (isOverdue(incident, now)) overdue += 1;
  const reviews = openReviewItems().length;
  const set = (id, n) => {
    const b = $(`#${id} b`);
    if (b && b.textContent !== String(n)) b.textContent = String(n);
  };
  set("count-open", open);
  set("count-overdue", overdue);
  set("count-reviews", reviews);
  $("#count-overdue")?.classList.toggle("alarm", overdue > 0);
}

/** Coalesce redraws: a burst of changes draws once per frame. */
function scheduleRedraw() {
  if (redraw) return;
  redraw = requestAnimationFrame(() => {
    redraw = null;
    renderCounts();
    if (page === "board") renderBoard();
    if (page === "reviews") renderReviews();
  });
}

async function loadBoard() {
  // GET /api/board gives the snapshot as board rows (no caller data, no records: the
  // panel fetches the full record) and its cursor; the feed's full records then replace
  // rows, held as rows too (store.js `boardRow`). A server without it yet: the open
  // incidents list, and the socket replays the feed from the start (heavier, but the
  // same records, so the board converges to the same state).
  try {
    const board = await get("/api/board");
    noteServerTime(board.server_time);
    for (const record of board.incidents) putIncident(record);
    return board.cursor;
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
    const list = await get("/api/incidents?status=open&limit=500");
    for (const record of list) putIncident(record);
    return null;
  }
}

async function loadReviews() {
  // Supervisors and admins; a station chief reads their station's items (PROTOCOL §11).
  if (!mayListReviews(store.me)) return;
  store.reviewsListed = true;
  const items = await get("/api/reviews?state=open&limit=1000");
  for (const item of items) putReview(item);
}

function stopLive() {
  live?.stop();
  live = null;
}

async function start() {
  const session = currentSession();
  store.me = session.person;
  noteServerTime(session.server_time);
  shell();
  $("#page").innerHTML = `<p class="muted">${t("loading")}</p>`;
  try {
    const [stations, people] = await Promise.all([get("/api/stations"), get("/api/people")]);
    store.stations = stations;
    store.stationsById = new Map(stations.map((s) => [s.id, s]));
    store.people = new Map(people.map((p) => [p.id, p]));
    const cursor = await loadBoard();
    await loadReviews();
    live = new LiveFeed({
      token: () => currentSession()?.token,
      cursor,
      onChanges: (changes, info) => {
        const touched = applyChanges(changes, info);
        incidentTouched(touched);
        callbacksChanged(changes);
        supervisionChanged(changes);
        noticesChanged(changes);
      },
      onState: (state) => {
        store.connection = state;
        renderConnection();
      },
      onServerTime: noteServerTime,
      onUnauthorized: (code) => {
        forgetSession();
        showSignIn(endedText(code === ERROR.TOKEN_EXPIRED ? "expired" : "ended"));
      },
    });
    live.start();
  } catch (err) {
    // A 401 has already put the sign-in page up (and #page is gone): nothing to add.
    const main = $("#page");
    if (main) main.innerHTML = `<p class="form-error" role="alert">${esc(t("error"))}: ${esc(err.message)}</p>`;
    return;
  }
  showPage(location.hash.replace(/^#\//, "") || "board");
}

function showSignIn(message = "") {
  stopLive();
  closeIncidentQuietly();
  resetStore();
  resetSupervision();
  resetNotices();
  document.documentElement.lang = currentLang();
  document.title = t("app_title");
  $("#app").innerHTML = `
    <main class="sign-in">
      <form id="sign-in-form" class="stack" aria-labelledby="sign-in-h">
        <h1 id="sign-in-h">${t("app_title")}</h1>
        <label>${t("username")}<input name="username" id="username" autocomplete="username" required></label>
        <label>${t("password")}<input name="password" id="password" type="password" autocomplete="current-password" required></label>
        <p class="form-error" id="sign-in-error" role="alert" ${message ? "" : "hidden"}>${esc(message)}</p>
        <button type="submit" class="primary" id="sign-in-submit">${t("sign_in")}</button>
        <button type="button" id="lang" class="link">${t("lang_switch")}</button>
      </form>
    </main>`;
  $("#lang").addEventListener("click", () => {
    setLang(currentLang() === "en" ? "zh-CN" : "en");
    showSignIn();
  });
  $("#sign-in-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const error = $("#sign-in-error");
    const button = $("#sign-in-submit");
    button.disabled = true;
    button.textContent = t("signing_in");
    try {
      const body = await login($("#username").value.trim(), $("#password").value);
      if (!mayUseCommandView(body.person.role)) {
        // The token is not kept, and not left valid: this view is not for field roles
        // (but a station chief's, PROTOCOL §11).
        endToken(body.token);
        error.textContent = t("field_role");
        error.hidden = false;
        return;
      }
      keepSession(body);
      if (!location.hash) location.hash = "#/board";
      await start();
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 401 ? t("bad_login") : err.message;
      error.hidden = false;
    } finally {
      if (document.body.contains(button)) {
        button.disabled = false;
        button.textContent = t("sign_in");
      }
    }
  });
  $("#username").focus();
}

function closeIncidentQuietly() {
  if ($("#incident-panel")) closeIncident();
}

subscribe(() => scheduleRedraw());
/** The sign-in page's words for a session the server ended: "expired" or "ended". */
function endedText(why) {
  return t(why === "expired" ? "session_expired" : "session_ended");
}

whenSignedOut((why) => showSignIn(endedText(why)));
window.addEventListener("hashchange", () => {
  if (store.me && currentSession()) showPage(location.hash.replace(/^#\//, ""));
});
// The browser knows the network is gone: stop and wait for it instead of retrying blind.
window.addEventListener("offline", () => live?.pause());
window.addEventListener("online", () => live?.resume());
// Clocks count down every second, on the server's clock.
setInterval(() => {
  if (!store.me) return;
  if (page === "board") tickBoard();
  if (page === "callbacks") tickCallbacks();
  if (page === "supervision") tickSupervision();
  if (page === "notices") tickNotices();
  const panel = $("#incident-panel");
  if (panel && !panel.hidden) tickClocks(panel);
  renderCounts();
}, 1000);

if (currentSession() && mayUseCommandView(currentSession().person?.role)) {
  start();
} else {
  showSignIn();
}
