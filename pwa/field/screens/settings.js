// Settings: language, lock PIN, lock now, sign out.
import { useState } from "preact/hooks";
import { html } from "../html.js";
import { t } from "../i18n.js";
import { LangSwitch } from "../widgets.js";

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
