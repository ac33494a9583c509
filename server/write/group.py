"""What one fold covers, and where its changes belong in the feed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from server.core.db import fetch


class Group(msgspec.Struct, frozen=True):
    """An incident, or a standalone mediation case (named by its root op), with the
    bureau and station its changes are scoped to. A struct: the push path makes and
    hashes one per op."""

    bureau_id: str
    incident_id: str | None = None
    mediation_root: str | None = None
    station_id: str | None = None


@dataclass
class Deferred:
    """Writes of several folds of one push, held to be made with one statement per table
    (server/write/reconcile.py `reconcile_incidents`): the new event rows, the incidents
    whose stored clocks are replaced and their new clock rows, the feed's changes in the
    order they were appended, and the rows kept beside each record. Flushed inside the same write transaction, before
    anything reads what they would write."""

    events: list[dict[str, Any]] = field(default_factory=list)
    clock_incidents: list[str] = field(default_factory=list)
    clocks: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    # Statements run once per row beside each published record (三反馈, the board's row,
    # the reports' row): each statement's rows, statements in the order first held.
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.events or self.clock_incidents or self.changes or self.rows)


async def write_row(sql: str, row: tuple[Any, ...], deferred: Deferred | None) -> None:
    """Run `sql` (`{}` marks, as in `fetch`) with `row` now, or hold it in `deferred` to
    run with the push's other rows of the same statement when it is flushed."""
    if deferred is not None:
        deferred.rows.setdefault(sql, []).append(row)
    else:
        await fetch(sql, *row)
