// Small DOM helpers shared by the views.

/** Escape text for HTML (every value from the server goes through this). */
export function esc(value) {
  if (value === null || value === undefined) return "";
  return String(value).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c],
  );
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** A short message in the status line (role=status, so screen readers announce it). */
export function notify(message, kind = "info") {
  const box = $("#notice");
  if (!box) return;
  box.textContent = message;
  box.className = `notice ${kind}`;
  box.hidden = false;
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => {
    box.hidden = true;
  }, 6000);
}

/** Form fields as an object; empty strings are left out. */
export function formValues(form) {
  const out = {};
  for (const [key, value] of new FormData(form).entries()) {
    if (typeof value === "string" && value.trim() === "") continue;
    if (key in out) {
      out[key] = [].concat(out[key], value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** A datetime-local value (Beijing time, as the desk enters it) as RFC 3339. */
export function beijingToIso(local) {
  if (!local) return undefined;
  const withSeconds = local.length === 16 ? `${local}:00` : local;
  return `${withSeconds}+08:00`;
}
