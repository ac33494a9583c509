"""Supervision orders (督办, PROTOCOL §11): issue on an incident, list, accept, reject."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import JSONBody, QueryParameter

from server.http.guards import CurrentCaller, review_desk
from server.http.params import PathId
from server.services import supervision
from server.services.supervision import OrderFilter
from sync.messages import RejectRequest, SuperviseRequest
from sync.views import SupervisionList, SupervisionOrderView

IdFilter = Annotated[
    str | None,
    QueryParameter(pattern=r"^[A-Za-z0-9._:-]{1,64}$", max_length=64, description="an id"),
]


@post("/api/incidents/{incident_id:str}/supervise", status_code=201, guards=[review_desk])
async def supervise(
    caller: CurrentCaller, incident_id: PathId, data: JSONBody[SuperviseRequest]
) -> SupervisionOrderView:
    """Issue a supervision order (督办; level `bureau`: 挂牌督办) to the incident's station."""
    return await supervision.issue_order(caller, incident_id, data)


class SupervisionController(Controller):
    path = "/api/supervision"
    tags = ["supervision"]

    @get("/")
    async def list_orders(
        self,
        caller: CurrentCaller,
        # `state` is a reserved name in Litestar handlers: read the query value under another.
        order_state: Annotated[OrderFilter, QueryParameter(name="state")] = "all",
        station_id: IdFilter = None,
        incident_id: IdFilter = None,
    ) -> SupervisionList:
        """Orders newest issued first, in the caller's scope (400 invalid_param: bad state)."""
        return await supervision.list_orders(caller, order_state, station_id, incident_id)

    @post("/{order_id:str}/accept", status_code=200, guards=[review_desk])
    async def accept(self, caller: CurrentCaller, order_id: PathId) -> SupervisionOrderView:
        """Accept the reply awaiting a decision (a body, if any, is ignored)."""
        return await supervision.accept_order(caller, order_id)

    @post("/{order_id:str}/reject", status_code=200, guards=[review_desk])
    async def reject(
        self, caller: CurrentCaller, order_id: PathId, data: JSONBody[RejectRequest]
    ) -> SupervisionOrderView:
        """Reject the replies awaiting a decision: the order is open again."""
        return await supervision.reject_order(caller, order_id, data)
