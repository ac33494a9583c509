"""Dead letters (PROTOCOL §3): ops a device sent that were refused, kept with the reason."""

from __future__ import annotations

from typing import Any

import msgspec

from server.access.accounts import Caller
from server.core.tables import RejectedOp


async def list_rejected(caller: Caller, limit: int) -> list[dict[str, Any]]:
    """The caller's own device's dead letters, a station chief's station's, or the
    bureau's for command-center roles; newest first."""
    query = RejectedOp.select().where(RejectedOp.bureau == caller.bureau_id)
    if caller.role == "station_chief":
        query = query.where(RejectedOp.station == caller.station_id)
    elif not caller.is_command:
        query = query.where(RejectedOp.device_id == caller.device_id)
    rows = await query.order_by(RejectedOp.received_at, ascending=False).limit(limit)
    return [
        {
            "op_id": r["op_id"],
            "device_id": r["device_id"],
            "code": r["code"],
            "message": r["message"],
            "received_at": r["received_at"],
            "op": _op_or_text(r["op"]),
        }
        for r in rows
    ]


def _op_or_text(raw: str) -> Any:
    """The dead letter's op as JSON, or as the text it was if it was not JSON."""
    try:
        return msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return raw
