"""Supervision orders (督办; level `bureau` is 挂牌督办), PROTOCOL §11, docs/supervision.md.

A supervisor (or admin) issues an order on an incident, addressed to the incident's
station at that time; the station's chief answers with the op `supervision_reply`
(server/write/ingest.py checks it, server/write/supervision.py recomputes the order);
the supervisor accepts the reply awaiting a decision (the order's clock is met at its
effective time) or rejects it, which reopens the order. Every act is audited and ends in
`publish_order` (the `supervision` change, the incident republished).
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import msgspec

from server.access.accounts import Caller
from server.access.scope import assigned_incident_ids, sees
from server.core import audit
from server.core.clock import utcnow
from server.core.db import write_transaction
from server.core.errors import NotFound, StateConflict, Unprocessable
from server.core.ids import new_id
from server.core.tables import Incident, SupervisionOrder
from server.record.events import load_json
from server.record.supervision import (
    order_state,
    order_views,
    pending_reply_ids,
    replies_of,
)
from server.write.supervision import publish_order
from sync.clock import TIME_RANGE, in_range
from sync.messages import RejectRequest, SuperviseRequest
from sync.views import SupervisionList, SupervisionOrderView

# The list's `state` filter (checked as the query is read: server/http/params.py).
OrderFilter = Literal["open", "answered", "accepted", "all"]
LIST_LIMIT = 1000


async def issue_order(
    caller: Caller, incident_id: str, body: SuperviseRequest
) -> SupervisionOrderView:
    now = utcnow()
    if not in_range(body.due_at):
        raise Unprocessable(f"due_at must lie within {TIME_RANGE}", code="invalid_time")
    if body.due_at <= now:
        raise Unprocessable("due_at must lie in the future", code="invalid_time")
    async with write_transaction():
        incident = (
            await Incident.select(Incident.id, Incident.station)
            .where((Incident.id == incident_id) & (Incident.bureau == caller.bureau_id))
            .first()
        )
        if incident is None:
            raise NotFound(f"no incident {incident_id!r} in your bureau")
        if incident["station"] is None:
            raise StateConflict(
                "this incident has no station to supervise (it was never dispatched)",
                code="no_station",
            )
        order_id = new_id()
        await SupervisionOrder.insert(
            SupervisionOrder(
                id=order_id,
                bureau=caller.bureau_id,
                incident=incident_id,
                station=incident["station"],
                level=body.level,
                instructions=body.instructions,
                due_at=body.due_at,
                issued_by=caller.person_id,
                issued_at=now,
                state="open",
                rejections="[]",
                watch_at=body.due_at,
                updated_at=now,
            )
        )
        await audit.append(
            audit.SUPERVISION_ISSUED,
            actor=caller.person_id,
            device=caller.device_id,
            subject=order_id,
            detail={
                "incident": incident_id,
                "station": incident["station"],
                "level": body.level,
                "due_at": body.due_at.isoformat(),
            },
        )
        return await publish_order(order_id, now)


async def _answered_order(caller: Caller, order_id: str) -> tuple[dict[str, Any], Any, list]:
    """The order (in the caller's bureau), its state, and its replies; 409 unless answered."""
    row = (
        await SupervisionOrder.select()
        .where((SupervisionOrder.id == order_id) & (SupervisionOrder.bureau == caller.bureau_id))
        .first()
    )
    if row is None:
        raise NotFound(f"no supervision order {order_id!r} in your bureau")
    replies = (await replies_of([row]))[order_id]
    found = order_state(replies, list(load_json(row["rejections"]) or []), row["accepted_op_id"])
    if found.state == "accepted":
        raise StateConflict("this order is already accepted", code="already_accepted")
    if found.state != "answered":
        raise StateConflict("no reply awaits a decision on this order", code="not_answered")
    return row, found, replies


async def accept_order(caller: Caller, order_id: str) -> SupervisionOrderView:
    now = utcnow()
    async with write_transaction():
        row, found, _ = await _answered_order(caller, order_id)
        reply = found.reply
        met_at = reply["effective_time"] or reply["received_at"]
        await SupervisionOrder.update(
            {
                SupervisionOrder.accepted_op_id: reply["op_id"],
                SupervisionOrder.accepted_at: now,
                SupervisionOrder.accepted_by: caller.person_id,
                SupervisionOrder.met_at: met_at,
            }
        ).where(SupervisionOrder.id == order_id)
        await audit.append(
            audit.SUPERVISION_ACCEPTED,
            actor=caller.person_id,
            device=caller.device_id,
            subject=order_id,
            detail={"incident": row["incident"], "reply_op_id": reply["op_id"]},
        )
        return await publish_order(order_id, now)


async def reject_order(caller: Caller, order_id: str, body: RejectRequest) -> SupervisionOrderView:
    now = utcnow()
    async with write_transaction():
        row, _, replies = await _answered_order(caller, order_id)
        rejections = list(load_json(row["rejections"]) or [])
        turned_down = pending_reply_ids(replies, rejections)
        rejections.append(
            {
                "reason": body.reason,
                "by": caller.person_id,
                "at": now.isoformat(),
                "reply_op_ids": turned_down,
            }
        )
        await SupervisionOrder.update({SupervisionOrder.rejections: _json(rejections)}).where(
            SupervisionOrder.id == order_id
        )
        await audit.append(
            audit.SUPERVISION_REJECTED,
            actor=caller.person_id,
            device=caller.device_id,
            subject=order_id,
            detail={
                "incident": row["incident"],
                "reply_op_ids": turned_down,
                "reason_sha256": hashlib.sha256(body.reason.encode()).hexdigest(),
            },
        )
        return await publish_order(order_id, now)


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


async def list_orders(
    caller: Caller, state: OrderFilter, station_id: str | None, incident_id: str | None
) -> SupervisionList:
    """Orders newest issued first: the bureau's for command roles; for a field role those
    the scope rule lets it see (its station's, and those on incidents assigned to it)."""
    query = SupervisionOrder.select().where(SupervisionOrder.bureau == caller.bureau_id)
    if state != "all":
        query = query.where(SupervisionOrder.state == state)
    if station_id:
        query = query.where(SupervisionOrder.station == station_id)
    if incident_id:
        query = query.where(SupervisionOrder.incident == incident_id)
    rows = list(
        await query.order_by(SupervisionOrder.issued_at, ascending=False)
        .order_by(SupervisionOrder.id, ascending=False)
        .limit(LIST_LIMIT)
    )
    if not caller.is_command:
        assigned = set(await assigned_incident_ids(caller.person_id))
        rows = [
            r
            for r in rows
            if sees(
                caller,
                bureau=r["bureau"],
                station=r["station"],
                incident=r["incident"],
                assigned=assigned,
            )
        ]
    return SupervisionList(orders=await order_views(rows, utcnow()))
