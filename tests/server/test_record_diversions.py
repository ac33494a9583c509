"""server/record/diversions.py: one rule for the record's and the board's diversion
fields (the current diversion, how many came back, the latest return)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.record.diversions import NO_DIVERSIONS, DiversionFacts, diversion_summary

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def facts(
    diversion_id: str, minute: int, returned: int | None = None, op: str | None = None
) -> DiversionFacts:
    return DiversionFacts(
        diversion_id=diversion_id,
        diverted_at=T0 + timedelta(minutes=minute),
        returned_at=T0 + timedelta(minutes=returned) if returned is not None else None,
        feedback_op_id=op,
    )


def test_none() -> None:
    assert diversion_summary([], None) == NO_DIVERSIONS


def test_the_latest_is_current_until_returned_or_dispatched() -> None:
    rows = [facts("b", 10), facts("a", 0, returned=5, op="op-a")]
    s = diversion_summary(rows, None)
    assert (s.current_id, s.returned, s.latest_return_op_id) == ("b", 1, "op-a")
    assert diversion_summary(rows, T0 + timedelta(minutes=20)).current_id is None
    back = diversion_summary([facts("a", 0, returned=5, op="op-a")], None)
    assert (back.current_id, back.returned) == (None, 1)


def test_ties_break_on_id_and_the_oldest_diversion() -> None:
    # Two diversions at the same time: the later id is the latest.
    assert diversion_summary([facts("y", 0), facts("x", 0)], None).current_id == "y"
    # Returned at the same moment: the older diversion's feedback is the reason, in
    # whatever order the rows come.
    rows = [facts("b", 3, returned=9, op="op-b"), facts("a", 1, returned=9, op="op-a")]
    assert diversion_summary(rows, None).latest_return_op_id == "op-a"
    assert diversion_summary(rows[::-1], None).latest_return_op_id == "op-a"
    # The one returned last wins over an older return.
    rows = [facts("a", 1, returned=20, op="op-a"), facts("b", 3, returned=9, op="op-b")]
    assert diversion_summary(rows, None).latest_return_op_id == "op-a"
