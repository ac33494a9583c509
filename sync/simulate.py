"""`qingling simulate`: many field devices, offline for a while, reconnecting at once.

Each simulated device signs in, records its ops into its own outbox while "offline",
then every device opens its WebSocket at the same moment and pushes its outbox. Prints
how long it took until every op was answered, and checks that each was applied once.
The devices may be shared out among several processes (`processes`), which start
together.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import websockets

from sync.client import FieldClient, SyncError


@dataclass
class StormResult:
    devices: int
    ops: int
    applied: int
    duplicate: int
    rejected: int
    # From the moment every device reconnects: until the last op was answered, and until
    # the last device had closed its socket again (the close handshake waits for the
    # frames still on their way to it).
    seconds: float
    closed_seconds: float

    def report(self) -> str:
        rate = self.ops / self.seconds if self.seconds else float("inf")
        return (
            f"{self.devices} devices x {self.ops // max(self.devices, 1)} ops = {self.ops} ops: "
            f"all answered in {self.seconds:.2f} s ({rate:,.0f} ops/s), "
            f"every socket closed by {self.closed_seconds:.2f} s; "
            f"applied {self.applied}, duplicate {self.duplicate}, rejected {self.rejected}"
        )


# Sign-ins a server with the default limits admits at once: 2 being checked and 4
# waiting for a check (QINGLING_LOGIN_HASH_SLOTS, QINGLING_LOGIN_HASH_QUEUE); more are
# answered 503. The storm's processes share them, so that no device is turned away
# again and again until its minute of retries runs out.
_SIGN_INS_AT_ONCE = 6


async def _sign_in_all(
    url: str, username: str, password: str, numbers: range, folder: Path, at_once: int
) -> list[FieldClient]:
    clients = [FieldClient(url, folder / f"device-{i}.db") for i in numbers]
    gate = asyncio.Semaphore(at_once)

    async def sign_in(i: int, client: FieldClient) -> None:
        async with gate:
            await client.login(username, password, label=f"simulated {i}")

    await asyncio.gather(*(sign_in(i, c) for i, c in zip(numbers, clients, strict=True)))
    return clients


@dataclass
class _Part:
    """What the devices of one process did, times on the system's monotonic clock
    (`time.monotonic`, one clock for every process of the machine)."""

    started: float
    answered: list[float]
    closed: float
    statuses: list[str]


async def _storm_part(
    url: str,
    username: str,
    password: str,
    incident_ids: list[str],
    numbers: range,
    ops: int,
    folder: Path,
    sign_ins: int,
    ready: Callable[[], None] | None = None,
) -> _Part:
    """Devices `numbers` sign in, `sign_ins` at a time, queue their ops, wait for `ready`
    (every process set), then reconnect at once. Device n writes to
    incident_ids[n % len(incident_ids)]."""
    clients = await _sign_in_all(url, username, password, numbers, folder, sign_ins)
    # Offline: every device queues its ops.
    for n, client in zip(numbers, clients, strict=True):
        for i in range(ops):
            client.record(
                "note", incident_ids[n % len(incident_ids)], {"text": f"设备{n} 离线记录{i}"}
            )
    # Devices that have synced before: they reconnect from the feed's head, not
    # from the beginning (one of them pulls to learn where that is).
    await clients[0].pull()
    head = clients[0].cursor
    ws_url = url.replace("http://", "ws://") + "/api/sync/ws"

    async def reconnect(client: FieldClient) -> None:
        # Like a phone: on a refused or dropped connection, back off and try again.
        while client.pending():
            try:
                async with websockets.connect(
                    ws_url, max_size=None, open_timeout=120, ping_timeout=None
                ) as ws:
                    await ws.send(
                        json.dumps({"type": "hello", "token": client.token, "cursor": head})
                    )
                    await ws.recv()  # welcome
                    await client.flush_over(ws)
                    answered.append(time.monotonic())
            except (OSError, SyncError, websockets.ConnectionClosed, TimeoutError):
                await asyncio.sleep(client.backoff.next_delay())

    if ready is not None:
        await asyncio.to_thread(ready)
    answered: list[float] = []
    started = time.monotonic()
    await asyncio.gather(*(reconnect(c) for c in clients))
    return _Part(
        started=started,
        answered=answered,
        closed=time.monotonic(),
        statuses=[status for c in clients for _, status in c.answers],
    )


def _run_part(
    args: tuple[str, str, str, list[str], range, int, Path, int],
    barrier: Any,
    results: Any,
) -> None:
    """A child process's devices (`storm` with processes > 1). A child that fails breaks
    the barrier, so the others do not wait for it, and sends its error instead."""
    try:
        part = asyncio.run(_storm_part(*args, ready=barrier.wait))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
        barrier.abort()
        numbers = args[4]
        results.put(RuntimeError(f"simulated devices {numbers.start}-{numbers.stop - 1}: {exc!r}"))
    else:
        results.put(part)


async def storm(
    url: str,
    username: str,
    password: str,
    incident_ids: list[str],
    *,
    devices: int,
    ops: int,
    folder: Path | None = None,
    processes: int = 1,
) -> StormResult:
    """Device n writes to incident_ids[n % len(incident_ids)]. With `processes` > 1 the
    devices are shared out among that many processes, which reconnect together: one
    Python process driving hundreds of sockets is a bottleneck of its own, where real
    phones are each their own machine."""
    with tempfile.TemporaryDirectory(prefix="qingling-sim-") as tmp:
        where = folder or Path(tmp)
        sign_ins = max(1, _SIGN_INS_AT_ONCE // max(1, processes))
        if processes <= 1:
            parts = [
                await _storm_part(
                    url,
                    username,
                    password,
                    incident_ids,
                    range(devices),
                    ops,
                    where,
                    sign_ins,
                )
            ]
        else:
            parts = await asyncio.to_thread(
                _in_processes,
                [
                    (url, username, password, incident_ids, numbers, ops, where, sign_ins)
                    for numbers in _shares(devices, processes)
                ],
            )
        started = min(p.started for p in parts)
        answers = [status for p in parts for status in p.statuses]
        return StormResult(
            devices=devices,
            ops=devices * ops,
            applied=answers.count("applied"),
            duplicate=answers.count("duplicate"),
            rejected=answers.count("rejected"),
            seconds=max((t for p in parts for t in p.answered), default=started) - started,
            closed_seconds=max(p.closed for p in parts) - started,
        )


def _shares(devices: int, processes: int) -> list[range]:
    """Device numbers 0..devices-1 cut into `processes` runs as even as can be."""
    cuts = [devices * k // processes for k in range(processes + 1)]
    return [range(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def _in_processes(
    jobs: list[tuple[str, str, str, list[str], range, int, Path, int]],
) -> list[_Part]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(jobs))
    results = context.Queue()
    children = [
        context.Process(target=_run_part, args=(job, barrier, results), daemon=True) for job in jobs
    ]
    for child in children:
        child.start()
    try:
        answers = [results.get(timeout=3600) for _ in children]
    finally:
        for child in children:
            child.join(timeout=30)
            if child.is_alive():
                child.kill()
    failed = [a for a in answers if isinstance(a, BaseException)]
    if failed:
        raise failed[0]
    return answers
