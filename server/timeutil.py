"""Time helpers: UTC now, and the Asia/Shanghai day used for numbers and reports."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A timezone-aware datetime in UTC (naive values from a database are UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def as_utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def local_day(value: datetime, tz: ZoneInfo = SHANGHAI) -> date:
    return as_utc(value).astimezone(tz).date()
