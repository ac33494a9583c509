"""Reconnect storm: devices that queued ops offline all reconnect at once.

    .venv/bin/python -m bench.storm [--devices 500] [--ops 20]

Uses `qingling simulate`'s engine (sync/simulate.py): every device signs in, queues its
ops into its own SQLite outbox, then all open their WebSockets together and push.
"""

from __future__ import annotations

import argparse
import asyncio

from bench.harness import PASSWORD, bench_server, machine
from sync.simulate import storm


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--ops", type=int, default=20)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with bench_server() as (bench, station_id):
        officer = bench.login("bench.officer")
        # Devices are sent to different incidents, five to an incident.
        incidents = bench.incidents(max(1, args.devices // 5), station_id, officer["person_id"])
        result = asyncio.run(
            storm(
                bench.url,
                "bench.officer",
                PASSWORD,
                incidents,
                devices=args.devices,
                ops=args.ops,
                folder=bench.folder,
            )
        )
    print("reconnect storm: " + result.report())


if __name__ == "__main__":
    main()
