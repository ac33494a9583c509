// The key that seals this phone's data at rest, and the PIN that opens it (WebCrypto only).
//
// With a PIN set, the session token, the outbox's ops, the bodies of recorded facts, the
// incidents and the attachments are stored sealed: AES-GCM-256 under one random data key,
// a fresh 96-bit IV per value, the value's purpose ("outbox", "incidents", ...) as
// additional data so a sealed value cannot be moved into another field. The data key is
// stored only wrapped (AES-GCM) under a key derived from the PIN with PBKDF2-SHA-256, a
// random 16-byte salt and PBKDF2_ITERATIONS; in the clear it lives only in this page's
// memory. A wrong PIN fails the wrap's authentication tag: nothing else checks it, and no
// hash of the PIN is kept. Without a PIN nothing is sealed: seal() hands values back as
// they are. The keyring records its own salt and iteration count, so raising the count
// later does not strand an older phone. Limits: docs/pwa.md, "Session, PIN and data at rest".

/** PBKDF2-SHA-256 iterations for a newly set PIN (OWASP's 2023 figure for this hash). */
export const PBKDF2_ITERATIONS = 600_000;

const MARK = "$sealed";
const WRAP_PURPOSE = "qingling:data-key";
const enc = new TextEncoder();
const dec = new TextDecoder();
// Opened values are cached (as JSON text) by purpose and IV, so a redraw does not decrypt
// everything again; the cache is emptied when the key is forgotten.
const CACHE_MAX = 5000;

/** The vault is closed (a PIN is set and has not been entered since the page loaded). */
export class VaultLocked extends Error {
  constructor() {
    super("the data on this phone is sealed: enter the PIN");
    this.name = "VaultLocked";
  }
}

/** Whether a stored value is a sealed envelope `{$sealed: 1, iv, data}`. */
export function isSealed(value) {
  return value != null && typeof value === "object" && value[MARK] === 1;
}

/**
 * A vault over WebCrypto. `load(keyring)` gives it what IndexedDB holds (null without a PIN).
 * `subtle` and `random` are the browser's (Node's in the unit tests).
 */
export function createVault({
  subtle = globalThis.crypto.subtle,
  random = (n) => globalThis.crypto.getRandomValues(new Uint8Array(n)),
  iterations = PBKDF2_ITERATIONS,
} = {}) {
  let keyring = null; // {v, kdf: {name, hash, iterations, salt}, wrapped: {iv, data}} or null
  let key = null; // the data key, in memory only
  const cache = new Map();

  async function pinKey(pin, kdf) {
    const base = await subtle.importKey("raw", enc.encode(String(pin)), "PBKDF2", false, ["deriveKey"]);
    return subtle.deriveKey(
      { name: "PBKDF2", hash: kdf.hash, salt: kdf.salt, iterations: kdf.iterations },
      base,
      { name: "AES-GCM", length: 256 },
      false,
      ["wrapKey", "unwrapKey"],
    );
  }

  async function wrap(dataKey, pin) {
    const kdf = { name: "PBKDF2", hash: "SHA-256", iterations, salt: random(16) };
    const iv = random(12);
    const data = await subtle.wrapKey("raw", dataKey, await pinKey(pin, kdf), {
      name: "AES-GCM",
      iv,
      additionalData: enc.encode(WRAP_PURPOSE),
    });
    return { v: 1, kdf, wrapped: { iv, data } };
  }

  /** The data key the PIN unwraps, or null for a wrong PIN (the GCM tag does not match). */
  async function unwrap(pin) {
    try {
      return await subtle.unwrapKey(
        "raw",
        keyring.wrapped.data,
        await pinKey(pin, keyring.kdf),
        { name: "AES-GCM", iv: keyring.wrapped.iv, additionalData: enc.encode(WRAP_PURPOSE) },
        { name: "AES-GCM", length: 256 },
        true, // extractable only so that a PIN change can wrap it again; never exported otherwise
        ["encrypt", "decrypt"],
      );
    } catch {
      return null;
    }
  }

  function cacheKey(purpose, iv) {
    const bytes = ArrayBuffer.isView(iv) ? new Uint8Array(iv.buffer, iv.byteOffset, iv.byteLength) : new Uint8Array(iv);
    return `${purpose}:${String.fromCharCode(...bytes)}`;
  }

  async function encrypt(bytes, purpose) {
    if (!key) throw new VaultLocked();
    const iv = random(12);
    const data = await subtle.encrypt({ name: "AES-GCM", iv, additionalData: enc.encode(purpose) }, key, bytes);
    return { [MARK]: 1, iv, data };
  }

  async function decrypt(sealed, purpose) {
    if (!key) throw new VaultLocked();
    return subtle.decrypt({ name: "AES-GCM", iv: sealed.iv, additionalData: enc.encode(purpose) }, key, sealed.data);
  }

  const vault = {
    /** Take the keyring as stored in IndexedDB (meta "keyring"), or null: no PIN. */
    load(stored) {
      keyring = stored || null;
      key = null;
      cache.clear();
    },
    /** Whether values are sealed (a PIN is set). */
    get sealing() {
      return keyring != null;
    },
    /** Whether values can be read and written: no PIN, or the PIN was entered. */
    get unlocked() {
      return keyring == null || key != null;
    },
    get keyring() {
      return keyring;
    },

    /** A JSON value as it is to be stored: sealed with a PIN set, as it is without. */
    async seal(value, purpose) {
      if (!keyring) return value;
      const text = JSON.stringify(value ?? null);
      const sealed = await encrypt(enc.encode(text), purpose);
      if (cache.size >= CACHE_MAX) cache.clear();
      cache.set(cacheKey(purpose, sealed.iv), text);
      return sealed;
    },
    /** A stored value as the app uses it; a value stored in the clear comes back as it is. */
    async open(stored, purpose) {
      if (!isSealed(stored)) return stored;
      const k = cacheKey(purpose, stored.iv);
      let text = cache.get(k);
      if (text === undefined) {
        text = dec.decode(await decrypt(stored, purpose));
        if (cache.size >= CACHE_MAX) cache.clear();
        cache.set(k, text);
      }
      return JSON.parse(text);
    },
    /** Bytes (an attachment) as they are to be stored: sealed with a PIN set. */
    async sealBytes(bytes, purpose) {
      return keyring ? encrypt(bytes, purpose) : bytes;
    },
    /** Stored bytes as an ArrayBuffer (or whatever was stored in the clear). */
    async openBytes(stored, purpose) {
      return isSealed(stored) ? decrypt(stored, purpose) : stored;
    },

    /**
     * Set or change the PIN. The first PIN makes a new random data key; a change wraps the
     * one in memory again under a new salt. `persist(keyring)` stores the new keyring; the
     * vault takes it only once that resolved, so nothing is sealed under a key the phone
     * has not kept.
     */
    async setPin(pin, persist) {
      if (keyring && !key) throw new VaultLocked();
      const dataKey = key || (await subtle.generateKey({ name: "AES-GCM", length: 256 }, true, ["encrypt", "decrypt"]));
      const next = await wrap(dataKey, pin);
      await persist(next);
      keyring = next;
      key = dataKey;
      cache.clear();
    },
    /** Try a PIN: true (and the key is in memory) if it unwraps the data key. */
    async tryPin(pin) {
      if (!keyring) return false;
      const found = await unwrap(pin);
      if (!found) return false;
      key = found;
      return true;
    },
    /** Drop the key from memory: the PIN is needed again (a reload does the same). */
    forget() {
      key = null;
      cache.clear();
    },
    /** No PIN any more: the keyring and the key are gone (the caller deletes what they sealed). */
    drop() {
      keyring = null;
      key = null;
      cache.clear();
    },
  };
  return vault;
}

/** A vault that never seals: the default of the storage functions (a phone without a PIN). */
export const CLEAR = Object.freeze({
  sealing: false,
  unlocked: true,
  keyring: null,
  seal: async (value) => value,
  sealBytes: async (bytes) => bytes,
  async open(stored) {
    if (isSealed(stored)) throw new VaultLocked();
    return stored;
  },
  async openBytes(stored) {
    if (isSealed(stored)) throw new VaultLocked();
    return stored;
  },
});
