"""Parameter types the route modules share: ids in paths, and the named dependencies
the app provides (server/app.py); and what a bad query value answers.

Query values are declared on the handlers with their types and bounds (a `Literal` for a
set of states or kinds, `QueryParameter(ge=, le=)` for a `limit`) and checked by
Litestar as it reads the request; a value that fails answers 400 `invalid_param`
(server/http/errors.py) with `bad_query_message`, which names the parameter as it is
written in the URL and what it accepts. Nothing checks the same value again.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args, get_origin

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.typing import FieldDefinition

from server.core.config import Settings

# An id in a path: what the server and devices make (UUIDs, client ids). Anything
# else (NUL bytes, slashes, 300 characters) is refused with 400 before touching the database.
PathId = Annotated[
    str, PathParameter(pattern=r"^[A-Za-z0-9._:-]{1,64}$", description="an id", max_length=64)
]

# The database's epoch, for feed cursors.
Epoch = NamedDependency[str]


def provide_epoch(state: State) -> str:
    """The `epoch` dependency (server/app.py); also called directly where a handler reads
    it without a second dependency (server/http/sync_http.py, the push)."""
    return str(state.epoch)


# The settings the app was built with.
AppSettings = NamedDependency[Settings]


def query_failures(failures: Any) -> list[dict[str, Any]] | None:
    """The failures of a Litestar ValidationException when every one is a query value
    (then the request answers `invalid_param`), else None."""
    if not isinstance(failures, list) or not failures:
        return None
    if all(isinstance(f, dict) and f.get("source") == "query" for f in failures):
        return failures
    return None


def bad_query_message(request: Request[Any, Any, Any], failures: list[dict[str, Any]]) -> str:
    """`limit must be a whole number from 1 to 1000`, `state must be one of: open,
    resolved, all`: each failed query value by its name in the URL."""
    try:
        declared = request.route_handler.parsed_fn_signature.parameters
    except Exception:  # noqa: BLE001 - a message without the declaration, never a fault
        declared = {}
    return "; ".join(
        _describe(declared.get(str(f.get("key"))), str(f.get("key")), str(f.get("message")))
        for f in failures[:5]
    )


def _describe(field: FieldDefinition | None, key: str, why: str) -> str:
    if field is None:
        return f"{key}: {why}"
    param = field.kwarg_definition
    name = getattr(param, "name", None) or key
    choices = _choices(field.annotation)
    if choices:
        return f"{name} must be one of: {', '.join(choices)}"
    if field.annotation is int:
        low, high = getattr(param, "ge", None), getattr(param, "le", None)
        if low is not None and high is not None:
            return f"{name} must be a whole number from {low} to {high}"
        if low is not None:
            return f"{name} must be a whole number of at least {low}"
        return f"{name} must be a whole number"
    return f"{name}: {why}"


def _choices(annotation: Any) -> list[str]:
    """The values of a Literal (or an optional one)."""
    if get_origin(annotation) is Literal:
        return [str(a) for a in get_args(annotation)]
    for arg in get_args(annotation):
        if get_origin(arg) is Literal:
            return [str(a) for a in get_args(arg)]
    return []
