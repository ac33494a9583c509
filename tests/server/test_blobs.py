"""Attachments (PROTOCOL §8): content-addressed, hash-checked, scoped."""

from __future__ import annotations

import hashlib

from tests.server.conftest import Bureau
from tests.server.phone import Phone


async def test_upload_checks_the_hash_and_is_idempotent(bureau: Bureau) -> None:
    photo = "调解协议书签字页".encode() * 100
    sha = hashlib.sha256(photo).hexdigest()
    headers = {**(await bureau.auth("mediator_a")), "Content-Type": "image/jpeg"}
    r = await bureau.client.put(f"/api/blobs/{sha}", content=photo, headers=headers)
    assert r.status_code == 201 and r.json() == {"sha256": sha, "size": len(photo)}
    r = await bureau.client.put(f"/api/blobs/{sha}", content=photo, headers=headers)
    assert r.status_code == 200
    r = await bureau.client.put(f"/api/blobs/{'0' * 64}", content=photo, headers=headers)
    assert r.status_code == 422 and r.json()["code"] == "hash_mismatch"
    r = await bureau.client.put("/api/blobs/NOT-A-HASH", content=photo, headers=headers)
    assert r.status_code == 400
    r = await bureau.client.get(f"/api/blobs/{sha}", headers=headers)
    assert r.status_code == 200 and r.content == photo
    # Text claimed to be a JPEG is served as what its bytes are: not an image.
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_a_file_over_20_mib_is_refused(bureau: Bureau) -> None:
    big = b"\0" * (20 * 1024 * 1024 + 1)
    sha = hashlib.sha256(big).hexdigest()
    r = await bureau.call("officer_a", "PUT", f"/api/blobs/{sha}", content=big)
    assert r.status_code == 413 and r.json()["code"] == "too_large"


async def test_records_show_pending_files_and_scope_governs_reading(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    photo = b"scene photo bytes"
    sha = hashlib.sha256(photo).hexdigest()
    report = phone.op("scene_report", incident["id"], {"situation": "见附件", "attachments": [sha]})
    await phone.push([report])  # the op does not wait for its file
    rec = (await bureau.call("dispatcher", "GET", f"/api/incidents/{incident['id']}")).json()
    assert rec["attachments"] == {sha: "pending"}
    r = await bureau.client.put(f"/api/blobs/{sha}", content=photo, headers=phone.headers)
    assert r.status_code == 201
    rec = (await bureau.call("dispatcher", "GET", f"/api/incidents/{incident['id']}")).json()
    assert rec["attachments"] == {sha: "stored"}
    for who, status in [
        ("officer_a2", 200),
        ("dispatcher", 200),
        ("officer_b", 404),
        ("chief_b", 404),
    ]:
        r = await bureau.call(who, "GET", f"/api/blobs/{sha}")
        assert r.status_code == status, who
    r = await bureau.call("officer_a", "GET", f"/api/blobs/{'f' * 64}")
    assert r.status_code == 404
