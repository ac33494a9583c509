"""Reconciliation rules: pure functions from facts to incident state.

No I/O here: the server feeds these functions rows it has read inside a transaction
and stores what they return. This module grows with the sync work (PROTOCOL §6); so far
it holds the SLA clock arithmetic the incident record shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

ClockState = Literal["running", "met", "overdue", "met_late"]


@dataclass(frozen=True)
class Clock:
    """One SLA clock: started at `started_at` (None: not started yet), due `target` later."""

    due_at: datetime | None
    met_at: datetime | None
    state: ClockState

    def as_dict(self) -> dict[str, object]:
        return {"due_at": self.due_at, "met_at": self.met_at, "state": self.state}


def sla_clock(
    started_at: datetime | None,
    target: timedelta,
    met_at: datetime | None,
    now: datetime,
) -> Clock:
    """The state of a clock at `now`.

    Not started: running with no due time. Met on or before the due time: met; after it:
    met_late. Not met and past due: overdue; otherwise running.
    """
    if started_at is None:
        return Clock(due_at=None, met_at=met_at, state="running")
    due_at = started_at + target
    if met_at is not None:
        return Clock(due_at=due_at, met_at=met_at, state="met" if met_at <= due_at else "met_late")
    return Clock(due_at=due_at, met_at=None, state="overdue" if now > due_at else "running")


@dataclass(frozen=True)
class SlaTargets:
    """A bureau's SLA policy, in minutes (DESIGN.md defaults)."""

    arrival_urban_min: int = 10
    arrival_rural_min: int = 20
    initial_result_min: int = 240
    clear_min: int = 1440
    evidence_min: int = 1440

    def arrival_target(self, area_type: str) -> timedelta:
        minutes = self.arrival_rural_min if area_type == "rural" else self.arrival_urban_min
        return timedelta(minutes=minutes)


def incident_clocks(
    *,
    targets: SlaTargets,
    area_type: str,
    received_at: datetime,
    dispatched_at: datetime | None,
    closed_at: datetime | None,
    stopped_at: datetime | None,
    first_arrival_at: datetime | None,
    first_result_at: datetime | None,
    case_accepted_at: datetime | None,
    evidence_complete_at: datetime | None,
    now: datetime,
) -> dict[str, Clock]:
    """The incident's clocks (PROTOCOL §7): arrival, initial_result, clear, and evidence
    once a case is accepted. `stopped_at` (cancellation) freezes the clocks: a cancelled
    incident does not go overdue afterwards."""
    at = min(now, stopped_at) if stopped_at is not None else now
    clocks = {
        "arrival": sla_clock(
            dispatched_at, targets.arrival_target(area_type), first_arrival_at, at
        ),
        "initial_result": sla_clock(
            dispatched_at, timedelta(minutes=targets.initial_result_min), first_result_at, at
        ),
        "clear": sla_clock(received_at, timedelta(minutes=targets.clear_min), closed_at, at),
    }
    if case_accepted_at is not None:
        clocks["evidence"] = sla_clock(
            case_accepted_at, timedelta(minutes=targets.evidence_min), evidence_complete_at, at
        )
    return clocks
