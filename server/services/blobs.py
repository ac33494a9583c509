"""Content-addressed attachments (PROTOCOL §8, §12): stored under their SHA-256, read by
those who uploaded them or who see a record whose accepted op names them with a granted
reference (server/access/scope.py `may_read_attachment`, over the reference index the
write path keeps).

What a blob is served as is decided here from its bytes, never from what the uploader
said: a PNG, JPEG, GIF or WebP as that image type, everything else (SVG, HTML, PDF, text)
as `application/octet-stream`, so no upload can become a page of this origin.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from server.access.accounts import Caller
from server.access.scope import may_read_attachment
from server.core.clock import utcnow
from server.core.db import write_transaction
from server.core.errors import NotFound, Unprocessable
from server.core.tables import Blob, BlobHolder, BlobRef

MAX_BLOB = 20 * 1024 * 1024
OCTET_STREAM = "application/octet-stream"

# Image types a browser may show inline, each by the bytes every file of it starts with.
# SVG is not among them: it is a document that can carry script.
_IMAGE_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
)


def served_type(data: bytes) -> str:
    """The Content-Type a blob is served with: its image type when its bytes say PNG,
    JPEG, GIF or WebP, otherwise `application/octet-stream`."""
    for magic, at, media_type in _IMAGE_SIGNATURES:
        if data[at : at + len(magic)] == magic:
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return OCTET_STREAM


@dataclass(frozen=True)
class StoredFile:
    data: bytes
    content_type: str  # what it is served as (`served_type`), not what the uploader said


async def store_blob(caller: Caller, sha256: str, data: bytes) -> bool:
    """Keep `data` under its hash; True when it is new, False when it was already held.
    Unprocessable (`hash_mismatch`) when the bytes do not hash to `sha256`.

    Whoever sends the bytes, first or again, becomes a holder of the blob (they have it,
    so they may read it back), and their own references to it that were not granted
    (recorded before they uploaded it) now grant (docs/decisions.md)."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise Unprocessable(f"the bytes hash to {actual}, not {sha256}", code="hash_mismatch")
    now = utcnow()
    async with write_transaction():
        created = not await Blob.exists().where(Blob.sha256 == sha256)
        if created:
            await Blob.insert(
                Blob(
                    sha256=sha256,
                    data=data,
                    size=len(data),
                    content_type=served_type(data),
                    uploaded_by=caller.person_id,
                    created_at=now,
                )
            ).on_conflict(action="DO NOTHING")
        await BlobHolder.insert(
            BlobHolder(
                id=f"{sha256}:{caller.person_id}",
                sha256=sha256,
                person=caller.person_id,
                uploaded_at=now,
            )
        ).on_conflict(action="DO NOTHING")
        await BlobRef.update({BlobRef.granted: True}).where(
            (BlobRef.sha256 == sha256)
            & (BlobRef.person == caller.person_id)
            & (BlobRef.granted == False)  # noqa: E712 - a SQL comparison, not Python's
        )
    return created


async def read_blob(caller: Caller, sha256: str) -> StoredFile:
    """The file, if the caller may read it; NotFound otherwise (exactly as if absent)."""
    row = await Blob.select(Blob.data).where(Blob.sha256 == sha256).first()
    if row is None or not await may_read_attachment(caller, sha256):
        raise NotFound(f"no attachment {sha256} that you can see")
    data = bytes(row["data"])
    return StoredFile(data=data, content_type=served_type(data))
