// The screens. Everything shown is read from IndexedDB (what we hold), never straight from
// the network, so the app looks the same with or without coverage; every action is an op
// written to the outbox first and sent by the sync loop.
import { h } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import htm from "htm";
import { AGREEMENTS, ERROR, EVIDENCE_KINDS, formatDuration, RESULTS } from "../core/index.js";
import { getLang, label, setLang, t } from "./i18n.js";
import {
  ageText,
  buildOp,
  clockLeft,
  editableView,
  intOrNull,
  isAssigned,
  leadingClock,
  myWork,
  openPointChecks,
  sha256Hex,
} from "./model.js";
import { record } from "./outbox.js";

export const html = htm.bind(h);

const STALE_MS = 3 * 24 * 3600 * 1000;

/** Everything the screens need, read from IndexedDB in one go. */
export async function loadSnapshot(db) {
  const [incidents, records, outbox, blobs, lastSynced, persisted] = await Promise.all([
    db.getAll("incidents"),
    db.getAll("records"),
    db.getAll("outbox"),
    db.getAll("blobs"),
    db.get("meta", "last_synced"),
    db.get("meta", "persisted"),
  ]);
  const pending = outbox.filter((e) => e.state === "pending").sort((a, b) => a.seq - b.seq);
  const rejected = outbox.filter((e) => e.state === "rejected").sort((a, b) => a.seq - b.seq);
  const pendingIds = new Set(pending.map((e) => e.op.op_id));
  const rejectedIds = new Set(rejected.map((e) => e.op.op_id));
  let conflicts = 0;
  for (const i of incidents) {
    if (i.kind === "incident") conflicts += (i.records || []).filter((r) => r.conflicted).length;
    else if (i.record?.conflicted) conflicts += 1;
  }
  return {
    incidents,
    byId: new Map(incidents.map((i) => [i.id, i])),
    records,
    pending,
    rejected,
    pendingIds,
    rejectedIds,
    blobs: blobs.filter((b) => !b.failed),
    lastSynced: lastSynced || null,
    persisted: persisted ?? null,
    conflicts,
  };
}

function stateOf(snap, opId) {
  if (snap.pendingIds.has(opId)) return "pending";
  if (snap.rejectedIds.has(opId)) return "rejected";
  return "sent";
}

function timeText(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString(getLang(), { hour12: false });
}

function clockText(name, clock, now, offset, doneHere = false) {
  const left = clockLeft(clock, now, offset);
  if (!left) return null;
  let text;
  if (left.state === "met" || left.state === "met_late") text = t(`clock.${left.state}`);
  // Recorded on this phone but not yet reflected by the server: say so, not "overdue".
  else if (doneHere) return html`<span class="clock met" data-clock=${name}>${label("clock", name)} · ${t("clock.done_here")}</span>`;
  else if (left.state === "overdue") text = t("clock.overdue", { d: formatDuration(left.ms, { padMinutes: true }) });
  else text = t("clock.left", { d: formatDuration(left.ms, { padMinutes: true }) });
  return html`<span class="clock ${left.state}" data-clock=${name}>${label("clock", name)} · ${text}</span>`;
}

// --- Status bar and banners ---------------------------------------------------------------

export function StatusBar({ snap, now, online, sync, onLock, children }) {
  const oldest = snap.pending[0]?.queued_at;
  const last = snap.lastSynced;
  const stale = !last || now - Date.parse(last) > STALE_MS;
  return html`
    <header class="status" data-testid="status-bar" data-connected=${String(Boolean(sync?.state?.connected))}>
      ${children}
      <div class="status-row">
        <span class=${online ? "dot on" : "dot off"}>${online ? t("status.online") : t("status.offline")}</span>
        <a href="#/outbox" class="pill ${snap.pending.length ? "warn" : "ok"}" data-testid="pending-count" data-pending=${snap.pending.length}>
          ${snap.pending.length ? t("status.pending", { n: snap.pending.length }) : t("status.all_sent")}
        </a>
        ${oldest && html`<span class="muted" data-testid="oldest-pending">${t("status.oldest", { age: ageText(t, now - Date.parse(oldest)) })}</span>`}
        ${snap.rejected.length > 0 && html`<a href="#/outbox" class="pill bad">${t("status.rejected", { n: snap.rejected.length })}</a>`}
        ${snap.conflicts > 0 && html`<span class="pill bad" data-testid="conflicts">${t("status.conflicts", { n: snap.conflicts })}</span>`}
        <span class="muted" data-testid="last-synced">${last ? t("status.synced", { age: ageText(t, now - Date.parse(last)) }) : t("status.never")}</span>
        ${onLock && html`<button class="icon" onClick=${onLock}>${t("settings.lock")}</button>`}
      </div>
      ${snap.persisted === false && html`<div class="banner warn" data-testid="warn-persist">${t("warn.persist")}</div>`}
      ${stale && last && html`<div class="banner warn" data-testid="warn-stale">${t("warn.stale")}</div>`}
      ${sync?.state?.lastError && snap.pending.length > 0 && html`<div class="muted small" title=${sync.state.lastError}>${t("status.retrying")}</div>`}
    </header>
  `;
}

export function UpdateBanner({ onUpdate }) {
  return html`<button class="banner update" data-testid="update-prompt" onClick=${onUpdate}>
    ${t("update.available")} / New version · ${t("update.tap")}
  </button>`;
}

export function Nav({ route }) {
  const item = (href, key) =>
    html`<a href=${href} class=${route === href ? "active" : ""}>${t(key)}</a>`;
  return html`<nav class="tabs">
    ${item("#/", "nav.work")} ${item("#/mediation/new", "nav.mediation")}
    ${item("#/outbox", "nav.outbox")} ${item("#/settings", "nav.settings")}
  </nav>`;
}

// --- Sign-in and lock ------------------------------------------------------------------

export function SignIn({ onSignIn }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function submit(e) {
    e.preventDefault();
    const f = new FormData(e.target);
    setBusy(true);
    setError(null);
    try {
      await onSignIn(f.get("username").trim(), f.get("password"), f.get("label").trim());
    } catch (err) {
      setError(err.code === ERROR.NETWORK ? t("signin.offline") : t("signin.failed", { message: err.message }));
    } finally {
      setBusy(false);
    }
  }
  return html`<main class="screen signin">
    <h1>${t("app.name")}</h1>
    <form onSubmit=${submit} data-testid="signin-form">
      <label>${t("signin.username")}<input name="username" autocomplete="username" required /></label>
      <label>${t("signin.password")}<input name="password" type="password" autocomplete="current-password" required /></label>
      <label>${t("signin.device")}<input name="label" defaultValue=${t("signin.device_default")} /></label>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button class="primary" type="submit" disabled=${busy}>${t("signin.submit")}</button>
    </form>
    <${LangSwitch} />
  </main>`;
}

export function LangSwitch({ onChange }) {
  const change = (lang) => {
    setLang(lang);
    localStorage.setItem("qingling.lang", lang);
    onChange ? onChange() : location.reload();
  };
  return html`<div class="lang">
    <button class=${getLang() === "zh-CN" ? "active" : ""} onClick=${() => change("zh-CN")}>中文</button>
    <button class=${getLang() === "en" ? "active" : ""} onClick=${() => change("en")}>English</button>
  </div>`;
}

export function LockScreen({ onUnlock }) {
  const [error, setError] = useState(false);
  async function submit(e) {
    e.preventDefault();
    const ok = await onUnlock(new FormData(e.target).get("pin"));
    setError(!ok);
    if (!ok) e.target.reset();
  }
  return html`<main class="screen lock" data-testid="lock-screen">
    <h1>${t("lock.title")}</h1>
    <form onSubmit=${submit}>
      <label>${t("lock.pin")}<input name="pin" inputmode="numeric" type="password" autocomplete="off" pattern="[0-9]{4,6}" required /></label>
      ${error && html`<p class="error" role="alert">${t("lock.wrong")}</p>`}
      <button class="primary" type="submit">${t("lock.unlock")}</button>
    </form>
  </main>`;
}

// --- My work ---------------------------------------------------------------------------

export function Work({ snap, session, now, offset }) {
  const items = myWork(snap.incidents, session.person.id);
  const localReplies = new Set(
    snap.records.filter((r) => r.type === "point_check_reply").map((r) => r.body.request_id),
  );
  const cases = mediationCases(snap);
  const arrivedHere = new Set(
    snap.records.filter((r) => r.type === "arrival" && r.person_id === session.person.id).map((r) => r.incident_id),
  );
  return html`<main class="screen">
    <h2>${t("work.title")}</h2>
    ${items.length === 0 && html`<p class="muted" data-testid="work-empty">${t("work.empty")}</p>`}
    <ul class="cards" data-testid="work-list">
      ${items.map((i) => {
        const lead = leadingClock(i);
        const checks = openPointChecks(i, session.person.id, localReplies);
        return html`<li key=${i.id}>
          <a class="card" href=${`#/incident/${i.id}`} data-incident=${i.id} data-number=${i.number}>
            <div class="card-top">
              <strong>${i.number}</strong>
              <span class="tag">${label("category", i.category)}</span>
              <span class="tag">${label("status", i.status)}</span>
              ${checks.length > 0 && html`<span class="tag bad" data-testid="point-check-badge">${t("work.point_check")}</span>`}
            </div>
            <div class="address">${i.address}</div>
            <div class="muted ellipsis">${i.narrative}</div>
            ${lead && html`<div>${clockText(lead[0], lead[1], now, offset, lead[0] === "arrival" && arrivedHere.has(i.id))}</div>`}
          </a>
        </li>`;
      })}
    </ul>
    <a class="button" href="#/mediation/new">${t("work.new_mediation")}</a>
    ${cases.length > 0 && html`<h3>${t("work.mediations")}</h3>
      <ul class="cards">
        ${cases.map((c) => html`<li key=${c.record_id}><a class="card" href=${`#/mediation/${c.record_id}`}>
          <div class="card-top"><strong>${c.body.dispute_type}</strong>
            <span class="tag">${label("agreement", c.body.agreement)}</span>
            ${c.pending && html`<span class="tag warn">${t("med.pending")}</span>`}
            ${c.conflicted && html`<span class="tag bad">${label("flag", "conflict")}</span>`}</div>
          <div class="muted">${(c.body.parties || []).map((p) => p.name).join("、")}</div>
        </a></li>`)}
      </ul>`}
  </main>`;
}

/** Standalone mediation cases: the server's, and those recorded here it has not confirmed. */
function mediationCases(snap) {
  const ids = new Set();
  for (const i of snap.incidents) if (i.kind === "mediation") ids.add(i.id);
  for (const r of snap.records) if (r.type === "mediation_outcome" && !r.incident_id) ids.add(r.record_id);
  const out = [];
  for (const id of ids) {
    const view = mediationView(snap, id);
    if (view) out.push(view);
  }
  return out;
}

function mediationView(snap, recordId) {
  const versions = snap.records.filter((r) => r.record_id === recordId);
  const standalone = snap.byId.get(recordId);
  let serverRecord = standalone?.kind === "mediation" ? standalone.record : null;
  const incidentId = versions[0]?.incident_id;
  if (!serverRecord && incidentId) {
    serverRecord = (snap.byId.get(incidentId)?.records || []).find((r) => r.record_id === recordId) || null;
  }
  const view = editableView(serverRecord, versions);
  return view && { ...view, incident_id: incidentId || null };
}

// --- Incident --------------------------------------------------------------------------

function positionWithin(ms) {
  return new Promise((resolve) => {
    if (!navigator.geolocation) return resolve(null);
    // Our own timer: the API's timeout does not count the time a permission prompt is open.
    const timer = setTimeout(() => resolve(null), ms);
    navigator.geolocation.getCurrentPosition(
      (p) => {
        clearTimeout(timer);
        resolve(p);
      },
      () => {
        clearTimeout(timer);
        resolve(null);
      },
      { enableHighAccuracy: true, timeout: ms, maximumAge: 60000 },
    );
  });
}

export function IncidentScreen({ snap, session, id, now, offset, act, fetchIncident }) {
  const incident = snap.byId.get(id);
  const [locating, setLocating] = useState(false);
  const [saved, setSaved] = useState(null);
  const mine = snap.records
    .filter((r) => r.incident_id === id)
    .sort((a, b) => (a.device_time < b.device_time ? -1 : 1));
  useEffect(() => {
    if (navigator.onLine && fetchIncident) fetchIncident(id);
  }, [id]);
  useEffect(() => {
    // Opening a newly dispatched incident tells the command center it was seen.
    if (
      incident &&
      incident.status === "dispatched" &&
      isAssigned(incident, session.person.id) &&
      !mine.some((r) => r.type === "ack_dispatch" && r.person_id === session.person.id)
    ) {
      act("ack_dispatch", {}, { incidentId: id });
    }
  }, [id, Boolean(incident)]);
  if (!incident) return html`<main class="screen"><a href="#/">${t("incident.back")}</a><p>${t("incident.not_found")}</p></main>`;

  const myArrival = mine.find((r) => r.type === "arrival" && r.person_id === session.person.id);
  const sceneRecords = (incident.records || []).filter((r) => r.type === "scene_report");
  const localSceneIds = new Set(mine.filter((r) => r.type === "scene_report").map((r) => r.record_id));
  const sceneIds = new Set([...sceneRecords.map((r) => r.record_id), ...localSceneIds]);
  const scenes = [...sceneIds].map((rid) =>
    editableView(sceneRecords.find((r) => r.record_id === rid), mine.filter((r) => r.record_id === rid)),
  ).filter(Boolean);
  const scene = scenes.find((s) => mine.some((r) => r.record_id === s.record_id)) || scenes[0] || null;
  const mediations = [...new Set(mine.filter((r) => r.type === "mediation_outcome").map((r) => r.record_id)),
    ...(incident.records || []).filter((r) => r.type === "mediation_outcome").map((r) => r.record_id)];
  const localReplies = new Set(mine.filter((r) => r.type === "point_check_reply").map((r) => r.body.request_id));
  const checks = incident.point_checks || [];

  const done = async (promise) => {
    await promise;
    setSaved(Date.now());
  };

  async function arrive() {
    const deviceTime = new Date(); // the moment of the tap, whatever the position takes
    setLocating(true);
    const pos = await positionWithin(3000);
    setLocating(false);
    await done(
      act(
        "arrival",
        pos
          ? { lat: pos.coords.latitude, lon: pos.coords.longitude, accuracy_m: pos.coords.accuracy ?? null }
          : { lat: null, lon: null, accuracy_m: null },
        { incidentId: id, deviceTime },
      ),
    );
  }

  const form = (fn) => (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const target = e.target;
    done(fn(f)).then(() => target.reset());
  };

  return html`<main class="screen incident" data-testid="incident-screen">
    <a href="#/" class="back">${t("incident.back")}</a>
    <h2>${incident.number} <span class="tag">${label("category", incident.category)}</span> <span class="tag">${label("status", incident.status)}</span></h2>
    <p class="address">${incident.address}</p>
    <p>${incident.narrative}</p>
    ${incident.caller_name && html`<p class="muted">${t("incident.caller")}: ${incident.caller_name} ${incident.caller_phone || ""}</p>`}
    <div class="clocks">${Object.entries(incident.clocks || {}).map(([n, c]) =>
      clockText(n, c, now, offset, n === "arrival" && Boolean(myArrival)))}</div>

    ${checks.length > 0 && html`<section class="point-checks" data-testid="point-checks">
      <h3>${t("pc.title")}</h3>
      ${checks.map((p) => html`<div class="pc" key=${p.request_id}>
        <p><strong>${p.text}</strong> <span class="muted">${timeText(p.requested_at)}</span></p>
        ${p.replied_at || localReplies.has(p.request_id)
          ? html`<p class="ok">✓ ${t("pc.replied")} ${p.reply || ""}</p>`
          : html`<form onSubmit=${form((f) => act("point_check_reply", { request_id: p.request_id, text: f.get("text") }, { incidentId: id }))}>
              <input name="text" required placeholder=${t("pc.reply_placeholder")} />
              <button type="submit">${t("pc.reply")}</button></form>`}
      </div>`)}
    </section>`}

    <button class="arrive" data-testid="arrive" onClick=${arrive} disabled=${locating}>
      ${locating ? t("incident.locating") : t("incident.arrived")}
      ${myArrival && html`<small>${t("incident.arrived_at", { time: timeText(myArrival.device_time) })}</small>`}
    </button>
    ${saved && html`<p class="ok" role="status" data-testid="saved">${t("form.saved")}</p>`}

    <details open=${!scene}>
      <summary>${t("scene.title")} ${scene?.conflicted ? html`<span class="tag bad">${label("flag", "conflict")}</span>` : ""}</summary>
      ${scene?.conflicted && html`<p class="banner bad">${t("med.conflict")}</p>`}
      <form key=${scene?.head || "new"} data-testid="scene-form" onSubmit=${form((f) =>
        act("scene_report", {
          situation: f.get("situation"),
          parties: intOrNull(f.get("parties")),
          injured: intOrNull(f.get("injured")),
          needs_backup: f.get("needs_backup") === "on",
          attachments: scene?.body?.attachments || [],
        }, { incidentId: id, recordId: scene?.record_id || null, baseOpId: scene?.head || null }))}>
        <label>${t("scene.situation")}<textarea name="situation" required defaultValue=${scene?.body?.situation || ""}></textarea></label>
        <div class="row">
          <label>${t("scene.parties")}<input name="parties" type="number" min="0" inputmode="numeric" defaultValue=${scene?.body?.parties ?? ""} /></label>
          <label>${t("scene.injured")}<input name="injured" type="number" min="0" inputmode="numeric" defaultValue=${scene?.body?.injured ?? ""} /></label>
        </div>
        <label class="check"><input name="needs_backup" type="checkbox" defaultChecked=${Boolean(scene?.body?.needs_backup)} /> ${t("scene.backup")}</label>
        <button type="submit">${scene ? t("scene.edit") : t("scene.save")}</button>
      </form>
    </details>

    <details>
      <summary>${t("disp.title")}</summary>
      <form data-testid="disposition-form" onSubmit=${form((f) => act("disposition", { result: f.get("result"), summary: f.get("summary") }, { incidentId: id }))}>
        <label>${t("disp.result")}<select name="result">${RESULTS.map((r) => html`<option value=${r}>${label("result", r)}</option>`)}</select></label>
        <label>${t("disp.summary")}<textarea name="summary" required></textarea></label>
        <button type="submit">${t("disp.save")}</button>
      </form>
    </details>

    <details>
      <summary>${t("cam.title")}</summary>
      <form data-testid="bodycam-form" onSubmit=${form((f) => act("bodycam_ref", {
        camera_serial: f.get("camera_serial"),
        clip_id: f.get("clip_id"),
        started_at: new Date(f.get("started_at")).toISOString(),
        ended_at: new Date(f.get("ended_at")).toISOString(),
        sha256: f.get("sha256").trim().toLowerCase() || null,
      }, { incidentId: id }))}>
        <label>${t("cam.serial")}<input name="camera_serial" required /></label>
        <label>${t("cam.clip")}<input name="clip_id" required /></label>
        <div class="row">
          <label>${t("cam.start")}<input name="started_at" type="datetime-local" step="1" required /></label>
          <label>${t("cam.end")}<input name="ended_at" type="datetime-local" step="1" required /></label>
        </div>
        <label>${t("cam.sha")}<input name="sha256" pattern="[0-9a-fA-F]{64}" /></label>
        <button type="submit">${t("cam.save")}</button>
      </form>
    </details>

    <details>
      <summary>${t("ev.title")}</summary>
      <form data-testid="evidence-form" onSubmit=${form((f) => act("evidence_item", {
        kind: f.get("kind"), reference: f.get("reference"), sha256: f.get("sha256").trim().toLowerCase() || null,
      }, { incidentId: id }))}>
        <label>${t("ev.kind")}<select name="kind">${EVIDENCE_KINDS.map((k) => html`<option value=${k}>${label("evidence", k)}</option>`)}</select></label>
        <label>${t("ev.reference")}<input name="reference" required /></label>
        <label>${t("ev.sha")}<input name="sha256" pattern="[0-9a-fA-F]{64}" /></label>
        <button type="submit">${t("ev.save")}</button>
      </form>
    </details>

    <details>
      <summary>${t("note.title")}</summary>
      <form data-testid="note-form" onSubmit=${form((f) => act("note", { text: f.get("text") }, { incidentId: id }))}>
        <label>${t("note.text")}<textarea name="text" required></textarea></label>
        <button type="submit">${t("note.save")}</button>
      </form>
    </details>

    <section>
      <h3>${t("med.list")}</h3>
      ${[...new Set(mediations)].map((rid) => {
        const v = mediationView(snap, rid);
        return v && html`<a class="card" href=${`#/mediation/${rid}`} key=${rid}>${v.body.dispute_type} · ${label("agreement", v.body.agreement)}
          ${v.conflicted && html` <span class="tag bad">${label("flag", "conflict")}</span>`}</a>`;
      })}
      <a class="button" data-testid="new-mediation" href=${`#/mediation/new?incident=${id}`}>${t("med.new")}</a>
    </section>

    <section>
      <h3>${t("incident.recorded")}</h3>
      <ul class="log" data-testid="recorded">
        ${mine.map((r) => html`<li key=${r.op_id} data-type=${r.type} data-state=${stateOf(snap, r.op_id)}>
          <span>${label("event", r.type)}</span> <span class="muted">${timeText(r.device_time)}</span>
          <span class="tag ${stateOf(snap, r.op_id)}">${t(`state.${stateOf(snap, r.op_id)}`)}</span>
          ${(r.flags || []).map((fl) => html` <span class="tag bad">${label("flag", fl)}</span>`)}
        </li>`)}
      </ul>
    </section>
  </main>`;
}

// --- Mediation -------------------------------------------------------------------------

export function MediationScreen({ snap, session, recordId, incidentId, act, saveBlob }) {
  const view = recordId ? mediationView(snap, recordId) : null;
  const body = view?.body;
  const incident = (view?.incident_id || incidentId) && snap.byId.get(view?.incident_id || incidentId);
  const [parties, setParties] = useState(body?.parties?.length ? body.parties : [{ name: "", role: "" }, { name: "", role: "" }]);
  const [photo, setPhoto] = useState(null);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState(null);
  const justSaved = useRef(null);
  useEffect(() => {
    setParties(body?.parties?.length ? body.parties : [{ name: "", role: "" }, { name: "", role: "" }]);
    // Moving to the record just created keeps its "saved" note; any other move clears it.
    if (recordId !== justSaved.current) setSaved(false);
    setPhoto(null);
  }, [recordId, incidentId, view?.head]);

  async function pick(e) {
    const file = e.target.files?.[0];
    if (!file) return setPhoto(null);
    try {
      setPhoto({ file, sha256: await sha256Hex(file) });
    } catch (err) {
      setError(String(err));
    }
  }

  async function submit(e) {
    e.preventDefault();
    const f = new FormData(e.target);
    const named = parties.map((p) => ({ name: p.name.trim(), role: p.role.trim() })).filter((p) => p.name);
    const attachments = [...(body?.attachments || [])];
    if (photo) {
      await saveBlob(photo.sha256, photo.file);
      if (!attachments.includes(photo.sha256)) attachments.push(photo.sha256);
    }
    const op = await act("mediation_outcome", {
      dispute_type: f.get("dispute_type"),
      parties: named,
      agreement: f.get("agreement"),
      terms: f.get("terms"),
      follow_up_on: f.get("follow_up_on") || null,
      mediator_ids: body?.mediator_ids?.length ? body.mediator_ids : [session.person.id],
      attachments,
    }, {
      incidentId: view?.incident_id || incidentId || null,
      recordId: view?.record_id || null,
      baseOpId: view?.head || null,
    });
    setSaved(true);
    setPhoto(null);
    justSaved.current = op.record_id || op.op_id;
    if (!view) location.hash = `#/mediation/${op.op_id}`;
  }

  const setParty = (i, key, value) =>
    setParties(parties.map((p, j) => (j === i ? { ...p, [key]: value } : p)));

  return html`<main class="screen mediation" data-testid="mediation-screen">
    <a href=${incident ? `#/incident/${incident.id}` : "#/"} class="back">${t("incident.back")}</a>
    <h2>${view ? t("med.edit") : t("med.new")}</h2>
    <p class="muted">${incident ? t("med.attached", { number: incident.number }) : t("med.standalone")}</p>
    ${view?.conflicted && html`<p class="banner bad" data-testid="conflict-banner">${t("med.conflict")}</p>`}
    ${view?.pending && html`<p class="tag warn">${t("med.pending")}</p>`}
    <form key=${view?.head || "new"} onSubmit=${submit} data-testid="mediation-form">
      <label>${t("med.dispute_type")}<input name="dispute_type" required defaultValue=${body?.dispute_type || ""} /></label>
      <fieldset><legend>${t("med.parties")}</legend>
        ${parties.map((p, i) => html`<div class="row" key=${i}>
          <input aria-label=${t("med.party_name")} placeholder=${t("med.party_name")} data-party-name=${i} value=${p.name} onInput=${(e) => setParty(i, "name", e.target.value)} />
          <input aria-label=${t("med.party_role")} placeholder=${t("med.party_role")} value=${p.role} onInput=${(e) => setParty(i, "role", e.target.value)} />
        </div>`)}
        <button type="button" onClick=${() => setParties([...parties, { name: "", role: "" }])}>${t("med.add_party")}</button>
      </fieldset>
      <fieldset><legend>${t("med.agreement")}</legend>
        ${AGREEMENTS.map((a) => html`<label class="check"><input type="radio" name="agreement" value=${a} required defaultChecked=${(body?.agreement || "reached") === a} /> ${label("agreement", a)}</label>`)}
      </fieldset>
      <label>${t("med.terms")}<textarea name="terms" defaultValue=${body?.terms || ""}></textarea></label>
      <label>${t("med.follow_up")}<input name="follow_up_on" type="date" defaultValue=${body?.follow_up_on || ""} /></label>
      <label>${t("med.photo")}<input name="photo" type="file" accept="image/*" capture="environment" onChange=${pick} /></label>
      ${photo && html`<p class="muted small">${t("med.photo_hash", { hash: photo.sha256.slice(0, 12) })}</p>`}
      ${(body?.attachments || []).map((h) => html`<p class="muted small">${t("med.attachment")} ${h.slice(0, 12)}</p>`)}
      ${error && html`<p class="error">${error}</p>`}
      <button class="primary" type="submit">${t("med.save")}</button>
      ${saved && html`<p class="ok" role="status" data-testid="saved">${t("form.saved")}</p>`}
    </form>
  </main>`;
}

// --- Outbox ----------------------------------------------------------------------------

export function OutboxScreen({ snap, now, sync }) {
  const incidentText = (e) => {
    const inc = e.op.incident_id && snap.byId.get(e.op.incident_id);
    return inc ? inc.number : e.op.incident_id ? e.op.incident_id.slice(0, 8) : t("med.standalone");
  };
  return html`<main class="screen outbox" data-testid="outbox-screen">
    <h2>${t("outbox.title")}</h2>
    <button onClick=${() => sync?.wake()}>${t("outbox.sync_now")}</button>
    <h3>${t("outbox.pending", { n: snap.pending.length })}</h3>
    ${snap.pending.length === 0 && html`<p class="muted">${t("outbox.empty")}</p>`}
    <ul class="log" data-testid="outbox-pending">
      ${snap.pending.map((e) => html`<li key=${e.seq} data-type=${e.op.type} data-op-id=${e.op.op_id}>
        <span>#${e.seq} ${label("event", e.op.type)}</span> <span class="muted">${incidentText(e)}</span>
        <span class="muted">${ageText(t, now - Date.parse(e.queued_at))}</span>
        ${e.attempts > 0 && html`<span class="muted small">${t("outbox.attempts", { n: e.attempts })}</span>`}
      </li>`)}
    </ul>
    ${snap.blobs.length > 0 && html`<p class="muted">${t("outbox.blobs", { n: snap.blobs.length })}</p>`}
    <h3>${t("outbox.rejected", { n: snap.rejected.length })}</h3>
    <ul class="log" data-testid="outbox-rejected">
      ${snap.rejected.map((e) => html`<li key=${e.seq} data-type=${e.op.type} class="rejected">
        <span>#${e.seq} ${label("event", e.op.type)}</span> <span class="muted">${incidentText(e)}</span>
        <div class="error"><code>${e.code}</code> ${e.message}</div>
      </li>`)}
    </ul>
  </main>`;
}

// --- Settings --------------------------------------------------------------------------

export function SettingsScreen({ snap, session, lockMinutes, hasPin, onSetPin, onLock, onSignOut, onLang }) {
  const [msg, setMsg] = useState(null);
  async function submitPin(e) {
    e.preventDefault();
    const pin = new FormData(e.target).get("pin");
    if (!/^[0-9]{4,6}$/.test(pin)) return setMsg(t("settings.pin_bad"));
    await onSetPin(pin);
    e.target.reset();
    setMsg(t("settings.pin_set", { n: lockMinutes }));
  }
  return html`<main class="screen settings">
    <h2>${t("settings.title")}</h2>
    <p>${t("settings.signed_in", { name: session.person.name, role: session.person.role })}</p>
    <h3>${t("settings.language")}</h3>
    <${LangSwitch} onChange=${onLang} />
    <h3>${t("settings.pin")}</h3>
    <form onSubmit=${submitPin} data-testid="pin-form">
      <input name="pin" type="password" inputmode="numeric" autocomplete="off" />
      <button type="submit">${t("settings.pin_save")}</button>
    </form>
    ${(msg || (hasPin && t("settings.pin_set", { n: lockMinutes }))) && html`<p class="muted">${msg || t("settings.pin_set", { n: lockMinutes })}</p>`}
    ${hasPin && html`<button onClick=${onLock} data-testid="lock-now">${t("settings.lock_now")}</button>`}
    <h3>${t("settings.signout")}</h3>
    ${snap.pending.length > 0
      ? html`<p class="banner warn">${t("settings.signout_blocked", { n: snap.pending.length })}</p>`
      : html`<button class="danger" onClick=${onSignOut}>${t("settings.signout")}</button>`}
  </main>`;
}

/** Record an op for the signed-in person through the outbox; the caller then flushes. */
export async function recordOp(db, session, clockOffsetMs, type, body, opts = {}) {
  const op = buildOp(type, body, { ...opts, clockOffsetMs });
  return record(db, op, { personId: session.person.id });
}
