// What the screens show, read from IndexedDB in one go (never straight from the network,
// so the app looks the same with or without coverage), and views over it.
import { openIncident, openRecord } from "./at-rest.js";
import { editableView } from "./model.js";
import { openOp, outboxStats } from "./outbox.js";
import { CLEAR } from "./vault.js";

/**
 * Everything the screens need, read from IndexedDB in one go and opened with the vault.
 * While the vault is closed (a PIN set and not entered yet) only what is stored in the
 * clear can be told: `{sealed: true, stats}` with the outbox's counts.
 */
export async function loadSnapshot(db, vault = CLEAR) {
  if (!vault.unlocked) return { sealed: true, stats: await outboxStats(db) };
  const [storedIncidents, storedRecords, storedOutbox, blobs, lastSynced, persisted, seen] = await Promise.all([
    db.getAll("incidents"),
    db.getAll("records"),
    db.getAll("outbox"),
    db.getAll("blobs"),
    db.get("meta", "last_synced"),
    db.get("meta", "persisted"),
    db.get("meta", "seen"),
  ]);
  const [stored, records, outbox] = await Promise.all([
    Promise.all(storedIncidents.map((i) => openIncident(vault, i))),
    Promise.all(storedRecords.map((r) => openRecord(vault, r))),
    Promise.all(storedOutbox.map((e) => openOp(vault, e))),
  ]);
  // PROTOCOL §11: supervision orders and notices share the store (field/supervision.js).
  const incidents = stored.filter((i) => i.kind === "incident" || i.kind === "mediation");
  const orders = stored.filter((i) => i.kind === "supervision");
  const notices = stored
    .filter((i) => i.kind === "notice")
    .map(({ notice_kind: kind, ...n }) => ({ ...n, kind }));
  const pending = outbox.filter((e) => e.state === "pending").sort((a, b) => a.seq - b.seq);
  const rejected = outbox.filter((e) => e.state === "rejected").sort((a, b) => a.seq - b.seq);
  const pendingIds = new Set(pending.map((e) => e.op.op_id));
  const rejectedIds = new Set(rejected.map((e) => e.op.op_id));
  let conflicts = 0;
  for (const i of incidents) {
    if (i.kind === "incident") conflicts += (i.records || []).filter((r) => r.conflicted).length;
    else if (i.record?.conflicted) conflicts += 1;
  }
  return {
    sealed: false,
    stats: { pending: pending.length, rejected: rejected.length },
    incidents,
    byId: new Map(incidents.map((i) => [i.id, i])),
    orders,
    notices,
    seen: seen || { orders: [], notices: [] },
    records,
    pending,
    rejected,
    pendingIds,
    rejectedIds,
    blobs: blobs.filter((b) => !b.failed),
    lastSynced: lastSynced || null,
    persisted: persisted ?? null,
    conflicts,
  };
}

/** An op's delivery state as the screens say it: "pending", "rejected" or "sent". */
export function stateOf(snap, opId) {
  if (snap.pendingIds.has(opId)) return "pending";
  if (snap.rejectedIds.has(opId)) return "rejected";
  return "sent";
}

/** Standalone mediation cases: the server's, and those recorded here it has not confirmed. */
export function mediationCases(snap) {
  const ids = new Set();
  for (const i of snap.incidents) if (i.kind === "mediation") ids.add(i.id);
  for (const r of snap.records) if (r.type === "mediation_outcome" && !r.incident_id) ids.add(r.record_id);
  const out = [];
  for (const id of ids) {
    const view = mediationView(snap, id);
    if (view) out.push(view);
  }
  return out;
}

/** The current view of a mediation outcome (server and local versions), or null. */
export function mediationView(snap, recordId) {
  const versions = snap.records.filter((r) => r.record_id === recordId);
  const standalone = snap.byId.get(recordId);
  let serverRecord = standalone?.kind === "mediation" ? standalone.record : null;
  const incidentId = versions[0]?.incident_id;
  if (!serverRecord && incidentId) {
    serverRecord = (snap.byId.get(incidentId)?.records || []).find((r) => r.record_id === recordId) || null;
  }
  const view = editableView(serverRecord, versions);
  return view && { ...view, incident_id: incidentId || null };
}

/**
 * Every mediation record the phone holds, standalone or on an incident, as its current view
 * ({record_id, head, body, conflicted, pending, incident_id}): what the follow-up reminder
 * reads (field/supervision.js dueFollowUps).
 */
export function allMediationViews(snap) {
  const out = new Map();
  for (const v of mediationCases(snap)) out.set(v.record_id, v);
  for (const i of snap.incidents) {
    if (i.kind !== "incident") continue;
    for (const rec of i.records || []) {
      if (rec.type !== "mediation_outcome" || out.has(rec.record_id)) continue;
      const view = editableView(rec, snap.records.filter((r) => r.record_id === rec.record_id));
      if (view) out.set(rec.record_id, { ...view, incident_id: i.id });
    }
  }
  for (const r of snap.records) {
    if (r.type !== "mediation_outcome" || out.has(r.record_id)) continue;
    const view = mediationView(snap, r.record_id);
    if (view) out.set(r.record_id, view);
  }
  return [...out.values()];
}
