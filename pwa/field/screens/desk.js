// 督办 and 通报 on the phone (PROTOCOL §11): the list of supervision orders (open, answered,
// accepted; 挂牌督办 first and in red, the due clock counting on the server's clock) and of
// notices; an order's screen, where the chief of its station answers (`supervision_reply`);
// a notice's screen, where the chief of a station it names answers the rectification it
// asks for (`rectification`, no incident). Both answers go through the outbox, offline too.
// Everything here is read from IndexedDB: it reads the same without coverage.
import { useEffect, useState } from "preact/hooks";
import { html } from "../html.js";
import { label, t } from "../i18n.js";
import { formatDuration } from "../../core/index.js";
import {
  canRectify, canReply, noticeView, orderClock, orderView, rectificationBody, replyBody, replyOptions,
  sortNotices, sortOrders,
} from "../supervision.js";
import { timeText, usePhoto } from "../widgets.js";

/** The order's level tag: 挂牌督办 stands out. */
export function LevelTag({ level }) {
  return html`<span class="tag level ${level === "bureau" ? "bureau" : ""}" data-level=${level}>${label("supervision_level", level)}</span>`;
}

/** The order's clock: time left or overdue while open, awaiting the supervisor once answered. */
export function OrderClock({ view, now, offset }) {
  const c = orderClock(view, now, offset);
  let text;
  if (c.state === "met" || c.state === "met_late") text = t(`clock.${c.state}`);
  else if (c.state === "answered") text = t("sup.awaiting");
  else if (c.state === "overdue") text = t("clock.overdue", { d: formatDuration(c.ms, { padMinutes: true }) });
  else text = t("clock.left", { d: formatDuration(c.ms, { padMinutes: true }) });
  const cls = c.state === "answered" ? "running" : c.state;
  return html`<span class="clock ${cls}" data-clock="supervision" data-clock-state=${c.state}>${t("sup.due")} · ${text}</span>`;
}

function OrderCard({ view, now, offset }) {
  return html`<li key=${view.id}>
    <a class="card order ${view.level === "bureau" ? "bureau" : ""}" href=${`#/order/${view.id}`}
      data-order=${view.id} data-state=${view.state} data-level=${view.level}>
      <div class="card-top">
        <strong>${view.number}</strong>
        <${LevelTag} level=${view.level} />
        <span class="tag ${view.state === "open" ? "bad" : view.state === "answered" ? "warn" : "sent"}">${label("supervision_state", view.state)}</span>
        ${view.pending && html`<span class="tag pending">${t("state.pending")}</span>`}
      </div>
      <div class="muted ellipsis">${view.instructions}</div>
      <div><${OrderClock} view=${view} now=${now} offset=${offset} /></div>
    </a>
  </li>`;
}

function NoticeCard({ view }) {
  return html`<li key=${view.id}>
    <a class="card notice" href=${`#/notice/${view.id}`} data-notice=${view.id} data-state=${view.state || "none"}>
      <div class="card-top">
        <span class="tag kind-${view.kind}">${label("notice_kind", view.kind)}</span>
        ${view.state && html`<span class="tag ${view.state === "done" ? "sent" : "bad"}">${label("rectification_state", view.state)}</span>`}
        ${view.pending && html`<span class="tag pending">${t("state.pending")}</span>`}
        <span class="muted small">${timeText(view.issued_at)}</span>
      </div>
      <div class="ellipsis">${view.text}</div>
      ${view.rectify_by && html`<div class="muted small">${t("notice.rectify_by", { time: timeText(view.rectify_by) })}</div>`}
    </a>
  </li>`;
}

/** The list: orders by state, then notices; opening it marks what it shows as seen. */
export function DeskScreen({ snap, session, now, offset, markSeen }) {
  const views = sortOrders(snap.orders.map((o) => orderView(o, snap.records, snap.rejectedIds)));
  const notices = sortNotices(snap.notices).map((n) =>
    noticeView(n, session.person.station_id, snap.records, snap.rejectedIds, now + offset));
  const orderIds = views.map((v) => v.id).join(",");
  const noticeIds = notices.map((n) => n.id).join(",");
  useEffect(() => {
    markSeen?.({ orders: views.map((v) => v.id), notices: notices.map((n) => n.id) });
  }, [orderIds, noticeIds]);
  const section = (state) => {
    const items = views.filter((v) => v.state === state);
    return items.length > 0 && html`<h3>${label("supervision_state", state)} (${items.length})</h3>
      <ul class="cards" data-testid=${`orders-${state}`}>${items.map((v) => html`<${OrderCard} view=${v} now=${now} offset=${offset} />`)}</ul>`;
  };
  return html`<main class="screen desk" data-testid="desk-screen">
    <h2>${t("sup.title")}</h2>
    ${views.length === 0 && html`<p class="muted" data-testid="orders-empty">${t("sup.empty")}</p>`}
    ${section("open")}${section("answered")}${section("accepted")}
    <h2>${t("notice.title")}</h2>
    ${notices.length === 0 && html`<p class="muted" data-testid="notices-empty">${t("notice.empty")}</p>`}
    <ul class="cards" data-testid="notices">${notices.map((n) => html`<${NoticeCard} view=${n} />`)}</ul>
  </main>`;
}

/** A supervision order: what is asked, by when, the replies and rejections, the answer form. */
export function OrderScreen({ snap, session, id, now, offset, act, saveBlob, markSeen }) {
  const order = snap.orders.find((o) => o.id === id);
  const [saved, setSaved] = useState(false);
  const { photo, setPhoto, error, pick } = usePhoto();
  useEffect(() => {
    if (order) markSeen?.({ orders: [order.id] });
  }, [id, Boolean(order)]);
  if (!order) return html`<main class="screen"><a href="#/desk" class="back">${t("incident.back")}</a><p>${t("sup.not_found")}</p></main>`;
  const view = orderView(order, snap.records, snap.rejectedIds);
  const incident = snap.byId.get(order.incident_id);
  const mayReply = canReply(order, session.person) && view.state === "open";

  async function submit(e) {
    e.preventDefault();
    const f = new FormData(e.target);
    const target = e.target;
    const attachments = [];
    if (photo) {
      await saveBlob(photo.sha256, photo.file);
      attachments.push(photo.sha256);
    }
    // The photo's bytes are kept (above) before the op that names it is recorded.
    await act("supervision_reply", replyBody(order, f.get("text"), attachments), replyOptions(order));
    target.reset();
    setPhoto(null);
    setSaved(true);
  }

  const shownReplies = [
    ...(order.replies || []).map((r) => ({ ...r, state: "recorded" })),
    ...(view.mine || []).filter((r) => !(order.replies || []).some((x) => x.op_id === r.op_id))
      .map((r) => ({ op_id: r.op_id, text: r.body.text, at: r.device_time, state: snap.pendingIds.has(r.op_id) ? "pending" : "sent" })),
  ];
  return html`<main class="screen order" data-testid="order-screen" data-state=${view.state} data-level=${view.level}>
    <a href="#/desk" class="back">${t("incident.back")}</a>
    ${view.level === "bureau" && html`<p class="banner bad bureau-banner" data-testid="bureau-banner">${t("sup.bureau_banner")}</p>`}
    <h2>${t("sup.order")} · ${incident ? html`<a href=${`#/incident/${incident.id}`}>${order.number}</a>` : order.number}</h2>
    <div class="card-top">
      <${LevelTag} level=${view.level} />
      <span class="tag" data-testid="order-state">${label("supervision_state", view.state)}</span>
      ${view.pending && html`<span class="tag pending">${t("state.pending")}</span>`}
    </div>
    <p><${OrderClock} view=${view} now=${now} offset=${offset} /></p>
    <section class="instructions">
      <h3>${t("sup.instructions")}</h3>
      <p data-testid="order-instructions">${order.instructions}</p>
      <p class="muted small">${t("sup.issued", { time: timeText(order.issued_at) })} · ${t("sup.due_at", { time: timeText(order.due_at) })}</p>
    </section>
    ${(order.rejections || []).length > 0 && html`<section data-testid="rejections">
      <h3>${t("sup.rejections")}</h3>
      <ul class="log">${order.rejections.map((r) => html`<li key=${r.at}><span class="tag bad">${t("sup.rejected")}</span> ${r.reason} <span class="muted small">${timeText(r.at)}</span></li>`)}</ul>
    </section>`}
    ${shownReplies.length > 0 && html`<section>
      <h3>${t("sup.replies")}</h3>
      <ul class="log" data-testid="replies">${shownReplies.map((r) => html`<li key=${r.op_id} data-state=${r.state}>
        <span>${r.text}</span> <span class="muted small">${timeText(r.at)}</span>
        <span class="tag ${r.state === "pending" ? "pending" : "sent"}">${t(`sup.reply_state.${r.state}`)}</span>
        ${order.accepted_at && order.reply?.op_id === r.op_id && html`<span class="tag sent">${label("supervision_state", "accepted")}</span>`}
      </li>`)}</ul>
    </section>`}
    ${view.state === "accepted" && html`<p class="ok" data-testid="accepted-note">${t("sup.accepted_note", { time: timeText(order.accepted_at) })}</p>`}
    ${mayReply && html`<form data-testid="reply-form" onSubmit=${submit}>
      <h3>${t("sup.reply")}</h3>
      <label>${t("sup.reply_text")}<textarea name="text" required placeholder=${t("sup.reply_placeholder")}></textarea></label>
      <label>${t("sup.photo")}<input name="photo" type="file" accept="image/*" onChange=${pick} /></label>
      ${error && html`<p class="error">${error}</p>`}
      <button class="primary" type="submit">${t("sup.send")}</button>
    </form>`}
    ${!canReply(order, session.person) && html`<p class="muted small" data-testid="read-only">${t("sup.read_only")}</p>`}
    ${saved && html`<p class="ok" role="status" data-testid="saved">${t("form.saved")}</p>`}
  </main>`;
}

/** A notice: its kind and text, the incidents it is about, the deadline, each station's state. */
export function NoticeScreen({ snap, session, id, now, offset, act, saveBlob, markSeen }) {
  const notice = snap.notices.find((n) => n.id === id);
  const [saved, setSaved] = useState(false);
  const { photo, setPhoto, error, pick } = usePhoto();
  useEffect(() => {
    if (notice) markSeen?.({ notices: [notice.id] });
  }, [id, Boolean(notice)]);
  if (!notice) return html`<main class="screen"><a href="#/desk" class="back">${t("incident.back")}</a><p>${t("notice.not_found")}</p></main>`;
  const view = noticeView(notice, session.person.station_id, snap.records, snap.rejectedIds, now + offset);
  const mayAnswer = canRectify(notice, session.person) && view.owed;

  async function submit(e) {
    e.preventDefault();
    const f = new FormData(e.target);
    const target = e.target;
    const attachments = [];
    if (photo) {
      await saveBlob(photo.sha256, photo.file);
      attachments.push(photo.sha256);
    }
    await act("rectification", rectificationBody(notice, f.get("text"), attachments), { incidentId: null });
    target.reset();
    setPhoto(null);
    setSaved(true);
  }

  return html`<main class="screen notice" data-testid="notice-screen" data-kind=${notice.kind}>
    <a href="#/desk" class="back">${t("incident.back")}</a>
    <h2>${t("notice.one")} <span class="tag kind-${notice.kind}">${label("notice_kind", notice.kind)}</span></h2>
    <p class="muted small">${t("notice.issued", { time: timeText(notice.issued_at) })}</p>
    <p class="notice-text" data-testid="notice-text">${notice.text}</p>
    ${(notice.incidents || []).length > 0 && html`<section>
      <h3>${t("notice.incidents")}</h3>
      <p data-testid="notice-incidents">${notice.incidents.map((i, n) => {
        const known = snap.byId.get(i.incident_id);
        return html`${n > 0 ? "、" : ""}${known ? html`<a href=${`#/incident/${i.incident_id}`}>${i.number}</a>` : i.number}`;
      })}</p>
    </section>`}
    ${notice.rectify_by && html`<p class="banner warn" data-testid="rectify-by">${t("notice.rectify_by", { time: timeText(notice.rectify_by) })}</p>`}
    ${(notice.stations || []).length > 0 && html`<section>
      <h3>${t("notice.stations")}</h3>
      <ul class="log" data-testid="notice-stations">${notice.stations.map((s) => {
        const state = s.station_id === session.person.station_id ? view.state : s.state;
        return html`<li key=${s.station_id} data-station=${s.station_id} data-state=${state || "none"}>
          <strong>${s.name}</strong>
          ${state && html`<span class="tag ${state === "done" ? "sent" : "bad"}">${label("rectification_state", state)}</span>`}
          ${s.station_id === session.person.station_id && view.pending && html`<span class="tag pending">${t("state.pending")}</span>`}
          ${s.done_at && html`<span class="muted small">${timeText(s.done_at)}</span>`}
          ${s.text && html`<div class="small">${s.text}</div>`}
        </li>`;
      })}</ul>
    </section>`}
    ${view.pending && html`<p class="muted" data-testid="rectification-pending">${t("notice.answered_here", { text: view.pending.body.text })}</p>`}
    ${mayAnswer && html`<form data-testid="rectification-form" onSubmit=${submit}>
      <h3>${t("notice.rectify")}</h3>
      <label>${t("notice.rectify_text")}<textarea name="text" required placeholder=${t("notice.rectify_placeholder")}></textarea></label>
      <label>${t("sup.photo")}<input name="photo" type="file" accept="image/*" onChange=${pick} /></label>
      ${error && html`<p class="error">${error}</p>`}
      <button class="primary" type="submit">${t("notice.send")}</button>
    </form>`}
    ${saved && html`<p class="ok" role="status" data-testid="saved">${t("form.saved")}</p>`}
  </main>`;
}
