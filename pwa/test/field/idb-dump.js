// Everything an IndexedDB database holds, as text to search: every string, and the bytes
// of every ArrayBuffer, typed array and Blob read as UTF-8 and as Latin-1. A secret stored
// in the clear anywhere (a field, a nested body, an attachment's bytes) is found in it.
import { openDB } from "idb";

async function collect(value, out, seen = new Set()) {
  if (value == null) return;
  if (typeof value === "string") out.push(value);
  else if (typeof value === "number" || typeof value === "boolean") out.push(String(value));
  else if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    const bytes = value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    out.push(new TextDecoder().decode(bytes), String.fromCharCode(...bytes));
  } else if (typeof Blob !== "undefined" && value instanceof Blob) {
    await collect(await value.arrayBuffer(), out, seen);
  } else if (typeof value === "object") {
    if (seen.has(value)) return;
    seen.add(value);
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      await collect(v, out, seen);
    }
  }
}

/** The whole database `name` as one string (values and keys of every store). */
export async function dumpDatabase(name) {
  const db = await openDB(name);
  const out = [];
  for (const store of db.objectStoreNames) {
    const tx = db.transaction(store);
    const [keys, values] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll()]);
    await tx.done;
    for (const k of keys) await collect(k, out);
    for (const v of values) await collect(v, out);
  }
  db.close();
  return out.join("\n");
}
