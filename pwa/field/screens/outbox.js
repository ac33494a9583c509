// The outbox ("待发送"): pending ops, attachments still to upload, rejected ops with the
// server's code and message.
import { html } from "../html.js";
import { label, t } from "../i18n.js";
import { ageText } from "../model.js";

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
