// Settings: language, lock PIN (which also seals the data kept on the phone), lock now,
// sign out (asked twice; offline, it says the server keeps the token valid until it expires).
import { useState } from "preact/hooks";
import { html } from "../html.js";
import { t } from "../i18n.js";
import { LangSwitch } from "../widgets.js";

export function SettingsScreen({ snap, session, online, lockMinutes, hasPin, onSetPin, onLock, onSignOut, onLang }) {
  const [msg, setMsg] = useState(null);
  const [savingPin, setSavingPin] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [signingOut, setSigningOut] = useState(false);
  const [signOutError, setSignOutError] = useState(null);
  async function submitPin(e) {
    e.preventDefault();
    const form = e.target;
    const pin = new FormData(form).get("pin");
    if (!/^[0-9]{4,6}$/.test(pin)) return setMsg(t("settings.pin_bad"));
    setSavingPin(true);
    try {
      await onSetPin(pin);
      form.reset();
      setMsg(t("settings.pin_set", { n: lockMinutes }));
    } catch (err) {
      setMsg(t("settings.pin_failed", { message: err.message }));
    } finally {
      setSavingPin(false);
    }
  }
  async function signOut() {
    setSigningOut(true);
    setSignOutError(null);
    try {
      await onSignOut();
    } catch (err) {
      setSignOutError(err.message);
      setSigningOut(false);
    }
  }
  const waiting = snap.pending.length + snap.blobs.length;
  return html`<main class="screen settings">
    <h2>${t("settings.title")}</h2>
    <p>${t("settings.signed_in", { name: session.person.name, role: session.person.role })}</p>
    <h3>${t("settings.language")}</h3>
    <${LangSwitch} onChange=${onLang} />
    <h3>${t("settings.pin")}</h3>
    ${!hasPin && html`<p class="banner warn" data-testid="pin-suggest">${t("settings.pin_suggest")}</p>`}
    <form onSubmit=${submitPin} data-testid="pin-form">
      <input name="pin" type="password" inputmode="numeric" autocomplete="off" disabled=${savingPin} />
      <button type="submit" disabled=${savingPin}>${t(savingPin ? "settings.pin_saving" : hasPin ? "settings.pin_change" : "settings.pin_save")}</button>
    </form>
    ${(msg || hasPin) && html`<p class="muted" data-testid="pin-msg">${msg || t("settings.pin_set", { n: lockMinutes })}</p>`}
    ${hasPin && html`<p class="muted small">${t("settings.pin_sealed")}</p>`}
    ${hasPin && html`<button onClick=${onLock} data-testid="lock-now">${t("settings.lock_now")}</button>`}
    <h3>${t("settings.signout")}</h3>
    ${waiting > 0
      ? html`<p class="banner warn">${t("settings.signout_blocked", { n: waiting })}</p>`
      : confirming
        ? html`<div class="confirm" data-testid="signout-confirm">
            <p>${t("settings.signout_confirm")}</p>
            ${!online && html`<p class="banner warn" data-testid="signout-offline">${t("settings.signout_offline")}</p>`}
            ${signOutError && html`<p class="error" role="alert">${signOutError}</p>`}
            <button class="danger" onClick=${signOut} disabled=${signingOut} data-testid="signout-yes">
              ${t(signingOut ? "settings.signing_out" : "settings.signout_yes")}
            </button>
            <button onClick=${() => setConfirming(false)} disabled=${signingOut}>${t("common.cancel")}</button>
          </div>`
        : html`<button class="danger" onClick=${() => setConfirming(true)} data-testid="signout">${t("settings.signout")}</button>`}
  </main>`;
}
