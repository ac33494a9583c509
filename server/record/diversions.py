"""An incident's diversions summed up (PROTOCOL §10; the choices in docs/diversion.md):
which one the incident is under, how many came back, and which feedback returned the
latest. One rule for the record (server/record/incident.py, from the fold) and the
board's fallback (server/services/board.py, from the stored `diversion` rows)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class DiversionFacts:
    """What the summary needs of one diversion: when it was made, and when (and by which
    feedback) its agency returned the call, if it did."""

    diversion_id: str
    diverted_at: datetime
    returned_at: datetime | None
    feedback_op_id: str | None


@dataclass(frozen=True)
class DiversionSummary:
    current_id: str | None  # the diversion the incident is under, if any
    returned: int  # how many diversions came back
    latest_return_op_id: str | None  # the feedback that returned the latest one


NO_DIVERSIONS = DiversionSummary(current_id=None, returned=0, latest_return_op_id=None)


def diversion_summary(
    diversions: Iterable[DiversionFacts], dispatched_at: datetime | None
) -> DiversionSummary:
    """The incident is under its latest diversion (by time, then id), unless the agency
    returned it or a unit was dispatched (sync.rules `Fold.current_diversion`). Of the
    returned ones, the one returned last (of equals, the oldest diversion) gives the
    record's `returned_reason`."""
    facts = sorted(diversions, key=lambda f: (f.diverted_at, f.diversion_id))
    if not facts:
        return NO_DIVERSIONS
    returned = [(f.returned_at, f) for f in facts if f.returned_at is not None]
    latest_return = max(returned, key=lambda r: r[0])[1] if returned else None
    latest = facts[-1]
    current = None
    if latest.returned_at is None and dispatched_at is None:
        current = latest.diversion_id
    return DiversionSummary(
        current_id=current,
        returned=len(returned),
        latest_return_op_id=latest_return.feedback_op_id if latest_return else None,
    )
