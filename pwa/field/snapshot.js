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
  const [storedIncidents, storedRecords, storedOutbox, blobs, lastSynced, persisted] = await Promise.all([
    db.getAll("incidents"),
    db.getAll("records"),
    db.getAll("outbox"),
    db.getAll("blobs"),
    db.get("meta", "last_synced"),
    db.get("meta", "persisted"),
  ]);
  const [incidents, records, outbox] = await Promise.all([
    Promise.all(storedIncidents.map((i) => openIncident(vault, i))),
    Promise.all(storedRecords.map((r) => openRecord(vault, r))),
    Promise.all(storedOutbox.map((e) => openOp(vault, e))),
  ]);
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
