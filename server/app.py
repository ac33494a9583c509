"""The Litestar application factory."""

from __future__ import annotations

import gc
import logging
from pathlib import Path
from typing import Any

from litestar import Litestar, Request
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from piccolo.engine.postgres import PostgresEngine

from server.access.accounts import Caller
from server.core import db
from server.core.clock import use_clock
from server.core.config import MAX_MESSAGE_BYTES, Settings
from server.core.engine import PooledSQLiteEngine, start_pg_pool
from server.http import (
    API_HANDLERS,
    EXCEPTION_HANDLERS,
    BearerTokenMiddleware,
    QinglingRequest,
    caller_of,
    redact_access_log,
    security_headers,
    web_routers,
)
from server.http.params import provide_epoch
from server.live.hub import Hub, channels_plugin
from server.live.scheduler import SlaScheduler
from server.record.policy import use_arrival_max_distance
from server.services.board import store_missing_board_rows

log = logging.getLogger("qingling")


def provide_caller(request: Request[Any, Any, Any]) -> Caller:
    return caller_of(request)


def provide_settings(state: State) -> Settings:
    return state.settings  # type: ignore[no-any-return]


# Answers over 1 KB go out gzip-compressed to clients that accept it (the board's
# 10,000 rows: ~7.8 MB of JSON, ~0.9 MB on the wire). Level 1, not Litestar's 9: a
# quarter larger than level 6 in a third of its time (the goal is the time). Blobs
# (photos, clips) are compressed already. WebSocket frames are not touched (the
# middleware sees HTTP only). Brotli is not a dependency; `backend="brotli"` (gzip as
# the fallback) once it is.
COMPRESSION = CompressionConfig(
    backend="gzip", minimum_size=1024, gzip_compress_level=1, exclude=["^/api/blobs"]
)


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the Qingling server. Migrations run at start-up, before the first request."""
    settings = settings or Settings.from_env()
    engine = db.use(settings.database_url)
    channels = channels_plugin(
        settings.database_url if isinstance(engine, PostgresEngine) else None
    )
    hub = Hub(channels, poll_s=settings.live_poll_s, backlog=settings.ws_backlog, settings=settings)
    use_clock(settings.clock)
    use_arrival_max_distance(settings.arrival_max_distance_m)

    scheduler = SlaScheduler(settings.clock, cap_s=settings.sla_scheduler_cap_s)
    hub.on_head.append(scheduler.nudge)

    async def start(app: Litestar) -> None:
        app.state.settings = settings
        # Uvicorn has configured its loggers by now: keep blob hashes out of its access log.
        redact_access_log()
        app.state.epoch = await db.prepare()
        # Incidents published before board rows were stored get theirs once (the board
        # would otherwise build every row from the tables until they are published again).
        try:
            await store_missing_board_rows()
        except Exception:  # noqa: BLE001 - the board builds rows from the tables meanwhile
            log.exception("storing the missing board rows failed")
        if isinstance(engine, PostgresEngine) and settings.pg_pool_size > 0:
            await start_pg_pool(engine, settings.pg_pool_size)
        app.state.hub = hub
        await hub.start(app.state.epoch)
        app.state.scheduler = scheduler
        if settings.sla_scheduler:
            await scheduler.start()
        # Start-up objects (routes, schemas, modules) live for the whole process: moving
        # them out of the collector's sight, and collecting less often, took a tenth off
        # a 100-op push (every op allocates a few dozen short-lived containers). A group
        # of four such pushes holds tens of thousands of containers alive at once: at a
        # 20,000 threshold the young generation was scanned several times a transaction;
        # at 200,000, 4-device ingest ran ~6% faster (54-56 us of CPU an op, 58-62 before)
        # and bench.memory's figures moved by 2-3 MB (docs/performance.md, session 15).
        gc.collect()
        gc.freeze()
        gc.set_threshold(200_000, 50, 50)
        log.info("Qingling ready (database epoch %s)", app.state.epoch)

    async def stop(app: Litestar) -> None:
        await scheduler.stop()
        await hub.stop()
        if isinstance(engine, PostgresEngine) and settings.pg_pool_size > 0:
            await engine.close_connection_pool()
        if isinstance(engine, PooledSQLiteEngine):
            await engine.close_idle()

    auth = DefineMiddleware(BearerTokenMiddleware, exclude=["^/schema"])
    return Litestar(
        route_handlers=[*API_HANDLERS, *web_routers(Path(settings.pwa_dist))],
        plugins=[channels],
        # What handlers may ask for by name: who is calling, the database's epoch (for
        # feed cursors) and the settings the app was built with.
        dependencies={
            "caller": Provide(provide_caller, sync_to_thread=False),
            "epoch": Provide(provide_epoch, sync_to_thread=False),
            "settings": Provide(provide_settings, sync_to_thread=False),
        },
        middleware=[auth],
        compression_config=COMPRESSION,
        # Security headers on every answer, including those no route made (PROTOCOL §12).
        before_send=[security_headers],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        request_class=QinglingRequest,
        on_startup=[start],
        on_shutdown=[stop],
        openapi_config=OpenAPIConfig(
            title="Qingling",
            version="1",
            description="Command-center record and sync protocol for closed-loop 110 incidents.",
            path="/schema",
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(
                        type="http", scheme="bearer", description="device token"
                    )
                }
            ),
            security=[{"bearer": []}],
        ),
        request_max_body_size=MAX_MESSAGE_BYTES,
    )
