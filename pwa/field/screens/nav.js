// The tabs at the bottom of every screen.
import { html } from "../html.js";
import { t } from "../i18n.js";

export function Nav({ route }) {
  const item = (href, key) =>
    html`<a href=${href} class=${route === href ? "active" : ""}>${t(key)}</a>`;
  return html`<nav class="tabs">
    ${item("#/", "nav.work")} ${item("#/mediation/new", "nav.mediation")}
    ${item("#/outbox", "nav.outbox")} ${item("#/settings", "nav.settings")}
  </nav>`;
}
