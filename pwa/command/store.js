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

/** Put an incident record on the board (or take it off once closed or cancelled). */
export function putIncident(record) {
  const held = store.incidents.get(record.id);
  // A record never goes backwards: a snapshot older than what the feed delivered loses.
  if (held && held.version > record.version) return false;
  if (isOpen(record.status)) {
    store.incidents.set(record.id, record);
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
