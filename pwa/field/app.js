// The screens' frame: redraws from IndexedDB when the device says something changed,
// the clock tick, routing, the session lock, the update prompt. Each screen is its own
// module in field/screens/.
import { useEffect, useState } from "preact/hooks";
import { html } from "./html.js";
import { isAgency } from "./agency.js";
import { parseRoute } from "./routes.js";
import { AgencyIncidentScreen } from "./screens/agency-incident.js";
import { AgencyWork } from "./screens/agency-work.js";
import { DeskScreen, NoticeScreen, OrderScreen } from "./screens/desk.js";
import { IncidentScreen } from "./screens/incident.js";
import { LockScreen } from "./screens/lock.js";
import { MediationScreen } from "./screens/mediation.js";
import { Nav } from "./screens/nav.js";
import { OutboxScreen } from "./screens/outbox.js";
import { SettingsScreen } from "./screens/settings.js";
import { SignIn } from "./screens/sign-in.js";
import { StatusBar, UpdateBanner } from "./screens/status-bar.js";
import { Work } from "./screens/work.js";
import { getMeta, setMeta } from "./db.js";
import { allMediationViews, loadSnapshot } from "./snapshot.js";
import { dueFollowUps, shanghaiToday, unseenCounts } from "./supervision.js";
import { watchForUpdates } from "./update.js";

/** Minutes without a touch or a key before the app locks (when a PIN is set). */
const LOCK_AFTER_MIN = 5;

/** The app: the signed-in device's screens, or sign-in, or the lock. */
export function App({ device }) {
  const { db } = device;
  const [snap, setSnap] = useState(null);
  const [route, setRoute] = useState(parseRoute(location.hash));
  const [now, setNow] = useState(Date.now());
  const [online, setOnline] = useState(navigator.onLine);
  const [offset, setOffset] = useState(0);
  const [update, setUpdate] = useState(null);
  const [, setLangTick] = useState(0);

  useEffect(() => {
    let pending = false;
    device.refresh = () => {
      if (pending) return;
      pending = true;
      setTimeout(async () => {
        pending = false;
        setSnap(await loadSnapshot(db, device.vault));
        const sync = device.sync;
        if (sync) setOffset((await sync.clockOffset()) || 0);
        setOnline(navigator.onLine && (sync?.state.connected ?? true));
      }, 50);
    };
    device.refresh();
    const onHash = () => setRoute(parseRoute(location.hash));
    const onNet = () => device.refresh();
    window.addEventListener("hashchange", onHash);
    window.addEventListener("online", onNet);
    window.addEventListener("offline", onNet);
    const tick = setInterval(() => setNow(Date.now()), 1000);
    // Activity keeps the session unlocked; idle time locks it (when a PIN is set). A
    // reload with a PIN set always starts locked: the key that opens the data is only
    // ever in memory.
    let lastActive = Date.now();
    const touch = () => {
      lastActive = Date.now();
    };
    for (const ev of ["pointerdown", "keydown"]) window.addEventListener(ev, touch, { passive: true });
    const idle = setInterval(() => {
      if (device.phase === "ready" && Date.now() - lastActive > LOCK_AFTER_MIN * 60000) device.lock();
    }, 15000);
    watchForUpdates((apply) => setUpdate(() => apply));
    if (device.phase === "ready") device.startSync();
    return () => {
      clearInterval(tick);
      clearInterval(idle);
    };
  }, []);

  if (!snap) return html`<div class="loading">…</div>`;
  const banner = update && html`<${UpdateBanner} onUpdate=${update} />`;
  const { session, sync } = device;
  const phase = device.phase;
  // While the data is sealed only the outbox's counts can be read (they are kept in the clear).
  const waiting = snap.stats.pending;
  if (phase === "signin")
    return html`${banner}<${SignIn}
      onSignIn=${device.signIn}
      ended=${session?.ended || null}
      username=${session?.username || ""}
      waiting=${waiting}
      signOutNote=${device.signOutNote}
    />`;
  if (phase === "lock" || snap.sealed)
    return html`${banner}<${LockScreen}
      attemptsLeft=${device.attemptsLeft}
      onUnlock=${device.unlock}
      reopening=${device.reopening}
      waiting=${waiting}
      onDiscard=${device.discardSealed}
    />`;

  const lock = device.hasPin ? device.lock : null;
  // 督办 and 通报 opened here stop counting on the badge (meta "seen", ids only).
  const markSeen = async ({ orders = [], notices = [] }) => {
    const seen = await getMeta(db, "seen", { orders: [], notices: [] });
    const o = new Set(seen.orders || []);
    const n = new Set(seen.notices || []);
    const before = o.size + n.size;
    for (const id of orders) o.add(id);
    for (const id of notices) n.add(id);
    if (o.size + n.size === before) return;
    await setMeta(db, "seen", { orders: [...o], notices: [...n] });
    device.refresh();
  };
  const props = { snap, session, now, offset, act: device.act, sync, fetchIncident: device.fetchIncident, markSeen };
  const unseen = unseenCounts(snap.orders, snap.notices, snap.seen);
  const followUps = dueFollowUps(allMediationViews(snap), session.person.id, shanghaiToday(now, offset));
  const badges = { desk: unseen.orders + unseen.notices, followUps: followUps.length };

  // A linked agency's person (PROTOCOL §10) gets their own list and incident screen, with
  // none of the police's controls; mediation is not theirs either.
  const agency = isAgency(session.person);
  let screen;
  if (route.name === "incident" && agency)
    screen = html`<${AgencyIncidentScreen} ...${props} id=${route.id} saveBlob=${device.saveBlob} />`;
  else if (route.name === "incident") screen = html`<${IncidentScreen} ...${props} id=${route.id} />`;
  else if (route.name === "mediation" && !agency)
    screen = html`<${MediationScreen} ...${props} recordId=${route.recordId} incidentId=${route.incidentId} saveBlob=${device.saveBlob} />`;
  else if (route.name === "desk") screen = html`<${DeskScreen} ...${props} />`;
  else if (route.name === "order") screen = html`<${OrderScreen} ...${props} id=${route.id} saveBlob=${device.saveBlob} />`;
  else if (route.name === "notice") screen = html`<${NoticeScreen} ...${props} id=${route.id} saveBlob=${device.saveBlob} />`;
  else if (route.name === "outbox") screen = html`<${OutboxScreen} ...${props} />`;
  else if (route.name === "settings")
    screen = html`<${SettingsScreen}
      ...${props}
      online=${navigator.onLine}
      lockMinutes=${LOCK_AFTER_MIN}
      hasPin=${device.hasPin}
      onSetPin=${device.setPin}
      onLock=${lock}
      onSignOut=${device.signOut}
      onLang=${() => setLangTick((x) => x + 1)}
    />`;
  else if (agency) screen = html`<${AgencyWork} ...${props} />`;
  else screen = html`<${Work} ...${props} followUps=${followUps} />`;

  return html`<${StatusBar} snap=${snap} now=${now} online=${online} sync=${sync} onLock=${lock}>${banner}</${StatusBar}>
    ${screen}
    <${Nav} route=${route.key} agency=${agency} badges=${badges} />`;
}
