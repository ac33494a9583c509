"""A socket whose reader stalls is closed with 4408 instead of growing a queue forever."""

from __future__ import annotations

import asyncio

from server.access.accounts import caller_for_token
from server.live.hub import CLOSE_BACKLOG, Subscriber, hub_of
from tests.server.conftest import Bureau
from tests.server.phone import Phone


async def test_a_reader_too_far_behind_is_dropped_and_told_to_reconnect(bureau: Bureau) -> None:
    app = bureau.client.app
    hub = hub_of(app)
    hub.backlog = 3
    token = (await bureau.auth("supervisor"))["Authorization"].split()[1]
    stalled = Subscriber(caller=await caller_for_token(token, app.state.settings))
    reading = Subscriber(caller=stalled.caller)
    hub.add(stalled)
    hub.add(reading)

    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    received = 0
    for n in range(6):
        pushed = await phone.push([phone.op("note", incident["id"], {"text": f"第{n}条"})])
        head = int(pushed["cursor"].rpartition(".")[2])
        for _ in range(200):  # the hub fans out on its own task
            if hub.pos >= head:
                break
            await asyncio.sleep(0.01)
        while not reading.outbox.empty():  # this socket keeps up
            reading.outbox.get_nowait()
            received += 1

    # The stalled one holds nothing but the close; it is no longer fed.
    assert [stalled.outbox.get_nowait() for _ in range(stalled.outbox.qsize())] == [
        ("close", CLOSE_BACKLOG)
    ]
    assert stalled not in hub.subscribers
    assert reading in hub.subscribers and received >= 6
