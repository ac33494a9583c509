// What the view holds: the open incidents, the open review items, stations and people,
// and how live changes are applied to them. Views read it and subscribe to `changed`.
// No DOM here: the unit tests drive it directly (test/command/store.test.js).
import { isOpen } from "../core/index.js";

export const store = {
  me: null,
  stations: [],
  stationsById: new Map(),
  people: new Map(),
  incidents: new Map(),
  // Open review items from GET /api/reviews (supervisor, admin); others see the ones
  // listed on open incidents.
  reviews: new Map(),
  reviewsListed: false,
  serverOffsetMs: 0,
  connection: "connecting",
  // What arrived over the feed: positions seen, and any seen twice (should stay 0).
  stats: { changes: 0, duplicates: 0, lastPos: 0 },
  listeners: new Set(),
};

/** The server's clock as best known (device clocks drift; the clocks count on this). */
/** Forget the incidents and review items held, and the feed's counts (sign-out). */
export function resetStore() {
  store.incidents.clear();
  store.reviews.clear();
  store.reviewsListed = false;
  store.stats = { changes: 0, duplicates: 0, lastPos: 0 };
}

export function serverNow() {
  return Date.now() + store.serverOffsetMs;
}

export function noteServerTime(iso) {
  const t = Date.parse(iso);
  if (!Number.isNaN(t)) store.serverOffsetMs = t - Date.now();
}

export function subscribe(listener) {
  store.listeners.add(listener);
  return () => store.listeners.delete(listener);
}

export function emit(what) {
  for (const listener of store.listeners) listener(what);
}

/**
 * An incident as the board holds it: the row GET /api/board sends (sync.views.BoardRow,
 * docs/command.md "The board"), made from a full record (a feed change, the panel's GET,
 * a command's answer) or taken as it is from a board row. What the board, its filters,
 * badges, clocks and counts read, nothing else: no caller data, no records. Open review
 * items only; supervision orders not yet accepted.
 */
export function boardRow(record) {
  const d = record.diversion;
  return {
    id: record.id,
    number: record.number,
    status: record.status,
    version: record.version,
    category: record.category,
    area_type: record.area_type,
    address: record.address,
    narrative: record.narrative,
    received_at: record.received_at,
    received_back_entered: record.received_back_entered,
    station_id: record.station_id,
    assignees: (record.assignees || []).map((a) => ({ person_id: a.person_id, name: a.name })),
    clocks: record.clocks || {},
    review_items: (record.review_items || []).filter((r) => r.state === "open"),
    supervision: (record.supervision || []).filter((r) => r.state !== "accepted"),
    diversion: d ? { agency_id: d.agency_id, agency_name: d.agency_name } : null,
    diversions_returned: record.diversions_returned || 0,
    returned_reason: record.returned_reason ?? null,
  };
}

/**
 * Put an incident on the board (or take it off once closed or cancelled): a board row or
 * a full record, held as its board row (`boardRow`).
 */
export function putIncident(record) {
  const held = store.incidents.get(record.id);
  // A record never goes backwards: a snapshot older than what the feed delivered loses.
  if (held && held.version > record.version) return false;
  if (isOpen(record.status)) {
    store.incidents.set(record.id, boardRow(record));
  } else {
    store.incidents.delete(record.id);
  }
  return true;
}

export function putReview(item) {
  if (!store.reviewsListed) return;
  if (item.state === "open") store.reviews.set(item.id, item);
  else store.reviews.delete(item.id);
}

/**
 * Apply feed changes (PROTOCOL §4): incident records replace what is held; review items
 * join or leave the queue; events only mark their incident as touched.
 * @returns {Set<string>} the incident ids the changes touched
 */
export function applyChanges(changes, { reset = false } = {}) {
  const touched = new Set();
  if (reset) {
    // A new database epoch: what is held may be from another world. The feed restarts
    // from a fresh snapshot, so start again from it.
    store.incidents.clear();
    if (store.reviewsListed) store.reviews.clear();
    store.stats.lastPos = 0;
  }
  for (const change of changes) {
    store.stats.changes += 1;
    if (typeof change.pos === "number") {
      if (change.pos <= store.stats.lastPos) store.stats.duplicates += 1;
      store.stats.lastPos = Math.max(store.stats.lastPos, change.pos);
    }
    const data = change.data || {};
    if (change.entity === "incident") {
      putIncident(data);
      touched.add(data.id);
    } else if (change.entity === "review") {
      putReview(data);
      if (data.incident_id) touched.add(data.incident_id);
    } else if (change.entity === "event") {
      if (data.incident_id) touched.add(data.incident_id);
    }
  }
  emit({ kind: "changes", touched });
  return touched;
}

/** A clock as it stands now, on the server's clock: `{state, msLeft}`. */
export function clockNow(clock, now = serverNow()) {
  if (!clock) return { state: "none", msLeft: null };
  if (clock.met_at) return { state: clock.state === "met_late" ? "met_late" : "met", msLeft: null };
  if (!clock.due_at) return { state: "not_started", msLeft: null };
  const msLeft = Date.parse(clock.due_at) - now;
  // The server turns a clock overdue at its due time; the view does not wait to be told.
  return { state: msLeft < 0 || clock.state === "overdue" ? "overdue" : "running", msLeft };
}

export function isOverdue(incident, now = serverNow()) {
  return Object.values(incident.clocks || {}).some((c) => clockNow(c, now).state === "overdue");
}

/** Open review items: the listed queue, or those named on open incidents. */
export function openReviewItems() {
  if (store.reviewsListed) return [...store.reviews.values()];
  const items = [];
  for (const incident of store.incidents.values()) {
    for (const item of incident.review_items || []) {
      if (item.state === "open") items.push({ ...item, incident_id: incident.id });
    }
  }
  return items;
}

export function personName(id) {
  return store.people.get(id)?.name ?? (id ? id.slice(0, 8) : "");
}

export function stationName(id) {
  return store.stationsById.get(id)?.name ?? (id ? id.slice(0, 8) : "");
}

/** Dispatchers and admins record calls and send units (the server's rule, shown here). */
export function mayDispatch(person) {
  return ["dispatcher", "admin"].includes(person?.role);
}

/** Supervisors and admins resolve review items and mark body-camera clips. */
export function mayResolve(person) {
  return ["supervisor", "admin"].includes(person?.role);
}

/** Who lists the review queue (GET /api/reviews): supervisors and admins, and a station chief read only (§11). */
export function mayListReviews(person) {
  return ["supervisor", "admin", "station_chief"].includes(person?.role);
}

/** Stations a unit can be sent to: every one but the command center itself. */
export function fieldStations(stations = store.stations) {
  return stations.filter((s) => s.kind !== "command_center");
}
