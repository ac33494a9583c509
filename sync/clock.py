"""Device clocks: offset estimation, effective time, plausibility (PROTOCOL §6.3).

A phone's clock can be minutes or hours wrong. Each op carries the device's own estimate
of (server clock − device clock) when it has one; otherwise the server estimates it from
the request that carried the op: received_at − sent_at (the device's clock when the
request left). Transit time makes that estimate a little late, never early, which is
the safe side for SLA clocks. The device side estimates its offset from round trips.

Every time an op carries, and every effective time, lies in [EARLIEST, LATEST)
(PROTOCOL §12): a clock outside it is not slow, it is broken, and an instant such as
9999-12-31T23:59:59-14:00 cannot even be converted to UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2101, 1, 1, tzinfo=UTC)  # exclusive
TIME_RANGE = "[1970-01-01T00:00Z, 2101-01-01T00:00Z)"
# No offset can carry a time inside the range to another time inside it by more than
# the range's own length: a larger one is refused as it is read.
MAX_OFFSET_MS = int((LATEST - EARLIEST).total_seconds() * 1000)


class OutOfRange(ValueError):
    """A time outside [EARLIEST, LATEST), or an effective time that cannot be worked out."""


def in_range(value: datetime) -> bool:
    """Whether an aware instant lies in [EARLIEST, LATEST). Comparing aware datetimes
    never converts them, so this is safe for any instant Python can hold."""
    return EARLIEST <= value < LATEST


def day_in_range(value: date) -> bool:
    """Whether a calendar date lies in [1970-01-01, 2101-01-01)."""
    if isinstance(value, datetime):
        return in_range(value)
    return EARLIEST.date() <= value < LATEST.date()


def request_offset_ms(received_at: datetime, sent_at: datetime) -> int | None:
    """The server's estimate of (server − device) from one request; None when the
    request's `sent_at` lies outside the range (PROTOCOL §12: it gives no estimate)."""
    if not in_range(sent_at):
        return None
    return round((received_at - sent_at).total_seconds() * 1000)


def effective_time(
    device_time: datetime, op_offset_ms: int | None, request_offset: int | None
) -> datetime:
    """The device time corrected by the op's own offset, or else by the request's.

    Raises OutOfRange when there is no offset to go by (the op has none and the request
    gave no estimate) or when the result lies outside [EARLIEST, LATEST)."""
    offset = op_offset_ms if op_offset_ms is not None else request_offset
    if offset is None:
        raise OutOfRange(
            "no clock offset: the op has no clock_offset_ms and the request's sent_at"
            f" lies outside {TIME_RANGE}, so it gives no estimate"
        )
    try:
        effective = device_time + timedelta(milliseconds=offset)
    except OverflowError:
        effective = None
    if effective is None or not in_range(effective):
        raise OutOfRange(
            f"the effective time (device_time {device_time.isoformat()} corrected by"
            f" {offset} ms) lies outside {TIME_RANGE}"
        )
    return effective


def sla_time(effective: datetime, received_at: datetime) -> datetime:
    """The time an SLA clock counts: never later than the server received the fact."""
    return min(effective, received_at)


def is_clock_suspect(
    effective: datetime,
    received_at: datetime,
    answers_dispatch_at: datetime | None,
    tolerance: timedelta,
) -> bool:
    """More than `tolerance` after its own receipt, or before the dispatch it answers."""
    if effective > received_at + tolerance:
        return True
    return answers_dispatch_at is not None and effective < answers_dispatch_at - tolerance


def is_out_of_order(
    effective: datetime, device_high_water: datetime | None, tolerance: timedelta
) -> bool:
    """Stamped earlier, by more than `tolerance`, than an op its own device recorded before
    it (PROTOCOL §12): `device_high_water` is the latest effective time among the device's
    ops with a lower seq. A phone records its ops in seq order, so its later op cannot have
    happened well before an earlier one; a backdated stamp or a clock set back can."""
    return device_high_water is not None and effective < device_high_water - tolerance


@dataclass
class OffsetEstimator:
    """Device-side estimate of (server − device) from round trips.

    For each round trip: t0 = device clock when sent, t1 = device clock when the answer
    came, server_time = the server's clock in the answer. Assuming the server stamped its
    answer half-way, offset = server_time − (t0 + t1) / 2, with an error of at most half
    the round trip. The estimate from the shortest round trip seen is kept (NTP's
    minimum-delay filter), so one slow answer does not spoil it.
    """

    offset_ms: int | None = None
    best_rtt_ms: float | None = None

    def observe(self, t0: datetime, t1: datetime, server_time: datetime) -> int | None:
        rtt = (t1 - t0).total_seconds() * 1000
        if rtt < 0:
            return self.offset_ms  # the device clock jumped during the trip: ignore it
        midpoint = t0 + (t1 - t0) / 2
        offset = round((server_time - midpoint).total_seconds() * 1000)
        # A much better round trip, or a jump larger than any round trip explains (the
        # device's clock was set), replaces the estimate.
        jumped = self.offset_ms is not None and abs(offset - self.offset_ms) > rtt + 2000
        if self.best_rtt_ms is None or rtt <= self.best_rtt_ms or jumped:
            self.best_rtt_ms = rtt
            self.offset_ms = offset
        return self.offset_ms
