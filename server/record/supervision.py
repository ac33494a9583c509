"""Supervision orders (督办), notices (通报) and rectifications (整改) as clients see them
(PROTOCOL §11, docs/supervision.md).

An order's state is a function of the SET of its replies (the incident's
`supervision_reply` events naming it) and the supervisor's acts (its rejections and its
acceptance), whatever order the replies arrive in: `order_state`. The write path
(server/write/supervision.py) stores it; the views here read what is stored, plus the
clock judged at the moment of the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server.core.clock import as_utc, as_utc_or_none
from server.core.tables import Event, Incident, Rectification, Station, SupervisionOrder
from server.record.events import load_json
from sync.views import (
    NoticeIncidentView,
    NoticeStationView,
    NoticeView,
    SupervisionClock,
    SupervisionOrderView,
    SupervisionRef,
    SupervisionRejectionView,
    SupervisionReplyView,
)

REPLY = "supervision_reply"
RECTIFICATION = "rectification"
_CHUNK = 400


def _marks(values: list[str]) -> str:
    return ", ".join("{}" for _ in values)


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def _when(row: dict[str, Any]) -> datetime:
    return as_utc_or_none(row["effective_time"]) or as_utc(row["received_at"])


def _reply_key(row: dict[str, Any]) -> tuple[datetime, str]:
    return (_when(row), str(row["op_id"]))


@dataclass(frozen=True)
class OrderState:
    """What an order's replies and acts make of it: `state`, and `reply` (the reply
    awaiting a decision, or the accepted one)."""

    state: str
    reply: dict[str, Any] | None


def order_state(
    replies: list[dict[str, Any]], rejections: list[dict[str, Any]], accepted_op_id: str | None
) -> OrderState:
    """The rule (docs/supervision.md): `accepted` once accepted; else `answered` when some
    reply is named by no rejection (`reply` = the latest such by effective time, then
    op_id); else `open`. Independent of the order the replies arrived in."""
    if accepted_op_id is not None:
        accepted = next((r for r in replies if r["op_id"] == accepted_op_id), None)
        return OrderState("accepted", accepted)
    turned_down = {op for rej in rejections for op in rej.get("reply_op_ids") or []}
    pending = [r for r in replies if r["op_id"] not in turned_down]
    if pending:
        return OrderState("answered", max(pending, key=_reply_key))
    return OrderState("open", None)


def pending_reply_ids(replies: list[dict[str, Any]], rejections: list[dict[str, Any]]) -> list[str]:
    """The replies no rejection has turned down yet (a new rejection names them all)."""
    turned_down = {op for rej in rejections for op in rej.get("reply_op_ids") or []}
    return [r["op_id"] for r in sorted(replies, key=_reply_key) if r["op_id"] not in turned_down]


def order_clock_state(state: str, due_at: datetime, met_at: datetime | None, now: datetime) -> str:
    """`met` / `met_late` once accepted; `overdue` while open past its due time (an
    answered order awaiting the supervisor is not overdue); otherwise `running`."""
    if state == "accepted" and met_at is not None:
        return "met" if met_at <= due_at else "met_late"
    if state == "open" and now > due_at:
        return "overdue"
    return "running"


async def replies_of(orders: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Every `supervision_reply` event naming each of these orders, oldest first."""
    out: dict[str, list[dict[str, Any]]] = {o["id"]: [] for o in orders}
    incident_ids = sorted({o["incident"] for o in orders})
    for chunk in _chunks(incident_ids):
        rows = await Event.raw(
            "SELECT op_id, incident, person, station, body, effective_time, received_at"
            f" FROM event WHERE type = {{}} AND incident IN ({_marks(chunk)})",
            REPLY,
            *chunk,
        )
        for r in rows:
            order_id = (load_json(r["body"]) or {}).get("order_id")
            if order_id in out:
                out[order_id].append(r)
    for replies in out.values():
        replies.sort(key=_reply_key)
    return out


def _reply_view(row: dict[str, Any]) -> SupervisionReplyView:
    body = load_json(row["body"]) or {}
    return SupervisionReplyView(
        op_id=row["op_id"],
        person_id=row["person"],
        text=str(body.get("text", "")),
        attachments=list(body.get("attachments") or []),
        at=_when(row),
    )


def _rejections(row: dict[str, Any]) -> list[dict[str, Any]]:
    return list(load_json(row["rejections"]) or [])


async def _numbers(incident_ids: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for chunk in _chunks(sorted(set(incident_ids))):
        for r in await Incident.select(Incident.id, Incident.number).where(
            Incident.id.is_in(chunk)
        ):
            out[r["id"]] = r["number"]
    return out


async def order_views(orders: list[dict[str, Any]], now: datetime) -> list[SupervisionOrderView]:
    """Orders (their `supervision_order` rows) as clients see them, in the given order."""
    if not orders:
        return []
    replies = await replies_of(orders)
    numbers = await _numbers([o["incident"] for o in orders])
    out = []
    for o in orders:
        rejections = _rejections(o)
        mine = replies[o["id"]]
        found = order_state(mine, rejections, o["accepted_op_id"])
        due_at = as_utc(o["due_at"])
        met_at = as_utc_or_none(o["met_at"])
        out.append(
            SupervisionOrderView(
                id=o["id"],
                incident_id=o["incident"],
                number=numbers.get(o["incident"], ""),
                station_id=o["station"],
                level=o["level"],
                instructions=o["instructions"] or "",
                due_at=due_at,
                issued_by=o["issued_by"],
                issued_at=as_utc(o["issued_at"]),
                state=found.state,  # type: ignore[arg-type]
                clock=SupervisionClock(
                    due_at=due_at,
                    met_at=met_at,
                    state=order_clock_state(found.state, due_at, met_at, now),  # type: ignore[arg-type]
                ),
                reply=_reply_view(found.reply) if found.reply else None,
                replies=[_reply_view(r) for r in mine],
                rejections=[
                    SupervisionRejectionView(
                        reason=str(r.get("reason", "")),
                        by=str(r.get("by", "")),
                        at=datetime.fromisoformat(str(r["at"])),
                        reply_op_ids=list(r.get("reply_op_ids") or []),
                    )
                    for r in rejections
                ],
                accepted_at=as_utc_or_none(o["accepted_at"]),
                accepted_by=o["accepted_by"],
            )
        )
    return out


async def order_view(order_id: str, now: datetime) -> SupervisionOrderView:
    row = await SupervisionOrder.select().where(SupervisionOrder.id == order_id).first()
    assert row is not None
    return (await order_views([row], now))[0]


# ---------------------------------------------------------------------------------------
# The incident record's refs (server/record/incident.py).


async def supervision_of(incident_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The orders on each of these incidents, oldest issued first."""
    out: dict[str, list[dict[str, Any]]] = {}
    for chunk in _chunks(list(incident_ids)):
        rows = await SupervisionOrder.raw(
            "SELECT id, incident, level, state, due_at, met_at, issued_at FROM supervision_order"
            f" WHERE incident IN ({_marks(chunk)}) ORDER BY issued_at, id",
            *chunk,
        )
        for r in rows:
            out.setdefault(r["incident"], []).append(r)
    return out


def supervision_refs(rows: list[dict[str, Any]], now: datetime) -> list[SupervisionRef]:
    """An incident's orders as its record lists them (oldest first)."""
    out = []
    for r in rows:
        due_at = as_utc(r["due_at"])
        out.append(
            SupervisionRef(
                id=r["id"],
                level=r["level"],
                state=r["state"],
                due_at=due_at,
                clock_state=order_clock_state(  # type: ignore[arg-type]
                    r["state"], due_at, as_utc_or_none(r["met_at"]), now
                ),
            )
        )
    return out


# ---------------------------------------------------------------------------------------
# Notices and rectifications.


def rectification_state(row: dict[str, Any], now: datetime) -> str:
    """`done` once a rectification is in (late or not); `overdue` once owed past its due
    time; `owed` before."""
    if row["state"] == "done":
        return "done"
    if row["state"] == "overdue" or now > as_utc(row["due_at"]):
        return "overdue"
    return "owed"


async def notice_views(notices: list[dict[str, Any]], now: datetime) -> list[NoticeView]:
    """Notices (their rows) as clients see them, in the given order."""
    if not notices:
        return []
    ids = [n["id"] for n in notices]
    rects: dict[str, dict[str, dict[str, Any]]] = {}
    for chunk in _chunks(ids):
        for r in await Rectification.select().where(Rectification.notice.is_in(chunk)):
            rects.setdefault(r["notice"], {})[r["station"]] = r
    station_ids = sorted({s for n in notices for s in load_json(n["station_ids"]) or []})
    names: dict[str, str] = {}
    for chunk in _chunks(station_ids):
        for r in await Station.select(Station.id, Station.name).where(Station.id.is_in(chunk)):
            names[r["id"]] = r["name"]
    op_ids = sorted({r["op_id"] for per in rects.values() for r in per.values() if r["op_id"]})
    texts: dict[str, str] = {}
    for chunk in _chunks(op_ids):
        for r in await Event.select(Event.op_id, Event.body).where(Event.op_id.is_in(chunk)):
            texts[r["op_id"]] = str((load_json(r["body"]) or {}).get("text", ""))
    numbers = await _numbers([i for n in notices for i in load_json(n["incident_ids"]) or []])
    out = []
    for n in notices:
        named = list(load_json(n["station_ids"]) or [])
        entries = []
        for s in named:
            rect = rects.get(n["id"], {}).get(s)
            entries.append(
                NoticeStationView(
                    station_id=s,
                    name=names.get(s, ""),
                    state=rectification_state(rect, now) if rect else None,  # type: ignore[arg-type]
                    done_at=as_utc_or_none(rect["done_at"]) if rect else None,
                    op_id=rect["op_id"] if rect else None,
                    text=texts.get(rect["op_id"]) if rect and rect["op_id"] else None,
                )
            )
        out.append(
            NoticeView(
                id=n["id"],
                kind=n["kind"],
                text=n["text"],
                station_ids=named,
                incidents=[
                    NoticeIncidentView(incident_id=i, number=numbers.get(i, ""))
                    for i in load_json(n["incident_ids"]) or []
                ],
                rectify_by=as_utc_or_none(n["rectify_by"]),
                issued_by=n["issued_by"],
                issued_at=as_utc(n["issued_at"]),
                stations=entries,
            )
        )
    return out
