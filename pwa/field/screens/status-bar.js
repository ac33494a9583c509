// The status bar on every screen (online, pending, oldest pending, last synced, conflicts,
// rejected, warnings) and the update prompt.
import { html } from "../html.js";
import { t } from "../i18n.js";
import { ageText } from "../model.js";

const STALE_MS = 3 * 24 * 3600 * 1000;

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
