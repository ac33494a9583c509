"""The reconciliation fold (sync.rules.fold) and clock estimation, without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sync.clock import OffsetEstimator, effective_time, is_clock_suspect
from sync.rules import FieldEvent, Lifecycle, Span, fold, note_flags

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
LIFE = Lifecycle(
    dispatched_at=T0,
    ended_at=T0 + timedelta(hours=2),
    assignments=(Span("p1", T0, None), Span("p2", T0, T0 + timedelta(minutes=30))),
)


@st.composite
def event_sets(draw: st.DrawFn) -> list[FieldEvent]:
    events: list[FieldEvent] = []
    for i in range(draw(st.integers(1, 12))):
        kind = draw(st.sampled_from(["arrival", "scene_report", "note", "bodycam_ref"]))
        received = T0 + timedelta(minutes=draw(st.integers(-10, 180)))
        effective = received - timedelta(seconds=draw(st.integers(-120, 3600)))
        base = None
        editable = [e for e in events if e.type == "scene_report"]
        if kind == "scene_report" and editable and draw(st.booleans()):
            base = draw(st.sampled_from(editable))
        body: dict[str, object] = {}
        if kind == "bodycam_ref":
            body = {
                "camera_serial": "C",
                "clip_id": draw(st.sampled_from(["1", "2"])),
                "sha256": draw(st.sampled_from(["a", "b", None])),
            }
        events.append(
            FieldEvent(
                op_id=f"op{i}",
                type=kind,
                person_id=draw(st.sampled_from(["p1", "p2", "p3"])),
                received_at=received,
                effective_time=effective,
                record_id=(base.record_id or base.op_id) if base else None,
                base_op_id=base.op_id if base else None,
                body=body,
            )
        )
    return events


@given(events=event_sets(), data=st.data())
def test_the_fold_depends_on_the_set_of_events_only(
    events: list[FieldEvent], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(events))
    duplicated = shuffled + data.draw(st.lists(st.sampled_from(events), max_size=5))
    assert fold(LIFE, events) == fold(LIFE, duplicated)


_MINUTES = st.integers(-30, 300)


@st.composite
def lifecycles(draw: st.DrawFn) -> Lifecycle:
    """An incident never diverted: dispatched or not, ended or not, with assignment
    spans that may have ended."""
    dispatched = draw(st.none() | _MINUTES)
    spans = []
    for person in draw(st.lists(st.sampled_from(["p1", "p2", "p3"]), max_size=4)):
        start = draw(_MINUTES)
        end = draw(st.none() | st.integers(start, 360))
        spans.append(
            Span(
                person,
                T0 + timedelta(minutes=start),
                None if end is None else T0 + timedelta(minutes=end),
            )
        )
    ended = draw(st.none() | _MINUTES)
    return Lifecycle(
        dispatched_at=None if dispatched is None else T0 + timedelta(minutes=dispatched),
        ended_at=None if ended is None else T0 + timedelta(minutes=ended),
        assignments=tuple(spans),
    )


@st.composite
def notes(draw: st.DrawFn) -> list[FieldEvent]:
    out = []
    for i in range(draw(st.integers(1, 8))):
        received = T0 + timedelta(minutes=draw(_MINUTES))
        high_water = draw(st.none() | st.integers(-600, 600))
        out.append(
            FieldEvent(
                op_id=f"op{i}",
                type="note",
                person_id=draw(st.sampled_from(["p1", "p2", "p3"])),
                received_at=received,
                effective_time=received - timedelta(seconds=draw(st.integers(-600, 7200))),
                body={"text": "x"},
                server_made=draw(st.booleans()),
                device_high_water=None
                if high_water is None
                else received + timedelta(seconds=high_water),
            )
        )
    return out


@given(life=lifecycles(), events=notes(), tolerance_s=st.sampled_from([0, 60, 300]))
def test_notes_judged_alone_get_the_flags_the_whole_fold_gives_them(
    life: Lifecycle, events: list[FieldEvent], tolerance_s: int
) -> None:
    """The push path stores a phone's notes with `note_flags`, not the whole fold: every
    lifecycle, clock and high water must give the same flags both ways."""
    tolerance = timedelta(seconds=tolerance_s)
    assert (
        note_flags(life, events, tolerance=tolerance)
        == fold(life, events, tolerance=tolerance).flags
    )


def event(op_id: str, minute: int = 5, **kw: object) -> FieldEvent:
    at = T0 + timedelta(minutes=minute)
    return FieldEvent(
        op_id=op_id,
        type=kw.pop("type", "scene_report"),
        person_id=kw.pop("person_id", "p1"),
        received_at=at,
        effective_time=at,
        **kw,
    )  # type: ignore[arg-type]


def test_forks_conflict_pending_waits_and_a_merge_heals() -> None:
    root = event("r")
    a = event("a", 6, record_id="r", base_op_id="r")
    b = event("b", 7, record_id="r", base_op_id="r")
    orphan = event("o", 8, record_id="r", base_op_id="missing")
    result = fold(LIFE, [root, a, b, orphan])
    state = result.records["r"]
    assert state.heads == ("a", "b") and state.head == "b" and state.conflicted
    assert result.flags["a"] == ("conflict",) and result.flags["b"] == ("conflict",)
    assert result.flags["o"] == ("pending_base",) and result.flags["r"] == ()
    merge = event("m", 9, record_id="r", base_op_id="a", parents=("a", "b"), server_made=True)
    healed = fold(LIFE, [root, a, b, orphan, merge])
    assert healed.records["r"].heads == ("m",) and healed.flags["a"] == ()


def test_late_and_suspect_events_do_not_count_for_arrival() -> None:
    after_close = event("late", 150, type="arrival")
    reassigned = event("gone", 40, type="arrival", person_id="p2")
    before_dispatch = FieldEvent(
        "early", "arrival", "p1", T0 + timedelta(minutes=3), T0 - timedelta(minutes=5)
    )
    valid = event("ok", 12, type="arrival", person_id="p2")  # p2 still assigned at minute 12
    result = fold(LIFE, [after_close, reassigned, before_dispatch, valid])
    assert result.flags["late"] == ("late",)
    assert result.flags["gone"] == ("late",)
    assert result.flags["early"] == ("clock_suspect",)
    assert result.first_arrival_at == T0 + timedelta(minutes=12)


def test_clock_helpers() -> None:
    assert effective_time(T0, 1500, 99) == T0 + timedelta(milliseconds=1500)
    assert effective_time(T0, None, -2000) == T0 - timedelta(seconds=2)
    tol = timedelta(seconds=60)
    assert is_clock_suspect(T0 + timedelta(seconds=61), T0, None, tol)
    assert not is_clock_suspect(T0 + timedelta(seconds=59), T0, None, tol)
    assert is_clock_suspect(T0 - timedelta(seconds=61), T0 + timedelta(hours=1), T0, tol)


def test_offset_estimation_keeps_the_shortest_round_trip_and_follows_a_clock_jump() -> None:
    est = OffsetEstimator()
    # Server is 5 s ahead. A 200 ms round trip, then a slow 2 s one.
    est.observe(T0, T0 + timedelta(milliseconds=200), T0 + timedelta(seconds=5, milliseconds=100))
    assert est.offset_ms == 5000
    est.observe(T0, T0 + timedelta(seconds=2), T0 + timedelta(seconds=5, milliseconds=300))
    assert est.offset_ms == 5000
    # The phone's clock was set right: the offset is now about 0.
    est.observe(T0, T0 + timedelta(milliseconds=300), T0 + timedelta(milliseconds=150))
    assert est.offset_ms == 0
