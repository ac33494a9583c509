// A call diverted to the person's agency (PROTOCOL §10), as the agency sees it: what 110
// asks of them (the dispatcher's instructions), the agency's two clocks, the big "签收"
// button (`ack_dispatch`), and the feedback form "办理反馈" (`agency_feedback`: handled,
// referred, or returned as not the unit's duty, with text and photos), recorded through
// the outbox like every fact, offline too. Nothing of the police's (arrival, scene report,
// disposition, body camera, rating QR) is shown here.
import { useEffect, useState } from "preact/hooks";
import { AGENCY_OUTCOMES, DIVERTED, isOpen } from "../../core/index.js";
import {
  acknowledgement, agencyClocks, divertedTo, feedbackView, recordAck, recordFeedback, rejectedFeedback,
  validateFeedback,
} from "../agency.js";
import { html } from "../html.js";
import { label, t } from "../i18n.js";
import { sha256Hex } from "../model.js";
import { RecordedLog, clockText, timeText } from "../widgets.js";

const FEEDBACK_STATE_TAG = { pending: "pending", sent: "sent", recorded: "sent" };

/** The feedback as recorded: here (pending, sent) or by the server. */
function FeedbackRecorded({ feedback }) {
  return html`<section class="agency-feedback recorded" data-testid="agency-feedback" data-state=${feedback.state} data-outcome=${feedback.outcome}>
    <h3>${t("agency.feedback")}
      <span class="tag ${FEEDBACK_STATE_TAG[feedback.state]}">${t(`agency.fb_state.${feedback.state}`)}</span></h3>
    <p><strong>${label("agency_outcome", feedback.outcome)}</strong>
      ${feedback.at && html` <span class="muted small">${timeText(feedback.at)}</span>`}</p>
    <p class="feedback-text">${feedback.text}</p>
    ${(feedback.attachments || []).length > 0 && html`<p class="muted small">${t("agency.photos_n", { n: feedback.attachments.length })}</p>`}
    ${feedback.outcome === "returned" && html`<p class="muted small">${t("agency.returned_note")}</p>`}
  </section>`;
}

/** The feedback form; `form` holds its state, `on*` change it. */
function FeedbackForm({ form, errors, rejected, busy, onOutcome, onText, onPhotos, onSubmit }) {
  const returned = form.outcome === "returned";
  return html`<form class="agency-form" data-testid="agency-feedback-form" noValidate onSubmit=${onSubmit}>
    <h3>${t("agency.feedback")}</h3>
    ${rejected && html`<p class="banner bad" role="alert">${t("agency.rejected", { message: rejected.message || rejected.code })}</p>`}
    <fieldset><legend>${t("agency.outcome")}</legend>
      ${AGENCY_OUTCOMES.map((o) => html`<label class="check" key=${o}>
        <input type="radio" name="outcome" value=${o} checked=${form.outcome === o} onChange=${() => onOutcome(o)} />
        ${label("agency_outcome", o)}</label>`)}
      ${errors.outcome && html`<p class="error" data-testid="error-outcome">${t("agency.err_outcome")}</p>`}
    </fieldset>
    ${returned && html`<p class="banner warn" data-testid="returned-hint">${t("agency.returned_hint")}</p>`}
    <label>${returned ? t("agency.reason") : t("agency.text")}
      <textarea name="text" value=${form.text} onInput=${(e) => onText(e.target.value)}
        placeholder=${returned ? t("agency.reason_placeholder") : t("agency.text_placeholder")}></textarea></label>
    ${errors.text && html`<p class="error" data-testid="error-text">${returned ? t("agency.err_reason") : t("agency.err_text")}</p>`}
    <label>${t("agency.photos")}<input name="photos" type="file" accept="image/*" multiple onChange=${onPhotos} /></label>
    ${form.photos.length > 0 && html`<p class="muted small" data-testid="photos-attached">${t("agency.photos_n", { n: form.photos.length })}</p>`}
    <button class="primary" type="submit" disabled=${busy}>${t("agency.submit")}</button>
  </form>`;
}

/**
 * The screen as drawn from its inputs (no hooks: a test reads what it shows). `incident`
 * is the stored record; `view` what agency.js makes of it and of the facts recorded here.
 */
/** An agency's acknowledgement is 签收 to them, not the officer's 确认接收派警. */
const agencyEntryName = (r) => (r.type === "ack_dispatch" ? t("agency.acked") : label("event", r.type));

export function AgencyIncidentView({ incident, view, snap, now, offset, form, errors, busy, saved, handlers }) {
  const { ack, feedback, rejected, mine } = view;
  const d = incident.diversion || {};
  const open = incident.status === DIVERTED; // closed or cancelled by 110: nothing more to do
  return html`<main class="screen incident agency" data-testid="incident-screen" data-role="agency">
    <a href="#/" class="back">${t("incident.back")}</a>
    <h2>${incident.number} <span class="tag">${label("category", incident.category)}</span></h2>
    <p class="address">${incident.address}</p>
    <section class="instructions" data-testid="instructions">
      <h3>${t("agency.instructions")}</h3>
      <p>${d.instructions || t("agency.no_instructions")}</p>
      ${d.diverted_at && html`<p class="muted small">${t("agency.diverted_at", { time: timeText(d.diverted_at) })}</p>`}
    </section>
    <p class="muted">${incident.narrative}</p>
    <div class="clocks">${agencyClocks(incident).map(([n, c]) =>
      clockText(n, c, now, offset, (n === "agency_ack" && Boolean(ack)) || (n === "agency_feedback" && Boolean(feedback))))}</div>

    ${(open || ack) && html`<button class="ack" data-testid="agency-ack" onClick=${handlers.ack} disabled=${Boolean(ack) || busy}
      data-acked=${ack ? (ack.pending ? "pending" : "yes") : "no"}>
      ${ack ? t("agency.acked") : t("agency.ack")}
      ${ack && html`<small>${timeText(ack.at)}${ack.pending ? ` · ${t("state.pending")}` : ""}</small>`}
    </button>`}
    ${!open && html`<p class="banner warn" data-testid="agency-closed">${label("status", incident.status)}</p>`}
    ${saved && html`<p class="ok" role="status" data-testid="saved">${t("form.saved")}</p>`}

    ${feedback
      ? html`<${FeedbackRecorded} feedback=${feedback} />`
      : open && html`<${FeedbackForm} form=${form} errors=${errors} rejected=${rejected} busy=${busy} ...${handlers} />`}

    <${RecordedLog} mine=${mine} snap=${snap} name=${agencyEntryName} />
  </main>`;
}

/** What the screen shows of an incident for the agency, from the snapshot. */
export function agencyIncidentView(snap, incident) {
  const mine = snap.records
    .filter((r) => r.incident_id === incident.id)
    .sort((a, b) => (a.device_time < b.device_time ? -1 : 1));
  return {
    mine,
    ack: acknowledgement(incident, snap.records, snap.pendingIds),
    feedback: feedbackView(incident, snap.records, { pendingIds: snap.pendingIds, rejectedIds: snap.rejectedIds }),
    rejected: rejectedFeedback(incident, snap.records, snap.rejected),
  };
}

const EMPTY_FORM = { outcome: null, text: "", photos: [] };

export function AgencyIncidentScreen({ snap, session, id, now, offset, act, fetchIncident, saveBlob }) {
  const incident = snap.byId.get(id);
  const [form, setForm] = useState(EMPTY_FORM);
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const [failure, setFailure] = useState(null);
  useEffect(() => {
    // Online, the current record: a call returned or moved leaves the agency's scope
    // without a feed change telling us so (a 404 removes it from the phone).
    if (navigator.onLine && fetchIncident) fetchIncident(id);
    setForm(EMPTY_FORM);
    setErrors({});
    setSaved(false);
  }, [id]);

  const returnedHere = snap.records.some(
    (r) => r.incident_id === id && r.type === "agency_feedback" && r.local && r.body?.outcome === "returned",
  );
  const view = incident && agencyIncidentView(snap, incident);
  const returnSent = view?.feedback?.outcome === "returned" && view.feedback.state === "sent";
  useEffect(() => {
    // Our "returned" was taken: the call is no longer ours; ask, so it leaves the phone.
    if (returnSent && navigator.onLine && fetchIncident) fetchIncident(id);
  }, [returnSent]);

  // Gone from the phone (a 404), or still stored but no longer the unit's: returned to
  // 110 (received) or moved to another station. Closed or cancelled calls of the unit
  // stay readable.
  const ours = incident && (divertedTo(incident, session.person.station_id) ||
    (incident.station_id === session.person.station_id && !isOpen(incident.status)));
  if (!ours) {
    return html`<main class="screen" data-testid="agency-gone">
      <a href="#/">${t("incident.back")}</a>
      <p>${returnedHere ? t("agency.returned_gone") : t("agency.gone")}</p>
    </main>`;
  }

  async function run(fn) {
    setBusy(true);
    setFailure(null);
    try {
      await fn();
      setSaved(true);
    } catch (e) {
      setFailure(String(e?.message || e));
    } finally {
      setBusy(false);
    }
  }

  const handlers = {
    ack: () => run(() => recordAck(act, incident)),
    onOutcome: (outcome) => {
      setForm({ ...form, outcome });
      setErrors({ ...errors, outcome: undefined });
    },
    onText: (text) => {
      setForm({ ...form, text });
      if (text.trim()) setErrors({ ...errors, text: undefined });
    },
    onPhotos: async (e) => {
      const files = [...(e.target.files || [])];
      try {
        const photos = await Promise.all(files.map(async (file) => ({ file, sha256: await sha256Hex(file) })));
        setForm((f) => ({ ...f, photos }));
      } catch (err) {
        setFailure(String(err));
      }
    },
    onSubmit: (e) => {
      e.preventDefault();
      const check = validateFeedback(form);
      setErrors(check.errors);
      if (!check.ok) return;
      run(async () => {
        await recordFeedback(act, saveBlob, incident, form);
        setForm(EMPTY_FORM);
      });
    },
  };

  return html`${AgencyIncidentView({ incident, view, snap, now, offset, form, errors, busy, saved, handlers })}
    ${failure && html`<p class="error screen" role="alert">${failure}</p>`}`;
}
