"""Transport: HTTP routes (one module per area), the sync WebSocket (sync_ws), the static
front ends (static), the bearer-token middleware and role guards (guards), and the
mapping of errors to HTTP (errors).

Thin on purpose: a handler decodes what came in, calls one service (server/services/) or
the write path's ingest (server/write/ingest.py), and returns what it answers. No
handler tells the live side anything: writes are announced at commit
(server/core/announce.py). Errors become HTTP in server/http/errors.py only.
"""

from litestar.types import ControllerRouterHandler

from server.http.agencies import AgencyController
from server.http.auth import AuthController
from server.http.blobs import BlobController
from server.http.board import get_board
from server.http.bodycam import BodycamController
from server.http.errors import EXCEPTION_HANDLERS
from server.http.guards import BearerTokenMiddleware, caller_of
from server.http.headers import redact_access_log, security_headers
from server.http.incidents import IncidentController
from server.http.notices import NoticeController
from server.http.people import PeopleController
from server.http.ratings import CallbackController, PublicRatingController, rating_poster
from server.http.reports import ReportController
from server.http.request import QinglingRequest
from server.http.reviews import ReviewController
from server.http.static import web_routers
from server.http.stations import StationController
from server.http.supervision import SupervisionController, supervise
from server.http.sync_http import SyncController
from server.http.sync_ws import sync_socket

# Every API route handler (the static front ends come from `web_routers`).
API_HANDLERS: list[ControllerRouterHandler] = [
    AuthController,
    IncidentController,
    StationController,
    PeopleController,
    SyncController,
    ReviewController,
    ReportController,
    BlobController,
    BodycamController,
    CallbackController,
    PublicRatingController,
    AgencyController,
    SupervisionController,
    NoticeController,
    supervise,
    rating_poster,
    get_board,
    sync_socket,
]

__all__ = [
    "API_HANDLERS",
    "EXCEPTION_HANDLERS",
    "BearerTokenMiddleware",
    "QinglingRequest",
    "caller_of",
    "redact_access_log",
    "security_headers",
    "web_routers",
]
