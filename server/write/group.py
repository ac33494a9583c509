"""What one fold covers, and where its changes belong in the feed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Group:
    """An incident, or a standalone mediation case (named by its root op), with the
    bureau and station its changes are scoped to."""

    bureau_id: str
    incident_id: str | None = None
    mediation_root: str | None = None
    station_id: str | None = None
