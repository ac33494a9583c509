// The incident: details and clocks, point-checks and replies, the arrival button, scene
// report, disposition, body-camera clip, evidence, notes, mediation outcomes, and
// everything recorded on it with its state. Once it is handled (closed, or a disposition
// recorded), the citizen's rating QR code (field/screens/rating-qr.js). PROTOCOL §11: the
// supervision orders on it (read only here; the chief answers on the order's screen),
// 三反馈 (arrival / scene report / disposition in), and on an accepted case 案件进度.
import { useEffect, useState } from "preact/hooks";
import { EVIDENCE_KINDS, RESULTS } from "../../core/index.js";
import { html } from "../html.js";
import { label, t } from "../i18n.js";
import { editableView, intOrNull, isAssigned } from "../model.js";
import { canInvite, invitesOf, recordRatingInvite } from "../rating.js";
import { mediationView } from "../snapshot.js";
import { RecordedLog, clockText, timeText } from "../widgets.js";
import { CASE_STAGES, caseProgressBody, caseView, isCase, ordersOfIncident, threeFeedbacks } from "../supervision.js";
import { LevelTag, OrderClock } from "./desk.js";
import { RatingQr } from "./rating-qr.js";

/** The supervision orders on the incident: 挂牌督办 in red, state and due clock, read only. */
function Supervision({ orders, now, offset }) {
  if (orders.length === 0) return null;
  return html`<section class="supervision" data-testid="incident-supervision">
    ${orders.map((o) => html`<a key=${o.id} class="card order ${o.level === "bureau" ? "bureau" : ""}" href=${`#/order/${o.id}`}
        data-order=${o.id} data-state=${o.state} data-level=${o.level}>
      <div class="card-top"><strong>${t("sup.order")}</strong> <${LevelTag} level=${o.level} />
        <span class="tag">${label("supervision_state", o.state)}</span></div>
      ${o.instructions && html`<div class="small">${o.instructions}</div>`}
      <div><${OrderClock} view=${o} now=${now} offset=${offset} /></div>
    </a>`)}
  </section>`;
}

/** 三反馈: which of the three feedbacks are in (on the server, or recorded here). */
function ThreeFeedbacks({ three }) {
  const item = (key) => html`<span class="fb ${three[key] ? "in" : "out"}" data-feedback=${key} data-state=${three[key] || "missing"}>
    ${three[key] ? "✓" : "○"} ${t(`tfb.${key}`)}${three[key] === "here" ? html`<small> ${t("tfb.here")}</small>` : ""}</span>`;
  const n = ["arrival", "scene", "disposition"].filter((k) => three[k]).length;
  return html`<div class="three-feedbacks" data-testid="three-feedbacks" data-complete=${String(n === 3)}>
    <strong>${t("tfb.title")} ${n}/3</strong> ${item("arrival")} ${item("scene")} ${item("disposition")}
  </div>`;
}

/** 案件进度: the case's stages, and the form that records a `case_progress`. */
function CaseProgress({ view, onSubmit }) {
  return html`<section class="case" data-testid="case">
    <h3>${t("case.title")}</h3>
    ${view?.case_number && html`<p>${t("case.number")}: <strong data-testid="case-number">${view.case_number}</strong>
      ${view.stage && html` <span class="tag" data-testid="case-stage" data-stage=${view.stage}>${label("case_stage", view.stage)}</span>`}</p>`}
    ${view && view.stages.length > 0 && html`<ol class="log" data-testid="case-stages">${view.stages.map((st) => html`<li key=${st.op_id} data-stage=${st.stage} data-state=${st.pending ? "pending" : "recorded"}>
      <span>${label("case_stage", st.stage)}</span> <span class="muted small">${timeText(st.at)}</span>
      ${st.pending && html`<span class="tag pending">${t("state.pending")}</span>`}</li>`)}</ol>`}
    <form key=${view?.stages.length || 0} data-testid="case-form" onSubmit=${onSubmit}>
      <label>${t("case.number")}<input name="case_number" required maxLength="64" defaultValue=${view?.case_number || ""} /></label>
      <label>${t("case.stage")}<select name="stage">${CASE_STAGES.map((st) => html`<option value=${st} selected=${st === nextStage(view?.stage)}>${label("case_stage", st)}</option>`)}</select></label>
      <button type="submit">${t("case.save")}</button>
    </form>
  </section>`;
}

/** The stage a case most likely moves to next (the form's default). */
function nextStage(stage) {
  if (!stage) return "filed";
  if (stage === "filed") return "solved";
  return "closed";
}

/** The phone's position within `ms`, or null (no fix, a refusal, or too slow). */
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
  const [qrToken, setQrToken] = useState(null); // the rating invite on screen, if any
  const [inviting, setInviting] = useState(false);
  const [inviteError, setInviteError] = useState(null);
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

  const invites = invitesOf(mine, id);
  const lastInvite = invites[invites.length - 1] || null;

  // One invite per incident is the normal case: the button shows the code already made
  // on this phone again; a new one is made only on the first tap or on "new code".
  async function newInvite() {
    if (inviting) return;
    setInviting(true);
    setInviteError(null);
    try {
      setQrToken(await recordRatingInvite(act, id));
    } catch (e) {
      setInviteError(String(e?.message || e));
    } finally {
      setInviting(false);
    }
  }
  const showInvite = () => (lastInvite ? setQrToken(lastInvite.token) : newInvite());

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
    <${Supervision} orders=${ordersOfIncident(incident, snap.orders || [], snap.records, snap.rejectedIds)} now=${now} offset=${offset} />
    <${ThreeFeedbacks} three=${threeFeedbacks(incident, snap.records, snap.rejectedIds)} />

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

    ${canInvite(incident, snap.records) && html`<section class="rating" data-testid="rating">
      <button class="primary rating-invite" data-testid="rating-invite" onClick=${showInvite} disabled=${inviting}>
        ${t("rating.invite")}
      </button>
      ${lastInvite && html`<p class="muted small">${t("rating.made_at", { time: timeText(lastInvite.device_time) })}</p>`}
      ${inviteError && html`<p class="error" role="alert">${t("rating.save_failed", { message: inviteError })}</p>`}
    </section>`}
    ${qrToken && html`<${RatingQr} token=${qrToken} busy=${inviting} onClose=${() => setQrToken(null)} onNew=${newInvite} />`}

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

    ${isCase(incident, snap.records, snap.rejectedIds) && html`<${CaseProgress}
      view=${caseView(incident, snap.records, snap.rejectedIds)}
      onSubmit=${form((f) => act("case_progress", caseProgressBody(f.get("case_number"), f.get("stage")), { incidentId: id }))} />`}

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

    <${RecordedLog} mine=${mine} snap=${snap} />
  </main>`;
}
