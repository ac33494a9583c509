"""SLA policy as data: each bureau's targets, from a named preset plus overrides.

Presets (docs/sla.md explains the readings):

    default        seed 000 (绛县): arrival 10 min urban / 20 min rural after dispatch,
                   initial result 4 h after dispatch, cleared 24 h after receipt,
                   case evidence 24 h after case acceptance.
    zhoushan_1358  seed 003 (舟山 "1358"): dispatched within 1 min of the call, at the
                   scene within 5 min in town and 8 min outside it, counted from the call
                   (the seed ranks "arrival within 8 minutes of taking the call");
                   the other clocks as default.

Besides the SLA clocks, a policy holds `callback_hours`: how long after an incident's
close its callback (回访) is due (PROTOCOL §9; 72 by default).

A bureau without a row uses `default`. Policy is read on every push and record and
cached per process for 30 s. Storing one announces it (server/core/announce.py): every
server process sharing the database (`--workers N`) drops its copy as soon as the poke
arrives, and the 30 s bound any copy whose poke was lost (a change from `qingling policy
set`, a process with no hub, reaches the servers that way). `set` also recomputes the
stored clocks of the bureau's open incidents.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from typing import Any

from server.core import announce, audit
from server.core.db import write_transaction
from server.core.tables import SlaPolicy
from sync.rules import SlaTargets

DEFAULT_TOLERANCE_S = 60
DEFAULT_CALLBACK_HOURS = 72
# An arrival recorded farther than this from the incident's position is flagged
# `far_arrival` (PROTOCOL §12). A server setting (QINGLING_ARRIVAL_MAX_DISTANCE_M), the
# same for every bureau of the process; installed by create_app like the clock source.
DEFAULT_ARRIVAL_MAX_DISTANCE_M = 1000.0
_arrival_max_distance_m: float | None = DEFAULT_ARRIVAL_MAX_DISTANCE_M


def use_arrival_max_distance(metres: float) -> None:
    """Set how far from the incident an arrival may be recorded before it is flagged;
    0 or less turns the check off."""
    global _arrival_max_distance_m
    _arrival_max_distance_m = metres if metres > 0 else None


def arrival_max_distance_m() -> float | None:
    """The far-arrival limit in metres, or None when the check is off."""
    return _arrival_max_distance_m


@dataclass(frozen=True)
class Policy:
    """A bureau's whole SLA policy: the preset it came from, targets and clock tolerance."""

    preset: str = "default"
    targets: SlaTargets = SlaTargets()
    clock_tolerance_s: int = DEFAULT_TOLERANCE_S
    # Hours from an incident's close to its callback's due time (PROTOCOL §9).
    callback_hours: int = DEFAULT_CALLBACK_HOURS

    def as_dict(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            **asdict(self.targets),
            "clock_tolerance_s": self.clock_tolerance_s,
            "callback_hours": self.callback_hours,
        }


PRESETS: dict[str, Policy] = {
    "default": Policy(),
    "zhoushan_1358": Policy(
        preset="zhoushan_1358",
        targets=SlaTargets(
            arrival_urban_min=5, arrival_rural_min=8, arrival_from="receipt", dispatch_min=1
        ),
    ),
}

# Field names a caller may override on top of a preset (and their types).
OVERRIDABLE = {
    "arrival_urban_min": int,
    "arrival_rural_min": int,
    "initial_result_min": int,
    "clear_min": int,
    "evidence_min": int,
    "arrival_from": str,
    "dispatch_min": int,
    "clock_tolerance_s": int,
    "callback_hours": int,
}

_TTL_S = 30.0
_cache: dict[str, tuple[float, Policy]] = {}


def _from_row(row: dict[str, Any]) -> Policy:
    return Policy(
        preset=row["preset"],
        targets=SlaTargets(
            arrival_urban_min=row["arrival_urban_min"],
            arrival_rural_min=row["arrival_rural_min"],
            initial_result_min=row["initial_result_min"],
            clear_min=row["clear_min"],
            evidence_min=row["evidence_min"],
            arrival_from=row["arrival_from"] or "dispatch",
            dispatch_min=row["dispatch_min"],
        ),
        clock_tolerance_s=row["clock_tolerance_s"],
        callback_hours=row.get("callback_hours") or DEFAULT_CALLBACK_HOURS,
    )


async def bureau_policy(bureau_id: str, *, fresh: bool = False) -> Policy:
    """The bureau's policy (cached for 30 s unless `fresh`)."""
    cached = _cache.get(bureau_id)
    if not fresh and cached is not None and time.monotonic() - cached[0] < _TTL_S:
        return cached[1]
    row = await SlaPolicy.select().where(SlaPolicy.bureau == bureau_id).first()
    policy = PRESETS["default"] if row is None else _from_row(row)
    _cache[bureau_id] = (time.monotonic(), policy)
    return policy


async def callback_hours(bureau_id: str) -> int:
    """Hours from an incident's close to its callback's due time (PROTOCOL §9)."""
    return (await bureau_policy(bureau_id)).callback_hours


async def sla_targets(bureau_id: str) -> tuple[SlaTargets, timedelta]:
    """The bureau's SLA targets and its clock tolerance (PROTOCOL §6.3)."""
    policy = await bureau_policy(bureau_id)
    return policy.targets, timedelta(seconds=policy.clock_tolerance_s)


def make_policy(preset: str, overrides: dict[str, Any]) -> Policy:
    """A preset with some fields overridden; ValueError for anything unknown or out of range."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    base = PRESETS[preset]
    target_fields: dict[str, Any] = {}
    tolerance = base.clock_tolerance_s
    callback = base.callback_hours
    for name, value in overrides.items():
        if name not in OVERRIDABLE:
            raise ValueError(f"unknown policy field {name!r}")
        if value is None:
            continue
        if name == "arrival_from":
            if value not in ("dispatch", "receipt"):
                raise ValueError("arrival_from must be dispatch or receipt")
        elif not isinstance(value, int) or not 0 < value <= 525_600:
            raise ValueError(f"{name} must be a whole number of minutes (seconds) above 0")
        if name == "clock_tolerance_s":
            tolerance = value
        elif name == "callback_hours":
            callback = value
        else:
            target_fields[name] = value
    return Policy(
        preset=preset,
        targets=replace(base.targets, **target_fields),
        clock_tolerance_s=tolerance,
        callback_hours=callback,
    )


async def set_policy(bureau_id: str, policy: Policy, *, actor: str | None = None) -> None:
    """Store the bureau's policy (one row per bureau), with its audit row (`actor`: the
    person who set it; None from the command line)."""
    async with write_transaction():
        await _store_policy(bureau_id, policy)
        await audit.append(
            audit.POLICY_SET,
            actor=actor,
            subject=bureau_id,
            detail={"policy": policy.as_dict(), "from": "api" if actor else "cli"},
        )
    forget(bureau_id)
    announce.policy_changed(bureau_id)


def forget(bureau_id: str) -> None:
    """Drop this process's cached copy of the bureau's policy (another process stored a
    new one)."""
    _cache.pop(bureau_id, None)


async def _store_policy(bureau_id: str, policy: Policy) -> None:
    values: dict[Any, Any] = {
        SlaPolicy.preset: policy.preset,
        SlaPolicy.arrival_urban_min: policy.targets.arrival_urban_min,
        SlaPolicy.arrival_rural_min: policy.targets.arrival_rural_min,
        SlaPolicy.initial_result_min: policy.targets.initial_result_min,
        SlaPolicy.clear_min: policy.targets.clear_min,
        SlaPolicy.evidence_min: policy.targets.evidence_min,
        SlaPolicy.arrival_from: policy.targets.arrival_from,
        SlaPolicy.dispatch_min: policy.targets.dispatch_min,
        SlaPolicy.clock_tolerance_s: policy.clock_tolerance_s,
        SlaPolicy.callback_hours: policy.callback_hours,
    }
    if await SlaPolicy.exists().where(SlaPolicy.bureau == bureau_id):
        await SlaPolicy.update(values).where(SlaPolicy.bureau == bureau_id)
    else:
        row: dict[str, Any] = {c._meta.name: v for c, v in values.items()}
        await SlaPolicy.insert(SlaPolicy(bureau=bureau_id, **row))
