// Pure helpers: building ops (PROTOCOL §2) and reading incident records. No I/O here.
import { isOpen, newId } from "../core/index.js";

/**
 * An op without seq (the outbox gives it one). `deviceTime` is a Date taken when the thing
 * happened; `clockOffsetMs` the current estimate of server minus device clock, or null.
 */
export function buildOp(type, body, {
  incidentId = null,
  deviceTime = new Date(),
  clockOffsetMs = null,
  recordId = null,
  baseOpId = null,
  opId = newId(),
} = {}) {
  return {
    op_id: opId,
    type,
    incident_id: incidentId,
    device_time: deviceTime.toISOString(),
    clock_offset_ms: clockOffsetMs == null ? null : Math.round(clockOffsetMs),
    record_id: recordId,
    base_op_id: baseOpId,
    body,
  };
}

/** Empty text becomes null; a number field that is blank becomes null. */
export function intOrNull(value) {
  if (value === "" || value == null) return null;
  const n = Number.parseInt(value, 10);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/**
 * Where a clock stands: milliseconds left (negative once overdue), measured on the server's
 * clock (device now + offset), so a phone whose clock is wrong still counts down correctly.
 */
export function clockLeft(clock, nowMs, offsetMs = 0) {
  if (!clock || !clock.due_at) return null;
  if (clock.state === "met" || clock.state === "met_late") return { state: clock.state, ms: 0 };
  const ms = Date.parse(clock.due_at) - (nowMs + (offsetMs || 0));
  return { state: ms < 0 ? "overdue" : "running", ms };
}

/** The clock that matters now: arrival until met, then initial result, then clear. */
export function leadingClock(incident) {
  const clocks = incident.clocks || {};
  for (const name of ["arrival", "initial_result", "evidence", "clear"]) {
    const c = clocks[name];
    if (c && (c.state === "running" || c.state === "overdue")) return [name, c];
  }
  return null;
}

/** Is this person one of the incident's current assignees? */
export function isAssigned(incident, personId) {
  return (incident.assignees || []).some((a) => a.person_id === personId);
}

/** Open incidents assigned to the person, newest received first. */
export function myWork(incidents, personId) {
  return incidents
    .filter((i) => i.kind === "incident")
    .filter((i) => isOpen(i.status))
    .filter((i) => isAssigned(i, personId))
    .sort((a, b) => (a.received_at < b.received_at ? 1 : a.received_at > b.received_at ? -1 : 0));
}

/** Point-check requests (点调) addressed to the person (or to everyone) and not yet answered. */
export function openPointChecks(incident, personId, localReplies = new Set()) {
  return (incident.point_checks || []).filter(
    (p) =>
      !p.replied_at &&
      !localReplies.has(p.request_id) &&
      (!p.person_ids || p.person_ids.length === 0 || p.person_ids.includes(personId)),
  );
}

/**
 * The current view of an editable record (scene report or mediation outcome), merging what
 * the server says with versions recorded here that it has not reflected yet.
 * `serverRecord` is an item of the incident's `records` (or a mediation case's `record`);
 * `localVersions` are this device's records entries with that record_id.
 * Returns {record_id, head, body, conflicted, pending} or null.
 */
export function editableView(serverRecord, localVersions) {
  const known = new Set(serverRecord?.versions || []);
  const unseen = localVersions
    .filter((v) => v.local && !known.has(v.op_id))
    .sort((a, b) => a.seq - b.seq);
  if (unseen.length > 0) {
    const last = unseen[unseen.length - 1];
    return {
      record_id: last.record_id,
      head: last.op_id,
      body: last.body,
      conflicted: Boolean(serverRecord?.conflicted),
      pending: true,
    };
  }
  if (!serverRecord) return null;
  return {
    record_id: serverRecord.record_id,
    head: serverRecord.head,
    body: serverRecord.body,
    conflicted: Boolean(serverRecord.conflicted),
    pending: false,
  };
}

/** SHA-256 of a Blob as lowercase hex (needs a secure context, like the service worker). */
export async function sha256Hex(blob) {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** "3 分钟前"-style age from milliseconds, via the translator. */
export function ageText(t, ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return t("age.seconds", { n: s });
  if (s < 3600) return t("age.minutes", { n: Math.floor(s / 60) });
  if (s < 86400) return t("age.hours", { n: Math.floor(s / 3600) });
  return t("age.days", { n: Math.floor(s / 86400) });
}
