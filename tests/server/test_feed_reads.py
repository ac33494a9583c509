"""Reads of the feed (server/write/feed.py `read_page`): readers of one scope asking for
the same page at the same moment (a reconnect storm's sockets) share one read, each
still gets the whole page as it would alone, and one reader going away takes nothing
from the others."""

from __future__ import annotations

import asyncio
from typing import Any

from server.access.accounts import caller_for_token
from server.write import feed
from tests.server.conftest import Bureau
from tests.server.phone import Phone


async def test_readers_of_one_scope_at_one_moment_share_one_read(
    bureau: Bureau, monkeypatch: Any
) -> None:
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    await phone.push([phone.op("note", incident["id"], {"text": f"记录{i}"}) for i in range(5)])
    caller = await caller_for_token(phone.token, bureau.client.app.state.settings)
    epoch = bureau.client.app.state.epoch
    alone = await feed.read_page(caller, epoch, None, 1000)
    assert len(alone.changes) >= 6  # the incident and its five notes, at least

    reads = 0
    read_scope_rows = feed._read_scope_rows

    async def counted(*args: Any) -> Any:
        nonlocal reads
        reads += 1
        await asyncio.sleep(0.05)  # the others arrive while it is in flight
        return await read_scope_rows(*args)

    monkeypatch.setattr(feed, "_read_scope_rows", counted)
    readers = [asyncio.create_task(feed.read_page(caller, epoch, None, 1000)) for _ in range(6)]
    await asyncio.sleep(0.01)
    readers[0].cancel()  # a socket that went away mid-read
    pages = await asyncio.gather(*readers[1:])
    assert reads == 1
    for page in pages:
        assert [(c.pos, c.entity, c.id, bytes(c.data)) for c in page.changes] == [
            (c.pos, c.entity, c.id, bytes(c.data)) for c in alone.changes
        ]
        assert (page.cursor, page.more, page.reset) == (alone.cursor, alone.more, alone.reset)
    # Once the read is done nothing is kept: the next reader reads for itself.
    await feed.read_page(caller, epoch, None, 1000)
    assert reads == 2
