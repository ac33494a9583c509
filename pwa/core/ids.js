// Op ids made on the phone or in the command view: UUIDs version 7 (RFC 9562), the same
// shape as the server's and the Python client's (sync/ids.py). The first 48 bits are the
// time in milliseconds, so ops made later sort after ops made earlier and the server's
// op_id index grows at its end (docs/performance.md, session 19); the other 74 are random.

/**
 * A new UUID version 7 as lower-case hyphenated text. `nowMs` and `cryptoImpl` are for
 * tests; getRandomValues exists everywhere (crypto.randomUUID only in secure contexts).
 */
export function newId(nowMs = Date.now(), cryptoImpl = globalThis.crypto) {
  const b = cryptoImpl.getRandomValues(new Uint8Array(16));
  let ms = Math.floor(nowMs);
  for (let i = 5; i >= 0; i -= 1) {
    b[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
