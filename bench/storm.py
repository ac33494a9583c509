"""Reconnect storm: devices that queued ops offline all reconnect at once.

    .venv/bin/python -m bench.storm [--devices 500] [--ops 20] [--clients 2]

Uses `qingling simulate`'s engine (sync/simulate.py): every device signs in, queues its
ops into its own SQLite outbox, then all open their WebSockets together and push. The
simulated phones run in `--clients` processes (2 by default, one per core of the
benchmark machine): real phones are each their own machine, and one Python process
driving 500 sockets, each receiving the storm's changes, was a bottleneck of the
benchmark's own (docs/performance.md). `--clients 1` is the earlier measure.
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
    parser.add_argument(
        "--clients",
        type=int,
        default=2,
        help="processes the simulated phones are shared out among (one per core here)",
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    # Every device signs in before the storm: let the sign-ins queue for the password
    # hashing slots instead of being refused (429), as phones would retry anyway.
    env = {
        # The limit counts pending sign-ins beside recent successes (the bench's own
        # sign-in included): room for all of them twice over.
        "QINGLING_LOGIN_MAX_FAILURES": str(2 * args.devices + 10),
        "QINGLING_LOGIN_HASH_QUEUE": str(args.devices),
        "QINGLING_LOGIN_HASH_WAIT_S": "600",
        "QINGLING_LOGIN_HASH_SLOTS": "8",
    }
    with bench_server(env) as (bench, station_id):
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
                processes=args.clients,
            )
        )
    print("reconnect storm: " + result.report())


if __name__ == "__main__":
    main()
