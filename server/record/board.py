"""An incident's board row (GET /api/board, sync.views `BoardRow`) from its record: what
the board's row, filters, badges, clocks and counts show (docs/command.md "The board").
No caller data. The write path stores it with every publish (server/write/publish.py
`store_board_row`); the command view makes the same projection of the full records the
feed brings (pwa/command/store.js `boardRow`)."""

from __future__ import annotations

import msgspec

from sync.views import BoardAssignee, BoardDiversion, BoardRow, IncidentRecord


def board_row(record: IncidentRecord) -> BoardRow:
    d = record.diversion
    return BoardRow(
        id=record.id,
        number=record.number,
        status=record.status,
        version=record.version,
        category=record.category,
        area_type=record.area_type,
        address=record.address,
        narrative=record.narrative,
        received_at=record.received_at,
        received_back_entered=record.received_back_entered,
        station_id=record.station_id,
        assignees=[BoardAssignee(person_id=a.person_id, name=a.name) for a in record.assignees],
        clocks=record.clocks,
        review_items=[r for r in record.review_items if r.state == "open"],
        supervision=[s for s in record.supervision if s.state != "accepted"],
        diversion=BoardDiversion(agency_id=d.agency_id, agency_name=d.agency_name) if d else None,
        diversions_returned=record.diversions_returned,
        returned_reason=record.returned_reason,
    )


def board_row_json(record: IncidentRecord) -> str:
    """The row as stored (`board_row.data`)."""
    return msgspec.json.encode(board_row(record)).decode()
