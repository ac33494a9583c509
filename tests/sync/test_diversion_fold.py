"""Diversion to linked agencies in the fold (PROTOCOL §10): the diversion state and the
agency clocks are a function of the set of events and the command center's acts,
whatever order the events arrive in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sync.rules import Diversion, FieldEvent, Lifecycle, agency_clocks, fold

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
HOUSING = Diversion("d1", "housing", T0, frozenset({"a1", "a2"}), timedelta(minutes=20))
HOTLINE = Diversion("d2", "hotline", T0 + timedelta(minutes=90), frozenset({"b1"}))
LIVES = [
    Lifecycle(diversions=(HOUSING,)),
    Lifecycle(diversions=(HOUSING, HOTLINE)),
    Lifecycle(diversions=(HOUSING,), ended_at=T0 + timedelta(hours=3)),
]


@st.composite
def agency_events(draw: st.DrawFn) -> list[FieldEvent]:
    events = []
    for i in range(draw(st.integers(1, 10))):
        kind = draw(st.sampled_from(["ack_dispatch", "agency_feedback", "note"]))
        received = T0 + timedelta(minutes=draw(st.integers(-5, 240)))
        effective = received - timedelta(seconds=draw(st.integers(-120, 7200)))
        body: dict[str, object] = {}
        if kind == "agency_feedback":
            body = {
                "outcome": draw(st.sampled_from(["handled", "referred", "returned"])),
                "text": f"t{i}",
                "attachments": [],
            }
        events.append(
            FieldEvent(
                op_id=f"op{i}",
                type=kind,
                person_id=draw(st.sampled_from(["a1", "a2", "b1", "p1"])),
                received_at=received,
                effective_time=effective,
                body=body,
            )
        )
    return events


@given(life=st.sampled_from(LIVES), events=agency_events(), data=st.data())
def test_diversion_state_depends_on_the_set_of_events_only(
    life: Lifecycle, events: list[FieldEvent], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(events))
    duplicated = shuffled + data.draw(st.lists(st.sampled_from(events), max_size=4))
    one, other = fold(life, events), fold(life, duplicated)
    assert one == other
    assert one.current_diversion(life) == other.current_diversion(life)
    current = one.current_diversion(life)
    if current is not None:
        now = T0 + timedelta(hours=5)
        assert agency_clocks(*current, stopped_at=None, now=now) == agency_clocks(
            *other.current_diversion(life),
            stopped_at=None,
            now=now,  # type: ignore[misc]
        )


def fact(op_id: str, person: str, kind: str, minute: int, **body: object) -> FieldEvent:
    at = T0 + timedelta(minutes=minute)
    return FieldEvent(op_id, kind, person, received_at=at, effective_time=at, body=dict(body))


def test_the_earliest_valid_facts_meet_the_clocks_and_returned_ends_the_diversion() -> None:
    life = Lifecycle(diversions=(HOUSING,))
    result = fold(
        life,
        [
            fact("ack2", "a2", "ack_dispatch", 12),
            fact("ack1", "a1", "ack_dispatch", 30),
            fact("police", "p1", "ack_dispatch", 1),  # not the agency's: counts for nothing
            fact("back", "a1", "agency_feedback", 40, outcome="returned", text="非本单位职责"),
            fact("after", "a2", "agency_feedback", 50, outcome="handled", text="x"),
        ],
    )
    [state] = result.diversions
    assert state.acknowledged_at == T0 + timedelta(minutes=12)
    assert (state.outcome, state.feedback_op_id) == ("returned", "back")
    assert state.returned_at == T0 + timedelta(minutes=40)
    assert result.flags["after"] == ("late",)  # the call had come back by then
    assert result.current_diversion(life) is None
    # Without the return, the diversion is current and its ack clock met in time.
    result = fold(life, [fact("ack2", "a2", "ack_dispatch", 12)])
    current = result.current_diversion(life)
    assert current is not None
    clocks = agency_clocks(*current, stopped_at=None, now=T0 + timedelta(hours=30))
    assert clocks["agency_ack"].state == "met"
    assert clocks["agency_feedback"].state == "overdue"


def test_a_fact_before_the_diversion_is_suspect_and_after_the_next_act_late() -> None:
    life = Lifecycle(diversions=(HOUSING, HOTLINE))
    suspect = FieldEvent(
        "early", "ack_dispatch", "a1",
        received_at=T0 + timedelta(minutes=5), effective_time=T0 - timedelta(minutes=5),
    )  # fmt: skip
    late = fact("late", "a1", "agency_feedback", 100, outcome="returned", text="x")
    result = fold(life, [suspect, late])
    assert result.flags == {"early": ("clock_suspect",), "late": ("late",)}
    assert result.diversions[0].acknowledged_at is None
    assert result.diversions[0].returned_at is None
