"""The Python field client against a real server process, and a crash in mid-stream.

The crash test kills the server with SIGKILL while a client is pushing, restarts it on
the same database, lets the client retry: every op answered `applied` before the kill
is present exactly once, and every op queued is applied in the end.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from server.core.tables import Event
from sync.client import FieldClient, SyncError
from tests.conftest import TEST_DATABASE_URL
from tests.live import ServerProcess, free_port
from tests.server.conftest import PASSWORD, Bureau
from tests.server.test_cli import qingling


async def test_ops_recorded_offline_reach_the_server_once(bureau: Bureau, tmp_path: Path) -> None:
    incident = await bureau.dispatched_incident()
    port = free_port()
    client = FieldClient(f"http://127.0.0.1:{port}", tmp_path / "outbox.db")
    server = ServerProcess(TEST_DATABASE_URL, port=port, log=tmp_path / "server.log")
    try:
        await client.login("officer_a", PASSWORD)
    finally:
        server.stop()
    # Offline: the server is gone. Recording still works, and is on disk.
    arrival = client.record(
        "arrival", incident["id"], {"lat": 30.1, "lon": 120.1, "accuracy_m": 12}
    )
    client.record(
        "scene_report", incident["id"], {"situation": "现场无人受伤", "needs_backup": False}
    )
    bad = client.record("disposition", incident["id"], {"result": "unknown", "summary": "?"})
    with pytest.raises(OSError):
        await client.flush()
    reopened = FieldClient(client.base_url, tmp_path / "outbox.db")
    assert [op["seq"] for op in reopened.pending()] == [1, 2, 3]
    # Back online.
    server = ServerProcess(TEST_DATABASE_URL, port=port, log=tmp_path / "server.log")
    try:
        await reopened.flush_until_empty(give_up_after_s=30)
        assert reopened.pending() == []
        assert [(r["op_id"], r["code"]) for r in reopened.rejected()] == [(bad["op_id"], "invalid")]
        assert await Event.count().where(Event.op_id == arrival["op_id"]) == 1
        # The client listens live and remembers where it was.
        received: list[dict[str, Any]] = []
        stop = asyncio.Event()

        async def on_changes(changes: list[dict[str, Any]]) -> None:
            received.extend(changes)
            if any(c["id"] == arrival["op_id"] for c in changes):
                stop.set()

        await asyncio.wait_for(reopened.listen(on_changes, stop=stop), timeout=15)
        assert reopened.cursor
    finally:
        server.stop()


async def test_a_revoked_client_stops_listening(bureau: Bureau, tmp_path: Path) -> None:
    server = ServerProcess(TEST_DATABASE_URL, log=tmp_path / "server.log")
    try:
        client = FieldClient(server.url, tmp_path / "outbox.db")
        await client.login("officer_a", PASSWORD)
        chief = FieldClient(server.url, tmp_path / "chief.db")
        await chief.login("chief_a", PASSWORD)
        listening = asyncio.create_task(client.listen(lambda changes: None))
        await asyncio.sleep(0.5)
        await chief._call("POST", f"/api/devices/{client.device_id}/revoke")
        with pytest.raises(SyncError) as revoked:
            await asyncio.wait_for(listening, timeout=10)
        assert revoked.value.status == 401
    finally:
        server.stop()


# Ops in each push of the crash test. One push is in flight at a time, so at most this
# many can be committed and never answered when the server is killed.
BATCH = 20


async def test_sigkill_in_mid_stream_loses_no_applied_op(bureau: Bureau, tmp_path: Path) -> None:
    incident = await bureau.dispatched_incident()
    log = tmp_path / "server.log"
    server = ServerProcess(TEST_DATABASE_URL, log=log)
    client = FieldClient(server.url, tmp_path / "outbox.db")
    try:
        await client.login("officer_a", PASSWORD)
        queued = [client.record("note", incident["id"], {"text": f"记录{i}"}) for i in range(400)]

        async def kill_when_streaming() -> None:
            while sum(1 for _, status in client.answers if status == "applied") < 100:  # noqa: ASYNC110 - polls another task's progress
                await asyncio.sleep(0.005)
            await asyncio.to_thread(server.kill)

        pushing = asyncio.create_task(client.flush(batch=BATCH))
        await kill_when_streaming()
        with pytest.raises((OSError, SyncError)):
            await pushing  # the connection died under it
        applied_before = [op_id for op_id, status in client.answers if status == "applied"]
        assert 100 <= len(applied_before) < 400, "the kill must land in the middle of the stream"
    finally:
        server.stop()

    # Restart on the same database; the client retries what it still holds.
    server = ServerProcess(TEST_DATABASE_URL, port=server.port, log=log)
    try:
        await client.flush_until_empty(give_up_after_s=60)
    finally:
        server.stop()
    for op_id in applied_before:
        assert await Event.count().where(Event.op_id == op_id) == 1, op_id
    assert await Event.count().where(Event.incident == incident["id"]) == len(queued)
    applied = [op_id for op_id, status in client.answers if status == "applied"]
    assert len(applied) == len(set(applied)), "an op was applied twice"
    # A push the server committed as it was killed never got its answer: the client sends
    # it again and hears `duplicate` (PROTOCOL §3). Only that push's ops may: one batch,
    # never an op already answered `applied`.
    duplicate = {op_id for op_id, status in client.answers if status == "duplicate"}
    assert not duplicate & set(applied), "an op answered applied was sent again"
    assert len(duplicate) <= BATCH, "more than the push in flight was committed unanswered"
    assert set(applied) | duplicate == {op["op_id"] for op in queued}
    assert client.pending() == [] and client.rejected() == []


async def test_qingling_simulate_shares_the_devices_among_processes(
    bureau: Bureau, tmp_path: Path
) -> None:
    """`qingling simulate --processes 2`: the devices are shared out among two processes
    that reconnect together; every op of every device is applied once, device n to the
    n-th incident named, round-robin."""
    incident = await bureau.dispatched_incident()
    second = await bureau.dispatched_incident()
    server = ServerProcess(TEST_DATABASE_URL, log=tmp_path / "server.log")
    try:
        r = await asyncio.to_thread(
            qingling,
            "simulate",
            "--url",
            server.url,
            "--username",
            "officer_a",
            "--password",
            PASSWORD,
            "--incident",
            f"{incident['id']}, {second['id']}",
            "--devices",
            "5",
            "--ops",
            "3",
            "--processes",
            "2",
        )
    finally:
        server.stop()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "5 devices x 3 ops = 15 ops" in r.stdout
    assert "applied 15, duplicate 0, rejected 0" in r.stdout
    # Devices 0, 2 and 4 wrote to the first, 1 and 3 to the second.
    assert await Event.count().where(Event.incident == incident["id"]) == 9
    assert await Event.count().where(Event.incident == second["id"]) == 6
