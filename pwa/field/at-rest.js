// How each store's values are kept at rest: sealed by the vault (field/vault.js) when a PIN
// is set, as they are without one. What stays in the clear is what IndexedDB needs to
// find, order and count things without the key:
//
//   outbox     `op` sealed (the whole op: type, incident, body, times); clear: seq, op_id,
//              state, queued_at, attempts, last_error, and a rejection's code and message
//   records    `body` sealed, and `secret` (a rating invite's token, kept only here);
//              clear: op_id, type, incident id, parent, record_id, base_op_id, person id,
//              times, flags, local/delivered
//   incidents  everything sealed (number, address, caller, narrative, assignees, clocks,
//              records...) but id, kind and version
//   blobs      the bytes sealed; clear: sha256, type, size, failed
//   meta       session.token sealed; the rest clear (the person's id, name, role and station,
//              user names and device ids, seq, cursor, clock samples, last sync, the ids
//              of the orders and notices opened here)
//
// Values written before a PIN was set (or by an older version of the app) are read as they
// are, and resealAll() seals them once the key is in memory.
import { strictTx } from "./db.js";
import { CLEAR, isSealed } from "./vault.js";

export async function sealEntry(vault, entry) {
  return { ...entry, op_id: entry.op.op_id, op: await vault.seal(entry.op, "outbox") };
}

export async function openEntry(vault, entry) {
  return isSealed(entry.op) ? { ...entry, op: await vault.open(entry.op, "outbox") } : entry;
}

/** An outbox entry's op_id without the key (entries from before the vault carry it in `op`). */
export function entryOpId(entry) {
  return entry.op_id ?? entry.op?.op_id;
}

/** A `records` entry as stored: its body, and its secret if it has one, sealed. */
export async function sealRecord(vault, record) {
  const sealed = { ...record };
  if (!isSealed(record.body)) sealed.body = await vault.seal(record.body ?? null, "records");
  if (record.secret != null && !isSealed(record.secret)) sealed.secret = await vault.seal(record.secret, "secrets");
  return sealed;
}

export async function openRecord(vault, record) {
  let opened = record;
  if (isSealed(record.body)) opened = { ...opened, body: await vault.open(record.body, "records") };
  if (isSealed(record.secret)) opened = { ...opened, secret: await vault.open(record.secret, "secrets") };
  return opened;
}

/** Whether a `records` entry still holds something in the clear that a PIN would seal. */
function recordInClear(record) {
  return !isSealed(record.body) || (record.secret != null && !isSealed(record.secret));
}

export async function sealIncident(vault, incident) {
  if (!vault.sealing) return incident;
  const { id, kind, version, ...rest } = incident;
  return { id, kind, version, sealed: await vault.seal(rest, "incidents") };
}

export async function openIncident(vault, stored) {
  if (!stored?.sealed) return stored;
  const { id, kind, version } = stored;
  return { ...(await vault.open(stored.sealed, "incidents")), id, kind, version };
}

/** `{sha256, blob, type, size}` as stored. */
export async function sealBlob(vault, entry) {
  if (!vault.sealing) return entry;
  const { blob, ...rest } = entry;
  return { ...rest, sealed: await vault.sealBytes(await blob.arrayBuffer(), "blobs") };
}

export async function openBlob(vault, stored) {
  if (!stored?.sealed) return stored;
  const { sealed, ...rest } = stored;
  const bytes = await vault.openBytes(sealed, "blobs");
  return { ...rest, blob: new Blob([bytes], { type: stored.type || "application/octet-stream" }) };
}

/** The session `{token, device_id, person, username, ended?}` with its token sealed. */
export async function sealSession(vault, session) {
  if (!session || session.token == null) return session;
  return { ...session, token: await vault.seal(session.token, "session") };
}

export async function openSession(vault, stored) {
  if (!stored || !isSealed(stored.token)) return stored;
  return { ...stored, token: await vault.open(stored.token, "session") };
}

/**
 * Seal every value still stored in the clear (written before the PIN was set, or by an
 * older version). A value changed since it was read is left to its writer, which sealed
 * it. Returns how many values were sealed.
 */
export async function resealAll(db, vault = CLEAR) {
  if (!vault.sealing) return 0;
  let n = 0;
  n += await resealStore(db, "outbox", (e) => !isSealed(e.op), (e) => sealEntry(vault, e));
  n += await resealStore(db, "records", recordInClear, (r) => sealRecord(vault, r));
  n += await resealStore(db, "incidents", (i) => !i.sealed, (i) => sealIncident(vault, i));
  n += await resealStore(db, "blobs", (b) => !b.sealed, (b) => sealBlob(vault, b));
  const session = await db.get("meta", "session");
  if (session?.token != null && !isSealed(session.token)) {
    const sealed = await sealSession(vault, session);
    const tx = strictTx(db, ["meta"]);
    const current = await tx.store.get("session");
    if (current?.token === session.token) await tx.store.put(sealed, "session");
    await tx.done;
    n += 1;
  }
  return n;
}

async function resealStore(db, name, isClear, seal) {
  const clear = (await db.getAll(name)).filter(isClear);
  if (clear.length === 0) return 0;
  // Crypto first: an IndexedDB transaction does not stay open across other promises.
  const sealed = await Promise.all(clear.map(seal));
  const tx = strictTx(db, [name]);
  const keyPath = tx.store.keyPath;
  let n = 0;
  for (let i = 0; i < clear.length; i++) {
    const current = await tx.store.get(clear[i][keyPath]);
    if (current && isClear(current) && JSON.stringify(current) === JSON.stringify(clear[i])) {
      await tx.store.put(sealed[i]);
      n += 1;
    }
  }
  await tx.done;
  return n;
}

/**
 * Forget the signed-in person on this phone: what the server sent, what was recorded here,
 * attachments, rejected ops, the session and the PIN's keyring. Kept: which device id each
 * user name has, the seq counter, the clock samples. Ops still pending go too, so callers
 * refuse while any are waiting, except to discard data the PIN no longer opens.
 */
export async function forgetPerson(db) {
  const tx = strictTx(db, ["outbox", "incidents", "records", "blobs", "meta"]);
  for (const name of ["outbox", "incidents", "records", "blobs"]) await tx.objectStore(name).clear();
  const meta = tx.objectStore("meta");
  for (const key of ["cursor", "session", "keyring", "pin", "pin_attempts", "last_synced", "seen"]) await meta.delete(key);
  await tx.done;
}
