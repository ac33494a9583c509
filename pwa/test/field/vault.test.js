// The vault with Node's WebCrypto (the same API as the browser's): sealing, the PIN that
// opens the data key, and what is and is not kept.
import { describe, expect, it } from "vitest";
import { legacyPinHash } from "../../field/pin.js";
import { CLEAR, createVault, isSealed, PBKDF2_ITERATIONS, VaultLocked } from "../../field/vault.js";

// Fewer iterations keep the suite fast; one test below checks the real default.
const FAST = { iterations: 1000 };
const bytesOf = (sealed) => new Uint8Array(sealed.data);
const text = (sealed) => new TextDecoder().decode(bytesOf(sealed)) + String.fromCharCode(...bytesOf(sealed));

async function vaultWithPin(pin = "2468") {
  const vault = createVault(FAST);
  let stored;
  await vault.setPin(pin, async (keyring) => {
    stored = keyring;
  });
  return { vault, keyring: stored };
}

describe("vault", () => {
  it("without a PIN seals nothing: values are stored as they are", async () => {
    const vault = createVault(FAST);
    vault.load(null);
    const op = { op_id: "o1", body: { text: "备注" } };
    expect(vault.sealing).toBe(false);
    expect(vault.unlocked).toBe(true);
    expect(await vault.seal(op, "outbox")).toBe(op);
    expect(await vault.open(op, "outbox")).toBe(op);
    expect(await CLEAR.seal(op, "outbox")).toBe(op);
  });

  it("with a PIN seals a value with AES-GCM: no clear text in it, a fresh IV every time", async () => {
    const { vault } = await vaultWithPin();
    const secret = { text: "机密备注 secret-note-123", phone: "13912345678" };
    const a = await vault.seal(secret, "outbox");
    const b = await vault.seal(secret, "outbox");
    expect(isSealed(a)).toBe(true);
    expect(a.iv).toHaveLength(12);
    expect(Buffer.from(a.iv).equals(Buffer.from(b.iv))).toBe(false);
    expect(Buffer.from(bytesOf(a)).equals(Buffer.from(bytesOf(b)))).toBe(false);
    for (const s of ["secret-note-123", "13912345678", "机密备注", "text", "phone"]) expect(text(a)).not.toContain(s);
    expect(await vault.open(a, "outbox")).toEqual(secret);
  });

  it("binds a sealed value to its purpose, its key, and refuses one that was altered", async () => {
    const { vault } = await vaultWithPin("2468");
    const sealed = await vault.seal("tok-123", "session");
    await expect(vault.open(sealed, "outbox")).rejects.toThrow();
    const altered = new Uint8Array(bytesOf(sealed));
    altered[0] ^= 1;
    vault.forget(); // no cached copy: the stored bytes are what is opened
    expect(await vault.tryPin("2468")).toBe(true);
    await expect(vault.open({ ...sealed, data: altered.buffer }, "session")).rejects.toThrow();
    expect(await vault.open(sealed, "session")).toBe("tok-123");
    const { vault: other } = await vaultWithPin("2468"); // same PIN, another phone: another key
    await expect(other.open(sealed, "session")).rejects.toThrow();
  });

  it("after a reload opens nothing until the right PIN is entered; a wrong PIN opens nothing", async () => {
    const { vault, keyring } = await vaultWithPin("2468");
    const sealed = await vault.seal({ token: "tok-abc" }, "session");
    const reloaded = createVault(FAST);
    reloaded.load(keyring);
    expect(reloaded.sealing).toBe(true);
    expect(reloaded.unlocked).toBe(false);
    await expect(reloaded.open(sealed, "session")).rejects.toBeInstanceOf(VaultLocked);
    await expect(reloaded.seal("x", "session")).rejects.toBeInstanceOf(VaultLocked);
    expect(await reloaded.tryPin("1357")).toBe(false);
    expect(await reloaded.tryPin("24680")).toBe(false);
    expect(reloaded.unlocked).toBe(false);
    expect(await reloaded.tryPin("2468")).toBe(true);
    expect(await reloaded.open(sealed, "session")).toEqual({ token: "tok-abc" });
  });

  it("keeps no PIN and no hash of it: only a salt, the iteration count and the wrapped key", async () => {
    const vault = createVault(); // the real iteration count
    let keyring;
    await vault.setPin("2468", async (k) => {
      keyring = k;
    });
    expect(keyring.kdf).toMatchObject({ name: "PBKDF2", hash: "SHA-256" });
    expect(keyring.kdf.iterations).toBe(PBKDF2_ITERATIONS);
    expect(PBKDF2_ITERATIONS).toBeGreaterThanOrEqual(200_000);
    expect(keyring.kdf.salt).toHaveLength(16);
    expect(keyring.wrapped.iv).toHaveLength(12);
    expect(new Uint8Array(keyring.wrapped.data).length).toBe(32 + 16); // a 256-bit key and the GCM tag
    const stored = JSON.stringify(keyring, (_k, v) => (ArrayBuffer.isView(v) || v instanceof ArrayBuffer ? Buffer.from(v.buffer ?? v).toString("latin1") : v));
    expect(stored).not.toContain("2468");
    expect(stored).not.toContain(await legacyPinHash("dev-1", "2468"));
    // Each phone draws its own salt.
    const { keyring: other } = await vaultWithPin("2468");
    expect(Buffer.from(other.kdf.salt).equals(Buffer.from(keyring.kdf.salt))).toBe(false);
  });

  it("a PIN change wraps the same data key again: old data opens with the new PIN only", async () => {
    const { vault } = await vaultWithPin("2468");
    const sealed = await vault.seal(["a", "b"], "outbox");
    let keyring;
    await vault.setPin("9753", async (k) => {
      keyring = k;
    });
    const reloaded = createVault(FAST);
    reloaded.load(keyring);
    expect(await reloaded.tryPin("2468")).toBe(false);
    expect(await reloaded.tryPin("9753")).toBe(true);
    expect(await reloaded.open(sealed, "outbox")).toEqual(["a", "b"]);
  });

  it("takes a new keyring only once it was stored", async () => {
    const vault = createVault(FAST);
    await expect(
      vault.setPin("2468", async () => {
        throw new Error("disk full");
      }),
    ).rejects.toThrow("disk full");
    expect(vault.sealing).toBe(false);
    expect(await vault.seal("x", "session")).toBe("x");
  });

  it("forgets the key on request: the PIN is needed again", async () => {
    const { vault } = await vaultWithPin("2468");
    const sealed = await vault.seal("tok", "session");
    vault.forget();
    await expect(vault.open(sealed, "session")).rejects.toBeInstanceOf(VaultLocked);
    expect(await vault.tryPin("2468")).toBe(true);
    expect(await vault.open(sealed, "session")).toBe("tok");
  });

  it("seals bytes (an attachment) the same way", async () => {
    const { vault } = await vaultWithPin();
    const photo = new TextEncoder().encode("PHOTO-OF-SIGNED-AGREEMENT");
    const sealed = await vault.sealBytes(photo, "blobs");
    expect(text(sealed)).not.toContain("PHOTO-OF-SIGNED-AGREEMENT");
    expect(new TextDecoder().decode(await vault.openBytes(sealed, "blobs"))).toBe("PHOTO-OF-SIGNED-AGREEMENT");
  });
});
