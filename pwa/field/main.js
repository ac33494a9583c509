// Start-up: open IndexedDB, render what we hold, then start the sync loop and the service worker.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, ERROR } from "../core/index.js";
import { createApi } from "./api.js";
import {
  html,
  IncidentScreen,
  loadSnapshot,
  LockScreen,
  MediationScreen,
  Nav,
  OutboxScreen,
  recordOp,
  SettingsScreen,
  SignIn,
  StatusBar,
  UpdateBanner,
  Work,
} from "./app.js";
import { clearSynced, getMeta, openAppDb, setMeta, strictTx } from "./db.js";
import { setLang, t } from "./i18n.js";
import { SyncLoop } from "./sync.js";
import { watchForUpdates } from "./update.js";
import "./styles.css";

const LOCK_AFTER_MIN = 5;

setLang(localStorage.getItem("qingling.lang") || "zh-CN");

const db = await openAppDb();
let session = await getMeta(db, "session");
const api = createApi({ getToken: () => session?.token });
let sync = null;
let refresh = () => {};

function wsUrl() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/api/sync/ws`;
}

function startSync() {
  sync?.stop();
  sync = new SyncLoop({
    db,
    api,
    session,
    wsUrl: wsUrl(),
    onChange: () => refresh(),
    onAuthLost: async () => {
      // The token was revoked or expired: sign in again; the outbox stays as it is.
      session = { ...session, token: null };
      await setMeta(db, "session", session);
      refresh();
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
  refresh();
}

async function signOut() {
  sync?.stop();
  sync = null;
  await clearSynced(db);
  session = null;
  await setMeta(db, "session", null);
  await setMeta(db, "pin", null);
  location.hash = "#/";
  refresh();
}

async function hashPin(pin) {
  const data = new TextEncoder().encode(`${session?.device_id}:${pin}`);
  const digest = await crypto.subtle.digest("SHA-256", data);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function parseRoute(hash) {
  const [path, query] = (hash || "#/").slice(1).split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  if (parts[0] === "incident" && parts[1]) return { name: "incident", id: parts[1], key: "#/" };
  if (parts[0] === "mediation" && parts[1] === "new")
    return { name: "mediation", incidentId: params.get("incident"), key: "#/mediation/new" };
  if (parts[0] === "mediation" && parts[1]) return { name: "mediation", recordId: parts[1], key: "#/mediation/new" };
  if (parts[0] === "outbox") return { name: "outbox", key: "#/outbox" };
  if (parts[0] === "settings") return { name: "settings", key: "#/settings" };
  return { name: "work", key: "#/" };
}

function App() {
  const [snap, setSnap] = useState(null);
  const [route, setRoute] = useState(parseRoute(location.hash));
  const [now, setNow] = useState(Date.now());
  const [online, setOnline] = useState(navigator.onLine);
  const [offset, setOffset] = useState(0);
  const [update, setUpdate] = useState(null);
  const [locked, setLocked] = useState(false);
  const [pin, setPin] = useState(null);
  const [, setLangTick] = useState(0);
  // A lock survives a reload: otherwise reloading the page would be a way around the PIN.
  const lockNow = () => {
    setMeta(db, "locked", true);
    setLocked(true);
  };

  useEffect(() => {
    let pending = false;
    refresh = () => {
      if (pending) return;
      pending = true;
      setTimeout(async () => {
        pending = false;
        setSnap(await loadSnapshot(db));
        if (sync) setOffset((await sync.clockOffset()) || 0);
        setOnline(navigator.onLine && (sync?.state.connected ?? true));
      }, 50);
    };
    refresh();
    getMeta(db, "pin").then(async (p) => {
      setPin(p);
      const last = await getMeta(db, "last_active", 0);
      const wasLocked = await getMeta(db, "locked", false);
      if (p && (wasLocked || Date.now() - last > LOCK_AFTER_MIN * 60000)) lockNow();
    });
    const onHash = () => setRoute(parseRoute(location.hash));
    const onNet = () => refresh();
    window.addEventListener("hashchange", onHash);
    window.addEventListener("online", onNet);
    window.addEventListener("offline", onNet);
    const tick = setInterval(() => setNow(Date.now()), 1000);
    // Activity keeps the session unlocked; idle time locks it (when a PIN is set).
    let lastActive = Date.now();
    const touch = () => {
      lastActive = Date.now();
    };
    for (const ev of ["pointerdown", "keydown"]) window.addEventListener(ev, touch, { passive: true });
    const idle = setInterval(() => {
      setMeta(db, "last_active", lastActive);
      getMeta(db, "pin").then((p) => {
        if (p && Date.now() - lastActive > LOCK_AFTER_MIN * 60000) lockNow();
      });
    }, 15000);
    watchForUpdates((apply) => setUpdate(() => apply));
    if (session?.token) startSync();
    return () => {
      clearInterval(tick);
      clearInterval(idle);
    };
  }, []);

  if (!snap) return html`<div class="loading">…</div>`;
  const banner = update && html`<${UpdateBanner} onUpdate=${update} />`;
  if (!session?.token) return html`${banner}<${SignIn} onSignIn=${signIn} />`;
  if (locked)
    return html`${banner}<${LockScreen}
      onUnlock=${async (entered) => {
        const ok = (await hashPin(entered)) === pin;
        if (ok) {
          await setMeta(db, "last_active", Date.now());
          await setMeta(db, "locked", false);
          setLocked(false);
        }
        return ok;
      }}
    />`;

  // Opening an incident online fetches its current record: an incident reassigned to
  // another station leaves our scope without a feed change telling us so.
  const fetchIncident = async (id) => {
    try {
      const fresh = await api.incident(id);
      const tx = strictTx(db, ["incidents"]);
      const old = await tx.store.get(id);
      if (!old || (old.version ?? 0) <= fresh.version) {
        const { timeline: _timeline, ...record } = fresh;
        await tx.store.put({ ...record, kind: "incident" });
      }
      await tx.done;
    } catch (e) {
      if (e.status === 404 || e.status === 403) await db.delete("incidents", id);
    }
    refresh();
  };
  const act = async (type, body, opts) => {
    const op = await recordOp(db, session, await sync?.clockOffset(), type, body, opts);
    refresh();
    sync?.flush();
    return op;
  };
  const saveBlob = async (sha256, blob) => {
    const tx = strictTx(db, ["blobs"]);
    await tx.store.put({ sha256, blob, type: blob.type, size: blob.size });
    await tx.done;
  };
  const lock = pin ? lockNow : null;
  const props = { snap, session, now, offset, act, sync, fetchIncident };

  let screen;
  if (route.name === "incident") screen = html`<${IncidentScreen} ...${props} id=${route.id} />`;
  else if (route.name === "mediation")
    screen = html`<${MediationScreen} ...${props} recordId=${route.recordId} incidentId=${route.incidentId} saveBlob=${saveBlob} />`;
  else if (route.name === "outbox") screen = html`<${OutboxScreen} ...${props} />`;
  else if (route.name === "settings")
    screen = html`<${SettingsScreen}
      ...${props}
      lockMinutes=${LOCK_AFTER_MIN}
      hasPin=${Boolean(pin)}
      onSetPin=${async (p) => {
        const hashed = await hashPin(p);
        await setMeta(db, "pin", hashed);
        setPin(hashed);
      }}
      onLock=${lock}
      onSignOut=${signOut}
      onLang=${() => setLangTick((x) => x + 1)}
    />`;
  else screen = html`<${Work} ...${props} />`;

  return html`<${StatusBar} snap=${snap} now=${now} online=${online} sync=${sync} onLock=${lock}>${banner}</${StatusBar}>
    ${screen}
    <${Nav} route=${route.key} />`;
}

const root = document.getElementById("app");
root.textContent = ""; // the "loading" placeholder of index.html
render(html`<${App} />`, root);
