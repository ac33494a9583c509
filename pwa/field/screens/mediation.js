// A mediation outcome, for an incident or standalone; saving again edits it (record_id and
// base_op_id = the version on screen).
import { useEffect, useRef, useState } from "preact/hooks";
import { AGREEMENTS } from "../../core/index.js";
import { html } from "../html.js";
import { label, t } from "../i18n.js";
import { mediationView } from "../snapshot.js";
import { shanghaiToday } from "../supervision.js";
import { usePhoto } from "../widgets.js";

export function MediationScreen({ snap, session, recordId, incidentId, act, saveBlob, now = Date.now(), offset = 0 }) {
  const view = recordId ? mediationView(snap, recordId) : null;
  const body = view?.body;
  const incident = (view?.incident_id || incidentId) && snap.byId.get(view?.incident_id || incidentId);
  const [parties, setParties] = useState(body?.parties?.length ? body.parties : [{ name: "", role: "" }, { name: "", role: "" }]);
  const { photo, setPhoto, error, pick } = usePhoto();
  const [saved, setSaved] = useState(false);
  const justSaved = useRef(null);
  useEffect(() => {
    setParties(body?.parties?.length ? body.parties : [{ name: "", role: "" }, { name: "", role: "" }]);
    // Moving to the record just created keeps its "saved" note; any other move clears it.
    if (recordId !== justSaved.current) setSaved(false);
    setPhoto(null);
  }, [recordId, incidentId, view?.head]);

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
    ${body?.follow_up_on && body.follow_up_on <= shanghaiToday(now, offset) &&
      html`<p class="banner warn" data-testid="follow-up-due">${t("fu.record", { date: body.follow_up_on })}</p>`}
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
