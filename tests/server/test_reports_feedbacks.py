"""三反馈 and mediation figures (PROTOCOL §11; docs/reports.md), every expected value worked
out by hand. Times are Asia/Shanghai; the day D is 20 November 2026; the reports are
read at 12:00 on the 21st ("today" for follow-ups: 2026-11-21).

    id  station  arrival  scene   disposition           mediation_outcome (head)     closed
    F1  a        yes      yes     yes                   -                            yes
    F2  a        yes      -       yes                   partial, follow-up 11-21     yes
                                                        (edit of "reached", 11-25)
    F3  a        yes      yes     yes                   failed, no follow-up         no (open)
    F4  b        yes      yes     after the close: late reached, follow-up 11-20     yes
    S1  a (standalone, first version D 12:00)           reached, follow-up 11-22
    S0  a (standalone, first version D-1 23:30)         reached, no follow-up (November only)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from server.core.clock import SHANGHAI, ManualClock
from server.core.config import Settings
from tests.conftest import TEST_DATABASE_URL
from tests.server.conftest import Bureau
from tests.server.phone import Phone, default_body
from tests.server.test_reports import Desk


def t(month: int, day: int, hh: int, mm: int) -> datetime:
    return datetime(2026, month, day, hh, mm, tzinfo=SHANGHAI)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(t(11, 19, 23, 0))


@pytest.fixture
def settings(clock: ManualClock) -> Settings:
    return Settings(database_url=TEST_DATABASE_URL, clock=clock)


def mediation(agreement: str, follow_up_on: str | None) -> dict[str, Any]:
    return default_body("mediation_outcome") | {
        "agreement": agreement,
        "follow_up_on": follow_up_on,
    }


async def push(d: Desk, username: str, op: dict[str, Any]) -> None:
    phone = d.phones.get(username)
    assert phone is not None
    result = await phone.push([op], sent_at=d.clock.now())
    assert result["results"][0]["status"] == "applied", result


async def standalone(d: Desk, body: dict[str, Any]) -> None:
    phone = d.phones.get("mediator_a")
    if phone is None:
        phone = d.phones["mediator_a"] = await Phone(d.bureau, "mediator_a").sign_in()
    await push(
        d, "mediator_a", phone.op("mediation_outcome", None, body, device_time=d.clock.now())
    )


async def build(bureau: Bureau, clock: ManualClock) -> Desk:
    d = Desk(bureau, clock)
    await d.at(t(11, 19, 23, 30))
    await standalone(d, mediation("reached", None))  # S0
    await d.at(t(11, 20, 8, 0))
    for key, station, person in (
        ("F1", "a", "officer_a"),
        ("F2", "a", "officer_a"),
        ("F3", "a", "officer_a2"),
        ("F4", "b", "officer_b"),
    ):
        await d.create(key, "dispute")
        await d.dispatch(key, station, person)
    await d.at(t(11, 20, 8, 10))
    for key, person in (("F1", "officer_a"), ("F2", "officer_a"), ("F3", "officer_a2")):
        await d.field(key, person, "arrival")
    await d.field("F4", "officer_b", "arrival")
    await d.at(t(11, 20, 9, 0))
    for key, person in (("F1", "officer_a"), ("F3", "officer_a2"), ("F4", "officer_b")):
        await d.field(key, person, "scene_report")
    await d.at(t(11, 20, 10, 0))
    for key, person in (("F1", "officer_a"), ("F2", "officer_a"), ("F3", "officer_a2")):
        await d.field(key, person, "disposition", {"result": "mediated", "summary": "调解"})
    # F2's mediation: reached with a follow-up on the 25th, then edited: partial, the 21st.
    phone = d.phones["officer_a"]
    first = phone.op(
        "mediation_outcome",
        d.ids["F2"],
        mediation("reached", "2026-11-25"),
        device_time=d.clock.now(),
    )
    await push(d, "officer_a", first)
    await d.at(t(11, 20, 10, 30))
    edit = phone.op(
        "mediation_outcome",
        d.ids["F2"],
        mediation("partial", "2026-11-21"),
        record_id=first["op_id"],
        base_op_id=first["op_id"],
        device_time=d.clock.now(),
    )
    await push(d, "officer_a", edit)
    await d.field("F3", "officer_a2", "mediation_outcome", mediation("failed", None))
    await d.field("F4", "officer_b", "mediation_outcome", mediation("reached", "2026-11-20"))
    await d.at(t(11, 20, 11, 0))
    for key in ("F1", "F2", "F4"):
        await d.close(key)
    await d.at(t(11, 20, 11, 30))
    # After the close: late, so F4 never has its disposition.
    await d.field("F4", "officer_b", "disposition", {"result": "mediated", "summary": "调解"})
    await d.at(t(11, 20, 12, 0))
    await standalone(d, mediation("reached", "2026-11-22"))  # S1
    await d.at(t(11, 21, 12, 0))
    return d


async def report(bureau: Bureau, who: str, kind: str, **params: str) -> dict[str, Any]:
    r = await bureau.call(who, "GET", f"/api/reports/{kind}", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def mediation_figures(
    outcomes: int, reached: int, partial: int, failed: int, due: int
) -> dict[str, int]:
    return {
        "outcomes": outcomes,
        "reached": reached,
        "partial": partial,
        "failed": failed,
        "follow_ups_due": due,
    }


async def test_three_feedbacks_and_mediation(bureau: Bureau, clock: ManualClock) -> None:
    d = await build(bureau, clock)
    a, b = bureau.stations["a"], bureau.stations["b"]

    # The record says which feedbacks are in.
    async def feedbacks(key: str) -> dict[str, bool]:
        r = await bureau.call("supervisor", "GET", f"/api/incidents/{d.ids[key]}")
        return dict(r.json()["three_feedbacks"])

    assert await feedbacks("F1") == {"arrival": True, "scene": True, "disposition": True}
    assert await feedbacks("F2") == {"arrival": True, "scene": False, "disposition": True}
    assert await feedbacks("F4") == {"arrival": True, "scene": True, "disposition": False}

    day = await report(bureau, "supervisor", "daily", date="2026-11-20")
    stations = {s["station_id"]: s for s in day["stations"]}
    # a: F1 and F2 closed (F3 open), F1 complete: 1 / 2. b: F4 closed, its disposition
    # late: 0 / 1. Bureau: 1 / 3 = 0.3333.
    assert stations[a]["three_feedbacks"] == {"closed": 2, "complete": 1, "complete_rate": 0.5}
    assert stations[b]["three_feedbacks"] == {"closed": 1, "complete": 0, "complete_rate": 0.0}
    assert day["bureau"]["three_feedbacks"] == {
        "closed": 3,
        "complete": 1,
        "complete_rate": 0.3333,
    }
    # Mediation on D. a: F2 (head: the edit, partial, follow-up 11-21 <= today 11-21: due),
    # F3 (failed), S1 (reached, 11-22: not yet due). b: F4 (reached, 11-20: due).
    assert stations[a]["mediation"] == mediation_figures(3, 1, 1, 1, 1)
    assert stations[b]["mediation"] == mediation_figures(1, 1, 0, 0, 1)
    assert day["bureau"]["mediation"] == mediation_figures(4, 2, 1, 1, 2)

    # November adds S0 (its first version on the 19th, reached, no follow-up).
    month = await report(bureau, "supervisor", "monthly", month="2026-11")
    assert month["bureau"]["mediation"] == mediation_figures(5, 3, 1, 1, 2)
    previous = await report(bureau, "supervisor", "daily", date="2026-11-19")
    assert previous["bureau"]["mediation"] == mediation_figures(1, 1, 0, 0, 0)

    # A chief sees their station's: b's chief, F4 only.
    chief = await report(bureau, "chief_b", "daily", date="2026-11-20")
    assert chief["bureau"]["mediation"] == mediation_figures(1, 1, 0, 0, 1)
    assert chief["bureau"]["three_feedbacks"]["closed"] == 1

    # The next day, S1's follow-up (11-22) is due as well.
    await d.at(t(11, 22, 0, 1))
    day = await report(bureau, "supervisor", "daily", date="2026-11-20")
    assert day["bureau"]["mediation"]["follow_ups_due"] == 3

    # CSV columns.
    r = await bureau.call(
        "supervisor", "GET", "/api/reports/daily", params={"date": "2026-11-20", "format": "csv"}
    )
    lines = r.content.decode("utf-8-sig").split("\r\n\r\n")[0].split("\r\n")
    cells = dict(zip(lines[0].split(","), lines[-1].split(","), strict=True))
    assert cells["three_feedbacks_closed"] == "3"
    assert cells["three_feedbacks_complete_rate"] == "0.3333"
    assert cells["mediation_outcomes"] == "4" and cells["mediation_follow_ups_due"] == "3"
