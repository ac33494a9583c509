// Sign-in (PROTOCOL §1): username, password, a device label. After a session ended
// (expired, revoked, or the PIN's attempts used up) it says why, fills in who was signed
// in, and says the records still waiting are kept.
import { useState } from "preact/hooks";
import { ERROR } from "../../core/index.js";
import { html } from "../html.js";
import { t } from "../i18n.js";
import { PIN_ATTEMPTS } from "../pin.js";
import { LangSwitch } from "../widgets.js";

/** Why the sign-in screen shows: `ended` of the lost session ("expired", "ended", "pin_lockout"). */
const ENDED = { expired: "signin.expired", ended: "signin.ended", pin_lockout: "signin.pin_lockout" };

export function SignIn({ onSignIn, ended = null, username = "", waiting = 0, signOutNote = null }) {
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
    ${ended &&
    html`<div class="banner warn" role="status" data-testid="session-ended" data-ended=${ended}>
      <strong>${t(ENDED[ended] || "signin.ended", { n: PIN_ATTEMPTS })}</strong>
      ${waiting > 0 && html`<div>${t("signin.kept", { n: waiting })}</div>`}
    </div>`}
    ${!ended &&
    signOutNote &&
    html`<p class="banner warn" role="status" data-testid="signout-unconfirmed">${t("signin.signout_unconfirmed")}</p>`}
    <form onSubmit=${submit} data-testid="signin-form">
      <label>${t("signin.username")}<input name="username" autocomplete="username" required defaultValue=${username} /></label>
      <label>${t("signin.password")}<input name="password" type="password" autocomplete="current-password" required /></label>
      <label>${t("signin.device")}<input name="label" defaultValue=${t("signin.device_default")} /></label>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button class="primary" type="submit" disabled=${busy}>${t("signin.submit")}</button>
    </form>
    <${LangSwitch} />
  </main>`;
}
