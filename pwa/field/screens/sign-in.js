// Sign-in (PROTOCOL §1): username, password, a device label.
import { useState } from "preact/hooks";
import { ERROR } from "../../core/index.js";
import { html } from "../html.js";
import { t } from "../i18n.js";
import { LangSwitch } from "../widgets.js";

export function SignIn({ onSignIn }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function submit(e) {
    e.preventDefault();
    const f = new FormData(e.target);
    setBusy(true);
    setError(null);
    try {
      await onSignIn(f.get("username").trim(), f.get("password"), f.get("label").trim());
    } catch (err) {
      setError(err.code === ERROR.NETWORK ? t("signin.offline") : t("signin.failed", { message: err.message }));
    } finally {
      setBusy(false);
    }
  }
  return html`<main class="screen signin">
    <h1>${t("app.name")}</h1>
    <form onSubmit=${submit} data-testid="signin-form">
      <label>${t("signin.username")}<input name="username" autocomplete="username" required /></label>
      <label>${t("signin.password")}<input name="password" type="password" autocomplete="current-password" required /></label>
      <label>${t("signin.device")}<input name="label" defaultValue=${t("signin.device_default")} /></label>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button class="primary" type="submit" disabled=${busy}>${t("signin.submit")}</button>
    </form>
    <${LangSwitch} />
  </main>`;
}
