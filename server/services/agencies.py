"""Linked agencies' duties (PROTOCOL §10, the bureau's responsibility list, 职责清单) and
the ranking the dispatcher picks an agency from.

An agency is a station of kind `linked_agency`; its duties (keywords, categories, how
many minutes it has to acknowledge a diverted call and how many hours to answer it) are
one `agency_duty` row, set by an admin (`PUT /api/agencies/{id}/duties`, or
`qingling agency duties`) and audited. `GET /api/agencies?match=TEXT` ranks the agencies
by how many of their keywords TEXT contains, case-insensitively; ties by name; agencies
without duties (score 0) are listed too, last among the zeros by name like the rest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from server.access.accounts import Caller
from server.core import audit
from server.core.clock import as_utc, utcnow
from server.core.db import write_transaction
from server.core.errors import NotFound
from server.core.tables import AgencyDuty, Station
from sync.messages import Category, Input
from sync.views import AgencyDutiesView, AgencyList, AgencyView

Keyword = Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=r"^[^\x00]*\Z")]


class Duties(Input):
    """`PUT /api/agencies/{station_id}/duties`."""

    keywords: Annotated[list[Keyword], msgspec.Meta(max_length=50)] = msgspec.field(
        default_factory=list
    )
    categories: Annotated[list[Category], msgspec.Meta(max_length=50)] = msgspec.field(
        default_factory=list
    )
    ack_minutes: Annotated[int, msgspec.Meta(ge=1, le=10_080)] = 30
    feedback_hours: Annotated[int, msgspec.Meta(ge=1, le=8_760)] = 24


def _load(value: Any) -> list[str]:
    decoded = msgspec.json.decode(value) if isinstance(value, str | bytes) else value
    return list(decoded or [])


def duties_view(row: dict[str, Any]) -> AgencyDutiesView:
    return AgencyDutiesView(
        keywords=_load(row["keywords"]),
        categories=_load(row["categories"]),  # type: ignore[arg-type]
        ack_minutes=row["ack_minutes"],
        feedback_hours=row["feedback_hours"],
        updated_at=as_utc(row["updated_at"]),
        updated_by=row["updated_by"],
    )


async def _agency(bureau_id: str, station_id: str) -> dict[str, Any]:
    row = (
        await Station.select(Station.id, Station.name)
        .where(
            (Station.id == station_id)
            & (Station.bureau == bureau_id)
            & (Station.kind == "linked_agency")
        )
        .first()
    )
    if row is None:
        raise NotFound(f"no linked agency {station_id!r} in your bureau")
    return row


async def set_duties(
    bureau_id: str, station_id: str, body: Duties, *, actor: str | None, device: str | None = None
) -> AgencyDutiesView:
    """Replace an agency's duties (audited). A station that is not a linked agency of
    the bureau: NotFound. Keywords are kept trimmed, without repeats, in their order."""
    now: datetime = utcnow()
    keywords = list(dict.fromkeys(k.strip() for k in body.keywords if k.strip()))
    categories = list(dict.fromkeys(body.categories))
    async with write_transaction():
        await _agency(bureau_id, station_id)
        values: dict[str, Any] = {
            "keywords": msgspec.json.encode(keywords).decode(),
            "categories": msgspec.json.encode(categories).decode(),
            "ack_minutes": body.ack_minutes,
            "feedback_hours": body.feedback_hours,
            "updated_at": now,
            "updated_by": actor,
        }
        if await AgencyDuty.exists().where(AgencyDuty.id == station_id):
            changed: dict[Any, Any] = dict(values)
            await AgencyDuty.update(changed).where(AgencyDuty.id == station_id)
        else:
            await AgencyDuty.insert(
                AgencyDuty(id=station_id, bureau=bureau_id, **values)  # type: ignore[arg-type]
            )
        await audit.append(
            audit.AGENCY_DUTIES_SET,
            actor=actor,
            device=device,
            subject=station_id,
            detail={
                "keywords": keywords,
                "categories": categories,
                "ack_minutes": body.ack_minutes,
                "feedback_hours": body.feedback_hours,
            },
        )
    return duties_view({**values, "updated_at": now})


async def set_duties_by(caller: Caller, station_id: str, body: Duties) -> AgencyDutiesView:
    return await set_duties(
        caller.bureau_id, station_id, body, actor=caller.person_id, device=caller.device_id
    )


def match_score(keywords: list[str], text: str) -> int:
    """How many of `keywords` `text` contains, case-insensitively."""
    folded = text.casefold()
    return sum(1 for k in keywords if k and k.casefold() in folded)


async def list_agencies(bureau_id: str, match: str | None = None) -> AgencyList:
    """The bureau's linked agencies with their duties, ranked by `match` (highest score
    first, then by name)."""
    rows = await Station.raw(
        "SELECT s.id, s.name, d.keywords, d.categories, d.ack_minutes, d.feedback_hours,"
        " d.updated_at, d.updated_by, d.id AS duty FROM station s"
        " LEFT JOIN agency_duty d ON d.id = s.id"
        " WHERE s.bureau = {} AND s.kind = 'linked_agency'",
        bureau_id,
    )
    agencies = []
    for r in rows:
        duties = duties_view(r) if r["duty"] is not None else None
        score = match_score(duties.keywords, match) if duties is not None and match else 0
        agencies.append(AgencyView(station_id=r["id"], name=r["name"], duties=duties, score=score))
    agencies.sort(key=lambda a: (-a.score, a.name, a.station_id))
    return AgencyList(agencies=agencies)
