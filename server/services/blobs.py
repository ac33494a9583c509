"""Content-addressed attachments (PROTOCOL §8): stored under their SHA-256, read by
the uploader or by anyone who can see a record that refers to them
(server/access/scope.py `may_read_attachment`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from server.access.accounts import Caller
from server.access.scope import may_read_attachment
from server.core.clock import utcnow
from server.core.errors import NotFound, Unprocessable
from server.core.tables import Blob

MAX_BLOB = 20 * 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    data: bytes
    content_type: str


async def store_blob(caller: Caller, sha256: str, data: bytes, content_type: str) -> bool:
    """Keep `data` under its hash; True when it is new, False when it was already held.
    Unprocessable (`hash_mismatch`) when the bytes do not hash to `sha256`."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise Unprocessable(f"the bytes hash to {actual}, not {sha256}", code="hash_mismatch")
    if await Blob.exists().where(Blob.sha256 == sha256):
        return False
    await Blob.insert(
        Blob(
            sha256=sha256,
            data=data,
            size=len(data),
            content_type=content_type[:100],
            uploaded_by=caller.person_id,
            created_at=utcnow(),
        )
    ).on_conflict(action="DO NOTHING")
    return True


async def read_blob(caller: Caller, sha256: str) -> StoredFile:
    """The file, if the caller may read it; NotFound otherwise (exactly as if absent)."""
    row = await Blob.select().where(Blob.sha256 == sha256).first()
    if row is None or not await may_read_attachment(caller, sha256, row["uploaded_by"]):
        raise NotFound(f"no attachment {sha256} that you can see")
    return StoredFile(data=bytes(row["data"]), content_type=row["content_type"])
