// The tabs at the bottom of every screen. `badges`: counts shown on a tab (new orders and
// notices on 督办, mediation follow-ups due on 调解); 0 shows nothing.
import { html } from "../html.js";
import { t } from "../i18n.js";

/** `agency`: a linked agency's person, whose list is "交办事项" and who has no mediation tab. */
export function Nav({ route, agency = false, badges = {} }) {
  const item = (href, key, badge = 0, testid = null) =>
    html`<a href=${href} class=${route === href ? "active" : ""}>${t(key)}${badge > 0 &&
      html`<span class="badge" data-testid=${testid} data-count=${badge} aria-label=${t("nav.badge", { n: badge })}>${badge}</span>`}</a>`;
  return html`<nav class="tabs">
    ${agency ? item("#/", "nav.agency") : item("#/", "nav.work")}
    ${!agency && item("#/mediation/new", "nav.mediation", badges.followUps || 0, "follow-up-badge")}
    ${item("#/desk", "nav.desk", badges.desk || 0, "desk-badge")}
    ${item("#/outbox", "nav.outbox")} ${item("#/settings", "nav.settings")}
  </nav>`;
}
