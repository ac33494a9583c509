"""The citizen's word (PROTOCOL §9): the callback list and callbacks, the public rating
calls (no sign-in), and the stations' rating posters."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from server.http.guards import CurrentCaller, command_roles
from server.http.params import AppSettings, PathId
from server.http.peer import client_address
from server.services import verdicts
from server.services.verdicts import CallbackFilter
from sync.messages import CallbackAttempt
from sync.views import CallbackList, CallbackTaskView, PublicRatingState, PublicRatingView

# A public POST's body (a verdict: {ratings: {reception, timeliness, conduct, handling},
# overall, comment?}, a poster's with incident_number and phone_last4 besides) is read as
# bytes and decoded by the service after the POST is counted against its address: a
# malformed one counts too (PROTOCOL §9: every POST is a try).


class CallbackController(Controller):
    path = "/api"
    tags = ["callbacks"]

    @get("/callbacks")
    async def list_callbacks(
        self,
        caller: CurrentCaller,
        # `state` is a name Litestar keeps for the app's state: read it under another.
        task_state: Annotated[CallbackFilter, QueryParameter(name="state")] = "due",
        station_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 500,
    ) -> CallbackList:
        """The callback (回访) list, oldest due first, at most `limit` tasks: command-center
        roles the bureau's, a station chief their own station's (with the caller's phone in
        full while due)."""
        return await verdicts.list_callbacks(caller, task_state, station_id, limit)

    @post("/incidents/{incident_id:str}/callbacks", status_code=201, guards=[command_roles])
    async def callback(
        self, caller: CurrentCaller, incident_id: PathId, data: JSONBody[CallbackAttempt]
    ) -> CallbackTaskView:
        """One call back to the caller of a closed incident: `{"reached": false}`, or
        `{"reached": true, ratings, overall, comment?}` with their verdict."""
        return await verdicts.callback_attempt(caller, incident_id, data)


class PublicRatingController(Controller):
    """No sign-in; no personal data in any answer."""

    path = "/api/public"
    tags = ["public"]

    @get("/ratings/{token:str}", exclude_from_auth=True, security=[])
    async def rating(self, token: FromPath[str]) -> PublicRatingView:
        """What a rating link (`/rate/{token}`) is about, and whether it can be used."""
        return await verdicts.public_rating(token)

    @post("/ratings/{token:str}", exclude_from_auth=True, security=[])
    async def rate(
        self,
        request: Request[Any, Any, Any],
        settings: AppSettings,
        token: FromPath[str],
    ) -> Response[PublicRatingState]:
        """A verdict (`{ratings, overall, comment?}`) through a QR invite: 201 counted,
        202 kept until the invite arrives."""
        body = await request.body()
        outcome = await verdicts.rate_by_token(token, body, client_address(request, settings))
        return Response(outcome, status_code=201 if outcome.state == "rated" else 202)

    @post("/stations/{code:str}/ratings", exclude_from_auth=True, security=[], status_code=201)
    async def rate_by_poster(
        self,
        request: Request[Any, Any, Any],
        settings: AppSettings,
        code: FromPath[str],
    ) -> PublicRatingState:
        """A verdict through a station's poster (`{incident_number, phone_last4, ratings,
        overall, comment?}`), naming the incident by its number and the last four digits
        of the caller's phone."""
        body = await request.body()
        return await verdicts.rate_by_poster(code, body, client_address(request, settings))


@get("/api/stations/{station_id:str}/rating-poster", tags=["stations"], media_type="image/svg+xml")
async def rating_poster(
    request: Request[Any, Any, Any],
    caller: CurrentCaller,
    settings: AppSettings,
    station_id: PathId,
) -> Response[str]:
    """The station's printable rating poster (A4 SVG): a QR code of
    `{public address}/rate/s/{rating_code}`, the address printed under it."""
    base = settings.public_url or str(request.base_url)
    svg = await verdicts.rating_poster(caller, station_id, base)
    return Response(svg, media_type="image/svg+xml")
