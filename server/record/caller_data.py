"""Caller data in answers (PROTOCOL §12): the full or the masked copy each caller gets,
and the audit row of every answer that carries it in full.

The rule is server/access/scope.py `sees_caller`; here it is applied where answers are
made: incident records (GET /api/incidents and /{id}: `answer_records`; the board's
rows carry no caller data, docs/command.md "The board's rows"), the
callback list (PROTOCOL §9, server/services/verdicts.py, via `callbacks`) and
incident changes of the feed (pull and the WebSocket's catch-up in server/write/feed.py,
live fan-out in server/live/hub.py: `carries_caller_data`, `masked_change_data`). The
feed stores the full record; masking happens at answer time, so an older version replayed
later is judged by who the caller is then, not when it was written.

Audit: one row per answer that carries caller data in full (`audit_reveal`), listing
its incidents and how it went out (`via`); none for an answer that carries none (all
masked, or incidents without caller data). The live hub writes one row per encoding it
shares between sockets (`audit_live_reveals`), listing the sockets that received it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import msgspec

from server.access.accounts import Caller
from server.access.scope import caller_data_incidents, mask_name, mask_phone
from server.core import audit
from sync.views import IncidentRecord

Via = Literal["get", "list", "board", "pull", "socket", "callbacks"]


def has_caller_data(record: IncidentRecord) -> bool:
    return bool(record.caller_name or record.caller_phone)


def masked_record(record: IncidentRecord) -> IncidentRecord:
    return msgspec.structs.replace(
        record,
        caller_name=mask_name(record.caller_name),
        caller_phone=mask_phone(record.caller_phone),
    )


async def answer_records(
    caller: Caller, records: list[IncidentRecord], via: Via
) -> list[IncidentRecord]:
    """`records` (all in `caller`'s scope) as `caller` may receive them now: caller data
    in full where `sees_caller` allows, masked elsewhere. Audits the full ones first."""
    carrying = {r.id for r in records if has_caller_data(r)}
    full = await caller_data_incidents(caller, carrying)
    await audit_reveal(caller, full, via)
    return [r if r.id in full or r.id not in carrying else masked_record(r) for r in records]


class _CallerFields(msgspec.Struct):
    caller_name: str = ""
    caller_phone: str = ""


_caller_fields = msgspec.json.Decoder(_CallerFields)


def _json(data: object) -> str | bytes:
    return data if isinstance(data, str | bytes) else msgspec.json.encode(data)


def carries_caller_data(data: object) -> bool:
    """Whether an `incident` change's stored data (JSON) has a caller name or phone."""
    try:
        fields = _caller_fields.decode(_json(data))
    except msgspec.DecodeError:  # not an incident record: nothing of the caller in it
        return False
    return bool(fields.caller_name or fields.caller_phone)


def masked_change_data(data: object) -> bytes:
    """An `incident` change's data (JSON) with the caller's name and phone masked."""
    value = msgspec.json.decode(_json(data))
    value["caller_name"] = mask_name(value.get("caller_name") or "")
    value["caller_phone"] = mask_phone(value.get("caller_phone") or "")
    return msgspec.json.encode(value)


def _reveal_act(
    person_id: str | None, device_id: str | None, incidents: Iterable[str], detail: dict
) -> audit.Act:
    ids = sorted(incidents)
    return audit.Act(
        audit.CALLER_DATA,
        actor=person_id,
        device=device_id,
        subject=ids[0] if len(ids) == 1 else None,
        detail={**detail, "incidents": ids},
    )


async def audit_reveal(caller: Caller, incidents: set[str], via: Via) -> None:
    """One audit row: `caller` receives the caller data of `incidents` in full, by `via`.
    Nothing when `incidents` is empty. Committed before the answer goes out, riding with
    the next write transaction (server/core/audit.py `append_soon`)."""
    if not incidents:
        return
    await audit.append_soon(
        [_reveal_act(caller.person_id, caller.device_id, incidents, {"via": via})]
    )


async def audit_live_reveals(shared: list[tuple[set[str], list[Caller]]]) -> None:
    """The live hub's audit of one batch: for each encoding it shares, one row listing
    its incidents revealed in full and the sockets (person, device) it goes to; the
    actor is the person when the sockets are all one person's. Committed before the
    frames are queued."""
    acts = []
    for incidents, callers in shared:
        if not incidents or not callers:
            continue
        recipients = sorted({(c.person_id, c.device_id) for c in callers})
        people = {person for person, _ in recipients}
        only = next(iter(people)) if len(people) == 1 else None
        devices = {device for _, device in recipients}
        acts.append(
            _reveal_act(
                only,
                next(iter(devices)) if len(devices) == 1 else None,
                incidents,
                {"via": "socket", "recipients": [list(r) for r in recipients]},
            )
        )
    await audit.append_soon(acts)
