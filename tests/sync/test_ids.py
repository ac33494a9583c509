"""Qingling's own ids (sync/ids.py): UUIDs version 7 whose text sorts by the time they
were made, so the event table's op_id index grows at its end."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from sync.ids import time_ordered_id
from sync.messages import decode_op

# 2026-12-03 08:30:00.123 UTC, in nanoseconds since the epoch (worked by hand:
# 1,796,286,600 s since 1970-01-01, then 123 ms).
_NOW_NS = (
    int(datetime(2026, 12, 3, 8, 30, 0, 123_000, tzinfo=UTC).timestamp()) * 10**9 + 123 * 10**6
)


def test_an_id_is_a_version_7_uuid_carrying_its_millisecond() -> None:
    made = time_ordered_id(_NOW_NS)
    parsed = uuid.UUID(made)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert made == str(parsed)  # lower-case, hyphenated: the text a UUID is sent as
    assert int(made.replace("-", "")[:12], 16) == 1_796_286_600_123


@given(
    st.integers(min_value=0, max_value=2**48 - 2),
    st.integers(min_value=1, max_value=10**6),
)
def test_an_id_made_a_millisecond_later_sorts_after(ms: int, later_ms: int) -> None:
    earlier = time_ordered_id(ms * 10**6)
    later = time_ordered_id(min(ms + later_ms, 2**48 - 1) * 10**6)
    assert earlier < later


def test_ids_made_in_the_same_millisecond_differ() -> None:
    made = {time_ordered_id(_NOW_NS) for _ in range(10_000)}
    assert len(made) == 10_000


def test_the_server_takes_it_as_an_op_id() -> None:
    op_id = time_ordered_id()
    raw = (
        b'{"op_id": "' + op_id.encode() + b'", "seq": 1, "type": "note", "incident_id": "i",'
        b' "device_time": "2026-12-03T08:30:00+00:00", "clock_offset_ms": 0,'
        b' "body": {"text": "x"}}'
    )
    assert decode_op(raw).op_id == op_id
