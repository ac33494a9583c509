"""Content-addressed attachments (PROTOCOL §8; server/services/blobs.py)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, put
from litestar.params import PathParameter

from server.http.guards import CurrentCaller
from server.services import blobs

Sha256Path = Annotated[
    str, PathParameter(pattern=r"^[0-9a-f]{64}$", description="lowercase hex SHA-256")
]


class BlobController(Controller):
    path = "/api/blobs"
    tags = ["attachments"]

    @put("/{sha256:str}", request_max_body_size=blobs.MAX_BLOB, status_code=201)
    async def upload(
        self, request: Request[Any, Any, Any], caller: CurrentCaller, sha256: Sha256Path
    ) -> Response[dict[str, Any]]:
        """Store a file under its SHA-256: 201 when new, 200 when already held, 422 when the
        bytes do not hash to the name."""
        data = await request.body()
        # The uploader's Content-Type is ignored: what a blob is served as is read from its
        # bytes (services/blobs.py `served_type`).
        created = await blobs.store_blob(caller, sha256, data)
        body = {"sha256": sha256, "size": len(data)}
        return Response(body, status_code=201 if created else 200)

    @get("/{sha256:str}")
    async def download(self, caller: CurrentCaller, sha256: Sha256Path) -> Response[bytes]:
        """The file, if the caller uploaded it or sees a record whose op names it (PROTOCOL
        §12). Served as its image type when its bytes are PNG, JPEG, GIF or WebP (shown
        inline), otherwise as `application/octet-stream` (downloaded), never sniffed."""
        stored = await blobs.read_blob(caller, sha256)
        image = stored.content_type != blobs.OCTET_STREAM
        disposition = "inline" if image else "attachment"
        extension = stored.content_type.split("/")[1] if image else "bin"
        return Response(
            stored.data,
            media_type=stored.content_type,
            headers={
                "Cache-Control": "private, max-age=31536000, immutable",
                "Content-Disposition": f'{disposition}; filename="{sha256}.{extension}"',
                "X-Content-Type-Options": "nosniff",
                # Opened on its own, a blob is a document of this origin: it may run nothing.
                "Content-Security-Policy": "default-src 'none'; sandbox",
            },
        )
