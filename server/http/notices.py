"""Notices (通报) and what the named stations owe (整改), PROTOCOL §11."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import JSONBody, QueryParameter

from server.http.guards import CurrentCaller, review_desk
from server.services import notices
from server.services.notices import NoticeFilter
from sync.messages import NoticeRequest
from sync.views import NoticeList, NoticeView

StationFilter = Annotated[
    str | None,
    QueryParameter(pattern=r"^[A-Za-z0-9._:-]{1,64}$", max_length=64, description="a station id"),
]


class NoticeController(Controller):
    path = "/api/notices"
    tags = ["notices"]

    @post("/", status_code=201, guards=[review_desk])
    async def issue(self, caller: CurrentCaller, data: JSONBody[NoticeRequest]) -> NoticeView:
        """Issue a notice to stations; with `rectify_by` each owes a rectification."""
        return await notices.issue_notice(caller, data)

    @get("/")
    async def list_notices(
        self,
        caller: CurrentCaller,
        station_id: StationFilter = None,
        # `state` is a reserved name in Litestar handlers: read the query value under another.
        rectification_state: Annotated[NoticeFilter | None, QueryParameter(name="state")] = None,
    ) -> NoticeList:
        """Notices newest first: the bureau's, or a field role's station's."""
        return await notices.list_notices(caller, station_id, rectification_state)
