"""SLA integrity in the fold (PROTOCOL §12 "Clocks are met by the right people, in
order"; issue 10 finding 8), without a server: a device's ops judged in seq order, only
people assigned at an op's effective time meeting clocks, far arrivals flagged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sync.clock import is_out_of_order
from sync.rules import (
    DeviceOp,
    FieldEvent,
    Lifecycle,
    Span,
    device_high_water,
    distance_m,
    fold,
)

T0 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
TOL = timedelta(seconds=60)


def minutes(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


# ---------------------------------------------------------------------------------------
# The device-order rule: each op's high water is the latest effective time of the
# device's ops with a lower seq, a function of the set.


@st.composite
def device_ops(draw: st.DrawFn) -> list[DeviceOp]:
    n = draw(st.integers(0, 12))
    seqs = draw(st.lists(st.integers(1, 15), min_size=n, max_size=n))  # repeats allowed
    return [
        DeviceOp(f"op{i}", seq, minutes(draw(st.integers(-30, 120)) / 2))
        for i, seq in enumerate(seqs)
    ]


@given(ops=device_ops(), data=st.data())
def test_the_high_water_is_the_latest_earlier_stamp_whatever_the_order(
    ops: list[DeviceOp], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(ops))
    again = shuffled + data.draw(st.lists(st.sampled_from(ops), max_size=4)) if ops else []
    high_water = device_high_water(again)
    assert high_water == device_high_water(ops)
    for op in ops:
        earlier = [o.effective_time for o in ops if o.seq < op.seq]
        assert high_water[op.op_id] == (max(earlier) if earlier else None)


@given(ops=device_ops(), split=st.data())
def test_adding_ops_only_raises_the_high_water(ops: list[DeviceOp], split: st.DataObject) -> None:
    # What the server relies on to keep the column incrementally: an op that arrives
    # later never lowers anyone's high water, and changes only those of higher seqs.
    k = split.draw(st.integers(0, len(ops)))
    before, after = device_high_water(ops[:k]), device_high_water(ops)
    for op_id, value in before.items():
        new = after[op_id]
        assert value is None or (new is not None and new >= value)
        if new != value:
            op = next(o for o in ops if o.op_id == op_id)
            assert any(o.seq < op.seq for o in ops[k:])


def test_out_of_order_means_earlier_than_the_high_water_by_more_than_the_tolerance() -> None:
    assert not is_out_of_order(minutes(2), None, TOL)
    assert not is_out_of_order(minutes(2), minutes(3), TOL)  # 60 s: within tolerance
    assert is_out_of_order(minutes(2), minutes(3) + timedelta(seconds=1), TOL)
    assert not is_out_of_order(minutes(30), minutes(2), TOL)  # later is never suspect


# ---------------------------------------------------------------------------------------
# The fold.

LIFE = Lifecycle(
    dispatched_at=T0,
    assignments=(
        Span("p1", T0, None),
        Span("late_joiner", minutes(20), None),
        # Sent, taken off at minute 10, sent again at minute 30.
        Span("back", T0, minutes(10)),
        Span("back", minutes(30), None),
    ),
    position=(35.49, 111.10),  # 绛县
)


def field_event(op_id: str, type: str, person: str, at: datetime, **kw: object) -> FieldEvent:
    received = kw.pop("received_at", at)
    return FieldEvent(
        op_id=op_id,
        type=type,
        person_id=person,
        received_at=received,  # type: ignore[arg-type]
        effective_time=at,
        **kw,  # type: ignore[arg-type]
    )


def test_a_backdated_arrival_is_suspect_and_meets_nothing() -> None:
    # Issue 10 finding 8: 30 minutes late, the officer stamps the arrival dispatch + 2 min;
    # but the same phone recorded a note at minute 20 before it (a lower seq).
    arrival = field_event(
        "arr", "arrival", "p1", minutes(2), received_at=minutes(31), device_high_water=minutes(20)
    )
    note = field_event("note", "note", "p1", minutes(20), device_high_water=minutes(1))
    result = fold(LIFE, [arrival, note])
    assert result.flags["arr"] == ("clock_suspect",)
    assert result.flags["note"] == ()
    assert result.first_arrival_at is None
    assert result.flag_details[("arr", "clock_suspect")] == {"device_high_water": minutes(20)}
    # Without the phone's earlier note it is an honest offline arrival, synced late: met.
    honest = fold(LIFE, [field_event("arr", "arrival", "p1", minutes(2), received_at=minutes(31))])
    assert honest.flags["arr"] == () and honest.first_arrival_at == minutes(2)


def test_only_people_assigned_at_the_effective_time_meet_clocks() -> None:
    events = [
        # Not assigned at all (a station colleague): records, meets nothing.
        field_event(
            "d_stranger", "disposition", "stranger", minutes(5), body={"result": "resolved"}
        ),
        field_event("a_stranger", "arrival", "stranger", minutes(4)),
        # Assigned from minute 20: an arrival stamped minute 8 was not theirs to make.
        field_event("a_joiner", "arrival", "late_joiner", minutes(8), received_at=minutes(25)),
        # Off the incident from minute 10 to 30: a report stamped minute 20 and received
        # at 35 (assigned again by then, so not `late`) was made while off it.
        field_event("r_back", "scene_report", "back", minutes(20), received_at=minutes(35)),
    ]
    result = fold(LIFE, events)
    assert result.first_arrival_at is None and result.first_result_at is None
    assert all(f == () for f in result.flags.values())  # recorded, not flagged
    counted = fold(
        LIFE,
        [
            *events,
            field_event("a_joiner2", "arrival", "late_joiner", minutes(21)),
            field_event("r_back2", "scene_report", "back", minutes(31)),
        ],
    )
    assert counted.first_arrival_at == minutes(21)
    assert counted.first_result_at == minutes(31)


def test_a_case_needs_an_assigned_persons_disposition_and_evidence() -> None:
    accepted = {"result": "case_accepted"}
    stranger_case = fold(
        LIFE, [field_event("d", "disposition", "stranger", minutes(5), body=accepted)]
    )
    assert stranger_case.case_accepted_at is None
    kinds = ("interview_record", "witness_statement", "scene_inspection")
    evidence = [
        field_event(f"e{i}", "evidence_item", "stranger", minutes(30 + i), body={"kind": kind})
        for i, kind in enumerate(kinds)
    ]
    case = fold(LIFE, [field_event("d", "disposition", "p1", minutes(5), body=accepted), *evidence])
    assert case.case_accepted_at == minutes(5)
    assert case.evidence_complete_at is None and case.evidence_missing == kinds


def test_a_clock_error_within_tolerance_still_counts_at_the_edges_of_an_assignment() -> None:
    # A phone 50 s slow stamps its arrival just before the dispatch that assigned them.
    early = field_event("a", "arrival", "p1", T0 - timedelta(seconds=50), received_at=minutes(1))
    assert fold(LIFE, [early]).first_arrival_at == T0 - timedelta(seconds=50)
    too_early = field_event(
        "a", "arrival", "p1", T0 - timedelta(seconds=61), received_at=minutes(1)
    )
    assert fold(LIFE, [too_early]).first_arrival_at is None


def test_a_far_arrival_is_flagged_for_review_and_still_counts() -> None:
    far = field_event(
        "far", "arrival", "p1", minutes(5), body={"lat": 35.53, "lon": 111.10, "accuracy_m": 10.0}
    )
    near = field_event("near", "arrival", "p1", minutes(6), body={"lat": 35.4905, "lon": 111.1})
    unknown = field_event("nowhere", "arrival", "p1", minutes(7), body={"lat": None, "lon": None})
    result = fold(LIFE, [far, near, unknown], arrival_max_distance_m=1000)
    assert result.flags == {"far": ("far_arrival",), "near": (), "nowhere": ()}
    detail = result.flag_details[("far", "far_arrival")]
    # 0.04° of latitude: 4,448 m on a sphere of radius 6,371,008.8 m (2πR × 0.04 / 360).
    assert detail == {"distance_m": 4448, "max_distance_m": 1000, "accuracy_m": 10.0}
    assert result.first_arrival_at == minutes(5)  # counted; the review item questions it
    # No incident position, or the check turned off: nothing to flag.
    assert (
        fold(
            Lifecycle(dispatched_at=T0, assignments=LIFE.assignments),
            [far],
            arrival_max_distance_m=1000,
        ).flags["far"]
        == ()
    )
    assert fold(LIFE, [far]).flags["far"] == ()


def test_distance() -> None:
    assert distance_m((0.0, 0.0), (0.0, 0.0)) == 0
    # One degree of longitude on the equator: 2πR / 360 = 111,195.08 m.
    assert round(distance_m((0.0, 0.0), (0.0, 1.0)), 2) == 111195.08
    assert round(distance_m((0.0, 179.5), (0.0, -179.5))) == round(111195.08)
