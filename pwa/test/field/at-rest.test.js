// The data at rest, in a real IndexedDB implementation (fake-indexeddb) with Node's
// WebCrypto: with a PIN set, nothing secret is found anywhere in the database's stores
// (values, keys, nested bodies, attachment bytes); without one, the same search finds every
// secret, which proves the search can see them. The outbox keeps its guarantees sealed.
import "fake-indexeddb/auto";
import { beforeEach, describe, expect, it } from "vitest";
import { openEntry, resealAll, sealBlob, sealSession } from "../../field/at-rest.js";
import { getMeta, openAppDb, setMeta, strictTx } from "../../field/db.js";
import { buildOp } from "../../field/model.js";
import { pendingEntries, record, rejectedEntries } from "../../field/outbox.js";
import { attemptsLeft, legacyPinHash, PIN_ATTEMPTS, resetAttempts, setPin, unlockWithPin } from "../../field/pin.js";
import { loadSnapshot } from "../../field/snapshot.js";
import { applyChanges, SyncLoop } from "../../field/sync.js";
import { createVault, VaultLocked } from "../../field/vault.js";
import { dumpDatabase } from "./idb-dump.js";

const FAST = { iterations: 1000 };
const TOKEN = "tok-5f2c9a0e-secret-token";
const NOTE = "机密备注：嫌疑人藏在三楼";
const CALLER = { caller_name: "李秘密", caller_phone: "13912345678" };
const PHOTO = "PHOTO-OF-THE-SIGNED-AGREEMENT";
const EVENT_TEXT = "服务器发来的备注内容";
const SECRETS = [TOKEN, NOTE, CALLER.caller_name, CALLER.caller_phone, PHOTO, EVENT_TEXT, "城关镇人民路18号"];

let db;
let name;
let n = 0;
beforeEach(async () => {
  name = `at-rest-test-${++n}`;
  db = await openAppDb(name);
});

const note = (text) => buildOp("note", { text }, { incidentId: "inc-1" });

/** A phone with a bit of everything: a session, two ops, an incident, an event, a photo. */
async function fill(vault) {
  await setMeta(db, "session", await sealSession(vault, { token: TOKEN, device_id: "d1", person: { id: "p1" }, username: "officer.zhang" }));
  await record(db, note(NOTE), { personId: "p1", vault });
  await record(db, buildOp("scene_report", { situation: NOTE, parties: 2 }, { incidentId: "inc-1" }), { vault });
  await applyChanges(
    db,
    [
      { entity: "incident", id: "inc-1", data: { id: "inc-1", version: 3, number: "110-001", address: "城关镇人民路18号", ...CALLER } },
      { entity: "event", id: "ev-1", data: { op_id: "ev-1", type: "note", incident_id: "inc-1", body: { text: EVENT_TEXT } } },
    ],
    "c.2",
    { vault },
  );
  const photo = new Blob([PHOTO], { type: "image/jpeg" });
  const stored = await sealBlob(vault, { sha256: "ab".repeat(32), blob: photo, type: photo.type, size: photo.size });
  const tx = strictTx(db, ["blobs"]);
  await tx.store.put(stored);
  await tx.done;
}

async function found() {
  const dump = await dumpDatabase(name);
  return SECRETS.filter((s) => dump.includes(s));
}

async function withPin(pin = "2468") {
  const vault = createVault(FAST);
  await setPin(db, vault, pin);
  return vault;
}

describe("data at rest", () => {
  it("without a PIN is stored as before, in the clear (and the search finds every secret)", async () => {
    const vault = createVault(FAST);
    await fill(vault);
    expect(await found()).toEqual(SECRETS);
  });

  it("with a PIN set first, nothing secret is stored in the clear", async () => {
    const vault = await withPin();
    await fill(vault);
    expect(await found()).toEqual([]);
  });

  it("setting a PIN seals what was stored before it", async () => {
    await fill(createVault(FAST));
    const vault = await withPin();
    expect(await found()).toEqual([]);
    // And what is recorded afterwards is sealed too.
    await record(db, note(`${NOTE} 2`), { vault });
    expect(await found()).toEqual([]);
    expect((await pendingEntries(db, vault)).map((e) => e.op.body.text ?? e.op.body.situation)).toEqual([NOTE, NOTE, `${NOTE} 2`]);
  });

  it("after a reload, nothing opens until the PIN is entered; then everything does", async () => {
    const vault = await withPin("2468");
    await fill(vault);
    db.close();
    db = await openAppDb(name);
    const reloaded = createVault(FAST);
    reloaded.load(await getMeta(db, "keyring"));
    await expect(pendingEntries(db, reloaded)).rejects.toBeInstanceOf(VaultLocked);
    const locked = await loadSnapshot(db, reloaded);
    expect(locked).toMatchObject({ sealed: true, stats: { pending: 2, rejected: 0 } });
    expect(await unlockWithPin(db, reloaded, "2468")).toEqual({ ok: true, left: PIN_ATTEMPTS });
    const snap = await loadSnapshot(db, reloaded);
    expect(snap.sealed).toBe(false);
    expect(snap.byId.get("inc-1")).toMatchObject({ version: 3, address: "城关镇人民路18号", ...CALLER });
    expect(snap.pending.map((e) => e.op.seq)).toEqual([1, 2]);
    expect(snap.records.find((r) => r.op_id === "ev-1").body).toEqual({ text: EVENT_TEXT });
    const session = await getMeta(db, "session");
    expect(await reloaded.open(session.token, "session")).toBe(TOKEN);
  });

  it("sealed, the outbox still goes out in seq order and empties only on the server's answer", async () => {
    const vault = await withPin();
    for (const x of ["a", "b", "c"]) await record(db, note(`${NOTE}-${x}`), { vault });
    const pushes = [];
    let fail = true;
    const api = {
      async push(_device, ops) {
        pushes.push(ops.map((o) => [o.seq, o.body.text]));
        if (fail) {
          fail = false;
          throw Object.assign(new Error("offline"), { status: 0, code: "network" });
        }
        return {
          server_time: new Date().toISOString(),
          results: ops.map((o) => (o.seq === 2 ? { op_id: o.op_id, status: "rejected", code: "invalid", message: "x" } : { op_id: o.op_id, status: "applied" })),
        };
      },
      putBlob: async () => null,
    };
    const timers = { setTimeout: () => 0, clearTimeout() {}, setInterval: () => 0, clearInterval() {} };
    const sync = new SyncLoop({ db, api, vault, session: { token: TOKEN, device_id: "d1" }, WebSocketImpl: null, timers });
    sync.running = true;
    await sync.flush();
    expect((await pendingEntries(db, vault)).map((e) => e.seq)).toEqual([1, 2, 3]); // a failed push keeps them all
    await sync.flush();
    const sent = [[1, `${NOTE}-a`], [2, `${NOTE}-b`], [3, `${NOTE}-c`]];
    expect(pushes).toEqual([sent, sent]);
    expect(await pendingEntries(db, vault)).toEqual([]);
    const rejected = await rejectedEntries(db, vault);
    expect(rejected.map((e) => [e.seq, e.code, e.op.body.text])).toEqual([[2, "invalid", `${NOTE}-b`]]);
    expect(await found()).toEqual([]); // the rejected op stays sealed
  });

  it("reseals what an older version stored in the clear, and leaves alone what changed meanwhile", async () => {
    const vault = await withPin();
    // An entry written in the clear (an older version, or a write that raced the PIN).
    const tx = strictTx(db, ["outbox"]);
    await tx.store.put({ seq: 7, op: { ...note(NOTE), seq: 7 }, state: "pending", queued_at: "2026-01-01T00:00:00Z", attempts: 0 });
    await tx.done;
    expect(await found()).toEqual([NOTE]);
    expect(await resealAll(db, vault)).toBe(1);
    expect(await found()).toEqual([]);
    const [entry] = await db.getAll("outbox");
    expect((await openEntry(vault, entry)).op.body.text).toBe(NOTE);
    expect(await resealAll(db, vault)).toBe(0);
  });
});

describe("PIN attempts", () => {
  it(`refuses every PIN, the right one too, after ${PIN_ATTEMPTS} wrong ones; a reload does not reset the count`, async () => {
    const vault = await withPin("2468");
    const lefts = [];
    for (let i = 0; i < PIN_ATTEMPTS - 1; i++) lefts.push((await unlockWithPin(db, vault, "0000")).left);
    db.close();
    db = await openAppDb(name);
    const reloaded = createVault(FAST);
    reloaded.load(await getMeta(db, "keyring"));
    expect(await attemptsLeft(db)).toBe(1);
    lefts.push((await unlockWithPin(db, reloaded, "0000")).left);
    expect(lefts).toEqual([4, 3, 2, 1, 0]);
    expect(await unlockWithPin(db, reloaded, "2468")).toEqual({ ok: false, left: 0 });
    expect(reloaded.unlocked).toBe(false);
    // A full sign-in (the server checked the password) gives the attempts back.
    await resetAttempts(db);
    expect(await unlockWithPin(db, reloaded, "2468")).toEqual({ ok: true, left: PIN_ATTEMPTS });
  });

  it("a right PIN starts the count again", async () => {
    const vault = await withPin("2468");
    await unlockWithPin(db, vault, "0000");
    await unlockWithPin(db, vault, "0000");
    expect(await attemptsLeft(db)).toBe(PIN_ATTEMPTS - 2);
    expect((await unlockWithPin(db, vault, "2468")).ok).toBe(true);
    expect(await attemptsLeft(db)).toBe(PIN_ATTEMPTS);
  });

  it("moves an older version's PIN hash to a sealed phone on the first right entry", async () => {
    const vault = createVault(FAST);
    await fill(vault);
    const legacyHash = await legacyPinHash("d1", "2468");
    await setMeta(db, "pin", legacyHash);
    expect((await unlockWithPin(db, vault, "1111", { legacyHash, deviceId: "d1" })).ok).toBe(false);
    expect(vault.sealing).toBe(false);
    expect(await unlockWithPin(db, vault, "2468", { legacyHash, deviceId: "d1" })).toEqual({ ok: true, left: PIN_ATTEMPTS });
    expect(vault.sealing).toBe(true);
    expect(await getMeta(db, "pin")).toBeNull();
    expect(await attemptsLeft(db)).toBe(PIN_ATTEMPTS);
    expect(await found()).toEqual([]);
    expect((await getMeta(db, "keyring")).kdf.iterations).toBe(FAST.iterations);
  });
});
