// My work: mediation follow-ups due (回访提醒), open incidents assigned to me with the
// clock that matters now, point-check badges, and standalone mediation cases.
import { html } from "../html.js";
import { label, t } from "../i18n.js";
import { leadingClock, myWork, openPointChecks } from "../model.js";
import { mediationCases } from "../snapshot.js";
import { clockText } from "../widgets.js";

/** Mediation records whose follow-up date has come (app.js: supervision.js dueFollowUps). */
function FollowUps({ items, snap }) {
  if (!items || items.length === 0) return null;
  return html`<section class="follow-ups" data-testid="follow-ups">
    <h3>${t("fu.title")} <span class="badge">${items.length}</span></h3>
    <p class="muted small">${t("fu.hint")}</p>
    <ul class="cards">
      ${items.map((v) => {
        const incident = v.incident_id && snap.byId.get(v.incident_id);
        return html`<li key=${v.record_id}><a class="card" href=${`#/mediation/${v.record_id}`} data-record=${v.record_id}>
          <div class="card-top"><strong>${v.body.dispute_type}</strong>
            <span class="tag bad">${t("fu.due_on", { date: v.body.follow_up_on })}</span>
            ${incident && html`<span class="tag">${incident.number}</span>`}</div>
          <div class="muted">${(v.body.parties || []).map((p) => p.name).join("、")}</div>
        </a></li>`;
      })}
    </ul>
  </section>`;
}

export function Work({ snap, session, now, offset, followUps = [] }) {
  const items = myWork(snap.incidents, session.person.id);
  const localReplies = new Set(
    snap.records.filter((r) => r.type === "point_check_reply").map((r) => r.body.request_id),
  );
  const cases = mediationCases(snap);
  const arrivedHere = new Set(
    snap.records.filter((r) => r.type === "arrival" && r.person_id === session.person.id).map((r) => r.incident_id),
  );
  return html`<main class="screen">
    <${FollowUps} items=${followUps} snap=${snap} />
    <h2>${t("work.title")}</h2>
    ${items.length === 0 && html`<p class="muted" data-testid="work-empty">${t("work.empty")}</p>`}
    <ul class="cards" data-testid="work-list">
      ${items.map((i) => {
        const lead = leadingClock(i);
        const checks = openPointChecks(i, session.person.id, localReplies);
        return html`<li key=${i.id}>
          <a class="card" href=${`#/incident/${i.id}`} data-incident=${i.id} data-number=${i.number}>
            <div class="card-top">
              <strong>${i.number}</strong>
              <span class="tag">${label("category", i.category)}</span>
              <span class="tag">${label("status", i.status)}</span>
              ${checks.length > 0 && html`<span class="tag bad" data-testid="point-check-badge">${t("work.point_check")}</span>`}
            </div>
            <div class="address">${i.address}</div>
            <div class="muted ellipsis">${i.narrative}</div>
            ${lead && html`<div>${clockText(lead[0], lead[1], now, offset, lead[0] === "arrival" && arrivedHere.has(i.id))}</div>`}
          </a>
        </li>`;
      })}
    </ul>
    <a class="button" href="#/mediation/new">${t("work.new_mediation")}</a>
    ${cases.length > 0 && html`<h3>${t("work.mediations")}</h3>
      <ul class="cards">
        ${cases.map((c) => html`<li key=${c.record_id}><a class="card" href=${`#/mediation/${c.record_id}`}>
          <div class="card-top"><strong>${c.body.dispute_type}</strong>
            <span class="tag">${label("agreement", c.body.agreement)}</span>
            ${c.pending && html`<span class="tag warn">${t("med.pending")}</span>`}
            ${c.conflicted && html`<span class="tag bad">${label("flag", "conflict")}</span>`}</div>
          <div class="muted">${(c.body.parties || []).map((p) => p.name).join("、")}</div>
        </a></li>`)}
      </ul>`}
  </main>`;
}
