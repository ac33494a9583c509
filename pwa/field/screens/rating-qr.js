// The citizen's QR code (PROTOCOL §9, "Rating by QR, one incident"), full screen over the
// incident: black on white with its quiet zone, the short request under it, the address
// in small text, and buttons to close or make a new code. Drawn as SVG from the module
// matrix field/rating.js makes on the phone: no network is needed to show it.
import { useEffect, useState } from "preact/hooks";
import { html } from "../html.js";
import { t } from "../i18n.js";
import { QUIET_ZONE, qrModules, qrPath, ratingUrl } from "../rating.js";

export function RatingQr({ token, onClose, onNew, busy = false }) {
  const url = ratingUrl(location.origin, token);
  const [modules, setModules] = useState(null);
  const [failed, setFailed] = useState(null);
  useEffect(() => {
    let live = true;
    setModules(null);
    setFailed(null);
    qrModules(url).then(
      (m) => live && setModules(m),
      (e) => live && setFailed(String(e?.message || e)),
    );
    return () => {
      live = false;
    };
  }, [url]);
  useEffect(() => {
    const onKey = (e) => {
      if (e.key === "Escape") onClose();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);

  const size = (modules?.length || 0) + 2 * QUIET_ZONE;
  return html`<div class="qr-overlay" role="dialog" aria-modal="true" aria-label=${t("rating.title")} data-testid="rating-qr">
    <h2>${t("rating.title")}</h2>
    ${modules
      ? html`<svg class="qr" data-testid="rating-qr-code" data-modules=${modules.length}
          viewBox="${-QUIET_ZONE} ${-QUIET_ZONE} ${size} ${size}" shape-rendering="crispEdges"
          role="img" aria-label=${t("rating.qr_label")}>
          <rect x=${-QUIET_ZONE} y=${-QUIET_ZONE} width=${size} height=${size} fill="#fff" />
          <path d=${qrPath(modules)} fill="#000" />
        </svg>`
      : html`<div class="qr qr-wait" role="status">${failed ? t("rating.failed", { message: failed }) : t("rating.making")}</div>`}
    <p class="qr-hint">${t("rating.hint")}</p>
    <p class="qr-url" data-testid="rating-url">${url}</p>
    <div class="qr-actions">
      <button class="primary" data-testid="rating-close" onClick=${onClose}>${t("rating.close")}</button>
      ${onNew && html`<button data-testid="rating-new" onClick=${onNew} disabled=${busy}>${t("rating.new")}</button>`}
    </div>
  </div>`;
}
