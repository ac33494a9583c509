// Small pieces several screens share: times, clock badges, the list of what this phone
// recorded, the language switch.
import { useState } from "preact/hooks";
import { formatDuration } from "../core/index.js";
import { html } from "./html.js";
import { getLang, label, setLang, t } from "./i18n.js";
import { clockLeft, sha256Hex } from "./model.js";
import { stateOf } from "./snapshot.js";

/** A time as the phone reads it: its own zone, its language, 24-hour. */
export function timeText(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString(getLang(), { hour12: false });
}

/** A clock badge counting on the server's clock; `doneHere`: recorded on this phone, not yet reflected. */
export function clockText(name, clock, now, offset, doneHere = false) {
  const left = clockLeft(clock, now, offset);
  if (!left) return null;
  let text;
  if (left.state === "met" || left.state === "met_late") text = t(`clock.${left.state}`);
  // Recorded on this phone but not yet reflected by the server: say so, not "overdue".
  else if (doneHere) return html`<span class="clock met" data-clock=${name}>${label("clock", name)} · ${t("clock.done_here")}</span>`;
  else if (left.state === "overdue") text = t("clock.overdue", { d: formatDuration(left.ms, { padMinutes: true }) });
  else text = t("clock.left", { d: formatDuration(left.ms, { padMinutes: true }) });
  return html`<span class="clock ${left.state}" data-clock=${name}>${label("clock", name)} · ${text}</span>`;
}

/**
 * What this phone recorded on an incident (`mine`), each with its sync state and flags.
 * `name(record)` words an entry (by default its op type's label).
 */
export function RecordedLog({ mine, snap, name = (r) => label("event", r.type) }) {
  return html`<section>
      <h3>${t("incident.recorded")}</h3>
      <ul class="log" data-testid="recorded">
        ${mine.map((r) => html`<li key=${r.op_id} data-type=${r.type} data-state=${stateOf(snap, r.op_id)}>
          <span>${name(r)}</span> <span class="muted">${timeText(r.device_time)}</span>
          <span class="tag ${stateOf(snap, r.op_id)}">${t(`state.${stateOf(snap, r.op_id)}`)}</span>
          ${(r.flags || []).map((fl) => html` <span class="tag bad">${label("flag", fl)}</span>`)}
        </li>`)}
      </ul>
    </section>`;
}

export function LangSwitch({ onChange }) {
  const change = (lang) => {
    setLang(lang);
    localStorage.setItem("qingling.lang", lang);
    onChange ? onChange() : location.reload();
  };
  return html`<div class="lang">
    <button class=${getLang() === "zh-CN" ? "active" : ""} onClick=${() => change("zh-CN")}>中文</button>
    <button class=${getLang() === "en" ? "active" : ""} onClick=${() => change("en")}>English</button>
  </div>`;
}

/** One photo for a form, optional: picked and hashed, kept until the form sends it (saveBlob). */
export function usePhoto() {
  const [photo, setPhoto] = useState(null);
  const [error, setError] = useState(null);
  async function pick(e) {
    const file = e.target.files?.[0];
    if (!file) return setPhoto(null);
    try {
      setPhoto({ file, sha256: await sha256Hex(file) });
    } catch (err) {
      setError(String(err));
    }
  }
  return { photo, setPhoto, error, pick };
}
