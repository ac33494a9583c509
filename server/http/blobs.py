"""Content-addressed attachments (PROTOCOL §8)."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, put
from litestar.params import PathParameter

from server.access.accounts import Caller
from server.access.scope import incident_scope
from server.core.clock import utcnow
from server.core.errors import NotFound, Unprocessable
from server.core.tables import Blob, Event, Incident
from server.http.guards import CurrentCaller

MAX_BLOB = 20 * 1024 * 1024
Sha256Path = Annotated[
    str, PathParameter(pattern=r"^[0-9a-f]{64}$", description="lowercase hex SHA-256")
]


async def _may_read(caller: Caller, sha256: str, uploaded_by: str) -> bool:
    """The uploader, or anyone whose scope holds a record that refers to the blob."""
    if uploaded_by == caller.person_id:
        return True
    # The body is JSON (json on PostgreSQL, text on SQLite): compare it as text.
    referring = await Event.raw(
        "SELECT incident, station FROM event WHERE bureau = {} AND CAST(body AS TEXT) LIKE {}",
        caller.bureau_id,
        f"%{sha256}%",
    )
    if not referring:
        return False
    if caller.is_command:
        return True
    if any(r["incident"] is None and r["station"] == caller.station_id for r in referring):
        return True
    ids = [r["incident"] for r in referring if r["incident"]]
    if not ids:
        return False
    visible = await Incident.exists().where(Incident.id.is_in(ids) & (await incident_scope(caller)))
    return bool(visible)


class BlobController(Controller):
    path = "/api/blobs"
    tags = ["attachments"]

    @put("/{sha256:str}", request_max_body_size=MAX_BLOB, status_code=201)
    async def upload(
        self, request: Request[Any, Any, Any], caller: CurrentCaller, sha256: Sha256Path
    ) -> Response[dict[str, Any]]:
        """Store a file under its SHA-256: 201 when new, 200 when already held, 422 when the
        bytes do not hash to the name."""
        data = await request.body()
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise Unprocessable(f"the bytes hash to {actual}, not {sha256}", code="hash_mismatch")
        body = {"sha256": sha256, "size": len(data)}
        if await Blob.exists().where(Blob.sha256 == sha256):
            return Response(body, status_code=200)
        content_type = request.headers.get("content-type", "application/octet-stream")[:100]
        await Blob.insert(
            Blob(
                sha256=sha256,
                data=data,
                size=len(data),
                content_type=content_type,
                uploaded_by=caller.person_id,
                created_at=utcnow(),
            )
        ).on_conflict(action="DO NOTHING")
        return Response(body, status_code=201)

    @get("/{sha256:str}")
    async def download(self, caller: CurrentCaller, sha256: Sha256Path) -> Response[bytes]:
        """The file, if the caller uploaded it or can see a record that refers to it."""
        row = await Blob.select().where(Blob.sha256 == sha256).first()
        if row is None or not await _may_read(caller, sha256, row["uploaded_by"]):
            raise NotFound(f"no attachment {sha256} that you can see")
        return Response(
            bytes(row["data"]),
            media_type=row["content_type"],
            headers={"Cache-Control": "private, max-age=31536000, immutable"},
        )
