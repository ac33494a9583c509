// The live board: open incidents newest first, their clocks counting down every second,
// overdue ones marked by colour AND a text label; filters by station and status; the
// "new incident" dialog. A call diverted to a linked agency (PROTOCOL §10) shows the agency
// and its clocks (签收, 反馈); one an agency sent back shows why ("退回：…").

import { post } from "./api.js";
import { $, beijingToIso, esc, formValues, notify } from "./dom.js";
import { CATEGORIES, formatDuration } from "../core/index.js";
import { returnedBadgeHtml, statusText } from "./diversion.js";
import { supervisionBadgesHtml } from "./supervision.js";
import { formatTime, label, t } from "./i18n.js";
import {
  clockNow,
  fieldStations,
  isOverdue,
  mayDispatch,
  personName,
  serverNow,
  stationName,
  store,
} from "./store.js";

// A diverted call has the agency's clocks instead of arrival and initial result (§10).
const BOARD_CLOCKS = ["dispatch", "arrival", "initial_result", "agency_ack", "agency_feedback", "clear", "evidence"];

export const filters = { station: "", status: "", overdueOnly: false };
// Rows drawn at once. A city bureau can hold thousands of open incidents; drawing them all
// costs seconds and ticking them a tenth of every second. The counts always cover all.
const PAGE_ROWS = 200;
let shownRows = PAGE_ROWS;

let onOpenIncident = () => {};

export function mountBoard(root, { openIncident }) {
  onOpenIncident = openIncident;
  const canDispatch = mayDispatch(store.me);
  root.innerHTML = `
    <section class="board" aria-labelledby="board-title">
      <div class="toolbar">
        <h2 id="board-title">${t("nav_board")}</h2>
        <label>${t("filter_station")}
          <select id="filter-station" aria-label="${t("filter_station")}"></select></label>
        <label>${t("filter_status")}
          <select id="filter-status" aria-label="${t("filter_status")}">
            <option value="">${t("filter_all")}</option>
            <option value="received">${label("status", "received")}</option>
            <option value="dispatched">${label("status", "dispatched")}</option>
            <option value="diverted">${label("status", "diverted")}</option>
          </select></label>
        <label class="check"><input type="checkbox" id="filter-overdue"> ${t("filter_overdue_only")}</label>
        <span class="spacer"></span>
        ${canDispatch ? `<button id="new-incident" class="primary" type="button">＋ ${t("new_incident")}</button>` : ""}
      </div>
      <table class="incidents" aria-describedby="board-title">
        <thead><tr>
          <th scope="col">${t("col_number")}</th>
          <th scope="col">${t("col_category")}</th>
          <th scope="col">${t("col_address")}</th>
          <th scope="col">${t("col_station")}</th>
          <th scope="col">${t("col_status")}</th>
          <th scope="col">${t("col_clocks")}</th>
          <th scope="col">${t("col_people")}</th>
        </tr></thead>
        <tbody id="board-rows"></tbody>
      </table>
      <p id="board-empty" class="empty" hidden>${t("no_incidents")}</p>
      <p class="more"><button type="button" id="board-more" hidden></button></p>
    </section>
    ${canDispatch ? createDialog() : ""}`;
  fillStationFilter();
  $("#filter-station").value = filters.station;
  $("#filter-status").value = filters.status;
  $("#filter-overdue").checked = filters.overdueOnly;
  $("#filter-station").addEventListener("change", (e) => {
    filters.station = e.target.value;
    shownRows = PAGE_ROWS;
    renderBoard();
  });
  $("#filter-status").addEventListener("change", (e) => {
    filters.status = e.target.value;
    shownRows = PAGE_ROWS;
    renderBoard();
  });
  $("#filter-overdue").addEventListener("change", (e) => {
    filters.overdueOnly = e.target.checked;
    shownRows = PAGE_ROWS;
    renderBoard();
  });
  $("#board-more").addEventListener("click", () => {
    shownRows += PAGE_ROWS;
    renderBoard();
  });
  $("#board-rows").addEventListener("click", (e) => {
    const row = e.target.closest("tr[data-id]");
    if (row) onOpenIncident(row.dataset.id);
  });
  $("#board-rows").addEventListener("keydown", (e) => {
    const row = e.target.closest("tr[data-id]");
    if (row && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault();
      onOpenIncident(row.dataset.id);
    }
  });
  if (canDispatch) wireCreateDialog();
  renderBoard();
}

function fillStationFilter() {
  const options = [`<option value="">${t("filter_all")}</option>`, `<option value="-">${t("undispatched")}</option>`];
  for (const s of fieldStations()) {
    options.push(`<option value="${esc(s.id)}">${esc(s.name)}</option>`);
  }
  $("#filter-station").innerHTML = options.join("");
}

/**
 * The board's rows: the incidents that pass the filters (station id, "-" for not yet
 * dispatched; status; overdue only), newest received first, then by number.
 */
export function boardRows(incidents, { station = "", status = "", overdueOnly = false } = {}, now = serverNow()) {
  const wanted = [...incidents].filter((i) => {
    if (station === "-" && i.station_id) return false;
    if (station && station !== "-" && i.station_id !== station) return false;
    if (status && i.status !== status) return false;
    if (overdueOnly && !isOverdue(i, now)) return false;
    return true;
  });
  // Parse each time once, not once per comparison.
  const at = new Map(wanted.map((i) => [i, Date.parse(i.received_at)]));
  return wanted.sort((a, b) => at.get(b) - at.get(a) || (a.number < b.number ? 1 : -1));
}

/** Re-draw the rows (after changes or a filter); the clocks then tick in place. */
export function renderBoard() {
  const body = $("#board-rows");
  if (!body) return;
  const rows = boardRows(store.incidents.values(), filters);
  body.innerHTML = rows.slice(0, shownRows).map(rowHtml).join("");
  $("#board-empty").hidden = rows.length > 0;
  const more = $("#board-more");
  const rest = rows.length - Math.min(rows.length, shownRows);
  more.hidden = rest <= 0;
  more.textContent = t("show_more", { n: Math.min(rest, PAGE_ROWS), rest });
  tickBoard();
}

/** One board row; every server value goes through esc(). */
export function rowHtml(i) {
  const clocks = BOARD_CLOCKS.filter((name) => i.clocks?.[name])
    .map((name) => clockHtml(name, i.clocks[name]))
    .join("");
  const people = (i.assignees || []).map((a) => esc(a.name || personName(a.person_id))).join("、");
  const openReviews = (i.review_items || []).filter((r) => r.state === "open").length;
  // PROTOCOL §11: the incident's open supervision orders, 挂牌督办 in red, first in the row.
  const orders = supervisionBadgesHtml(i);
  const listed = (i.supervision || []).some((r) => r.level === "bureau" && r.state !== "accepted");
  return `<tr data-id="${esc(i.id)}" tabindex="0" aria-label="${esc(i.number)} ${esc(i.address)}"${listed ? ' class="listed"' : ""}>
    <td><strong class="number">${esc(i.number)}</strong><br><small>${formatTime(i.received_at)}</small>
      ${orders ? `<div class="sup-badges">${orders}</div>` : ""}
      ${i.received_back_entered ? `<span class="tag muted">${t("back_entered")}</span>` : ""}</td>
    <td>${esc(label("category", i.category))}<br><small>${esc(label("area_type", i.area_type))}</small></td>
    <td class="address">${esc(i.address)}<br><small class="narrative">${esc(i.narrative)}</small></td>
    <td>${i.station_id ? esc(stationName(i.station_id)) : `<span class="muted">${t("undispatched")}</span>`}</td>
    <td><span class="status status-${esc(i.status)}">${esc(statusText(i))}</span>
      ${returnedBadgeHtml(i)}
      ${openReviews ? `<span class="tag pending-review" title="${t("count_reviews")}">${t("count_reviews")} ${openReviews}</span>` : ""}</td>
    <td><div class="clocks">${clocks}</div></td>
    <td>${people || "—"}</td>
  </tr>`;
}

/** A clock badge; its text and class are set by tickBoard/tickClocks every second. */
export function clockHtml(name, clock, stopped = false) {
  return `<span class="clock" data-clock="${esc(name)}" data-due="${esc(clock.due_at || "")}"
    data-met="${esc(clock.met_at || "")}" data-state="${esc(clock.state)}"${stopped ? ' data-stopped="1"' : ""}></span>`;
}

/**
 * Whether an incident's clock has stopped: every clock of a cancelled incident, and every
 * clock of a closed one but the case-evidence clock, which still runs after the call is
 * closed (server/write/publish.py `watched`). A stopped clock that was never met does not
 * count down in the panel: it says it was not met.
 */
export function clockStopped(status, name) {
  if (status === "cancelled") return true;
  return status === "closed" && name !== "evidence";
}

/**
 * A clock badge at `now` (on the server's clock): its words, which always say overdue in
 * text as well as colour, and its class (`clock-soon` in the last two minutes).
 */
export function clockBadge(name, clock, now, stopped = false) {
  const { state, msLeft } = clockNow(clock, now);
  const title = label("clock", name);
  if (stopped && (state === "running" || state === "overdue" || state === "not_started")) {
    return { text: `${title} · ${t("not_met")}`, className: "clock clock-stopped" };
  }
  let text;
  if (state === "met") text = `${title} ✓ ${t("met")}`;
  else if (state === "met_late") text = `${title} ⚠ ${t("met_late")}`;
  else if (state === "not_started") text = `${title} · ${t("not_started")}`;
  else if (state === "overdue") text = `${title} ⚠ ${t("overdue_by", { t: formatDuration(msLeft) })}`;
  else text = `${title} ${t("remaining", { t: formatDuration(msLeft) })}`;
  const soon = state === "running" && msLeft < 120_000;
  return { text, className: `clock clock-${state}${soon ? " clock-soon" : ""}` };
}

/** Update every clock badge under `root` to the current second. */
export function tickClocks(root = document, now = serverNow()) {
  for (const el of root.querySelectorAll(".clock[data-clock]")) {
    const clock = { due_at: el.dataset.due || null, met_at: el.dataset.met || null, state: el.dataset.state };
    const { text, className } = clockBadge(el.dataset.clock, clock, now, el.dataset.stopped === "1");
    if (el.textContent !== text) el.textContent = text;
    el.className = className;
  }
}

export function tickBoard() {
  const body = $("#board-rows");
  if (!body) return;
  const now = serverNow();
  tickClocks(body, now);
  for (const row of body.rows) {
    const incident = store.incidents.get(row.dataset.id);
    const overdue = incident ? isOverdue(incident, now) : false;
    row.classList.toggle("overdue", overdue);
    const first = row.cells[0];
    const badge = first.querySelector(".overdue-label");
    if (overdue && !badge) {
      first.insertAdjacentHTML("afterbegin", `<span class="overdue-label">⚠ ${t("overdue")}</span><br>`);
    } else if (!overdue && badge) {
      badge.nextElementSibling?.remove();
      badge.remove();
    }
  }
}

function createDialog() {
  const categories = CATEGORIES.map((c) => `<option value="${c}">${label("category", c)}</option>`).join("");
  return `<dialog id="create-dialog" aria-labelledby="create-title">
    <form id="create-form" method="dialog" class="form-grid">
      <h2 id="create-title">${t("new_incident")}</h2>
      <label>${t("category")}<select name="category" required>${categories}</select></label>
      <label>${t("area_type")}<select name="area_type" required>
        <option value="urban">${label("area_type", "urban")}</option>
        <option value="rural">${label("area_type", "rural")}</option></select></label>
      <label class="wide">${t("address")}<input name="address" required maxlength="500" autocomplete="off"></label>
      <label class="wide">${t("narrative")}<textarea name="narrative" required rows="3"></textarea></label>
      <label>${t("caller_name")}<input name="caller_name" autocomplete="off"></label>
      <label>${t("caller_phone")}<input name="caller_phone" inputmode="tel" autocomplete="off"></label>
      <label>${t("lat")}<input name="lat" type="number" step="any" min="-90" max="90"></label>
      <label>${t("lon")}<input name="lon" type="number" step="any" min="-180" max="180"></label>
      <label class="wide">${t("received_at_back")}<input name="received_at" type="datetime-local" step="1"></label>
      <label class="check wide no-callback-choice"><input type="checkbox" name="no_callback" value="1" id="create-no-callback">
        ${t("no_callback_label")}</label>
      <p class="form-error wide" role="alert" hidden></p>
      <div class="buttons wide">
        <button type="button" value="cancel" id="create-cancel">${t("cancel_dialog")}</button>
        <button type="submit" class="primary">${t("create")}</button>
      </div>
    </form>
  </dialog>`;
}

function wireCreateDialog() {
  const dialog = $("#create-dialog");
  const form = $("#create-form");
  $("#new-incident").addEventListener("click", () => {
    form.reset();
    form.querySelector(".form-error").hidden = true;
    dialog.showModal();
  });
  $("#create-cancel").addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const incident = await post("/api/incidents", newIncidentBody(formValues(form)));
      dialog.close();
      notify(`${incident.number} ${t("saved")}`);
      onOpenIncident(incident.id, incident);
    } catch (err) {
      const box = form.querySelector(".form-error");
      box.textContent = err.message;
      box.hidden = false;
    }
  });
}

/**
 * POST /api/incidents's body from the form's values (PROTOCOL §7): optional fields only
 * when filled, coordinates as numbers, a back-entered `received_at` read as Beijing time,
 * `no_callback: true` when the "no callback" box is ticked (§9).
 */
export function newIncidentBody(v) {
  const body = {
    category: v.category,
    area_type: v.area_type,
    address: v.address,
    narrative: v.narrative,
  };
  if (v.caller_name) body.caller_name = v.caller_name;
  if (v.caller_phone) body.caller_phone = v.caller_phone;
  if (v.lat) body.lat = Number(v.lat);
  if (v.lon) body.lon = Number(v.lon);
  if (v.received_at) body.received_at = beijingToIso(v.received_at);
  // PROTOCOL §9: a caller a call back may endanger; sent only when ticked.
  if (v.no_callback) body.no_callback = true;
  return body;
}
