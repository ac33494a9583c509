// This phone as a Qingling client: who is signed in (kept in IndexedDB's meta), the API
// with their token, the sync loop, signing in and out, and recording ops for them. The
// screens (field/app.js) call these and redraw through `refresh`.
import { ApiError, ERROR } from "../core/index.js";
import { createApi } from "./api.js";
import { clearSynced, getMeta, setMeta, strictTx } from "./db.js";
import { t } from "./i18n.js";
import { buildOp } from "./model.js";
import { record } from "./outbox.js";
import { SyncLoop } from "./sync.js";

function wsUrl() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/api/sync/ws`;
}

/** The device over an open database: its session (or none yet) and what it can do. */
export async function openDevice(db) {
  let session = await getMeta(db, "session");
  const api = createApi({ getToken: () => session?.token });
  let sync = null;

  const device = {
    db,
    api,
    /** Redraw from IndexedDB (the app sets it once it is mounted). */
    refresh: () => {},
    /** `{token, device_id, person, username}`; `token` is null once the server dropped it. */
    get session() {
      return session;
    },
    get sync() {
      return sync;
    },
    startSync,
    signIn,
    signOut,
    hashPin,
    fetchIncident,
    act,
    saveBlob,
  };

  function startSync() {
    sync?.stop();
    sync = new SyncLoop({
      db,
      api,
      session,
      wsUrl: wsUrl(),
      onChange: () => device.refresh(),
      onAuthLost: async () => {
        // The token was revoked or expired: sign in again; the outbox stays as it is.
        session = { ...session, token: null };
        await setMeta(db, "session", session);
        device.refresh();
      },
    });
    globalThis.qinglingSync = sync; // for the browser tests and for debugging on a phone
    sync.start();
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
    const waiting = (await db.getAll("outbox")).filter((e) => e.state === "pending").length;
    if (previous && previous.id !== answer.person.id) {
      // Ops still waiting were recorded by the previous person: sent under someone else's
      // token they would be filed as that person's. They go first, under their own sign-in.
      if (waiting > 0) {
        throw new ApiError(409, "outbox_not_empty", t("signin.outbox_of", { name: previous.name, n: waiting }));
      }
      await clearSynced(db);
    }
    if (devices[username] !== answer.device_id) {
      // A new device numbers its ops from 1 (PROTOCOL §2), but only with an empty outbox:
      // the outbox is keyed by seq, and a reused number would overwrite a waiting op.
      const tx = strictTx(db, ["meta"]);
      if (waiting === 0) await tx.store.put(0, "seq");
      await tx.store.put({ ...devices, [username]: answer.device_id }, "devices");
      await tx.done;
    }
    session = {
      token: answer.token,
      device_id: answer.device_id,
      person: answer.person,
      username,
    };
    await setMeta(db, "session", session);
    await setMeta(db, "last_active", Date.now());
    askPersistence();
    startSync();
    device.refresh();
  }

  async function signOut() {
    sync?.stop();
    sync = null;
    await clearSynced(db);
    session = null;
    await setMeta(db, "session", null);
    await setMeta(db, "pin", null);
    location.hash = "#/";
    device.refresh();
  }

  /** The lock PIN as stored: SHA-256 of device id and PIN (it guards the screen, not the data). */
  async function hashPin(pin) {
    const data = new TextEncoder().encode(`${session?.device_id}:${pin}`);
    const digest = await crypto.subtle.digest("SHA-256", data);
    return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  }

  // Opening an incident online fetches its current record: an incident reassigned to
  // another station leaves our scope without a feed change telling us so.
  async function fetchIncident(id) {
    try {
      const fresh = await api.incident(id);
      const tx = strictTx(db, ["incidents"]);
      const old = await tx.store.get(id);
      if (!old || (old.version ?? 0) <= fresh.version) {
        const { timeline: _timeline, ...kept } = fresh;
        await tx.store.put({ ...kept, kind: "incident" });
      }
      await tx.done;
    } catch (e) {
      if (e.status === 404 || e.status === 403) await db.delete("incidents", id);
    }
    device.refresh();
  }

  /** Record an op for the signed-in person in the outbox, then send it if we can. */
  async function act(type, body, opts = {}) {
    const op = buildOp(type, body, { ...opts, clockOffsetMs: await sync?.clockOffset() });
    const stored = await record(db, op, { personId: session.person.id });
    device.refresh();
    sync?.flush();
    return stored;
  }

  /** Keep an attachment's bytes until the sync loop has uploaded them. */
  async function saveBlob(sha256, blob) {
    const tx = strictTx(db, ["blobs"]);
    await tx.store.put({ sha256, blob, type: blob.type, size: blob.size });
    await tx.done;
  }

  return device;
}
