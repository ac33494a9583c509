"""The `qingling` command: serve, migrate, and administer stations, users and devices.

Every command migrates the database (QINGLING_DATABASE_URL) first, so each works on a
fresh one.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from server.app import create_app
from server.core import audit, db
from server.core.config import MAX_MESSAGE_BYTES, Settings
from server.core.errors import BadRequest, QinglingError
from server.demo import DEMO_PASSWORD, seed_demo
from server.http.ws_protocol import QinglingWebSocketProtocol
from server.record.policy import PRESETS, bureau_policy, make_policy, set_policy
from server.services.admin import (
    add_station,
    add_user,
    all_devices,
    check_new_password,
    deactivate_user,
    ensure_bureau,
    find_station,
    revoke_device_by_id,
)
from server.services.agencies import Duties, list_agencies, set_duties
from server.services.board import store_missing_board_rows
from server.services.overdue import refresh_open
from sync import views
from sync.messages import ALL_ROLES, AREA_TYPES, STATION_KINDS, json_schema
from sync.simulate import storm


def _print(value: Any) -> None:
    print(json.dumps(msgspec.to_builtins(value), ensure_ascii=False, indent=2))


def _run(work: Callable[[], Awaitable[Any]]) -> Any:

    async def main() -> Any:
        await db.prepare()
        return await work()

    return asyncio.run(main())


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = Settings.from_env()
    workers = args.workers
    if workers < 1:
        raise BadRequest("--workers takes a number of processes, 1 or more")
    if workers > 1 and not settings.database_url.startswith("postgres"):
        # SQLite has one writer per file and no way to tell another process's hub that
        # the feed moved but a 2-second poll; more processes add lock waits, not
        # throughput (docs/scale.md).
        raise BadRequest(
            f"--workers {workers} needs PostgreSQL (QINGLING_DATABASE_URL=postgresql://...); "
            "on SQLite run one process"
        )
    if args.demo:
        if _run(seed_demo):
            print(f"Seeded the demo bureau; every demo account's password is {DEMO_PASSWORD!r}.")
    host = args.host or settings.host
    port = args.port or settings.port
    many = f", {workers} worker processes" if workers > 1 else ""
    print(f"Qingling on http://{host}:{port}  (database {settings.database_url}{many})", flush=True)
    if workers > 1:
        # Migrate once here, so the workers start on an up-to-date schema (each still
        # checks, under PostgreSQL's migration lock: server/core/db.py `prepare`).
        asyncio.run(db.prepare())
    uvicorn.run(
        # Several workers: uvicorn binds the port once, then starts N processes that each
        # build the app from the factory (from the same environment) and accept on it.
        "server.app:create_app" if workers > 1 else create_app(settings),
        factory=workers > 1,
        workers=workers if workers > 1 else None,
        # How long the supervisor waits for a worker to answer its health ping before it
        # kills and replaces it. uvicorn's 5 s is shorter than a worker's start-up on a
        # loaded machine (imports, migrations check) and than a long GIL-bound stretch
        # (a big push): it would kill workers that are only busy (docs/scale.md).
        timeout_worker_healthcheck=int(os.environ.get("QINGLING_WORKER_HEALTHCHECK_S") or 60),
        host=host,
        port=port,
        log_level=args.log_level,
        # The C parser, named rather than left to "auto" (which falls back to h11 where
        # httptools is missing): a declared dependency (pyproject.toml).
        http="httptools",
        # The sans-I/O websockets protocol: it closes a message over the limit with 1009
        # (measured after permessage-deflate) and a text frame that is not UTF-8 with
        # 1007, each with a close frame (PROTOCOL §12); named, not left to "auto". Ours
        # compresses at a cheaper level (server/http/ws_protocol.py).
        ws=QinglingWebSocketProtocol,
        ws_max_size=MAX_MESSAGE_BYTES,
        ws_per_message_deflate=settings.ws_compression,
    )
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:

    async def migrate() -> str:
        epoch = await db.prepare()
        # After the migrations, what they leave to fill: the board rows of incidents
        # published before rows were stored (server/services/board.py).
        await store_missing_board_rows()
        return epoch

    epoch = asyncio.run(migrate())
    print(f"database is up to date (epoch {epoch})")
    return 0


def cmd_station_add(args: argparse.Namespace) -> int:

    _print(_run(lambda: add_station(args.name, args.area, args.kind)))
    return 0


def read_new_password(from_stdin: bool) -> str:
    """The new account's password: one line of standard input (`--password-stdin`), or
    typed twice at a prompt that does not echo. Never from argv, where every user of the
    machine can read it (ps, /proc, shell history)."""
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
        if not password:
            raise BadRequest("--password-stdin: standard input held no password")
        return password
    if not sys.stdin.isatty():
        raise BadRequest("no terminal to ask for the password on: pipe it in with --password-stdin")
    password = getpass.getpass("Password for the new account: ")
    if getpass.getpass("Again: ") != password:
        raise BadRequest("the two passwords differ")
    return password


def cmd_user_add(args: argparse.Namespace) -> int:
    password = read_new_password(args.password_stdin)
    check_new_password(password)  # before the database is touched
    _print(
        _run(
            lambda: add_user(
                username=args.username,
                password=password,
                role=args.role,
                station=args.station,
                name=args.name,
            )
        )
    )
    return 0


def cmd_user_deactivate(args: argparse.Namespace) -> int:

    _print(_run(lambda: deactivate_user(args.username)))
    return 0


def cmd_device_list(_: argparse.Namespace) -> int:

    _print(_run(all_devices))
    return 0


def cmd_device_revoke(args: argparse.Namespace) -> int:

    _print(_run(lambda: revoke_device_by_id(args.device_id)))
    return 0


def cmd_policy_show(_: argparse.Namespace) -> int:

    async def show() -> dict[str, Any]:
        policy = await bureau_policy(await ensure_bureau(), fresh=True)
        return {"policy": policy.as_dict(), "presets": {k: v.as_dict() for k, v in PRESETS.items()}}

    _print(_run(show))
    return 0


POLICY_OPTIONS = {
    "arrival_urban": "arrival_urban_min",
    "arrival_rural": "arrival_rural_min",
    "initial_result": "initial_result_min",
    "clear": "clear_min",
    "evidence": "evidence_min",
    "dispatch": "dispatch_min",
    "clock_tolerance": "clock_tolerance_s",
    "callback_hours": "callback_hours",
}


def cmd_policy_set(args: argparse.Namespace) -> int:

    overrides: dict[str, Any] = {
        field: getattr(args, option) for option, field in POLICY_OPTIONS.items()
    }
    overrides["arrival_from"] = args.arrival_from
    try:
        policy = make_policy(args.preset, overrides)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc

    async def store() -> dict[str, Any]:
        bureau_id = await ensure_bureau()
        await set_policy(bureau_id, policy)
        refreshed = await refresh_open(bureau_id)
        return {"policy": policy.as_dict(), "open_incidents_recomputed": refreshed}

    _print(_run(store))
    return 0


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def cmd_agency_duties(args: argparse.Namespace) -> int:
    """Set a linked agency's duties (PROTOCOL §10), as `PUT /api/agencies/{id}/duties`."""
    try:
        duties = msgspec.convert(
            {
                "keywords": _csv(args.keywords),
                "categories": _csv(args.categories),
                "ack_minutes": args.ack_minutes,
                "feedback_hours": args.feedback_hours,
            },
            Duties,
        )
    except msgspec.ValidationError as exc:
        raise BadRequest(str(exc)) from exc

    async def store() -> Any:
        bureau_id = await ensure_bureau()
        station = await find_station(args.agency)
        return await set_duties(bureau_id, station["id"], duties, actor=None)

    _print(_run(store))
    return 0


def cmd_agency_list(_: argparse.Namespace) -> int:

    async def show() -> Any:
        return await list_agencies(await ensure_bureau())

    _print(_run(show))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    incidents = [i.strip() for i in args.incident.split(",") if i.strip()]
    if not incidents:
        raise BadRequest("--incident names no incident")
    result = asyncio.run(
        storm(
            args.url,
            args.username,
            args.password,
            incidents,
            devices=args.devices,
            ops=args.ops,
            processes=args.processes,
        )
    )
    print(result.report())
    return 0 if result.applied + result.duplicate == result.ops else 1


def cmd_audit_verify(args: argparse.Namespace) -> int:
    try:
        head = audit.Head.parse(args.head) if args.head else None
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    chain = _run(lambda: audit.verify(head))
    if chain.broken is not None:
        print(f"audit log {chain.broken}", file=sys.stderr)
        return 1
    checked = f", up to the head recorded at row {head.seq}" if head else ""
    print(f"audit log intact: {chain.count} rows{checked}; head {chain.last or 'none (empty)'}")
    return 0


def cmd_audit_head(_: argparse.Namespace) -> int:
    head = _run(audit.head)
    print(head if head is not None else "empty")
    return 0


def cmd_audit_show(args: argparse.Namespace) -> int:
    for e in _run(lambda: audit.recent(args.limit, args.action)):
        print(
            json.dumps(
                {
                    "seq": e.seq,
                    "at": e.at.isoformat(),
                    "actor": e.actor,
                    "device": e.device,
                    "action": e.action,
                    "subject": e.subject,
                    "detail": json.loads(e.detail),
                },
                ensure_ascii=False,
            )
        )
    return 0


def cmd_schema(_: argparse.Namespace) -> int:
    # What clients send (sync/messages.py) and what they receive (sync/views.py).
    definitions = {**json_schema()["$defs"], **views.json_schema()["$defs"]}
    print(json.dumps({"$defs": definitions}, ensure_ascii=False, indent=2))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="qingling",
        description="Qingling: closed-loop 110 incident handling. "
        "The database comes from QINGLING_DATABASE_URL (default sqlite:///var/qingling.db).",
    )
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.add_argument(
        "--demo", action="store_true", help="seed a demo bureau if the database is empty"
    )
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("QINGLING_WORKERS") or 1),
        help="server processes sharing the port (PostgreSQL only; default 1, or QINGLING_WORKERS)",
    )
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="bring the database schema up to date").set_defaults(
        func=cmd_migrate
    )

    station = sub.add_parser("station", help="manage stations").add_subparsers(
        dest="action", required=True
    )
    s_add = station.add_parser("add", help="add a station")
    s_add.add_argument("--name", required=True)
    s_add.add_argument("--area", required=True, choices=list(AREA_TYPES))
    s_add.add_argument("--kind", default="police_station", choices=list(STATION_KINDS))
    s_add.set_defaults(func=cmd_station_add)

    agency = sub.add_parser(
        "agency", help="linked agencies' duties, the responsibility list (PROTOCOL §10)"
    ).add_subparsers(dest="action", required=True)
    a_duties = agency.add_parser("duties", help="set a linked agency's duties")
    a_duties.add_argument("--agency", required=True, help="the agency station's name or id")
    a_duties.add_argument("--keywords", default="", help="comma-separated, e.g. 停电,电线")
    a_duties.add_argument(
        "--categories", default="", help="comma-separated categories, e.g. non_police,help"
    )
    a_duties.add_argument("--ack-minutes", type=int, default=30, help="minutes to acknowledge")
    a_duties.add_argument("--feedback-hours", type=int, default=24, help="hours to answer")
    a_duties.set_defaults(func=cmd_agency_duties)
    agency.add_parser("list", help="list the linked agencies and their duties").set_defaults(
        func=cmd_agency_list
    )

    user = sub.add_parser("user", help="manage accounts").add_subparsers(
        dest="action", required=True
    )
    u_add = user.add_parser("add", help="add an account")
    u_add.add_argument("--username", required=True)
    u_add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input "
        "(otherwise it is asked for at a prompt)",
    )
    u_add.add_argument("--role", required=True, choices=list(ALL_ROLES))
    u_add.add_argument("--station", help="station name or id (required for field roles)")
    u_add.add_argument("--name", help="display name (default: the username)")
    u_add.set_defaults(func=cmd_user_add)
    u_off = user.add_parser(
        "deactivate", help="disable an account and revoke its devices (people are never deleted)"
    )
    u_off.add_argument("username")
    u_off.set_defaults(func=cmd_user_deactivate)

    device = sub.add_parser("device", help="manage enrolled devices").add_subparsers(
        dest="action", required=True
    )
    device.add_parser("list", help="list devices").set_defaults(func=cmd_device_list)
    d_revoke = device.add_parser("revoke", help="revoke a device's token")
    d_revoke.add_argument("device_id")
    d_revoke.set_defaults(func=cmd_device_revoke)
    sub.add_parser(
        "schema",
        help="print the JSON Schema of the messages clients send and the records they receive",
    ).set_defaults(func=cmd_schema)

    policy = sub.add_parser("policy", help="the bureau's SLA policy").add_subparsers(
        dest="action", required=True
    )
    policy.add_parser("show", help="print the policy and the presets").set_defaults(
        func=cmd_policy_show
    )
    p_set = policy.add_parser(
        "set", help="choose a preset, optionally overriding its numbers (docs/sla.md)"
    )
    p_set.add_argument("--preset", required=True, choices=["default", "zhoushan_1358"])
    for option, field in POLICY_OPTIONS.items():
        unit = {"_s": "seconds", "rs": "hours"}.get(field[-2:], "minutes")
        p_set.add_argument(f"--{option.replace('_', '-')}", dest=option, type=int, help=unit)
    p_set.add_argument(
        "--arrival-from",
        choices=["dispatch", "receipt"],
        help="what the arrival clock runs from",
    )
    p_set.set_defaults(func=cmd_policy_set)

    trail = sub.add_parser("audit", help="the hash-chained audit log").add_subparsers(
        dest="action", required=True
    )
    a_verify = trail.add_parser(
        "verify", help="walk the chain; exit 1 and name the first broken row if any"
    )
    a_verify.add_argument(
        "--head", help="SEQ:HASH recorded earlier with `audit head`: the log must still hold it"
    )
    a_verify.set_defaults(func=cmd_audit_verify)
    trail.add_parser(
        "head", help="print the newest row as SEQ:HASH, to record away from this machine"
    ).set_defaults(func=cmd_audit_head)
    a_show = trail.add_parser("show", help="print recent entries, one JSON object a line")
    a_show.add_argument("--limit", type=int, default=50)
    a_show.add_argument("--action", choices=sorted(audit.ACTIONS), help="only this action")
    a_show.set_defaults(func=cmd_audit_show)

    sim = sub.add_parser(
        "simulate",
        help="many devices queue ops offline, then reconnect at once (a reconnect storm)",
    )
    sim.add_argument("--url", default="http://127.0.0.1:8000")
    sim.add_argument(
        "--username", required=True, help="a field account; each device signs in as it"
    )
    sim.add_argument("--password", required=True)
    sim.add_argument(
        "--incident",
        required=True,
        help="incident id(s) the devices write to, comma-separated; device n takes the n-th, round-robin",
    )
    sim.add_argument("--devices", type=int, default=50)
    sim.add_argument("--ops", type=int, default=20, help="ops each device queues while offline")
    sim.add_argument(
        "--processes",
        type=int,
        default=1,
        help="processes the devices are shared out among (a few hundred devices are more "
        "than one process drives at full speed)",
    )
    sim.set_defaults(func=cmd_simulate)
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("PICCOLO_CONF", "piccolo_conf")
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except QinglingError as exc:
        print(f"qingling: {exc.message} ({exc.code})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
