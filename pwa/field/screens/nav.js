// The tabs at the bottom of every screen.
import { html } from "../html.js";
import { t } from "../i18n.js";

/** `agency`: a linked agency's person, whose list is "交办事项" and who has no mediation tab. */
export function Nav({ route, agency = false }) {
  const item = (href, key) =>
    html`<a href=${href} class=${route === href ? "active" : ""}>${t(key)}</a>`;
  return html`<nav class="tabs">
    ${agency ? item("#/", "nav.agency") : item("#/", "nav.work")} ${!agency && item("#/mediation/new", "nav.mediation")}
    ${item("#/outbox", "nav.outbox")} ${item("#/settings", "nav.settings")}
  </nav>`;
}
