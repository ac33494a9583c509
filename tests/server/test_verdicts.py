"""The citizen's word (PROTOCOL §9), black-box over HTTP: callbacks opened on close and
worked by the command center, QR ratings before and after their invite, posters, the
public limits, one verdict per incident whichever way it comes, and no personal data in
any public answer. Time moves by the injected clock."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.core import audit
from server.core.clock import SHANGHAI, ManualClock
from server.core.config import Settings
from server.core.tables import Feedback, PendingRating, PublicTry
from server.record.policy import make_policy, set_policy
from tests.conftest import TEST_DATABASE_URL
from tests.live import live_server
from tests.server.conftest import Bureau
from tests.server.phone import Phone
from tests.server.test_sync_ws import Device, catch_up, connect, recv

# 10:00 in Asia/Shanghai; a day's incidents are received well inside it.
START = datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)

NAME, PHONE = "欧阳娜娜", "13987654321"
ADDRESS, NARRATIVE = "幸福里小区7栋302室", "楼上漏水淹了厨房，双方争执不下"

SATISFIED = {
    "ratings": {
        "reception": "satisfied",
        "timeliness": "satisfied",
        "conduct": "basically_satisfied",
        "handling": "satisfied",
    },
    "overall": "satisfied",
    "comment": "民警很耐心",
}
UNSATISFIED = {
    "ratings": {
        "reception": "unsatisfied",
        "timeliness": "unsatisfied",
        "conduct": "satisfied",
        "handling": "unsatisfied",
    },
    "overall": "unsatisfied",
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def settings(clock: ManualClock) -> Settings:
    return Settings(database_url=TEST_DATABASE_URL, clock=clock, sla_scheduler_cap_s=600)


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def new_token() -> tuple[str, str]:
    token = secrets.token_hex(16)
    return token, hashlib.sha256(token.encode("ascii")).hexdigest()


# Every public answer a test received, to be searched for personal data.
PUBLIC_ANSWERS: list[bytes] = []


async def public(bureau: Bureau, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """A public call: no Authorization header. Its body is kept for the personal-data check."""
    r = await bureau.client.request(method, path, **kwargs)
    PUBLIC_ANSWERS.append(r.content)
    return r


async def incident_with_caller(
    bureau: Bureau, station: str = "a", people: tuple[str, ...] = ("officer_a",), **extra: Any
) -> dict[str, Any]:
    return await bureau.dispatched_incident(
        station,
        people,
        caller_name=NAME,
        caller_phone=PHONE,
        address=ADDRESS,
        narrative=NARRATIVE,
        **extra,
    )


async def close(bureau: Bureau, incident_id: str) -> dict[str, Any]:
    r = await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{incident_id}/close", json={"summary": "调解完毕"}
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def closed_incident(bureau: Bureau, station: str = "a", **extra: Any) -> dict[str, Any]:
    people = ("officer_a",) if station == "a" else ("officer_b",)
    incident = await incident_with_caller(bureau, station, people, **extra)
    return await close(bureau, incident["id"])


async def record(bureau: Bureau, incident_id: str) -> dict[str, Any]:
    r = await bureau.call("dispatcher", "GET", f"/api/incidents/{incident_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def callbacks(
    bureau: Bureau, username: str = "dispatcher", **params: str
) -> list[dict[str, Any]]:
    r = await bureau.call(username, "GET", "/api/callbacks", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["callbacks"])


async def call_back(bureau: Bureau, incident_id: str, body: dict[str, Any], username="dispatcher"):
    return await bureau.call(username, "POST", f"/api/incidents/{incident_id}/callbacks", json=body)


async def invite(
    phone: Phone, clock: ManualClock, incident_id: str, token_sha256: str, **kwargs: Any
) -> dict[str, Any]:
    """Push a rating_invite recorded now (by the manual clock)."""
    op = phone.op(
        "rating_invite", incident_id, {"token_sha256": token_sha256}, device_time=clock.now()
    )
    op.update(kwargs)
    result = await phone.push([op], sent_at=clock.now())
    assert result["results"][0]["status"] == "applied", result
    return op


async def verdict_rows() -> list[dict[str, Any]]:
    return list(await Feedback.select())


async def verdict_audits(incident_id: str) -> list[Any]:
    return [e for e in await audit.recent(1000, audit.VERDICT_RECORDED) if e.subject == incident_id]


# ---------------------------------------------------------------------------------------
# Callbacks.


async def test_closing_opens_a_callback_due_72_hours_later_unless_no_callback_or_no_phone(
    bureau: Bureau, clock: ManualClock
) -> None:
    owed = await incident_with_caller(bureau)
    quiet = await incident_with_caller(bureau, no_callback=True)
    no_phone = await bureau.dispatched_incident("a", ("officer_a",))
    cancelled = await incident_with_caller(bureau)
    assert quiet["no_callback"] is True and owed["no_callback"] is False
    assert await callbacks(bureau, state="all") == []
    clock.advance(timedelta(hours=2))
    closed = await close(bureau, owed["id"])
    await close(bureau, quiet["id"])
    await close(bureau, no_phone["id"])
    r = await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{cancelled['id']}/cancel", json={"reason": "重复"}
    )
    assert r.status_code == 200
    [task] = await callbacks(bureau, state="all")
    assert task == {
        "incident_id": owed["id"],
        "number": owed["number"],
        "station_id": bureau.stations["a"],
        "category": "dispute",
        "closed_at": closed["closed_at"],
        "due_at": task["due_at"],
        "caller_phone": PHONE,
        "state": "due",
        "attempts": [],
    }
    assert at(task["due_at"]) == at(closed["closed_at"]) + timedelta(hours=72)
    assert at(closed["closed_at"]) == clock.now()
    # The callback hours are bureau policy.
    await set_policy(bureau.bureau_id, make_policy("default", {"callback_hours": 24}))
    other = await incident_with_caller(bureau)
    closed = await close(bureau, other["id"])
    [later] = [t for t in await callbacks(bureau) if t["incident_id"] == other["id"]]
    assert at(later["due_at"]) == at(closed["closed_at"]) + timedelta(hours=24)


async def test_the_list_is_oldest_due_first_and_filtered_by_state(
    bureau: Bureau, clock: ManualClock
) -> None:
    first = await closed_incident(bureau)
    clock.advance(timedelta(minutes=5))
    second = await closed_incident(bureau, "b")
    clock.advance(timedelta(minutes=5))
    third = await closed_incident(bureau)
    assert [t["incident_id"] for t in await callbacks(bureau)] == [
        first["id"],
        second["id"],
        third["id"],
    ]
    r = await call_back(bureau, second["id"], {"reached": True, **SATISFIED})
    assert r.status_code == 201, r.text
    assert [t["incident_id"] for t in await callbacks(bureau, state="due")] == [
        first["id"],
        third["id"],
    ]
    assert [t["incident_id"] for t in await callbacks(bureau, state="done")] == [second["id"]]
    assert len(await callbacks(bureau, state="all")) == 3
    assert [
        t["incident_id"] for t in await callbacks(bureau, station_id=bureau.stations["b"])
    ] == []
    assert [
        t["incident_id"]
        for t in await callbacks(bureau, state="all", station_id=bureau.stations["b"])
    ] == [second["id"]]
    r = await bureau.call("dispatcher", "GET", "/api/callbacks", params={"state": "late"})
    assert r.status_code == 400
    r = await bureau.call("dispatcher", "GET", "/api/callbacks", params={"station_id": "nowhere"})
    assert r.status_code == 404


async def test_the_list_takes_a_limit_like_the_other_lists(
    bureau: Bureau, clock: ManualClock
) -> None:
    ids = []
    for station in ("a", "b", "a"):
        ids.append((await closed_incident(bureau, station))["id"])
        clock.advance(timedelta(minutes=5))
    assert [t["incident_id"] for t in await callbacks(bureau, limit="2")] == ids[:2]
    assert [t["incident_id"] for t in await callbacks(bureau, limit="1", state="all")] == ids[:1]
    assert [t["incident_id"] for t in await callbacks(bureau, limit="1000")] == ids
    # Out of 1..1000 or not a number: 400, with the code the other lists answer.
    for bad in ("0", "-1", "1001", "abc", ""):
        r = await bureau.call("dispatcher", "GET", "/api/callbacks", params={"limit": bad})
        other = await bureau.call("supervisor", "GET", "/api/reviews", params={"limit": bad})
        assert r.status_code == other.status_code == 400, bad
        assert r.json()["code"] == other.json()["code"] == "invalid_param", bad
        assert r.json()["message"] == "limit must be a whole number from 1 to 1000", r.json()


async def test_three_unanswered_calls_make_the_task_unreachable(
    bureau: Bureau, clock: ManualClock
) -> None:
    incident = await closed_incident(bureau)
    for attempt in (1, 2, 3):
        clock.advance(timedelta(hours=5))
        r = await call_back(bureau, incident["id"], {"reached": False})
        assert r.status_code == 201, r.text
        task = r.json()
        assert len(task["attempts"]) == attempt
        assert task["attempts"][-1] == {
            "at": task["attempts"][-1]["at"],
            "reached": False,
            "by": bureau.people["dispatcher"],
        }
        assert at(task["attempts"][-1]["at"]) == clock.now()
        assert task["state"] == ("unreachable" if attempt == 3 else "due")
    assert [t["incident_id"] for t in await callbacks(bureau, state="unreachable")] == [
        incident["id"]
    ]
    assert await callbacks(bureau, state="due") == []
    # The caller picks up a later call after all: the verdict is recorded.
    r = await call_back(bureau, incident["id"], {"reached": True, **SATISFIED})
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "done" and len(r.json()["attempts"]) == 4
    [feedback] = (await record(bureau, incident["id"]))["feedback"]
    assert feedback["source"] == "callback" and feedback["overall"] == "satisfied"


async def test_a_reached_call_records_the_verdict_and_answers_a_second_with_409(
    bureau: Bureau, clock: ManualClock
) -> None:
    incident = await closed_incident(bureau)
    clock.advance(timedelta(hours=30))
    r = await call_back(bureau, incident["id"], {"reached": True, "overall": "satisfied"})
    assert r.status_code == 400 and r.json()["code"] == "invalid"
    r = await call_back(bureau, incident["id"], {"reached": False, **SATISFIED})
    assert r.status_code == 400 and r.json()["code"] == "invalid"
    r = await call_back(bureau, incident["id"], {"reached": True, **UNSATISFIED})
    assert r.status_code == 201, r.text
    task = r.json()
    assert task["state"] == "done" and task["attempts"][0]["reached"] is True
    got = await record(bureau, incident["id"])
    [feedback] = got["feedback"]
    assert at(feedback.pop("at")) == clock.now()
    assert feedback == {
        "source": "callback",
        "ratings": UNSATISFIED["ratings"],
        "overall": "unsatisfied",
        "comment": "",
    }
    # An unsatisfied overall opens a review item.
    kinds = [item["kind"] for item in got["review_items"]]
    assert kinds.count("citizen_unsatisfied") == 1
    r = await call_back(bureau, incident["id"], {"reached": False})
    assert r.status_code == 409 and r.json()["code"] == "already_rated"
    [row] = await verdict_audits(incident["id"])
    assert row.actor == bureau.people["dispatcher"]
    assert json.loads(row.detail) == {"source": "callback", "overall": "unsatisfied"}


async def test_callbacks_are_refused_before_the_close_without_a_task_and_to_field_roles(
    bureau: Bureau,
) -> None:
    open_one = await incident_with_caller(bureau)
    r = await call_back(bureau, open_one["id"], {"reached": False})
    assert r.status_code == 409 and r.json()["code"] == "not_closed"
    cancelled = await incident_with_caller(bureau)
    await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{cancelled['id']}/cancel", json={"reason": "误报"}
    )
    r = await call_back(bureau, cancelled["id"], {"reached": False})
    assert r.status_code == 409 and r.json()["code"] == "not_closed"
    quiet = await closed_incident(bureau, no_callback=True)
    r = await call_back(bureau, quiet["id"], {"reached": False})
    assert r.status_code == 409 and r.json()["code"] == "no_callback_task"
    owed = await closed_incident(bureau)
    for username in ("officer_a", "chief_a", "grid_b", "mediator_a", "agency_x"):
        r = await call_back(bureau, owed["id"], {"reached": False}, username=username)
        assert r.status_code == 403, username
    for username in ("supervisor", "admin"):
        r = await call_back(bureau, owed["id"], {"reached": False}, username=username)
        assert r.status_code == 201, username
    r = await call_back(bureau, "no-such-incident", {"reached": False})
    assert r.status_code == 404


async def test_a_station_chief_sees_their_station_s_list_and_its_callers_while_due(
    bureau: Bureau,
) -> None:
    at_a = await closed_incident(bureau, "a")
    at_b = await closed_incident(bureau, "b")
    done_at_a = await closed_incident(bureau, "a")
    r = await call_back(bureau, done_at_a["id"], {"reached": True, **SATISFIED})
    assert r.status_code == 201
    listed = await callbacks(bureau, "chief_a", state="all")
    assert {t["incident_id"] for t in listed} == {at_a["id"], done_at_a["id"]}
    phones = {t["incident_id"]: t["caller_phone"] for t in listed}
    # In full while due (the chief's callers to ring); masked once done.
    assert phones == {at_a["id"]: PHONE, done_at_a["id"]: "139****4321"}
    assert [t["incident_id"] for t in await callbacks(bureau, "chief_b")] == [at_b["id"]]
    r = await bureau.call(
        "chief_a", "GET", "/api/callbacks", params={"station_id": bureau.stations["b"]}
    )
    assert r.status_code == 404
    for username in ("officer_a", "grid_b", "mediator_a", "agency_x"):
        r = await bureau.call(username, "GET", "/api/callbacks")
        assert r.status_code == 403, username
    # The chief's incident record shows the caller in full while the task is due.
    r = await bureau.call("chief_a", "GET", f"/api/incidents/{at_a['id']}")
    assert (r.json()["caller_name"], r.json()["caller_phone"]) == (NAME, PHONE)
    r = await bureau.call("chief_a", "GET", f"/api/incidents/{done_at_a['id']}")
    assert (r.json()["caller_name"], r.json()["caller_phone"]) == ("欧*", "139****4321")
    # Every list that carried a phone in full left an audit row.
    reveals = [
        json.loads(e.detail) | {"actor": e.actor}
        for e in await audit.recent(1000, audit.CALLER_DATA)
    ]
    by_list = [r for r in reveals if r["via"] == "callbacks"]
    assert any(
        r["actor"] == bureau.people["chief_a"] and r["incidents"] == [at_a["id"]] for r in by_list
    )
    assert any(r["actor"] == bureau.people["dispatcher"] for r in by_list)


# ---------------------------------------------------------------------------------------
# Rating by QR, one incident.


async def test_an_invite_then_a_rating_counts_once(bureau: Bureau, clock: ManualClock) -> None:
    incident = await closed_incident(bureau)
    phone = await Phone(bureau, "officer_a").sign_in()
    token, token_sha256 = new_token()
    clock.advance(timedelta(minutes=3))
    op = await invite(phone, clock, incident["id"], token_sha256)
    # Shown after the close, as it normally is: in the timeline, not late.
    [entry] = [e for e in (await record(bureau, incident["id"]))["timeline"] if e["op_id"]]
    assert entry["type"] == "rating_invite" and entry["flags"] == []
    # A note after the close is late, as before.
    note = phone.op("note", incident["id"], {"text": "补充"}, device_time=clock.now())
    await phone.push([note], sent_at=clock.now())
    flags = {e["op_id"]: e["flags"] for e in (await record(bureau, incident["id"]))["timeline"]}
    assert flags[note["op_id"]] == ["late"] and flags[op["op_id"]] == []

    r = await public(bureau, "GET", f"/api/public/ratings/{token}")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "station": "甲派出所",
        "category": "dispute",
        "received_on": "2026-11-24",
        "state": "open",
    }
    r = await public(bureau, "POST", f"/api/public/ratings/{token}", json=SATISFIED)
    assert r.status_code == 201, r.text
    assert r.json() == {"state": "rated"}
    r = await public(bureau, "GET", f"/api/public/ratings/{token}")
    assert r.json()["state"] == "rated"
    r = await public(bureau, "POST", f"/api/public/ratings/{token}", json=UNSATISFIED)
    assert r.status_code == 409 and r.json()["code"] == "already_rated"
    # Re-delivering the invite changes nothing.
    result = await phone.push([op], sent_at=clock.now())
    assert result["results"][0]["status"] == "duplicate"
    got = await record(bureau, incident["id"])
    [feedback] = got["feedback"]
    assert feedback["source"] == "qr" and feedback["comment"] == "民警很耐心"
    assert feedback["ratings"] == SATISFIED["ratings"]
    assert len(await verdict_rows()) == 1 and len(await verdict_audits(incident["id"])) == 1
    # The QR verdict ended the callback.
    [task] = await callbacks(bureau, state="all")
    assert task["state"] == "done" and task["attempts"] == []
    r = await call_back(bureau, incident["id"], {"reached": True, **SATISFIED})
    assert r.status_code == 409 and r.json()["code"] == "already_rated"


async def test_a_rating_before_its_invite_waits_and_counts_once_when_it_arrives(
    bureau: Bureau, clock: ManualClock
) -> None:
    incident = await incident_with_caller(bureau)  # still open: QR works whatever the status
    token, token_sha256 = new_token()
    rated_at = clock.now()
    r = await public(bureau, "POST", f"/api/public/ratings/{token}", json=UNSATISFIED)
    assert r.status_code == 202 and r.json() == {"state": "awaiting"}
    r = await public(bureau, "GET", f"/api/public/ratings/{token}")
    assert r.json() == {"station": None, "category": None, "received_on": None, "state": "awaiting"}
    # A second verdict while it waits: 202 again, and the first is kept.
    r = await public(bureau, "POST", f"/api/public/ratings/{token}", json=SATISFIED)
    assert r.status_code == 202 and r.json() == {"state": "awaiting"}
    assert (await record(bureau, incident["id"]))["feedback"] == []

    clock.advance(timedelta(hours=5))
    phone = await Phone(bureau, "officer_a").sign_in()
    op = await invite(phone, clock, incident["id"], token_sha256)
    got = await record(bureau, incident["id"])
    [feedback] = got["feedback"]
    assert feedback["source"] == "qr" and feedback["overall"] == "unsatisfied"
    # Its time is when the citizen gave it, not when the invite caught up 5 hours later.
    assert datetime.fromisoformat(feedback["at"]) == rated_at
    assert [i["kind"] for i in got["review_items"]].count("citizen_unsatisfied") == 1
    assert await PendingRating.count() == 0
    # Re-delivered, and a second invite of the same token (a new op): still one verdict.
    assert (await phone.push([op], sent_at=clock.now()))["results"][0]["status"] == "duplicate"
    await invite(phone, clock, incident["id"], token_sha256)
    assert len(await verdict_rows()) == 1 and len(await verdict_audits(incident["id"])) == 1
    r = await public(bureau, "GET", f"/api/public/ratings/{token}")
    assert r.json()["state"] == "rated"
    # Closing an incident that already has a verdict opens no callback.
    await close(bureau, incident["id"])
    assert await callbacks(bureau, state="all") == []


async def test_two_pushes_racing_with_the_same_token_count_the_waiting_verdict_once(
    bureau: Bureau, clock: ManualClock
) -> None:
    incident = await incident_with_caller(bureau, people=("officer_a", "officer_a2"))
    token, token_sha256 = new_token()
    r = await public(bureau, "POST", f"/api/public/ratings/{token}", json=SATISFIED)
    assert r.status_code == 202
    phones = [
        await Phone(bureau, "officer_a").sign_in(),
        await Phone(bureau, "officer_a2").sign_in(),
    ]
    ops = [
        p.op(
            "rating_invite", incident["id"], {"token_sha256": token_sha256}, device_time=clock.now()
        )
        for p in phones
    ]
    results = await asyncio.gather(
        *(p.push([op], sent_at=clock.now()) for p, op in zip(phones, ops, strict=True))
    )
    assert all(r["results"][0]["status"] == "applied" for r in results)
    assert len(await verdict_rows()) == 1 and len(await verdict_audits(incident["id"])) == 1


async def test_a_rating_link_expires_7_days_after_the_invite(
    bureau: Bureau, clock: ManualClock
) -> None:
    incident = await closed_incident(bureau)
    phone = await Phone(bureau, "officer_a").sign_in()
    token, token_sha256 = new_token()
    await invite(phone, clock, incident["id"], token_sha256)
    clock.advance(timedelta(days=7) - timedelta(seconds=1))
    r = await public(bureau, "GET", f"/api/public/ratings/{token}")
    assert r.json()["state"] == "open"
    clock.advance(timedelta(seconds=1))
    r = await public(bureau, "GET", f"/api/public/ratings/{token}")
    assert r.json()["state"] == "expired" and r.json()["station"] == "甲派出所"
    r = await public(bureau, "POST", f"/api/public/ratings/{token}", json=SATISFIED)
    assert r.status_code == 410 and r.json()["code"] == "expired"
    assert (await record(bureau, incident["id"]))["feedback"] == []


async def test_a_waiting_rating_older_than_7_days_is_not_counted(
    bureau: Bureau, clock: ManualClock
) -> None:
    incident = await incident_with_caller(bureau)
    token, token_sha256 = new_token()
    r = await public(bureau, "POST", f"/api/public/ratings/{token}", json=SATISFIED)
    assert r.status_code == 202
    clock.advance(timedelta(days=7, minutes=1))
    phone = await Phone(bureau, "officer_a").sign_in()
    await invite(phone, clock, incident["id"], token_sha256)
    assert (await record(bureau, incident["id"]))["feedback"] == []
    # The link itself is fresh (its invite is): the citizen may rate again.
    r = await public(bureau, "GET", f"/api/public/ratings/{token}")
    assert r.json()["state"] == "open"


async def test_a_token_belongs_to_its_first_invite_and_never_reveals_another_incident(
    bureau: Bureau, clock: ManualClock
) -> None:
    first = await closed_incident(bureau, "a")
    second = await closed_incident(bureau, "b", category="traffic")
    token, token_sha256 = new_token()
    await invite(await Phone(bureau, "officer_a").sign_in(), clock, first["id"], token_sha256)
    # The same token on another incident: applied as an event, but the token stays the first's.
    await invite(await Phone(bureau, "officer_b").sign_in(), clock, second["id"], token_sha256)
    r = await public(bureau, "GET", f"/api/public/ratings/{token}")
    assert r.json()["station"] == "甲派出所" and r.json()["category"] == "dispute"
    r = await public(bureau, "POST", f"/api/public/ratings/{token}", json=SATISFIED)
    assert r.status_code == 201
    assert len((await record(bureau, first["id"]))["feedback"]) == 1
    assert (await record(bureau, second["id"]))["feedback"] == []
    # A token nobody invited says nothing of any incident.
    other, _ = new_token()
    r = await public(bureau, "GET", f"/api/public/ratings/{other}")
    assert r.json() == {"station": None, "category": None, "received_on": None, "state": "awaiting"}


@pytest.mark.parametrize(
    "token",
    ["abc", "A" * 32, "g" * 32, "0" * 31, "0" * 257, "0" * 32 + " ", "%2e%2e"],
)
async def test_a_malformed_token_is_400_invalid_token_on_both_calls(
    bureau: Bureau, token: str
) -> None:
    r = await public(bureau, "GET", f"/api/public/ratings/{token}")
    assert r.status_code == 400 and r.json()["code"] == "invalid_token", r.text
    r = await public(bureau, "POST", f"/api/public/ratings/{token}", json=SATISFIED)
    assert r.status_code == 400 and r.json()["code"] == "invalid_token", r.text


async def test_the_21st_post_within_an_hour_gets_429_and_gets_do_not_count(
    bureau: Bureau, clock: ManualClock
) -> None:
    token, _ = new_token()
    for _ in range(30):
        r = await public(bureau, "GET", f"/api/public/ratings/{token}")
        assert r.status_code == 200
    # Every POST counts, refused ones too.
    bodies: list[Any] = [SATISFIED, {"overall": "satisfied"}, "not json"]
    for i in range(20):
        clock.advance(timedelta(seconds=30))
        kind = bodies[i % 3]
        kwargs = {"json": kind} if not isinstance(kind, str) else {"content": kind}
        r = await public(bureau, "POST", f"/api/public/ratings/{new_token()[0]}", **kwargs)
        assert r.status_code in (202, 400), r.text
    r = await public(bureau, "POST", f"/api/public/ratings/{token}", json=SATISFIED)
    assert r.status_code == 429 and r.json()["code"] == "too_many_attempts"
    # Until the first POST, made 19 × 30 s ago, leaves the hour.
    retry_after = int(r.headers["retry-after"])
    assert retry_after == 3600 - 19 * 30 + 1
    r = await public(bureau, "GET", f"/api/public/ratings/{token}")
    assert r.status_code == 200
    clock.advance(timedelta(seconds=retry_after - 2))
    r = await public(bureau, "POST", f"/api/public/ratings/{token}", json=SATISFIED)
    assert r.status_code == 429
    clock.advance(timedelta(seconds=2))
    r = await public(bureau, "POST", f"/api/public/ratings/{token}", json=SATISFIED)
    assert r.status_code == 202, r.text
    # Rows older than an hour are purged as POSTs go.
    clock.advance(timedelta(hours=2))
    r = await public(bureau, "POST", f"/api/public/ratings/{new_token()[0]}", json=SATISFIED)
    assert r.status_code == 202
    assert await PublicTry.count() == 1


# ---------------------------------------------------------------------------------------
# Rating by a station's poster.


async def rating_codes(bureau: Bureau) -> dict[str, str]:
    r = await bureau.call("dispatcher", "GET", "/api/stations")
    return {s["id"]: s["rating_code"] for s in r.json()}


async def test_command_roles_get_each_station_s_rating_code_field_roles_do_not(
    bureau: Bureau,
) -> None:
    codes = await rating_codes(bureau)
    assert set(codes) == set(bureau.stations.values())
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{12}", c) for c in codes.values())
    assert len(set(codes.values())) == len(codes)
    for username in ("officer_a", "chief_a"):
        r = await bureau.call(username, "GET", "/api/stations")
        assert all("rating_code" not in s for s in r.json())


def poster(number: str, last4: str, verdict: dict[str, Any] = SATISFIED) -> dict[str, Any]:
    return {"incident_number": number, "phone_last4": last4, **verdict}


async def test_a_poster_rating_names_the_incident_by_number_and_phone_digits(
    bureau: Bureau, clock: ManualClock
) -> None:
    incident = await closed_incident(bureau, "a")
    code = (await rating_codes(bureau))[bureau.stations["a"]]
    number = f"  {incident['number'].lower()} "
    r = await public(
        bureau, "POST", f"/api/public/stations/{code}/ratings", json=poster(number, "4321")
    )
    assert r.status_code == 201, r.text
    assert r.json() == {"state": "rated"}
    [feedback] = (await record(bureau, incident["id"]))["feedback"]
    assert feedback["source"] == "poster"
    [task] = await callbacks(bureau, state="all")
    assert task["state"] == "done"
    r = await public(
        bureau,
        "POST",
        f"/api/public/stations/{code}/ratings",
        json=poster(incident["number"], "4321"),
    )
    assert r.status_code == 409 and r.json()["code"] == "already_rated"


async def test_a_poster_miss_is_one_byte_identical_404_and_five_misses_block_the_address(
    bureau: Bureau, clock: ManualClock
) -> None:
    incident = await closed_incident(bureau, "a")
    at_b = await closed_incident(bureau, "b")
    codes = await rating_codes(bureau)
    code_a, code_b = codes[bureau.stations["a"]], codes[bureau.stations["b"]]
    number = incident["number"]
    misses = [
        ("no-such-code", poster(number, "4321")),  # unknown code
        (code_b, poster(number, "4321")),  # another station's code
        (code_a, poster(at_b["number"], "4321")),  # another station's incident
        (code_a, poster(number[:-1] + "9", "4321")),  # wrong number
        (code_a, poster(number, "1234")),  # wrong digits
    ]
    bodies = set()
    for code, body in misses:
        r = await public(bureau, "POST", f"/api/public/stations/{code}/ratings", json=body)
        assert r.status_code == 404, r.text
        bodies.add(r.content)
    assert len(bodies) == 1
    assert json.loads(bodies.pop())["code"] == "no_such_incident"
    # Five misses: every POST from this address is now refused, the right one and QR ones too.
    r = await public(
        bureau, "POST", f"/api/public/stations/{code_a}/ratings", json=poster(number, "4321")
    )
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    r = await public(bureau, "POST", f"/api/public/ratings/{new_token()[0]}", json=SATISFIED)
    assert r.status_code == 429
    assert (await record(bureau, incident["id"]))["feedback"] == []
    clock.advance(timedelta(hours=1, seconds=1))
    r = await public(
        bureau, "POST", f"/api/public/stations/{code_a}/ratings", json=poster(number, "4321")
    )
    assert r.status_code == 201, r.text


async def test_a_poster_names_only_incidents_of_the_last_30_days(
    bureau: Bureau, clock: ManualClock
) -> None:
    incident = await closed_incident(bureau, "a")
    code = (await rating_codes(bureau))[bureau.stations["a"]]
    clock.advance(timedelta(days=30, minutes=1))
    r = await public(
        bureau,
        "POST",
        f"/api/public/stations/{code}/ratings",
        json=poster(incident["number"], "4321"),
    )
    assert r.status_code == 404 and r.json()["code"] == "no_such_incident"


async def test_one_verdict_per_incident_whichever_way_it_comes(
    bureau: Bureau, clock: ManualClock
) -> None:
    incident = await closed_incident(bureau, "a")
    code = (await rating_codes(bureau))[bureau.stations["a"]]
    token, token_sha256 = new_token()
    await invite(await Phone(bureau, "officer_a").sign_in(), clock, incident["id"], token_sha256)
    r = await public(
        bureau,
        "POST",
        f"/api/public/stations/{code}/ratings",
        json=poster(incident["number"], "4321"),
    )
    assert r.status_code == 201
    r = await public(bureau, "POST", f"/api/public/ratings/{token}", json=SATISFIED)
    assert r.status_code == 409 and r.json()["code"] == "already_rated"
    r = await call_back(bureau, incident["id"], {"reached": True, **SATISFIED})
    assert r.status_code == 409 and r.json()["code"] == "already_rated"
    assert len(await verdict_rows()) == 1


async def test_the_poster_is_a_printable_svg_of_the_station_s_rating_address(
    bureau: Bureau,
) -> None:
    station_a = bureau.stations["a"]
    code = (await rating_codes(bureau))[station_a]
    for username in ("admin", "chief_a"):
        r = await bureau.call(username, "GET", f"/api/stations/{station_a}/rating-poster")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("image/svg+xml")
        root = ET.fromstring(r.content)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert root.get("viewBox") == "0 0 210 297" and root.get("width") == "210mm"
        texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
        url = f"{bureau.client.base_url}/rate/s/{code}".replace("//rate", "/rate")
        assert url in texts and "甲派出所" in texts
        assert root.find(".//{http://www.w3.org/2000/svg}path") is not None
    r = await bureau.call("chief_a", "GET", f"/api/stations/{bureau.stations['b']}/rating-poster")
    assert r.status_code == 404
    for username in ("dispatcher", "supervisor", "officer_a", "grid_b"):
        r = await bureau.call(username, "GET", f"/api/stations/{station_a}/rating-poster")
        assert r.status_code == 403, username
    r = await bureau.call("admin", "GET", "/api/stations/nowhere/rating-poster")
    assert r.status_code == 404


async def test_the_poster_prints_the_configured_public_address(bureau: Bureau) -> None:
    from litestar.testing import AsyncTestClient

    from server.app import create_app

    settings = Settings(
        database_url=TEST_DATABASE_URL, public_url="https://110.example.cn/qingling"
    )
    code = (await rating_codes(bureau))[bureau.stations["a"]]
    async with AsyncTestClient(app=create_app(settings)) as other:
        r = await other.get(
            f"/api/stations/{bureau.stations['a']}/rating-poster",
            headers=await bureau.auth("admin"),
        )
    assert r.status_code == 200, r.text
    assert f"https://110.example.cn/qingling/rate/s/{code}" in r.text


# ---------------------------------------------------------------------------------------
# No personal data in any public answer.


async def test_no_public_answer_carries_personal_data(bureau: Bureau, clock: ManualClock) -> None:
    incident = await closed_incident(bureau, "a")
    code = (await rating_codes(bureau))[bureau.stations["a"]]
    token, token_sha256 = new_token()
    waiting, _ = new_token()
    await invite(await Phone(bureau, "officer_a").sign_in(), clock, incident["id"], token_sha256)
    await public(bureau, "GET", f"/api/public/ratings/{token}")
    await public(bureau, "POST", f"/api/public/ratings/{waiting}", json=SATISFIED)
    await public(bureau, "GET", f"/api/public/ratings/{waiting}")
    await public(bureau, "POST", f"/api/public/ratings/{token}", json=SATISFIED)
    await public(bureau, "GET", f"/api/public/ratings/{token}")
    await public(bureau, "POST", f"/api/public/ratings/{token}", json=SATISFIED)
    await public(
        bureau,
        "POST",
        f"/api/public/stations/{code}/ratings",
        json=poster(incident["number"], "4321"),
    )
    await public(
        bureau,
        "POST",
        f"/api/public/stations/{code}/ratings",
        json=poster(incident["number"], "0000"),
    )
    # The citizen's pages, where this branch serves them.
    for path in (f"/rate/{token}", f"/rate/s/{code}"):
        r = await public(bureau, "GET", path)
        assert r.status_code in (200, 404)
    private = [NAME, NAME[:2], PHONE, PHONE[-4:] + '"', "4321<", "****4321", ADDRESS, NARRATIVE]
    private += ["幸福里", "漏水", "欧阳"]
    assert len(PUBLIC_ANSWERS) >= 10
    for body in PUBLIC_ANSWERS:
        text = body.decode("utf-8", "replace")
        for secret in private:
            assert secret not in text, (secret, text[:300])
        assert not re.search(r"\d{3}\*{4}\d{4}", text), text[:300]
        assert bureau.people["officer_a"] not in text and incident["id"] not in text


# ---------------------------------------------------------------------------------------
# Live: the verdict reaches command desks over the WebSocket.


async def test_a_verdict_reaches_the_command_desk_over_the_websocket(
    bureau: Bureau, tmp_path: Path
) -> None:
    incident = await closed_incident(bureau, "a")
    token, token_sha256 = new_token()
    # A short poll: this test's own app writes beside the live server, another process.
    env = {"QINGLING_LIVE_POLL_S": "0.2"}
    with live_server(TEST_DATABASE_URL, log=tmp_path / "server.log", env=env) as base:
        officer = Device(base, "officer_a")
        officer.push_http(
            [officer.op("rating_invite", incident["id"], {"token_sha256": token_sha256})]
        )
        sockets = {name: await connect(Device(base, name)) for name in ("dispatcher", "chief_a")}
        for name, ws in sockets.items():
            changes, _, _ = await catch_up(ws, None)
            versions = [c["data"] for c in changes if c["id"] == incident["id"]]
            # The chief sees the caller of their station's due callback in full.
            assert versions[-1]["caller_phone"] == PHONE, name
        async with httpx.AsyncClient(base_url=base) as http:
            r = await http.post(f"/api/public/ratings/{token}", json=UNSATISFIED)
        PUBLIC_ANSWERS.append(r.content)
        assert r.status_code == 201, r.text
        for name, ws in sockets.items():
            while True:
                frame = await recv(ws, wait=10)
                records = [
                    c["data"]
                    for c in frame.get("changes", [])
                    if c["entity"] == "incident" and c["id"] == incident["id"]
                ]
                if records and records[-1]["feedback"]:
                    break
            [feedback] = records[-1]["feedback"]
            assert feedback["source"] == "qr" and feedback["overall"] == "unsatisfied"
            # Done: off the chief's list, so the caller is masked for the chief again.
            expected = PHONE if name == "dispatcher" else "139****4321"
            assert records[-1]["caller_phone"] == expected, name
            await ws.close()
