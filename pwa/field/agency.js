// A linked agency's own flow (PROTOCOL §10, non-police diversion): pure helpers over what
// the phone holds, no I/O. A person with the role `agency` (县12345热线, 住建局, a township)
// sees the calls 110 diverted to their unit ("交办事项"), acknowledges them (`ack_dispatch`)
// and answers with `agency_feedback` {"outcome", "text", "attachments"}.
//
// Which diversion a fact belongs to: a call returned by the agency may be diverted to it
// again later, and what was recorded for the first diversion must not count for the
// second. Facts recorded here keep the `diverted_at` of the diversion they answered (in
// their local copy only, `context`); facts from the server (a colleague's) are judged by
// their effective time.
import { AGENCY_CLOCKS, AGENCY_OUTCOMES, DIVERTED } from "../core/index.js";

export const AGENCY_ROLE = "agency";

/** Is the signed-in person a linked agency's (their screens replace the police ones)? */
export function isAgency(person) {
  return person?.role === AGENCY_ROLE;
}

function ms(iso) {
  const t = Date.parse(iso || "");
  return Number.isFinite(t) ? t : null;
}

/** Is the call diverted to this station now, by the server's record? */
export function divertedTo(incident, stationId) {
  return Boolean(
    incident &&
      incident.kind === "incident" &&
      incident.status === DIVERTED &&
      stationId &&
      incident.station_id === stationId,
  );
}

/** Does a fact (a `records` entry) answer the incident's current diversion? */
export function forCurrentDiversion(incident, fact) {
  const at = ms(incident?.diversion?.diverted_at);
  if (at == null) return true; // the record names no diversion: nothing to tell them apart by
  if (fact.diverted_at) return ms(fact.diverted_at) === at;
  const when = ms(fact.effective_time || fact.device_time);
  return when == null || when >= at;
}

/** This incident's facts of one type that answer its current diversion, oldest first. */
function factsOf(incident, records, type) {
  return records
    .filter((r) => r.incident_id === incident.id && r.type === type && forCurrentDiversion(incident, r))
    .sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity) || (a.device_time < b.device_time ? -1 : 1));
}

/**
 * A local `agency_feedback` with outcome `returned` that the server has taken (delivered)
 * for the current diversion: the call is no longer the agency's, whatever the stored copy
 * still says (the server's next word about it is outside our scope and never comes).
 */
export function returnedHere(incident, records, rejectedIds = new Set()) {
  return factsOf(incident, records, "agency_feedback").some(
    (r) => r.local && r.delivered && !rejectedIds.has(r.op_id) && r.body?.outcome === "returned",
  );
}

/**
 * The agency's list, "交办事项": calls whose server record says they are diverted to the
 * person's station, newest diversion first (received time when the record names none),
 * less those this phone returned and the server took.
 */
export function agencyWork(incidents, person, records = [], rejectedIds = new Set()) {
  const key = (i) => i.diversion?.diverted_at || i.received_at || "";
  return incidents
    .filter((i) => divertedTo(i, person?.station_id))
    .filter((i) => !returnedHere(i, records, rejectedIds))
    .sort((a, b) => (key(a) < key(b) ? 1 : key(a) > key(b) ? -1 : 0));
}

/** The agency's clocks of a call, in order, as [name, clock] (only those the record has). */
export function agencyClocks(incident) {
  const clocks = incident?.clocks || {};
  return AGENCY_CLOCKS.filter((n) => clocks[n]).map((n) => [n, clocks[n]]);
}

/**
 * Whether the call was acknowledged for its current diversion: by the server's record
 * (anyone of the agency), or here (pending until the server says so).
 * → {at, pending, opId} or null.
 */
export function acknowledgement(incident, records, pendingIds = new Set()) {
  const server = incident?.diversion?.acknowledged_at;
  if (server) return { at: server, pending: false, opId: null };
  const local = factsOf(incident, records, "ack_dispatch").find((r) => r.local);
  if (!local) return null;
  return { at: local.device_time, pending: pendingIds.has(local.op_id), opId: local.op_id };
}

/**
 * The feedback on screen for the current diversion → {outcome, text, attachments, at,
 * state, opId} or null. `state`: "pending" (in the outbox), "sent" (taken, not yet in the
 * record we hold), "recorded" (the server's `diversion.feedback`). A rejected one is not
 * feedback: the form comes back (`rejected` says why).
 */
export function feedbackView(incident, records, { pendingIds = new Set(), rejectedIds = new Set() } = {}) {
  const local = factsOf(incident, records, "agency_feedback").filter((r) => r.local && !rejectedIds.has(r.op_id));
  const last = local[local.length - 1];
  if (last && pendingIds.has(last.op_id)) return { ...last.body, at: last.device_time, state: "pending", opId: last.op_id };
  const server = incident?.diversion?.feedback;
  if (server) return { ...server, state: "recorded", opId: null };
  if (last) return { ...last.body, at: last.device_time, state: "sent", opId: last.op_id };
  return null;
}

/** A rejected feedback of the current diversion, if the last one was: {code, message}. */
export function rejectedFeedback(incident, records, rejected = []) {
  const facts = factsOf(incident, records, "agency_feedback").filter((r) => r.local);
  const last = facts[facts.length - 1];
  const entry = last && rejected.find((e) => e.op_id === last.op_id);
  return entry ? { code: entry.code, message: entry.message } : null;
}

/**
 * Check the feedback form: an outcome of the protocol's and some text (for `returned`,
 * the reason). → {ok, errors: {outcome?, text?}} with "required" for what is missing.
 */
export function validateFeedback({ outcome, text }) {
  const errors = {};
  if (!AGENCY_OUTCOMES.includes(outcome)) errors.outcome = "required";
  if (!String(text ?? "").trim()) errors.text = "required";
  return { ok: Object.keys(errors).length === 0, errors };
}

/** The `agency_feedback` body exactly as PROTOCOL §10 has it. */
export function agencyFeedbackBody({ outcome, text, attachments = [] }) {
  return { outcome, text: String(text).trim(), attachments: [...new Set(attachments)] };
}

/** The local copy's context: which diversion this answer is for. */
export function diversionContext(incident) {
  const at = incident?.diversion?.diverted_at;
  return at ? { diverted_at: at } : null;
}

/**
 * Record the agency's acknowledgement (`ack_dispatch` {}, which meets `agency_ack`) with
 * the device's `act` (field/device.js).
 */
export function recordAck(act, incident) {
  return act("ack_dispatch", {}, { incidentId: incident.id, context: diversionContext(incident) });
}

/**
 * Record the agency's feedback: the photos' bytes are kept first (`saveBlob`, uploaded by
 * the sync loop after the op, retried while offline), then the op goes to the outbox.
 * `photos`: [{sha256, file}]. Throws on an invalid form (check validateFeedback first).
 */
export async function recordFeedback(act, saveBlob, incident, { outcome, text, photos = [] }) {
  const check = validateFeedback({ outcome, text });
  if (!check.ok) throw new Error(`invalid feedback: ${Object.keys(check.errors).join(", ")}`);
  for (const p of photos) await saveBlob(p.sha256, p.file);
  const body = agencyFeedbackBody({ outcome, text, attachments: photos.map((p) => p.sha256) });
  return act("agency_feedback", body, { incidentId: incident.id, context: diversionContext(incident) });
}

/** Where a call stands for the agency, for its list tag: returning, fed_back, acknowledged, new. */
export function agencyState(incident, records, pendingIds = new Set(), rejectedIds = new Set()) {
  const fb = feedbackView(incident, records, { pendingIds, rejectedIds });
  if (fb?.outcome === "returned") return "returning";
  if (fb) return "fed_back";
  if (acknowledgement(incident, records, pendingIds)) return "acknowledged";
  return "new";
}
