"""Who may call what: the bearer-token middleware and role guards.

The middleware turns `Authorization: Bearer <token>` into a `Caller` on every route
except those marked `exclude_from_auth` (login, health, the public rating calls of
PROTOCOL §9, the OpenAPI document). Guards
are plain functions on top of it. Station scope (which incidents a field role may
see) is checked where the incident is loaded, in server/access/scope.py.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from server.access.accounts import Caller, caller_for_token
from server.core.errors import Forbidden, Unauthenticated
from sync.messages import COMMAND_ROLES


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]):
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("send Authorization: Bearer <token> (from POST /api/auth/login)")
        settings = connection.app.state.settings
        caller = await caller_for_token(token.strip(), settings)
        return AuthenticationResult(user=caller, auth=caller.device_id)


def caller_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Caller:
    user = connection.scope.get("user")
    if not isinstance(user, Caller):
        raise Unauthenticated("not signed in")
    return user


def _require(roles: tuple[str, ...], what: str):
    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if caller_of(connection).role not in roles:
            raise Forbidden(f"only {what} may do this")

    guard.__name__ = f"requires_{what.replace(' ', '_')}"
    return guard


# Creating and steering incidents is the dispatch desk's work.
dispatch_desk = _require(("dispatcher", "admin"), "a dispatcher or an admin")
# Callbacks (PROTOCOL §9) are the command center's: every command-center role.
command_roles = _require(COMMAND_ROLES, "command-center roles")
# Accounts and stations are an admin's.
admin_only = _require(("admin",), "an admin")


# Handlers take `caller: CurrentCaller`; app.py provides it from the middleware's result.
CurrentCaller = NamedDependency[Caller]
# The review queue is the supervisors' (legal team, inspection); admins may step in.
review_desk = _require(("supervisor", "admin"), "a supervisor or an admin")
# A station chief reads their station's review items (PROTOCOL §11, the chief's desk).
review_readers = _require(
    ("supervisor", "admin", "station_chief"), "a supervisor, an admin or a station chief"
)


_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def _normal_origin(origin: str) -> str:
    """Lower case, without the scheme's default port (`https://a:443` is `https://a`)."""
    origin = origin.strip().lower()
    scheme, sep, _ = origin.partition("://")
    port = _DEFAULT_PORTS.get(scheme)
    if sep and port and origin.endswith(port):
        origin = origin[: -len(port)]
    return origin


def origin_allowed(origin: str | None, host: str | None, allowed: tuple[str, ...]) -> bool:
    """May a WebSocket with this Origin header open (PROTOCOL §12)? No Origin (a native
    client) may; `null` (a sandboxed or file page) may not; otherwise the server's own
    origin, http(s):// + the request's Host, and the exact origins configured
    (QINGLING_ALLOWED_ORIGINS). A browser always sends Origin on a WebSocket, so a page
    of another site cannot ride on what the browser holds."""
    if origin is None:
        return True
    wanted = _normal_origin(origin)
    if not wanted or wanted == "null":
        return False
    if any(wanted == _normal_origin(o) for o in allowed):
        return True
    if not host:
        return False
    return wanted in (_normal_origin(f"http://{host}"), _normal_origin(f"https://{host}"))
