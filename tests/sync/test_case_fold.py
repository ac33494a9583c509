"""Cases and 三反馈 in the fold (PROTOCOL §11): the case — accepted or not, its stages in
effective-time order (ties by op_id), its number and dates — and the three feedbacks are a
function of the set of events, whatever order they arrive in, duplicates included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sync.rules import FieldEvent, Lifecycle, Span, fold

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
LIVES = [
    Lifecycle(dispatched_at=T0, assignments=(Span("p1", T0, None),)),
    Lifecycle(
        dispatched_at=T0,
        ended_at=T0 + timedelta(hours=3),
        assignments=(Span("p1", T0, T0 + timedelta(hours=3)), Span("p2", T0, None)),
    ),
]
STAGES = ["filed", "solved", "closed", "transferred"]


@st.composite
def case_events(draw: st.DrawFn) -> list[FieldEvent]:
    events = []
    for _ in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["case_progress", "disposition", "arrival", "scene_report"]))
        received = T0 + timedelta(minutes=draw(st.integers(-5, 600)))
        # Some share an effective time: ties go by op_id.
        effective = received - timedelta(minutes=draw(st.sampled_from([0, 0, 1, 30, 120])))
        body: dict[str, object] = {}
        if kind == "case_progress":
            body = {
                "case_number": f"A{draw(st.integers(1, 3))}",
                "stage": draw(st.sampled_from(STAGES)),
            }
        elif kind == "disposition":
            body = {"result": draw(st.sampled_from(["case_accepted", "resolved"])), "summary": "x"}
        events.append(
            FieldEvent(
                op_id=f"op{draw(st.integers(0, 30)):02d}",
                type=kind,
                person_id=draw(st.sampled_from(["p1", "p2", "p3"])),
                received_at=received,
                effective_time=effective,
                body=body,
            )
        )
    return events


@given(life=st.sampled_from(LIVES), events=case_events(), data=st.data())
def test_case_depends_on_the_set_of_events_only(
    life: Lifecycle, events: list[FieldEvent], data: st.DataObject
) -> None:
    # Same op_id twice in `events` would be two different facts: keep the first of each.
    unique = list({e.op_id: e for e in reversed(events)}.values())
    shuffled = data.draw(st.permutations(unique))
    duplicated = shuffled + data.draw(st.lists(st.sampled_from(unique), max_size=4))
    one, other = fold(life, unique), fold(life, duplicated)
    assert one.case == other.case
    assert one.three_feedbacks == other.three_feedbacks
    if one.case is not None:
        keys = [(s.at, s.op_id) for s in one.case.stages]
        assert keys == sorted(keys)
        assert one.case.accepted == (one.case_accepted_at is not None)


def fact(op_id: str, kind: str, minute: int, person: str = "p1", **body: object) -> FieldEvent:
    at = T0 + timedelta(minutes=minute)
    return FieldEvent(op_id, kind, person, received_at=at, effective_time=at, body=dict(body))


def test_progress_before_the_disposition_waits_and_counts_once_it_arrives() -> None:
    life = LIVES[0]
    filed = fact("c1", "case_progress", 10, case_number="A1", stage="filed")
    early = fold(life, [filed])
    assert early.case is not None and not early.case.accepted
    assert early.case.stage == "filed" and early.case.filed_at == T0 + timedelta(minutes=10)
    accepted = fact("d1", "disposition", 30, result="case_accepted", summary="受案")
    later = fold(life, [filed, accepted])
    assert later.case is not None and later.case.accepted
    assert later.case.stages == early.case.stages


def test_stages_dates_and_the_stage_at_a_moment() -> None:
    life = LIVES[1]  # closed at T0 + 3 h: progress after it is not late
    events = [
        fact("d1", "disposition", 20, result="case_accepted", summary="受案"),
        fact("c2", "case_progress", 60, case_number="A1", stage="filed"),
        fact("c1", "case_progress", 60, case_number="A0", stage="filed"),  # tie: c1 first
        fact("c3", "case_progress", 200, person="p2", case_number="A1", stage="solved"),
        fact("c4", "case_progress", 300, person="p2", case_number="A9", stage="closed"),
        fact("c5", "case_progress", 400, person="p2", case_number="A9", stage="transferred"),
    ]
    case = fold(life, events).case
    assert case is not None and case.accepted
    assert [s.op_id for s in case.stages] == ["c1", "c2", "c3", "c4", "c5"]
    assert case.stage == "transferred" and case.case_number == "A9"
    assert case.filed_at == T0 + timedelta(minutes=60)
    assert case.solved_at == T0 + timedelta(minutes=200)
    # The trailing run of closed/transferred began with c4.
    assert case.ended_at == T0 + timedelta(minutes=300)
    assert case.stage_at(T0 + timedelta(minutes=300)) == "solved"
    assert case.stage_at(T0 + timedelta(minutes=301)) == "closed"
    assert case.stage_at(T0) is None


def test_three_feedbacks() -> None:
    life = LIVES[1]
    result = fold(
        life,
        [
            fact("a1", "arrival", 5),
            fact("s1", "scene_report", 30),
            # After the close: late, so no disposition.
            fact("d1", "disposition", 200, result="resolved", summary="x"),
        ],
    )
    assert tuple(result.three_feedbacks) == (True, True, False)
    assert fold(life, []).three_feedbacks == (False, False, False)
