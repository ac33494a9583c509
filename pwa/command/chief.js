// The station chief's desk (PROTOCOL §11): a station chief may sign in to the command view
// (the other field roles may not) and sees their own station's board, review items (read
// only), supervision orders, notices and reports — the server scopes every list. The chief
// answers an order (`supervision_reply`) or a notice (`rectification`) from here by pushing
// the op through POST /api/sync/push with this desk's own device id (from sign-in) and a
// per-device seq counter kept in localStorage (PROTOCOL §2, §3).

import {
  COMMAND_ROLES,
  isCommandRole,
  newId,
  RECTIFICATION,
  SUPERVISION_REPLY,
} from "../core/index.js";
import { currentSession, post } from "./api.js";
import { store } from "./store.js";

export const CHIEF = "station_chief";
const SEQ_KEY = "qingling.command.seq";
const storage = () => globalThis.localStorage;

/** Who may use the command view: the command-center roles and a station chief. */
export function mayUseCommandView(role) {
  return isCommandRole(role) || role === CHIEF;
}

export function isChief(person) {
  return person?.role === CHIEF;
}

/** Supervisors and admins issue orders and notices, and accept or reject replies. */
export function maySupervise(person) {
  return ["supervisor", "admin"].includes(person?.role);
}

/** The pages of the view a person has, in the order of the menu. */
export function pagesFor(person) {
  const role = person?.role;
  if (role === CHIEF) return ["board", "reviews", "supervision", "notices", "reports", "meeting"];
  if (!COMMAND_ROLES.includes(role)) return [];
  const pages = ["board", "reviews", "callbacks", "supervision", "notices", "reports", "meeting"];
  if (role === "admin") pages.push("duties");
  return pages;
}

/** Whether this chief answers for the station (their own station only). */
export function answersFor(person, stationId) {
  return isChief(person) && Boolean(stationId) && person.station_id === stationId;
}

// ---- The desk's device and its seq counter ----

function seqTable() {
  try {
    const parsed = JSON.parse(storage()?.getItem(SEQ_KEY) || "{}");
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch {
    return {};
  }
}

/** The last seq this desk used for the device (0 before its first op). */
export function lastSeq(deviceId) {
  const n = Number(seqTable()[deviceId]);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** Take the device's next seq (1, 2, 3 ...), kept in localStorage per device id. */
export function takeSeq(deviceId) {
  const table = seqTable();
  const next = lastSeq(deviceId) + 1;
  table[deviceId] = next;
  storage()?.setItem(SEQ_KEY, JSON.stringify(table));
  return next;
}

/** Never count below what the server holds (another tab, a cleared store): `acked_seq`. */
export function noteAckedSeq(deviceId, acked) {
  if (!Number.isInteger(acked) || acked <= lastSeq(deviceId)) return;
  const table = seqTable();
  table[deviceId] = acked;
  storage()?.setItem(SEQ_KEY, JSON.stringify(table));
}

/**
 * An op (PROTOCOL §2) as this desk records it: a fresh op_id, the device's next seq, the
 * device time now and the desk's estimate of the server's clock offset.
 */
export function buildOp({ deviceId, type, incidentId, body, now = new Date(), offsetMs = 0 }) {
  return {
    op_id: newId(),
    seq: takeSeq(deviceId),
    type,
    incident_id: incidentId ?? null,
    device_time: now.toISOString(),
    clock_offset_ms: Math.round(offsetMs),
    record_id: null,
    base_op_id: null,
    body,
  };
}

/** The `supervision_reply` op: `incident_id` is the order's incident. */
export function replyOp(order, text, { deviceId, now, offsetMs } = {}) {
  return buildOp({
    deviceId,
    type: SUPERVISION_REPLY,
    incidentId: order.incident_id,
    body: { order_id: order.id, text: String(text).trim(), attachments: [] },
    now,
    offsetMs,
  });
}

/** The `rectification` op: `incident_id` null (it answers a notice, not an incident). */
export function rectificationOp(notice, text, { deviceId, now, offsetMs } = {}) {
  return buildOp({
    deviceId,
    type: RECTIFICATION,
    incidentId: null,
    body: { notice_id: notice.id, text: String(text).trim(), attachments: [] },
    now,
    offsetMs,
  });
}

/** POST /api/sync/push's body for one op or several (in seq order). */
export function pushBody(deviceId, ops, now = new Date()) {
  return { device_id: deviceId, sent_at: now.toISOString(), ops: Array.isArray(ops) ? ops : [ops] };
}

/**
 * What a push answered for the op: `{status: "applied"|"duplicate"|"rejected", code,
 * message}` (a missing result reads as rejected, code `invalid`).
 */
export function pushOutcome(answer, opId) {
  const result = (answer?.results || []).find((r) => r.op_id === opId);
  if (!result) return { status: "rejected", code: "invalid", message: "" };
  return { status: result.status, code: result.code ?? null, message: result.message ?? "" };
}

// Ops whose push got no answer (network, 5xx): sent again as they are (same op_id and seq),
// so a retry is never a second fact. Key: what the op answers (order or notice id).
const unsent = new Map();

/**
 * The ops one send of the form pushes. The same text as an unanswered earlier send: that
 * very op again. A different text: the earlier op still goes first (the server may already
 * hold it, and what the chief sent is never dropped; its seq is not left as a gap behind
 * `acked_seq`), then the new one with the next seq. The last op is the one the form shows.
 */
export function opsToSend(pending, text, build) {
  if (pending && pending.at(-1).body.text === text) return pending;
  return [...(pending || []), build()];
}

/**
 * Record an answer from this desk: build the op (or take the unsent one for the same
 * target and text), push it, and resolve the outcome. Throws the ApiError of a push that
 * got no answer or a whole-request error (the ops are kept to send again).
 */
export async function pushAnswer(kind, target, text) {
  const session = currentSession();
  const deviceId = session?.device_id;
  if (!deviceId) throw new Error("no device");
  const key = `${kind}:${target.id}`;
  const trimmed = String(text).trim();
  const ops = opsToSend(unsent.get(key), trimmed, () => {
    const opts = { deviceId, offsetMs: store.serverOffsetMs };
    return kind === SUPERVISION_REPLY ? replyOp(target, trimmed, opts) : rectificationOp(target, trimmed, opts);
  });
  unsent.set(key, ops);
  const answer = await post("/api/sync/push", pushBody(deviceId, ops));
  unsent.delete(key);
  noteAckedSeq(deviceId, answer.acked_seq);
  return pushOutcome(answer, ops.at(-1).op_id);
}
