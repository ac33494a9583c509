"""The demo bureau (server/demo.py) gives a new user something to see on the callback desk
and in the reports' satisfaction figures (PROTOCOL §9)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
from litestar.testing import AsyncTestClient

from server.core.clock import SHANGHAI, as_utc, utcnow
from server.core.tables import (
    CallbackTask,
    Event,
    Feedback,
    Incident,
    Notice,
    Rectification,
    ReviewItem,
    SupervisionOrder,
)
from server.demo import DEMO_PASSWORD, seed_demo


async def test_demo_callbacks_and_verdicts(client: AsyncTestClient[Any]) -> None:
    assert await seed_demo()
    now = utcnow()
    tasks = await CallbackTask.select()
    by_state: dict[str, list[dict[str, Any]]] = {}
    for task in tasks:
        by_state.setdefault(task["state"], []).append(task)
    assert set(by_state) == {"due", "done", "unreachable"}
    due = by_state["due"]
    tries = lambda task: len(msgspec.json.decode(task["attempts"]))  # noqa: E731
    # Overdue ones (closed four and five days ago), some tried once or twice, none reached.
    overdue = [task for task in due if as_utc(task["due_at"]) < now]
    assert len(overdue) >= 3
    assert {tries(task) for task in due} >= {0, 1, 2}
    assert all(tries(task) == 3 for task in by_state["unreachable"])

    verdicts = await Feedback.select()
    assert {v["source"] for v in verdicts} == {"callback", "qr", "poster"}
    done = {task["id"] for task in by_state["done"]}
    assert {v["incident"] for v in verdicts} <= done
    # A QR verdict carries the token of the invite its officer's phone recorded.
    qr = next(v for v in verdicts if v["source"] == "qr")
    invites = await Event.select().where(
        (Event.incident == qr["incident"]) & (Event.type == "rating_invite")
    )
    assert [msgspec.json.decode(e["body"])["token_sha256"] for e in invites] == [qr["token_sha256"]]
    # The unsatisfied caller opened a review item.
    unhappy = [v for v in verdicts if v["overall"] == "unsatisfied"]
    assert unhappy
    items = await ReviewItem.select().where(ReviewItem.kind == "citizen_unsatisfied")
    assert {i["incident"] for i in items} == {v["incident"] for v in unhappy}
    assert {i["state"] for i in items} == {"open"}
    # A closed incident whose caller must not be called back has no task.
    quiet = await Incident.select().where(Incident.no_callback == True)  # noqa: E712
    assert [i["status"] for i in quiet] == ["closed"]
    assert quiet[0]["id"] not in {task["id"] for task in tasks}

    # The reports show it: three days ago (Shanghai), by hand from server/demo.py's tables:
    # rated (3,0) S, (3,1) S, (3,2) B, (3,3) U, (3,4) S -> 5 rated, 3 S, 1 B, 1 U;
    # 3/5 = 0.6, 1/5 = 0.2. Tasks: done those 5, (3,5) unreachable, (3,7) due; (3,6) none.
    r = await client.post(
        "/api/auth/login", json={"username": "supervisor", "password": DEMO_PASSWORD}
    )
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    day = (now.astimezone(SHANGHAI) - timedelta(days=3)).date().isoformat()
    r = await client.get("/api/reports/daily", params={"date": day}, headers=headers)
    assert r.status_code == 200, r.text
    sat = r.json()["bureau"]["satisfaction"]
    assert (sat["rated"], sat["satisfied"], sat["basically_satisfied"], sat["unsatisfied"]) == (
        5,
        3,
        1,
        1,
    )
    assert (sat["satisfaction_rate"], sat["unsatisfied_rate"]) == (0.6, 0.2)
    assert (sat["callbacks_due"], sat["callbacks_done"], sat["callbacks_unreachable"]) == (1, 5, 1)
    # Cases (PROTOCOL §11, server/demo.py CASES): the current quarter's backlog holds the
    # case filed about a hundred days ago (still filed), 002 (solved) and 005 (filed);
    # 003 was closed and 004 transferred.
    today = now.astimezone(SHANGHAI).date()
    quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    r = await client.get("/api/reports/quarterly", params={"quarter": quarter}, headers=headers)
    assert r.status_code == 200, r.text
    backlog = [(c["case_number"][-4:], c["stage"]) for c in r.json()["open_cases"]]
    assert backlog == [("001号", "filed"), ("002号", "solved"), ("005号", "filed")]
    # Mediation four days ago: the mediator's agreement, its follow-up (yesterday) due.
    day = (today - timedelta(days=4)).isoformat()
    r = await client.get("/api/reports/daily", params={"date": day}, headers=headers)
    assert r.json()["bureau"]["mediation"] == {
        "outcomes": 1,
        "reached": 1,
        "partial": 0,
        "failed": 0,
        "follow_ups_due": 1,
    }

    # A verdict is part of the record.
    r = await client.get(f"/api/incidents/{unhappy[0]['incident']}", headers=headers)
    assert [f["overall"] for f in r.json()["feedback"]] == ["unsatisfied"]


async def test_demo_supervision_and_notices(client: AsyncTestClient[Any]) -> None:
    assert await seed_demo()
    orders = await SupervisionOrder.select()
    assert sorted(o["state"] for o in orders) == ["accepted", "answered", "open"]
    [bureau_level] = [o for o in orders if o["level"] == "bureau"]
    assert bureau_level["state"] == "open" and as_utc(bureau_level["due_at"]) < utcnow()
    [accepted] = [o for o in orders if o["state"] == "accepted"]
    assert accepted["met_at"] is not None and len(msgspec.json.decode(accepted["rejections"])) == 1
    rows = await Rectification.select()
    assert sorted(r["state"] for r in rows) == ["done", "owed"]
    assert len(await Notice.select()) == 2


async def test_the_demo_phones_record_in_time_order(client: AsyncTestClient[Any]) -> None:
    """Each demo phone records its ops in the order of their times, as a phone does: the
    device-order rule (PROTOCOL §12) flags nothing of the demo clock_suspect, so the review
    queue a new user sees holds only what the demo means to show."""
    assert await seed_demo()
    flagged = await ReviewItem.select(ReviewItem.op_id).where(ReviewItem.kind == "clock_suspect")
    assert flagged == []
