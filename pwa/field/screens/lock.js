// The session lock: the PIN guards the screen (not the data) after idle time or "锁定".
import { useState } from "preact/hooks";
import { html } from "../html.js";
import { t } from "../i18n.js";

export function LockScreen({ onUnlock }) {
  const [error, setError] = useState(false);
  async function submit(e) {
    e.preventDefault();
    const ok = await onUnlock(new FormData(e.target).get("pin"));
    setError(!ok);
    if (!ok) e.target.reset();
  }
  return html`<main class="screen lock" data-testid="lock-screen">
    <h1>${t("lock.title")}</h1>
    <form onSubmit=${submit}>
      <label>${t("lock.pin")}<input name="pin" inputmode="numeric" type="password" autocomplete="off" pattern="[0-9]{4,6}" required /></label>
      ${error && html`<p class="error" role="alert">${t("lock.wrong")}</p>`}
      <button class="primary" type="submit">${t("lock.unlock")}</button>
    </form>
  </main>`;
}
