"""Sync over HTTP: push, pull, dead letters (PROTOCOL §3, §4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, cast

import msgspec
from litestar import Controller, Request, get, post
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.params import QueryParameter

from server.core.errors import BadRequest
from server.http.guards import CurrentCaller
from server.http.params import Epoch, provide_epoch
from server.services import dead_letters
from server.write import ingest
from server.write.feed import make_cursor, read_page
from sync.messages import (
    PullResponse,
    PushRequest,
    PushResponse,
    decode_lenient,
    push_request_schema,
)

_push_decoder = msgspec.json.Decoder(PushRequest)


def decode_push(body: bytes) -> PushRequest:
    """The request's own shape; each op stays raw, to be judged on its own."""
    try:
        return decode_lenient(_push_decoder, body)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"push request: {exc}") from None
    except msgspec.DecodeError:
        raise BadRequest("push request: the body is not valid JSON") from None
    except RecursionError:
        raise BadRequest("push request: the body is nested too deeply") from None


# The push body as documented: the handler reads it itself (above), so Litestar cannot
# describe it; a plain JSON Schema dict serialises into the document as it is.
_PUSH_BODY = RequestBody(
    required=True,
    content={"application/json": OpenAPIMediaType(schema=cast(Schema, push_request_schema()))},
)


@dataclass
class _PushOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = _PUSH_BODY


class SyncController(Controller):
    path = "/api/sync"
    tags = ["sync"]

    @post("/push", status_code=200, operation_class=_PushOperation)
    async def push(self, request: Request[Any, Any, Any], caller: CurrentCaller) -> PushResponse:
        """Deliver ops (`{"device_id", "sent_at", "ops": [...]}`, at most 500 ops and 1 MiB);
        each gets its own result. Safe to repeat: re-delivered ops answer `duplicate`."""
        # Decoded here, not by Litestar: each op stays raw until it is validated on its
        # own, so one bad op cannot fail the batch.
        data = decode_push(await request.body())
        outcome = await ingest.push_ops(caller, data.device_id, data.sent_at, data.ops)
        return PushResponse(
            server_time=outcome.received_at,
            acked_seq=outcome.acked_seq,
            # The epoch called for here, not a second dependency: Litestar resolves two
            # or more in an anyio task group, 2 us an op of a 100-op push (py-spy,
            # docs/performance.md, session 15).
            cursor=make_cursor(provide_epoch(request.app.state), outcome.head),
            results=outcome.results,
        )

    @get("/pull")
    async def pull(
        self,
        caller: CurrentCaller,
        epoch: Epoch,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1)] = 500,
    ) -> PullResponse:
        """Changes after `cursor` in feed order. Follow `cursor` until `more` is false."""
        page = await read_page(caller, epoch, cursor, limit)
        return PullResponse(
            changes=page.changes, cursor=page.cursor, more=page.more, reset=page.reset
        )

    @get("/rejected")
    async def rejected(
        self,
        caller: CurrentCaller,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 500,
    ) -> list[dict[str, Any]]:
        """Dead letters: the caller's own device's, a station chief's station's, or the
        bureau's for command-center roles."""
        return await dead_letters.list_rejected(caller, limit)
