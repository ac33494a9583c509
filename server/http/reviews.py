"""The review queue (PROTOCOL §6.4, §6.6)."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, get, post
from litestar.params import FromQuery, JSONBody, QueryParameter

from server.http.guards import CurrentCaller, review_desk, review_readers
from server.http.params import PathId
from server.services import reviews
from sync.views import ReviewItemView, ReviewKind


class ReviewController(Controller):
    path = "/api/reviews"
    tags = ["reviews"]

    @get("/", guards=[review_readers])
    async def list_reviews(
        self,
        caller: CurrentCaller,
        # `state` is a reserved name in Litestar handlers: read the query value under another.
        review_state: Annotated[
            Literal["open", "resolved", "all"], QueryParameter(name="state")
        ] = "open",
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 500,
        kind: FromQuery[ReviewKind | None] = None,
        since: Annotated[str | None, QueryParameter(max_length=40)] = None,
        until: Annotated[str | None, QueryParameter(max_length=40)] = None,
    ) -> list[ReviewItemView]:
        """The bureau's review items, newest first (a station chief: their station's, read
        only). `kind`, and `since`/`until` (RFC 3339, on created_at) narrow the list
        (400 invalid_param: an unknown kind, a bad time)."""
        return await reviews.list_reviews(
            caller, review_state, limit, kind=kind, since=since, until=until
        )

    @post("/{review_id:str}/resolve", status_code=200, guards=[review_desk])
    async def resolve(
        self,
        caller: CurrentCaller,
        review_id: PathId,
        data: JSONBody[reviews.Resolve],
    ) -> ReviewItemView:
        """Resolve a review item. For a conflict, `keep_op_id` (default: the displayed
        head) becomes the record, merging every head; nothing is discarded."""
        return await reviews.resolve_review(caller, review_id, data)
