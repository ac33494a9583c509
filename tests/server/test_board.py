"""GET /api/board: every open incident in scope, newest received first, with the feed
cursor a screen opens its WebSocket with (common brief, interface 2)."""

from __future__ import annotations

from datetime import timedelta

from tests.server.conftest import Bureau
from tests.server.phone import Phone, now


async def test_board_lists_open_incidents_in_scope_with_a_cursor(bureau: Bureau) -> None:
    t = now()
    oldest = await bureau.dispatched_incident(received_at=(t - timedelta(minutes=30)).isoformat())
    at_b = await bureau.dispatched_incident(
        station="b", people=("officer_b",), received_at=(t - timedelta(minutes=20)).isoformat()
    )
    waiting = await bureau.new_incident(received_at=(t - timedelta(minutes=10)).isoformat())
    closed = await bureau.dispatched_incident()
    await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{closed['id']}/close", json={"summary": "ok"}
    )
    cancelled = await bureau.new_incident()
    await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{cancelled['id']}/cancel", json={"reason": "dup"}
    )

    r = await bureau.call("dispatcher", "GET", "/api/board")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"server_time", "cursor", "incidents"}
    ids = [i["id"] for i in body["incidents"]]
    assert ids == [waiting["id"], at_b["id"], oldest["id"]]
    # Exactly the shape of the items of GET /api/incidents (and of `incident` changes).
    listed = (await bureau.call("dispatcher", "GET", "/api/incidents")).json()
    by_id = {i["id"]: i for i in listed}
    for item in body["incidents"]:
        assert "timeline" not in item
        assert item == by_id[item["id"]] | {"clocks": item["clocks"]}
        assert set(item) == set(by_id[item["id"]])

    # A station chief sees their station's only; an officer what is assigned to them or
    # their station.
    chief = (await bureau.call("chief_b", "GET", "/api/board")).json()
    assert [i["id"] for i in chief["incidents"]] == [at_b["id"]]
    officer = (await bureau.call("officer_a", "GET", "/api/board")).json()
    assert [i["id"] for i in officer["incidents"]] == [oldest["id"]]

    # The cursor is the feed head: pulling from it yields only later changes.
    phone = await Phone(bureau, "dispatcher").sign_in()
    phone.cursor = body["cursor"]
    assert await phone.pull_all() == []
    await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{oldest['id']}/point-check", json={"text": "到了吗"}
    )
    later = await phone.pull_all()
    assert [c["id"] for c in later if c["entity"] == "incident"] == [oldest["id"]]


async def test_board_needs_a_token(bureau: Bureau) -> None:
    r = await bureau.client.get("/api/board")
    assert r.status_code == 401
