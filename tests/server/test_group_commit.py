"""Group commit (server/write/ingest.py): pushes that wait while another transaction
holds the writer are committed together, and the pushes of different devices among them
are checked one by one, then stored together, each incident folded once. Whatever
arrives together, every op is applied once, each push has its own answers, and the
record is the one the same pushes make one at a time (PROTOCOL §3.4)."""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.access.accounts import Caller, caller_for_token
from server.core.db import write_transaction
from server.core.tables import Event
from server.write import ingest
from tests.server.conftest import Bureau
from tests.server.phone import Phone
from tests.server.test_sync_properties import (
    PEOPLE,
    concrete,
    dispatched,
    normalise,
    scenarios,
)


async def _push_together(pushes: list[tuple[Caller, list[dict[str, Any]]]]) -> list[Any]:
    """Send the pushes at once, below HTTP (the test client answers one request at a
    time), while this test holds the writer: the first is taken alone, the rest wait and
    are committed together, in rounds of one push per device."""
    async with write_transaction():
        tasks = [
            asyncio.create_task(
                ingest.push_ops(
                    caller,
                    caller.device_id,
                    datetime.now(UTC),
                    [msgspec.Raw(msgspec.json.encode(op)) for op in ops],
                ),
                # As a request's: not inside the transaction this test holds.
                context=contextvars.Context(),
            )
            for caller, ops in pushes
        ]
        queue = ingest._queues.get()
        for _ in range(200):
            await asyncio.sleep(0)
            if queue.drainer is not None and not queue.waiting:
                break  # all taken into one group, waiting for the writer
        else:
            raise AssertionError("the pushes never queued together")
    return [
        {
            "results": [msgspec.to_builtins(r) for r in outcome.results],
            "acked_seq": outcome.acked_seq,
        }
        for outcome in await asyncio.gather(*tasks)
    ]


async def _caller(bureau: Bureau, phone: Phone) -> Caller:
    return await caller_for_token(phone.token, bureau.client.app.state.settings)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=scenarios(), data=st.data())
async def test_pushes_committed_together_give_the_record_they_give_one_at_a_time(
    bureau: Bureau, ops: list[dict[str, Any]], data: st.DataObject, monkeypatch: Any
) -> None:
    rounds: list[int] = []  # how many pushes each round stored
    apply_round = ingest._apply_round

    async def counted(pushes: list[Any]) -> list[Any]:
        rounds.append(len(pushes))
        return await apply_round(pushes)

    monkeypatch.setattr(ingest, "_apply_round", counted)
    # Each person's ops, in the scenario's order, cut into pushes the same way both runs.
    cuts: list[tuple[str, list[int]]] = []
    for who in PEOPLE:
        mine = [i for i, o in enumerate(ops) if o["who"] == who]
        while mine:
            size = data.draw(st.integers(min_value=1, max_value=3), label=f"push of {who}")
            cuts.append((who, mine[:size]))
            mine = mine[size:]
    order = data.draw(st.permutations(range(len(cuts))), label="arrival")
    # A person's pushes keep their order (a phone sends its next batch once answered).
    arrival = sorted(range(len(cuts)), key=lambda c: (order.index(c), c))
    arrival = _keep_device_order(arrival, cuts)

    records = []
    for together in (False, True):
        run = ("t" if together else "s") + uuid.uuid4().hex[:6]
        phones = {who: await Phone(bureau, who).sign_in() for who in PEOPLE}
        incident_id = await dispatched(bureau)
        real = concrete(ops, incident_id, run, phones)
        pushes = [(phones[who], [real[i][1] for i in picked]) for who, picked in cuts]
        answers: list[dict[str, Any]] = []
        if together:
            rounds.clear()
            callers = {who: await _caller(bureau, phone) for who, phone in phones.items()}
            answers = await _push_together([(callers[cuts[c][0]], pushes[c][1]) for c in arrival])
        else:
            for c in arrival:
                answers.append(await pushes[c][0].push(pushes[c][1], sent_at=datetime.now(UTC)))
        # Each push has its own answers, one per op it sent, in its order; each op applied
        # once.
        for c, answer in zip(arrival, answers, strict=True):
            sent = [op["op_id"] for op in pushes[c][1]]
            assert [r["op_id"] for r in answer["results"]] == sent
            assert {r["status"] for r in answer["results"]} == {"applied"}, answer
            assert answer["acked_seq"] == max(op["seq"] for op in pushes[c][1])
        assert await Event.count().where(Event.incident == incident_id) == len(real)
        rec = (await bureau.call("supervisor", "GET", f"/api/incidents/{incident_id}")).json()
        records.append(normalise(rec, run))
    assert records[0] == records[1]
    # Together, the pushes were stored in rounds: a push per device in each, in arrival
    # order (a round closes when its device comes again).
    expected: list[int] = []
    current: set[str] = set()
    for who in [cuts[c][0] for c in arrival]:
        if who in current or not expected:
            expected.append(0)
            current = set()
        expected[-1] += 1
        current.add(who)
    assert rounds == expected, rounds


def _keep_device_order(arrival: list[int], cuts: list[tuple[str, list[int]]]) -> list[int]:
    """`arrival` with each person's pushes put back in their own order."""
    slots: dict[str, list[int]] = {}
    for c in arrival:
        slots.setdefault(cuts[c][0], []).append(c)
    mine = {who: sorted(cs) for who, cs in slots.items()}
    out = []
    for c in arrival:
        out.append(mine[cuts[c][0]].pop(0))
    return out


async def test_each_push_of_a_group_has_its_own_answers(bureau: Bureau, monkeypatch: Any) -> None:
    """Three devices and a second push of the first, all waiting together: the second
    push of a device goes in the next round; an op_id another device used in the same
    round is a reuse, a re-sent op a duplicate, an unknown incident a dead letter, each
    answered to its own push, and each device's acked_seq covers what it sent."""
    rounds: list[int] = []
    apply_round = ingest._apply_round

    async def counted(pushes: list[Any]) -> list[Any]:
        rounds.append(len(pushes))
        return await apply_round(pushes)

    monkeypatch.setattr(ingest, "_apply_round", counted)
    incident_id = await dispatched(bureau)
    a = await Phone(bureau, "officer_a").sign_in()
    b = await Phone(bureau, "officer_a").sign_in()  # the same officer's second phone
    c = await Phone(bureau, "officer_a2").sign_in()
    a1, a2 = a.op("note", incident_id), a.op("note", incident_id)
    b1 = b.op("note", incident_id)
    # b's copy of a1's op_id, with b's own content and seq.
    reused = b.op("note", incident_id, {"text": "别的内容"}, op_id=a1["op_id"])
    c1, c2 = c.op("note", "no-such-incident"), c.op("arrival", incident_id)
    a3 = a.op("note", incident_id)
    callers = {p.device_id: await _caller(bureau, p) for p in (a, b, c)}
    answers = await _push_together(
        [
            (callers[a.device_id], [a1, a2]),
            (callers[b.device_id], [b1, reused]),
            (callers[c.device_id], [c1, c2]),
            (callers[a.device_id], [a2, a3]),  # a2 again: its answer was lost
        ]
    )
    assert rounds == [3, 1]

    def statuses(answer: dict[str, Any]) -> list[tuple[str, str | None]]:
        return [(r["status"], r.get("code")) for r in answer["results"]]

    assert statuses(answers[0]) == [("applied", None), ("applied", None)]
    assert statuses(answers[1]) == [("applied", None), ("rejected", "op_id_reused")]
    assert statuses(answers[2]) == [("rejected", "unknown_incident"), ("applied", None)]
    assert statuses(answers[3]) == [("duplicate", None), ("applied", None)]
    assert [x["acked_seq"] for x in answers] == [2, 2, 2, 3]
    assert await Event.count().where(Event.incident == incident_id) == 5
