"""What one fold covers, and where its changes belong in the feed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Group:
    """An incident, or a standalone mediation case (named by its root op), with the
    bureau and station its changes are scoped to."""

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
    # Rows kept beside each published record, as the values of one statement each
    # (server/write/publish.py): 三反馈, the board's row, the reports' row.
    feedbacks: list[tuple[Any, ...]] = field(default_factory=list)
    board_rows: list[tuple[Any, ...]] = field(default_factory=list)
    report_rows: list[tuple[Any, ...]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.events
            or self.clock_incidents
            or self.changes
            or self.feedbacks
            or self.board_rows
            or self.report_rows
        )
