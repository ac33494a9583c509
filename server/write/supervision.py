"""A step of the write path, after verdicts and before review items: supervision orders
(督办), notices (通报) and rectifications (整改), PROTOCOL §11 (docs/supervision.md).

- **Orders.** An order's state is recomputed from the SET of its replies (the incident's
  `supervision_reply` events naming it) and the supervisor's acts, whatever order the
  replies came in (`server/record/supervision.py` `order_state`), stored, appended to
  the feed as a `supervision` change (scoped to the order's station and incident), and
  the incident republished (its record's `supervision` refs): `publish_order`. Pushes
  (`replies_stored`), the supervisor's acts (server/services/supervision.py) and the
  scheduler (`fire_order`) all end there.
- **Rectifications.** A `rectification` op is stored as an event with no incident, scoped
  to its sender's station (an `event` change of that station), never folded and never a
  mediation case; the station's `rectification` row becomes `done` (the earliest one's
  effective time), and the notice is appended again, one `notice` change per named
  station (`publish_notice`).
- **Overdue.** `fire_order` and `fire_rectification` (called by services/overdue.py)
  open the `overdue` review item once (its `once_key`) and publish.

Also the checks ingest makes on these ops (`reply_problem`, `rectification_problem`),
from the rows `named_in` reads once per push. Runs inside `db.write_transaction()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from server.access.accounts import Caller
from server.core.clock import as_utc, as_utc_or_none, utcnow
from server.core.db import bulk_insert
from server.core.tables import Event, Notice, Rectification, ReviewItem, SupervisionOrder
from server.record.events import event_view, load_json
from server.record.supervision import (
    RECTIFICATION,
    REPLY,
    notice_views,
    order_state,
    order_views,
    replies_of,
)
from server.write.feed import append_changes
from server.write.group import Group
from server.write.publish import publish_incident
from server.write.review_items import create_review_item
from sync.messages import Op
from sync.views import NoticeView, SupervisionOrderView

# Who answers for a station: its chief; for a linked agency, its people (role `agency`).
ANSWERING_ROLES = ("station_chief", "agency")


def order_once_key(order_id: str) -> str:
    return f"overdue:supervision:{order_id}"


def rectification_once_key(notice_id: str, station_id: str) -> str:
    return f"overdue:rectification:{notice_id}:{station_id}"


# ---------------------------------------------------------------------------------------
# Checks made by ingest (step 1), before anything is written.


@dataclass
class Named:
    """The orders and notices a push's ops name, as stored (only those of the caller's
    bureau)."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    notices: dict[str, dict[str, Any]] = field(default_factory=dict)


async def named_in(caller: Caller, ops: list[Op]) -> Named:
    order_ids = sorted(
        {str(getattr(op.body, "order_id", "")) for op in ops if op.type == REPLY} - {""}
    )
    notice_ids = sorted(
        {str(getattr(op.body, "notice_id", "")) for op in ops if op.type == RECTIFICATION} - {""}
    )
    named = Named()
    if order_ids:
        for r in await SupervisionOrder.select(
            SupervisionOrder.id, SupervisionOrder.incident, SupervisionOrder.station
        ).where(
            (SupervisionOrder.bureau == caller.bureau_id) & SupervisionOrder.id.is_in(order_ids)
        ):
            named.orders[r["id"]] = r
    if notice_ids:
        for r in await Notice.select(Notice.id, Notice.station_ids, Notice.rectify_by).where(
            (Notice.bureau == caller.bureau_id) & Notice.id.is_in(notice_ids)
        ):
            named.notices[r["id"]] = {**r, "station_ids": list(load_json(r["station_ids"]) or [])}
    return named


def _answers_for(caller: Caller, station_id: str) -> bool:
    return (
        caller.role in ANSWERING_ROLES
        and bool(caller.station_id)
        and (caller.station_id == station_id)
    )


def reply_problem(caller: Caller, op: Op, named: Named) -> tuple[str, str] | None:
    """(code, message) when this `supervision_reply` may not be recorded."""
    order_id = str(getattr(op.body, "order_id", ""))
    order = named.orders.get(order_id)
    if order is None:
        return ("unknown_order", f"no supervision order {order_id!r} in your bureau")
    if op.incident_id != order["incident"]:
        return ("invalid", "incident_id must be the incident the order is on")
    if not _answers_for(caller, order["station"]):
        return ("forbidden", "only the chief of the station the order is addressed to may answer")
    return None


def rectification_problem(caller: Caller, op: Op, named: Named) -> tuple[str, str] | None:
    """(code, message) when this `rectification` may not be recorded."""
    notice_id = str(getattr(op.body, "notice_id", ""))
    notice = named.notices.get(notice_id)
    if notice is None:
        return ("unknown_notice", f"no notice {notice_id!r} in your bureau")
    if not any(_answers_for(caller, s) for s in notice["station_ids"]):
        return ("forbidden", "only the chief of a station the notice names may answer it")
    if notice["rectify_by"] is None:
        return ("invalid", "this notice asks for no rectification")
    if op.record_id is not None or op.base_op_id is not None:
        return ("invalid", "a rectification is not a version of a record")
    return None


# ---------------------------------------------------------------------------------------
# Orders.


async def _order_fired(order_id: str) -> bool:
    return bool(await ReviewItem.exists().where(ReviewItem.once_key == order_once_key(order_id)))


async def refresh_order(order_id: str, now: datetime | None = None) -> SupervisionOrderView:
    """Recompute the order's state from its replies and acts, store it (and whether the
    scheduler must still watch it), and append its `supervision` change."""
    at = now or utcnow()
    row = await SupervisionOrder.select().where(SupervisionOrder.id == order_id).first()
    assert row is not None
    replies = (await replies_of([row]))[order_id]
    found = order_state(replies, list(load_json(row["rejections"]) or []), row["accepted_op_id"])
    watch = None
    if found.state == "open" and not await _order_fired(order_id):
        watch = as_utc(row["due_at"])
    reply_op_id = found.reply["op_id"] if found.reply else None
    await SupervisionOrder.update(
        {
            SupervisionOrder.state: found.state,
            SupervisionOrder.reply_op_id: reply_op_id,
            SupervisionOrder.watch_at: watch,
            SupervisionOrder.updated_at: at,
        }
    ).where(SupervisionOrder.id == order_id)
    row.update(state=found.state, reply_op_id=reply_op_id, watch_at=watch)
    view = (await order_views([row], at))[0]
    await append_changes(
        [
            {
                "entity": "supervision",
                "entity_id": order_id,
                "bureau_id": row["bureau"],
                "station_id": row["station"],
                "incident_id": row["incident"],
                "data": view,
            }
        ]
    )
    return view


async def publish_order(order_id: str, now: datetime | None = None) -> SupervisionOrderView:
    """`refresh_order`, then the incident's record again (its `supervision` refs)."""
    view = await refresh_order(order_id, now)
    await publish_incident(view.incident_id, with_timeline=False)
    return view


async def replies_stored(rows: list[dict[str, Any]]) -> None:
    """After a push stored `supervision_reply` events (step 2): publish their orders."""
    order_ids = sorted(
        {str((load_json(r["body"]) or {}).get("order_id")) for r in rows if r["type"] == REPLY}
    )
    for order_id in order_ids:
        await publish_order(order_id)


async def fire_order(order_id: str, now: datetime) -> int:
    """Turn an open order past its due time overdue: its review item (once), and the
    order and incident published. Returns how many items were opened."""
    row = await SupervisionOrder.select().where(SupervisionOrder.id == order_id).first()
    if row is None:
        return 0
    opened = 0
    if row["state"] == "open" and now > as_utc(row["due_at"]) and not await _order_fired(order_id):
        await create_review_item(
            Group(row["bureau"], row["incident"], station_id=row["station"]),
            kind="overdue",
            clock="supervision",
            detail={
                "clock": "supervision",
                "order_id": order_id,
                "due_at": as_utc(row["due_at"]),
                "level": row["level"],
            },
            once_key=order_once_key(order_id),
        )
        opened = 1
    if opened:
        await publish_order(order_id, now)
    else:
        # Nothing to fire (answered or accepted meanwhile): only stop watching.
        await SupervisionOrder.update({SupervisionOrder.watch_at: None}).where(
            SupervisionOrder.id == order_id
        )
    return opened


# ---------------------------------------------------------------------------------------
# Notices and rectifications.


async def publish_notice(notice_id: str, now: datetime | None = None) -> NoticeView:
    """Append the notice to the feed: one `notice` change per named station (station
    scoped, no incident), so each station's people receive it."""
    row = await Notice.select().where(Notice.id == notice_id).first()
    assert row is not None
    view = (await notice_views([row], now or utcnow()))[0]
    await append_changes(
        [
            {
                "entity": "notice",
                "entity_id": notice_id,
                "bureau_id": row["bureau"],
                "station_id": station_id,
                "incident_id": None,
                "data": view,
            }
            for station_id in view.station_ids
        ]
    )
    return view


def _insertable(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in ("body", "flags", "parents"):
        if not isinstance(out[key], str):
            out[key] = msgspec.json.encode(out[key]).decode()
    return out


async def store_rectifications(rows: list[dict[str, Any]]) -> None:
    """Store `rectification` events (ingest checked them): each an event of no incident,
    scoped to its sender's station, never folded; the station's row becomes `done` at the
    earliest one's effective time; each notice touched is published again."""
    if not rows:
        return
    await bulk_insert(Event, [_insertable(r) for r in rows])
    await append_changes(
        [
            {
                "entity": "event",
                "entity_id": r["op_id"],
                "bureau_id": r["bureau"],
                "station_id": r["station"],
                "incident_id": None,
                "data": event_view(r),
            }
            for r in rows
        ]
    )
    touched: set[str] = set()
    for r in rows:
        notice_id = str((load_json(r["body"]) or {}).get("notice_id"))
        rect_id = f"{notice_id}:{r['station']}"
        rect = await Rectification.select().where(Rectification.id == rect_id).first()
        if rect is None:
            continue
        when = as_utc(r["effective_time"])
        done_at = as_utc_or_none(rect["done_at"])
        if (
            rect["state"] == "done"
            and done_at is not None
            and (done_at, rect["op_id"])
            <= (
                when,
                r["op_id"],
            )
        ):
            continue
        await Rectification.update(
            {
                Rectification.state: "done",
                Rectification.done_at: when,
                Rectification.op_id: r["op_id"],
                Rectification.watch_at: None,
            }
        ).where(Rectification.id == rect_id)
        touched.add(notice_id)
    for notice_id in sorted(touched):
        await publish_notice(notice_id)


async def fire_rectification(rect_id: str, now: datetime) -> int:
    """Turn a rectification still owed past its due time overdue: its review item (once,
    no incident, the owing station's), and the notice published."""
    row = await Rectification.select().where(Rectification.id == rect_id).first()
    if row is None:
        return 0
    due_at = as_utc(row["due_at"])
    if row["state"] != "owed" or now <= due_at:
        await Rectification.update({Rectification.watch_at: None}).where(
            Rectification.id == rect_id
        )
        return 0
    await Rectification.update(
        {Rectification.state: "overdue", Rectification.watch_at: None}
    ).where(Rectification.id == rect_id)
    key = rectification_once_key(row["notice"], row["station"])
    opened = 0
    if not await ReviewItem.exists().where(ReviewItem.once_key == key):
        await create_review_item(
            Group(row["bureau"], station_id=row["station"]),
            kind="overdue",
            clock="rectification",
            detail={
                "clock": "rectification",
                "notice_id": row["notice"],
                "station_id": row["station"],
                "due_at": due_at.astimezone(UTC),
            },
            once_key=key,
        )
        opened = 1
    await publish_notice(row["notice"], now)
    return opened
