// The outbox: ops recorded on this device, kept until the server has answered for each.
//
// An op is written together with the seq counter and a local copy in `records`, in one
// transaction with durability "strict", so once record() resolves the op survives a crash,
// a reload or a restart. It leaves the outbox only on the server's `applied` or `duplicate`;
// a `rejected` op stays, with the server's code and message, for the officer to see.
// With a PIN set, the op and the local copy's body are stored sealed (field/at-rest.js):
// the functions take the vault, and without one they store and read values as they are.
// A fact may keep a `secret` in its local copy that never goes into the op (a rating
// invite's token: only its hash is sent); it is sealed like the body. `context` is kept in
// the clear beside it (times only: the diversion an agency's answer was made for).
import { entryOpId, openEntry, sealRecord } from "./at-rest.js";
import { strictTx } from "./db.js";
import { CLEAR } from "./vault.js";

/** The key under which `records` files a fact: its incident, or its standalone mediation case. */
export function parentKey(op) {
  // A rectification answers a notice (PROTOCOL §11): filed under it, not as a mediation.
  if (op.type === "rectification" && !op.incident_id) return `notice:${op.body?.notice_id}`;
  return op.incident_id || `mediation:${op.record_id || op.op_id}`;
}

/**
 * Record an op: give it the next seq and store it durably. `draft` is an op without seq.
 * `secret`, when given, is kept only in the local copy (`records`), never in the op.
 * `context`: fields kept in the clear in the local copy only (e.g. `{diverted_at}`: which
 * diversion an agency's answer belongs to; not personal, never sent).
 * Returns the stored op.
 */
export async function record(db, draft, {
  personId = null, now = () => new Date(), vault = CLEAR, secret = null, context = null,
} = {}) {
  // The seq is only known inside the transaction, and a transaction does not stay open
  // across WebCrypto's promises: seal the op without it, and the seq stays beside it.
  const sealedOp = await vault.seal(draft, "outbox");
  const localCopy = await sealRecord(vault, secret == null ? { body: draft.body } : { body: draft.body, secret });
  const tx = strictTx(db, ["outbox", "meta", "records"]);
  const meta = tx.objectStore("meta");
  const seq = ((await meta.get("seq")) || 0) + 1;
  const op = { ...draft, seq };
  await meta.put(seq, "seq");
  await tx.objectStore("outbox").put({
    seq,
    op_id: op.op_id,
    op: vault.sealing ? sealedOp : op,
    state: "pending",
    queued_at: now().toISOString(),
    attempts: 0,
  });
  await tx.objectStore("records").put({
    op_id: op.op_id,
    type: op.type,
    incident_id: op.incident_id,
    parent: parentKey(op),
    record_id: op.record_id || (isEditable(op.type) ? op.op_id : null),
    base_op_id: op.base_op_id,
    person_id: personId,
    device_time: op.device_time,
    body: localCopy.body,
    ...(secret == null ? {} : { secret: localCopy.secret }),
    ...(context || {}),
    seq,
    local: true,
    flags: [],
  });
  await tx.done;
  return op;
}

export function isEditable(type) {
  return type === "scene_report" || type === "mediation_outcome";
}

/** Pending entries, oldest seq first (the order the server should see them in). */
export async function pendingEntries(db, vault = CLEAR) {
  const all = await db.getAll("outbox");
  const pending = all.filter((e) => e.state === "pending").sort((a, b) => a.seq - b.seq);
  return Promise.all(pending.map((e) => openOp(vault, e)));
}

/** Rejected entries, oldest first, each with `code` and `message` from the server. */
export async function rejectedEntries(db, vault = CLEAR) {
  const all = await db.getAll("outbox");
  const rejected = all.filter((e) => e.state === "rejected").sort((a, b) => a.seq - b.seq);
  return Promise.all(rejected.map((e) => openOp(vault, e)));
}

/** An entry with its op readable; the op's seq is the entry's (it was sealed without it). */
export async function openOp(vault, entry) {
  const opened = await openEntry(vault, entry);
  return opened.op.seq === entry.seq ? opened : { ...opened, op: { ...opened.op, seq: entry.seq } };
}

/**
 * Apply a push answer: `applied` and `duplicate` leave the outbox, `rejected` stay with
 * their reason. Ops the answer does not mention stay pending. Returns counts.
 */
export async function applyResults(db, results) {
  const tx = strictTx(db, ["outbox", "records"]);
  const outbox = tx.objectStore("outbox");
  const records = tx.objectStore("records");
  const byOpId = new Map(results.map((r) => [r.op_id, r]));
  const counts = { delivered: 0, rejected: 0 };
  let cursor = await outbox.openCursor();
  while (cursor) {
    const entry = cursor.value;
    const result = byOpId.get(entryOpId(entry));
    if (result && entry.state === "pending") {
      if (result.status === "applied" || result.status === "duplicate") {
        await cursor.delete();
        const local = await records.get(entryOpId(entry));
        if (local) await records.put({ ...local, delivered: true });
        counts.delivered += 1;
      } else if (result.status === "rejected") {
        await cursor.update({
          ...entry,
          state: "rejected",
          code: result.code || "rejected",
          message: result.message || "",
        });
        counts.rejected += 1;
      }
    }
    cursor = await cursor.continue();
  }
  await tx.done;
  return counts;
}

/** Note a failed delivery attempt on the given entries (shown on the outbox screen). */
export async function noteAttempt(db, seqs, error) {
  const tx = strictTx(db, ["outbox"]);
  for (const seq of seqs) {
    const entry = await tx.store.get(seq);
    if (entry) await tx.store.put({ ...entry, attempts: entry.attempts + 1, last_error: error });
  }
  await tx.done;
}

/** Pending count, oldest pending queue time, rejected count. */
export async function outboxStats(db) {
  const all = await db.getAll("outbox");
  let pending = 0;
  let rejected = 0;
  let oldest = null;
  for (const e of all) {
    if (e.state === "pending") {
      pending += 1;
      if (!oldest || e.queued_at < oldest) oldest = e.queued_at;
    } else rejected += 1;
  }
  return { pending, rejected, oldestQueuedAt: oldest };
}
