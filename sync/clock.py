"""Device clocks: offset estimation, effective time, plausibility (PROTOCOL §6.3).

A phone's clock can be minutes or hours wrong. Each op carries the device's own estimate
of (server clock − device clock) when it has one; otherwise the server estimates it from
the request that carried the op: received_at − sent_at (the device's clock when the
request left). Transit time makes that estimate a little late, never early, which is
the safe side for SLA clocks. The device side estimates its offset from round trips.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


def request_offset_ms(received_at: datetime, sent_at: datetime) -> int:
    """The server's estimate of (server − device) from one request."""
    return round((received_at - sent_at).total_seconds() * 1000)


def effective_time(
    device_time: datetime, op_offset_ms: int | None, request_offset: int
) -> datetime:
    """The device time corrected by the op's own offset, or else by the request's."""
    offset = op_offset_ms if op_offset_ms is not None else request_offset
    return device_time + timedelta(milliseconds=offset)


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
