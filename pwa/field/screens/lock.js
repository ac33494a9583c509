// The session lock: the PIN opens the key that seals this phone's data (field/vault.js).
// Wrong PINs are counted (PIN_ATTEMPTS, field/pin.js); after the last one the app asks for
// the password again. "Reopening": signed in again after the key was forgotten, the PIN
// is still what opens the records kept here; forgotten, they can be given up.
import { useEffect, useState } from "preact/hooks";
import { html } from "../html.js";
import { t } from "../i18n.js";
import { PIN_ATTEMPTS } from "../pin.js";

export function LockScreen({ attemptsLeft, onUnlock, reopening = false, waiting = 0, onDiscard }) {
  const [left, setLeft] = useState(null);
  const [wrong, setWrong] = useState(false);
  const [busy, setBusy] = useState(false);
  const [discarding, setDiscarding] = useState(false);
  useEffect(() => {
    attemptsLeft().then(setLeft);
  }, []);

  async function submit(e) {
    e.preventDefault();
    const form = e.target;
    const pin = new FormData(form).get("pin"); // before the input is disabled while checking
    setBusy(true);
    try {
      const result = await onUnlock(pin);
      setWrong(!result.ok);
      setLeft(result.left);
      if (!result.ok) form.reset();
    } finally {
      setBusy(false);
    }
  }

  return html`<main class="screen lock" data-testid="lock-screen">
    <h1>${t(reopening ? "lock.reopen_title" : "lock.title")}</h1>
    ${reopening && html`<p>${t("lock.reopen", { n: waiting })}</p>`}
    <form onSubmit=${submit}>
      <label>${t("lock.pin")}<input name="pin" inputmode="numeric" type="password" autocomplete="off" pattern="[0-9]{4,6}" required disabled=${busy} /></label>
      ${wrong &&
      html`<p class="error" role="alert" data-testid="lock-wrong" data-left=${left}>${t("lock.wrong_left", { n: left })}</p>`}
      <button class="primary" type="submit" disabled=${busy}>${t(busy ? "lock.checking" : "lock.unlock")}</button>
    </form>
    <p class="muted small" data-testid="lock-rule">
      ${t("lock.rule", { n: PIN_ATTEMPTS })}${!wrong && left != null && left < PIN_ATTEMPTS ? ` ${t("lock.left", { n: left })}` : ""}
    </p>
    ${reopening &&
    html`<div class="discard">
      ${discarding
        ? html`<p class="banner warn">${t("lock.discard_confirm", { n: waiting })}</p>
            <button class="danger" onClick=${onDiscard} data-testid="discard-confirm">${t("lock.discard_yes")}</button>
            <button onClick=${() => setDiscarding(false)}>${t("common.cancel")}</button>`
        : html`<button class="link" onClick=${() => setDiscarding(true)} data-testid="discard">${t("lock.forgot")}</button>`}
    </div>`}
  </main>`;
}
