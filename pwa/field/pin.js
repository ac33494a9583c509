// The lock PIN: setting it (which seals the data at rest, field/vault.js), unlocking, and
// the limit on wrong attempts. The counter is stored before each try, so neither a reload
// nor a closed tab gives more tries; it guards the screen, not the files (docs/pwa.md).
import { resealAll } from "./at-rest.js";
import { getMeta, strictTx } from "./db.js";

/** Wrong PINs in a row after which the app wants a full sign-in (the password) again. */
export const PIN_ATTEMPTS = 5;

/** Set or change the PIN: store its keyring, then seal what is still stored in the clear. */
export async function setPin(db, vault, pin) {
  await vault.setPin(pin, async (keyring) => {
    const tx = strictTx(db, ["meta"]);
    await tx.store.put(keyring, "keyring");
    await tx.store.delete("pin"); // an older version's hash of the PIN
    await tx.store.put(0, "pin_attempts");
    await tx.done;
  });
  await resealAll(db, vault);
}

/** Wrong PINs left before a full sign-in is needed. */
export async function attemptsLeft(db) {
  return Math.max(0, PIN_ATTEMPTS - (await getMeta(db, "pin_attempts", 0)));
}

/** A full sign-in (the server checked the password) gives the PIN its attempts back. */
export async function resetAttempts(db) {
  const tx = strictTx(db, ["meta"]);
  await tx.store.put(0, "pin_attempts");
  await tx.done;
}

/**
 * Try a PIN. Resolves `{ok, left}`: `left` wrong attempts remain (0: the limit is reached).
 * `legacyHash` is the SHA-256 an older version stored instead of a keyring: a PIN that
 * matches it becomes the vault's PIN (and the data is sealed) here.
 */
export async function unlockWithPin(db, vault, pin, { legacyHash = null, deviceId = null } = {}) {
  const tx = strictTx(db, ["meta"]);
  const used = (await tx.store.get("pin_attempts")) || 0;
  if (used < PIN_ATTEMPTS) await tx.store.put(used + 1, "pin_attempts");
  await tx.done;
  if (used >= PIN_ATTEMPTS) return { ok: false, left: 0 };
  let ok = false;
  if (vault.sealing) ok = await vault.tryPin(pin);
  else if (legacyHash) ok = (await legacyPinHash(deviceId, pin)) === legacyHash;
  if (!ok) return { ok: false, left: PIN_ATTEMPTS - used - 1 };
  if (vault.sealing) await resetAttempts(db);
  else await setPin(db, vault, pin); // from the older hash to a sealed phone (resets the count)
  return { ok: true, left: PIN_ATTEMPTS };
}

/** How an older version stored the PIN: SHA-256 of "device_id:pin", in hex (unsalted). */
export async function legacyPinHash(deviceId, pin) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${deviceId}:${pin}`));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
