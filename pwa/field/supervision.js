// PROTOCOL §11 on the phone, pure (no I/O): supervision orders (督办; level "bureau" is
// 挂牌督办) and notices (通报) as the feed sent them, merged with what this phone recorded
// and has not seen reflected yet (a reply, a rectification); the ops' bodies; the case
// (立案/破案/结案/移送); 三反馈; and which mediation records are due a follow-up.
//
// Orders and notices are kept in the `incidents` store (sealed like incidents, cleared with
// them on a reset or sign-out) under kinds "supervision" and "notice"; snapshot.js splits
// them out as `snap.orders` and `snap.notices`.

/** The wire vocabulary (sync/messages.py). */
export const SUPERVISION_LEVELS = Object.freeze(["station", "bureau"]);
export const SUPERVISION_STATES = Object.freeze(["open", "answered", "accepted"]);
export const NOTICE_KINDS = Object.freeze(["criticism", "commendation", "briefing"]);
export const RECTIFICATION_STATES = Object.freeze(["owed", "done", "overdue"]);
export const CASE_STAGES = Object.freeze(["filed", "solved", "closed", "transferred"]);

/** Feed entities this module keeps, and the `kind` they are stored under. */
export const STORED_KINDS = Object.freeze({ supervision: "supervision", notice: "notice" });

// --- Ops -------------------------------------------------------------------------------

/** `supervision_reply` body; the op's incident_id must be the order's incident. */
export function replyBody(order, text, attachments = []) {
  return { order_id: order.id, text, attachments: [...attachments] };
}

/** Options for `act` that go with a reply: the order's incident. */
export function replyOptions(order) {
  return { incidentId: order.incident_id };
}

/** `rectification` body; the op's incident_id is null (it answers a notice). */
export function rectificationBody(notice, text, attachments = []) {
  return { notice_id: notice.id, text, attachments: [...attachments] };
}

/** `case_progress` body: a case number (trimmed, 1–64 characters) and a stage. */
export function caseProgressBody(caseNumber, stage) {
  const number = String(caseNumber ?? "").trim();
  if (!number || number.length > 64) throw new RangeError("case_number");
  if (!CASE_STAGES.includes(stage)) throw new RangeError("stage");
  return { case_number: number, stage };
}

// --- Who may answer --------------------------------------------------------------------

/** The chief of the order's station answers it (a linked agency's person, for an agency). */
export function canReply(order, person) {
  if (!order || !person || person.station_id !== order.station_id) return false;
  return person.role === "station_chief" || person.role === "agency";
}

/** The chief of a station a notice names owes its rectification (only with rectify_by). */
export function canRectify(notice, person) {
  if (!notice?.rectify_by || !person || person.role !== "station_chief") return false;
  return (notice.station_ids || []).includes(person.station_id);
}

// --- Orders ----------------------------------------------------------------------------

/** This phone's replies to an order (records of type supervision_reply), oldest first. */
function localReplies(order, records, rejectedIds = new Set()) {
  return records
    .filter((r) => r.type === "supervision_reply" && r.body?.order_id === order.id && !rejectedIds.has(r.op_id))
    .sort((a, b) => (a.device_time < b.device_time ? -1 : a.device_time > b.device_time ? 1 : 0));
}

/**
 * An order as the phone shows it: the server's view, and `pending` — a reply recorded here
 * that the order does not list yet, which makes an open order read `answered` offline.
 * `state` is the shown state; `server_state` what the feed said.
 */
export function orderView(order, records = [], rejectedIds = new Set()) {
  const known = new Set((order.replies || []).map((r) => r.op_id));
  const mine = localReplies(order, records, rejectedIds);
  const unseen = mine.filter((r) => !known.has(r.op_id));
  const pending = unseen.length > 0 ? unseen[unseen.length - 1] : null;
  const state = order.state === "open" && pending ? "answered" : order.state;
  return { ...order, server_state: order.state, state, pending, mine };
}

/**
 * The order's clock as the phone says it: accepted → met / met_late; answered (here or
 * on the server) → awaiting the supervisor (never overdue); open → running or overdue,
 * counted on the server's clock (device now + offset).
 */
export function orderClock(view, nowMs, offsetMs = 0) {
  const clock = view.clock || { due_at: view.due_at, state: "running" };
  if (view.state === "accepted") return { state: clock.state === "met_late" ? "met_late" : "met", ms: 0 };
  const ms = Date.parse(clock.due_at || view.due_at) - (nowMs + (offsetMs || 0));
  if (view.state === "answered") return { state: "answered", ms };
  return { state: ms < 0 ? "overdue" : "running", ms };
}

/** Newest issued first; 挂牌督办 (bureau) before the station's own within the same state. */
export function sortOrders(views) {
  const rank = { open: 0, answered: 1, accepted: 2 };
  return [...views].sort(
    (a, b) =>
      (rank[a.state] ?? 3) - (rank[b.state] ?? 3) ||
      (a.level === "bureau" ? 0 : 1) - (b.level === "bureau" ? 0 : 1) ||
      (a.issued_at < b.issued_at ? 1 : a.issued_at > b.issued_at ? -1 : 0),
  );
}

/** The orders on one incident (the record's `supervision` refs, completed from the store). */
export function ordersOfIncident(incident, orders, records = [], rejectedIds = new Set()) {
  const byId = new Map(orders.map((o) => [o.id, o]));
  const ids = new Set([...(incident.supervision || []).map((r) => r.id), ...orders.filter((o) => o.incident_id === incident.id).map((o) => o.id)]);
  const out = [];
  for (const id of ids) {
    const full = byId.get(id);
    if (full) out.push(orderView(full, records, rejectedIds));
    else {
      const ref = incident.supervision.find((r) => r.id === id);
      out.push({ ...ref, incident_id: incident.id, number: incident.number, clock: { due_at: ref.due_at, state: ref.clock_state }, instructions: "", partial: true });
    }
  }
  return sortOrders(out);
}

// --- Notices ---------------------------------------------------------------------------

/** This phone's rectification for a notice (the latest not rejected), or null. */
function localRectification(notice, records, rejectedIds) {
  const mine = records
    .filter((r) => r.type === "rectification" && r.body?.notice_id === notice.id && !rejectedIds.has(r.op_id))
    .sort((a, b) => (a.device_time < b.device_time ? -1 : 1));
  return mine[mine.length - 1] || null;
}

/**
 * A notice as the phone shows it for `stationId`: `mine` is that station's entry (null when
 * the notice does not name it), `owed` whether it still has to answer, `pending` a
 * rectification recorded here the notice does not show as done yet.
 */
export function noticeView(notice, stationId, records = [], rejectedIds = new Set(), nowMs = Date.now()) {
  const entry = (notice.stations || []).find((s) => s.station_id === stationId) || null;
  const local = localRectification(notice, records, rejectedIds);
  const serverDone = entry?.state === "done";
  const pending = local && !serverDone ? local : null;
  let state = entry?.state ?? null;
  if (pending) state = "done";
  else if (state === "owed" && notice.rectify_by && Date.parse(notice.rectify_by) < nowMs) state = "overdue";
  return { ...notice, mine: entry, state, pending, owed: state === "owed" || state === "overdue" };
}

/** Newest first. */
export function sortNotices(notices) {
  return [...notices].sort((a, b) => (a.issued_at < b.issued_at ? 1 : a.issued_at > b.issued_at ? -1 : 0));
}

// --- Badges ----------------------------------------------------------------------------

/**
 * What the badge counts: orders not yet opened on this phone that are not accepted, and
 * notices not yet opened. `seen` is {orders: [ids], notices: [ids]} (meta "seen").
 */
export function unseenCounts(orders, notices, seen = {}) {
  const so = new Set(seen.orders || []);
  const sn = new Set(seen.notices || []);
  return {
    orders: orders.filter((o) => o.state !== "accepted" && !so.has(o.id)).length,
    notices: notices.filter((n) => !sn.has(n.id)).length,
  };
}

// --- Cases -----------------------------------------------------------------------------

/** This incident's facts (server events and this phone's), rejected ops left out. */
function factsOf(incidentId, records, rejectedIds) {
  return records.filter((r) => r.incident_id === incidentId && !rejectedIds.has(r.op_id));
}

/**
 * Is the incident a case? The record's `case.accepted`, or a `case_accepted` disposition
 * among its events or recorded here (so the form shows offline right after recording it).
 */
export function isCase(incident, records = [], rejectedIds = new Set()) {
  if (incident?.case?.accepted) return true;
  return factsOf(incident.id, records, rejectedIds).some(
    (r) => r.type === "disposition" && r.body?.result === "case_accepted",
  );
}

/**
 * The case as the phone shows it: the record's `case` (stages in effective-time order)
 * followed by progress recorded here that it does not list yet (`pending: true`).
 */
export function caseView(incident, records = [], rejectedIds = new Set()) {
  const server = incident?.case || null;
  const known = new Set((server?.stages || []).map((s) => s.op_id));
  const local = factsOf(incident.id, records, rejectedIds)
    .filter((r) => r.type === "case_progress" && r.local && !known.has(r.op_id))
    .sort((a, b) => (a.device_time < b.device_time ? -1 : 1));
  const stages = [
    ...(server?.stages || []).map((s) => ({ ...s, pending: false })),
    ...local.map((r) => ({ stage: r.body.stage, at: r.device_time, op_id: r.op_id, case_number: r.body.case_number, pending: true })),
  ];
  if (!server && stages.length === 0) return null;
  const last = local[local.length - 1];
  return {
    accepted: Boolean(server?.accepted),
    case_number: last ? last.body.case_number : server?.case_number ?? null,
    stage: last ? last.body.stage : server?.stage ?? null,
    filed_at: server?.filed_at ?? stages[0]?.at ?? null,
    stages,
  };
}

// --- 三反馈 ----------------------------------------------------------------------------

/**
 * Which of arrival / scene report / disposition are in: the record's `three_feedbacks`,
 * or-ed with the facts this phone holds (its own queued ops included), so it is right
 * offline. Each entry is "server", "here" (only known on this phone) or null.
 */
export function threeFeedbacks(incident, records = [], rejectedIds = new Set()) {
  const server = incident?.three_feedbacks || {};
  const facts = factsOf(incident.id, records, rejectedIds);
  const has = (type) => facts.some((r) => r.type === type);
  const one = (key, type) => (server[key] ? "server" : has(type) ? "here" : null);
  return {
    arrival: one("arrival", "arrival"),
    scene: one("scene", "scene_report"),
    disposition: one("disposition", "disposition"),
  };
}

// --- Mediation follow-ups --------------------------------------------------------------

/** Today's date (YYYY-MM-DD) in Asia/Shanghai, on the server's clock. */
export function shanghaiToday(nowMs = Date.now(), offsetMs = 0) {
  return new Intl.DateTimeFormat("en-CA", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
  }).format(new Date(nowMs + (offsetMs || 0)));
}

/**
 * Mediation records whose displayed head asks for a follow-up on or before `today`, for a
 * person among its mediators. `views` are mediation views ({record_id, body, incident_id,
 * ...}: snapshot.js mediationView). Oldest due first.
 */
export function dueFollowUps(views, personId, today) {
  return views
    .filter((v) => v?.body?.follow_up_on && v.body.follow_up_on <= today)
    .filter((v) => (v.body.mediator_ids || []).includes(personId))
    .sort((a, b) => (a.body.follow_up_on < b.body.follow_up_on ? -1 : a.body.follow_up_on > b.body.follow_up_on ? 1 : 0));
}
