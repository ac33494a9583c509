"""The op decoder's defences (PROTOCOL §12), without a server: the time range, offsets,
and text a JSON decoder refuses, kept inside the op that holds it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.clock import (
    EARLIEST,
    LATEST,
    MAX_OFFSET_MS,
    OutOfRange,
    effective_time,
    in_range,
    request_offset_ms,
)
from sync.messages import InvalidOp, PushRequest, decode_lenient, decode_op

_push = msgspec.json.Decoder(PushRequest)


def op(**fields: Any) -> dict[str, Any]:
    return {
        "op_id": "op-1",
        "seq": 7,
        "type": "note",
        "incident_id": "inc-1",
        "device_time": "2026-11-30T08:00:00+08:00",
        "clock_offset_ms": 0,
        "body": {"text": "已到达"},
        **fields,
    }


def push(*texts: str) -> bytes:
    """A push whose ops' note texts are written as given (escapes and all)."""
    ops = [
        json.dumps(op(op_id=f"op-{i}", body={"text": "@@"})).replace('"@@"', f'"{t}"')
        for i, t in enumerate(texts)
    ]
    return (
        '{"device_id": "d", "sent_at": "2026-11-30T00:00:00Z", "ops": [' + ", ".join(ops) + "]}"
    ).encode()


def test_a_lone_surrogate_fails_only_its_op_and_keeps_its_identity() -> None:
    request = decode_lenient(
        _push, push("\\ud800", "a\\udc00b", "\\ud83d\\ude00", "\\\\ud800", "ok", "\\ud800\\ud800")
    )
    outcomes: list[str] = []
    for raw in request.ops:
        try:
            outcomes.append(decode_op(raw).body.text)  # type: ignore[attr-defined]
        except InvalidOp as exc:
            assert (exc.op_id, exc.seq) != (None, None)
            assert "UTF-8" in str(exc)
            outcomes.append("invalid")
    # A pair is one character; an escaped backslash before "ud800" is text, not an escape.
    assert outcomes == ["invalid", "invalid", "😀", "\\ud800", "ok", "invalid"]


def test_other_malformed_json_is_still_malformed() -> None:
    with pytest.raises(msgspec.DecodeError):
        decode_lenient(_push, push("\\ud800")[:-2])
    with pytest.raises(msgspec.DecodeError):
        decode_lenient(_push, b'{"device_id": "d", "sent_at": }')


def test_text_that_is_not_utf8_keeps_the_op_identity() -> None:
    raw = json.dumps(op(body={"text": "@@"})).encode().replace(b'"@@"', b'"\xff\xfe"')
    with pytest.raises(InvalidOp) as bad:
        decode_op(raw)
    assert (bad.value.op_id, bad.value.seq) == ("op-1", 7)


@pytest.mark.parametrize(
    "device_time",
    ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "1969-12-31T23:59:59.999999Z"],
)
def test_a_device_time_outside_the_range_is_invalid(device_time: str) -> None:
    with pytest.raises(InvalidOp, match="device_time"):
        decode_op(json.dumps(op(device_time=device_time)).encode())


def test_the_edges_of_the_range() -> None:
    assert decode_op(json.dumps(op(device_time="1970-01-01T00:00:00Z")).encode())
    assert decode_op(json.dumps(op(device_time="2100-12-31T23:59:59.999999Z")).encode())
    with pytest.raises(InvalidOp):
        decode_op(json.dumps(op(device_time="2101-01-01T08:00:00+08:00")).encode())
    with pytest.raises(InvalidOp, match="clock_offset_ms"):
        decode_op(json.dumps(op(clock_offset_ms=MAX_OFFSET_MS + 1)).encode())


@given(
    st.datetimes(timezones=st.just(UTC)).map(lambda d: d.replace(tzinfo=None)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
    st.one_of(st.none(), st.integers(min_value=-MAX_OFFSET_MS, max_value=MAX_OFFSET_MS)),
)
def test_any_instant_and_offset_decode_or_are_invalid_never_an_error(
    naive: datetime, minutes: int, offset: int | None
) -> None:
    device_time = naive.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    raw = json.dumps(op(device_time=device_time.isoformat(), clock_offset_ms=offset)).encode()
    try:
        decoded = decode_op(raw)
    except InvalidOp:
        return
    assert in_range(decoded.device_time)
    if offset is not None:
        assert EARLIEST <= effective_time(decoded.device_time, offset, None) < LATEST


def test_a_sent_at_outside_the_range_gives_no_estimate() -> None:
    received = datetime(2026, 11, 30, tzinfo=UTC)
    far = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14)))
    assert request_offset_ms(received, far) is None
    with pytest.raises(OutOfRange, match="no clock offset"):
        effective_time(received, None, None)
    assert effective_time(received, None, 1000) == received + timedelta(seconds=1)
