"""SLA clock arithmetic (sync.rules), property-tested."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from sync.rules import SlaTargets, incident_clocks, sla_clock

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
minutes = st.integers(min_value=0, max_value=3 * 24 * 60)


@given(target=st.integers(1, 1440), met=st.none() | minutes, now=minutes)
def test_clock_state_follows_its_definition(target: int, met: int | None, now: int) -> None:
    met_at = None if met is None else T0 + timedelta(minutes=met)
    clock = sla_clock(T0, timedelta(minutes=target), met_at, T0 + timedelta(minutes=now))
    assert clock.due_at == T0 + timedelta(minutes=target)
    if met is None:
        assert clock.state == ("overdue" if now > target else "running")
    else:
        assert clock.state == ("met" if met <= target else "met_late")
        assert clock.met_at == met_at


def test_a_clock_not_started_has_no_due_time() -> None:
    clock = sla_clock(None, timedelta(minutes=10), None, T0)
    assert clock.due_at is None and clock.state == "running"


def test_arrival_targets_by_area_and_evidence_only_for_accepted_cases() -> None:
    common: dict[str, Any] = dict(
        targets=SlaTargets(),
        received_at=T0,
        dispatched_at=T0 + timedelta(minutes=2),
        closed_at=None,
        stopped_at=None,
        first_arrival_at=None,
        first_result_at=None,
        evidence_complete_at=None,
        now=T0 + timedelta(minutes=15),
    )
    urban = incident_clocks(area_type="urban", case_accepted_at=None, **common)
    rural = incident_clocks(area_type="rural", case_accepted_at=None, **common)
    assert urban["arrival"].state == "overdue" and rural["arrival"].state == "running"
    assert rural["arrival"].due_at == T0 + timedelta(minutes=22)
    assert set(urban) == {"arrival", "initial_result", "clear"}
    accepted = incident_clocks(
        area_type="urban", case_accepted_at=T0 + timedelta(minutes=5), **common
    )
    assert accepted["evidence"].due_at == T0 + timedelta(minutes=5, hours=24)


def test_a_cancelled_incident_does_not_go_overdue_afterwards() -> None:
    clocks = incident_clocks(
        targets=SlaTargets(),
        area_type="urban",
        received_at=T0,
        dispatched_at=T0,
        closed_at=None,
        stopped_at=T0 + timedelta(minutes=5),
        first_arrival_at=None,
        first_result_at=None,
        case_accepted_at=None,
        evidence_complete_at=None,
        now=T0 + timedelta(days=2),
    )
    assert clocks["arrival"].state == "running" and clocks["clear"].state == "running"


def test_the_json_schema_covers_every_op_body_and_frame() -> None:
    from sync.messages import BODY_TYPES, json_schema

    defs = json_schema()["$defs"]
    assert isinstance(defs, dict)
    for body in BODY_TYPES.values():
        assert body.__name__ in defs
    for name in ("LoginRequest", "PushRequest", "Hello", "PushFrame", "Ping"):
        assert name in defs
