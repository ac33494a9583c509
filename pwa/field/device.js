// This phone as a Qingling client: who is signed in (kept in IndexedDB's meta), the API
// with their token, the sync loop, signing in and out, the PIN lock and the vault that
// seals the data at rest (field/pin.js, field/vault.js, field/at-rest.js), and recording
// ops for them. The screens (field/app.js) call these and redraw through `refresh`.
//
// What the app shows follows `phase`:
//   "signin"  nobody signed in, or the session ended (`session.ended`: "expired", "ended"
//             for a revoked or unknown token, "pin_lockout" after PIN_ATTEMPTS wrong PINs);
//             the outbox is kept, and only the same person may sign in while it holds ops
//   "lock"    a PIN is set and the screen is locked: idle time, "锁定", a reload (the key
//             lives only in memory), or a sign-in after the key was forgotten ("reopening")
//   "ready"   the screens
import { ApiError, ERROR } from "../core/index.js";
import { createApi } from "./api.js";
import { forgetPerson, resealAll, sealBlob, sealIncident, sealSession } from "./at-rest.js";
import { getMeta, setMeta, strictTx } from "./db.js";
import { t } from "./i18n.js";
import { buildOp } from "./model.js";
import { outboxStats, record } from "./outbox.js";
import { attemptsLeft, resetAttempts, setPin as sealWithPin, unlockWithPin } from "./pin.js";
import { SyncLoop } from "./sync.js";
import { createVault, isSealed } from "./vault.js";

function wsUrl() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/api/sync/ws`;
}

/** What still has to reach the server: pending ops and attachments not yet uploaded. */
async function waitingCount(db) {
  const { pending } = await outboxStats(db);
  const blobs = (await db.getAll("blobs")).filter((b) => !b.failed).length;
  return pending + blobs;
}

/**
 * The device over an open database: its session (or none yet) and what it can do.
 * `vault` and `fetchImpl` are the browser's unless a test gives its own.
 */
export async function openDevice(db, { vault = createVault(), fetchImpl } = {}) {
  vault.load(await getMeta(db, "keyring"));
  let legacyPin = await getMeta(db, "pin"); // an older version's SHA-256 of the PIN
  const stored = await getMeta(db, "session");
  // In memory the token is in the clear; while the vault is closed it waits, sealed.
  let sealedToken = stored && isSealed(stored.token) ? stored.token : null;
  let session = stored && (sealedToken ? { ...stored, token: null } : stored);
  let locked = Boolean(session && (session.token || sealedToken) && (vault.sealing || legacyPin));
  let reopening = false;
  let signOutNote = null;
  let sync = null;
  const api = createApi({ getToken: () => session?.token, onUnauthorized: (e) => authLost(e.code), fetchImpl });

  const device = {
    db,
    api,
    vault,
    /** Redraw from IndexedDB (the app sets it once it is mounted). */
    refresh: () => {},
    /** `{token, device_id, person, username, ended?}`; `token` is null once the server dropped it. */
    get session() {
      return session;
    },
    get sync() {
      return sync;
    },
    get phase() {
      if (!session || (!session.token && !sealedToken)) return "signin";
      return locked || reopening ? "lock" : "ready";
    },
    /** Signed in again, but the data kept here opens only with the PIN. */
    get reopening() {
      return reopening;
    },
    /** A PIN is set (the data at rest is sealed, or an older version's PIN awaits its first entry). */
    get hasPin() {
      return vault.sealing || Boolean(legacyPin);
    },
    /** The last sign-out, when the server did not confirm it: `{status, code}` (status 0: no answer). */
    get signOutNote() {
      return signOutNote;
    },
    attemptsLeft: () => attemptsLeft(db),
    startSync,
    signIn,
    signOut,
    setPin,
    lock,
    unlock,
    discardSealed,
    fetchIncident,
    act,
    saveBlob,
  };

  async function saveSession() {
    await setMeta(db, "session", await sealSession(vault, session));
  }

  function stopSync() {
    sync?.stop();
    sync = null;
  }

  function startSync() {
    stopSync();
    sync = new SyncLoop({
      db,
      api,
      session,
      vault,
      wsUrl: wsUrl(),
      onChange: () => device.refresh(),
      onAuthLost: (code) => authLost(code),
    });
    globalThis.qinglingSync = sync; // for the browser tests and for debugging on a phone
    sync.start();
  }

  // The token was revoked, expired or signed out elsewhere: sign in again; the outbox stays
  // as it is, and so does the key in memory (the same person needs no PIN after it).
  async function authLost(code) {
    if (!session?.token) return;
    stopSync();
    session = { ...session, token: null, ended: code === ERROR.TOKEN_EXPIRED ? "expired" : "ended" };
    await saveSession();
    device.refresh();
  }

  async function askPersistence() {
    if (!navigator.storage?.persist) return;
    const already = await navigator.storage.persisted();
    const granted = already || (await navigator.storage.persist());
    await setMeta(db, "persisted", granted);
  }

  async function signIn(username, password, label) {
    const devices = (await getMeta(db, "devices")) || {};
    let answer;
    try {
      answer = await api.login(username, password, { id: devices[username] || null, label });
    } catch (e) {
      if (e.code !== ERROR.DEVICE_REVOKED) throw e;
      answer = await api.login(username, password, { label }); // enrol under a new device id
    }
    const previous = session?.person;
    const { pending } = await outboxStats(db);
    if (previous && previous.id !== answer.person.id) {
      // Ops still waiting were recorded by the previous person: sent under someone else's
      // token they would be filed as that person's. They go first, under their own sign-in.
      const waiting = await waitingCount(db);
      if (waiting > 0) {
        throw new ApiError(409, "outbox_not_empty", t("signin.outbox_of", { name: previous.name, n: waiting }));
      }
      // Nothing of theirs stays: what the server sent, their records, their PIN and its key.
      await forgetPerson(db);
      vault.drop();
      legacyPin = null;
    }
    if (devices[username] !== answer.device_id) {
      // A new device numbers its ops from 1 (PROTOCOL §2), but only with an empty outbox:
      // the outbox is keyed by seq, and a reused number would overwrite a waiting op.
      const tx = strictTx(db, ["meta"]);
      if (pending === 0) await tx.store.put(0, "seq");
      await tx.store.put({ ...devices, [username]: answer.device_id }, "devices");
      await tx.done;
    }
    session = {
      token: answer.token,
      device_id: answer.device_id,
      person: answer.person,
      username,
    };
    sealedToken = null;
    signOutNote = null;
    locked = false;
    // The server checked the password: the PIN gets its attempts back.
    await resetAttempts(db);
    askPersistence();
    if (!vault.unlocked) {
      // The key was forgotten (a reload, or the PIN's attempts ran out): what is kept
      // here opens with the PIN only. The new token waits in memory until then.
      reopening = true;
      device.refresh();
      return;
    }
    await saveSession();
    startSync();
    device.refresh();
  }

  /**
   * Sign out: end the token on the server (best effort, PROTOCOL §12), then forget the
   * person here. Refused while anything waits to be sent. Offline, the token stays valid
   * on the server until it expires or the device is revoked (`signOutNote` says so).
   */
  async function signOut() {
    const waiting = await waitingCount(db);
    if (waiting > 0) throw new ApiError(409, "outbox_not_empty", t("settings.signout_blocked", { n: waiting }));
    stopSync();
    const answer = await api.logout();
    await forgetPerson(db);
    vault.drop();
    legacyPin = null;
    session = null;
    sealedToken = null;
    locked = false;
    reopening = false;
    // An older server without the call (404/405) is not worth a warning; no answer is.
    signOutNote = answer.confirmed || answer.status === 404 || answer.status === 405 ? null : answer;
    location.hash = "#/";
    device.refresh();
    return answer;
  }

  /** Set or change the PIN: from now on the data at rest is sealed with a key it opens. */
  async function setPin(pin) {
    stopSync(); // nothing writes while the data is being sealed
    try {
      await sealWithPin(db, vault, pin);
      legacyPin = null;
      await saveSession();
    } finally {
      if (session?.token) startSync();
      device.refresh();
    }
  }

  function lock() {
    if (!device.hasPin) return;
    locked = true;
    device.refresh();
  }

  /**
   * Try a PIN: `{ok, left}`. Right: the key is in memory, the token opened, and the sync
   * loop runs. The last wrong one drops the token (the outbox stays, sealed) and forgets
   * the key: the next step is a full sign-in.
   */
  async function unlock(pin) {
    const result = await unlockWithPin(db, vault, pin, { legacyHash: legacyPin, deviceId: session?.device_id });
    if (result.ok) {
      legacyPin = null;
      if (sealedToken) {
        session = { ...session, token: await vault.open(sealedToken, "session") };
        sealedToken = null;
      }
      await saveSession();
      await resealAll(db, vault); // anything an older version or an interrupted change left in the clear
      locked = false;
      reopening = false;
      if (!sync) startSync();
    } else if (result.left === 0) {
      await lockOut();
    }
    device.refresh();
    return result;
  }

  async function lockOut() {
    stopSync();
    vault.forget();
    session = { ...session, token: null, ended: "pin_lockout" };
    sealedToken = null;
    locked = false;
    reopening = false;
    await saveSession();
  }

  /**
   * Signed in again, the PIN forgotten: give up what the old key sealed here (the outbox
   * included: `n` ops are lost) and carry on without a PIN. Only after a full sign-in.
   */
  async function discardSealed() {
    if (!reopening) return;
    await forgetPerson(db);
    vault.drop();
    legacyPin = null;
    reopening = false;
    await saveSession();
    startSync();
    device.refresh();
  }

  // Opening an incident online fetches its current record: an incident reassigned to
  // another station leaves our scope without a feed change telling us so.
  async function fetchIncident(id) {
    try {
      const fresh = await api.incident(id);
      const { timeline: _timeline, ...kept } = fresh;
      const sealed = await sealIncident(vault, { ...kept, kind: "incident" });
      const tx = strictTx(db, ["incidents"]);
      const old = await tx.store.get(id);
      if (!old || (old.version ?? 0) <= fresh.version) await tx.store.put(sealed);
      await tx.done;
    } catch (e) {
      if (e.status === 404 || e.status === 403) await db.delete("incidents", id);
    }
    device.refresh();
  }

  /**
   * Record an op for the signed-in person in the outbox, then send it if we can.
   * `opts.secret` is kept only in the local copy, sealed (a rating invite's token);
   * `opts.context` in the local copy, in the clear (field/outbox.js `record`).
   */
  async function act(type, body, opts = {}) {
    const op = buildOp(type, body, { ...opts, clockOffsetMs: await sync?.clockOffset() });
    const stored = await record(db, op, {
      personId: session.person.id, vault, secret: opts.secret ?? null, context: opts.context ?? null,
    });
    device.refresh();
    sync?.flush();
    return stored;
  }

  /** Keep an attachment's bytes until the sync loop has uploaded them. */
  async function saveBlob(sha256, blob) {
    const sealed = await sealBlob(vault, { sha256, blob, type: blob.type, size: blob.size });
    const tx = strictTx(db, ["blobs"]);
    await tx.store.put(sealed);
    await tx.done;
  }

  return device;
}
