"""What sharing compressed frames costs on the wire (server/http/ws_protocol.py).

    .venv/bin/python -m bench.deflate

A bench server takes 40 pushes of one note each, over 3 incidents; the feed is read back
and cut into the frames a live socket gets (one note and its incident's record each).
Prints their average size plain, compressed as one stream (permessage-deflate with
context takeover: each frame may refer back to the ones before) and compressed each on
its own (no server context takeover, what the server does now, so a broadcast is
compressed once), both at the server's settings; and one catch-up frame of everything.
"""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime

import httpx

from bench.harness import bench_server, machine
from bench.ingest import make_ops
from server.http.ws_protocol import DEFLATE_LEVEL, MEMORY_LEVEL, WINDOW_BITS


def _deflated(frames: list[bytes], context_takeover: bool) -> int:
    """Bytes on the wire for `frames`, compressed as permessage-deflate does."""
    total = 0
    encoder = None
    for frame in frames:
        if encoder is None or not context_takeover:
            encoder = zlib.compressobj(
                level=DEFLATE_LEVEL, memLevel=MEMORY_LEVEL, wbits=-WINDOW_BITS
            )
        total += len(encoder.compress(frame) + encoder.flush(zlib.Z_SYNC_FLUSH)) - 4
    return total


def _frame(changes: list[dict[str, object]]) -> bytes:
    body = {"type": "changes", "changes": changes, "cursor": "epoch.1"}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def main() -> None:
    print(f"machine: {machine()}")
    with bench_server() as (bench, station_id):
        officer = bench.login("bench.officer")
        incidents = bench.incidents(3, station_id, officer["person_id"])
        phone = bench.login("bench.officer", "deflate-phone")
        headers = {"Authorization": f"Bearer {phone['token']}"}
        with httpx.Client(base_url=bench.url, headers=headers, timeout=30) as http:
            for n in range(40):
                http.post(
                    "/api/sync/push",
                    json={
                        "device_id": phone["device_id"],
                        "sent_at": datetime.now(UTC).isoformat(),
                        "ops": make_ops(incidents[n % 3], n + 1, 1),
                    },
                ).raise_for_status()
            changes = http.get("/api/sync/pull", params={"limit": 1000}).json()["changes"]
    frames, pending = [], []
    for change in changes:
        pending.append(change)
        if change["entity"] == "incident":
            frames.append(_frame(pending))
            pending = []
    live = frames[-30:]
    plain = sum(map(len, live)) / len(live)
    print(
        f"{len(live)} live frames of one note: {plain:,.0f} bytes plain on average;"
        f" deflated with context takeover {_deflated(live, True) / len(live):,.0f},"
        f" each on its own (the server's) {_deflated(live, False) / len(live):,.0f}"
    )
    everything = _frame(changes)
    print(
        f"one catch-up frame of {len(changes)} changes: {len(everything):,} bytes plain,"
        f" {_deflated([everything], False):,} deflated"
    )


if __name__ == "__main__":
    main()
