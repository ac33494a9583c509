// A linked agency's list, "交办事项" (PROTOCOL §10): the calls 110 diverted to the
// person's unit, newest first, each with the dispatcher's instructions and the agency's
// two clocks (签收时限, 反馈时限) counting down on the server's clock.
import { useEffect } from "preact/hooks";
import { agencyClocks, agencyState, agencyWork, divertedTo, returnedHere } from "../agency.js";
import { html } from "../html.js";
import { label, t } from "../i18n.js";
import { clockText } from "../widgets.js";

const STATE_TAG = { new: "warn", acknowledged: "", fed_back: "sent", returning: "bad" };

/** The list as shown: no hooks, so a test can read what it draws. */
export function AgencyWorkView({ snap, session, now, offset }) {
  const items = agencyWork(snap.incidents, session.person, snap.records, snap.rejectedIds);
  return html`<main class="screen" data-testid="agency-work">
    <h2>${t("agency.title")}</h2>
    <p class="muted small">${t("agency.subtitle")}</p>
    ${items.length === 0 && html`<p class="muted" data-testid="work-empty">${t("agency.empty")}</p>`}
    <ul class="cards" data-testid="work-list">
      ${items.map((i) => {
        const state = agencyState(i, snap.records, snap.pendingIds, snap.rejectedIds);
        const acked = state !== "new";
        const fedBack = state === "fed_back" || state === "returning";
        return html`<li key=${i.id}>
          <a class="card" href=${`#/incident/${i.id}`} data-incident=${i.id} data-number=${i.number} data-state=${state}>
            <div class="card-top">
              <strong>${i.number}</strong>
              <span class="tag">${label("category", i.category)}</span>
              <span class="tag ${STATE_TAG[state]}" data-testid="agency-state">${t(`agency.state.${state}`)}</span>
            </div>
            <div class="address">${i.address}</div>
            ${i.diversion?.instructions && html`<div class="instructions-line ellipsis">${t("agency.instructions_line", { text: i.diversion.instructions })}</div>`}
            <div>${agencyClocks(i).map(([n, c]) =>
              clockText(n, c, now, offset, (n === "agency_ack" && acked) || (n === "agency_feedback" && fedBack)))}</div>
          </a>
        </li>`;
      })}
    </ul>
  </main>`;
}

// Incidents this phone returned and the server took stay stored as "diverted" (the server's
// next word on them is outside the agency's scope): asking for each once removes it here.
const asked = new Set();

export function AgencyWork(props) {
  const { snap, session, fetchIncident } = props;
  const stale = snap.incidents
    .filter((i) => divertedTo(i, session.person.station_id) && returnedHere(i, snap.records, snap.rejectedIds))
    .map((i) => i.id)
    .filter((id) => !asked.has(id));
  useEffect(() => {
    if (!navigator.onLine || !fetchIncident) return;
    for (const id of stale) {
      asked.add(id);
      fetchIncident(id);
    }
  }, [stale.join(",")]);
  return AgencyWorkView(props);
}
