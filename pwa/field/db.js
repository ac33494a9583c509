// The device's IndexedDB: everything the app shows and everything still to send.
//
// Stores:
//   outbox     ops waiting for the server (state "pending") or refused by it ("rejected"), keyed by seq
//   incidents  what the server told us, keyed by id, by `kind`: incident records ("incident"),
//              standalone mediation cases ("mediation"), supervision orders ("supervision")
//              and notices ("notice", PROTOCOL §11)
//   records    every fact recorded on this device or received as an `event` change, keyed by op_id
//   blobs      attachment bytes not yet uploaded (and their hash), keyed by sha256
//   meta       small values: session, next seq, feed cursor, last sync, clock samples, and
//              `seen` {orders, notices}: the ids opened here (the new-order badge)
import { openDB } from "idb";

export const DB_NAME = "qingling";
const VERSION = 1;

/** Open (and create or upgrade) the app's database. */
export function openAppDb(name = DB_NAME) {
  return openDB(name, VERSION, {
    upgrade(db) {
      db.createObjectStore("outbox", { keyPath: "seq" });
      db.createObjectStore("incidents", { keyPath: "id" });
      const records = db.createObjectStore("records", { keyPath: "op_id" });
      // `parent` is the incident id, or "mediation:<record_id>" for a standalone case:
      // IndexedDB does not index null, so a standalone mediation needs a key of its own.
      records.createIndex("parent", "parent");
      records.createIndex("record_id", "record_id");
      db.createObjectStore("blobs", { keyPath: "sha256" });
      db.createObjectStore("meta");
    },
  });
}

/** A readwrite transaction that the browser must put on disk before it reports done. */
export function strictTx(db, stores) {
  return db.transaction(stores, "readwrite", { durability: "strict" });
}

export async function getMeta(db, key, fallback = null) {
  const v = await db.get("meta", key);
  return v === undefined ? fallback : v;
}

export async function setMeta(db, key, value) {
  const tx = strictTx(db, ["meta"]);
  await tx.store.put(value, key);
  await tx.done;
}

/** Forget everything that belongs to the signed-in person, except ops not yet delivered. */
export async function clearSynced(db) {
  const tx = strictTx(db, ["incidents", "records", "meta"]);
  await tx.objectStore("incidents").clear();
  const records = tx.objectStore("records");
  let cursor = await records.openCursor();
  while (cursor) {
    if (!cursor.value.local) await cursor.delete();
    cursor = await cursor.continue();
  }
  await tx.objectStore("meta").delete("cursor");
  await tx.done;
}
