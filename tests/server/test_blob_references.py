"""Blobs by reference only (PROTOCOL §12; issue 10 finding 5): a blob is read through an
accepted op in the reader's scope that names it in `attachments` or
`evidence_item.sha256`, made by someone who could read it then (or uploaded it); a hash
quoted anywhere else grants nothing. And what a blob is served as."""

from __future__ import annotations

import base64
import hashlib
import importlib
import logging

from server.core.tables import Blob, BlobHolder, BlobRef
from server.http.headers import RedactHexPaths, redact_path
from tests.server.conftest import Bureau
from tests.server.phone import Phone

# A real 1×1 PNG (a transparent pixel), as a camera app would not make it but a browser shows.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def upload(bureau: Bureau, phone: Phone, data: bytes, content_type: str) -> str:
    r = await bureau.client.put(
        f"/api/blobs/{sha(data)}",
        content=data,
        headers={**phone.headers, "Content-Type": content_type},
    )
    assert r.status_code in (200, 201), r.text
    return sha(data)


async def status(bureau: Bureau, who: str, digest: str) -> int:
    return (await bureau.call(who, "GET", f"/api/blobs/{digest}")).status_code


async def test_reassigned_away_no_quoted_hash_brings_a_blob_back(bureau: Bureau) -> None:
    """The issue's blob trick: a grid worker of station B helped on A's incident and saw
    its scene photo; reassigned away, they quote the photo's hash in a note, a body-camera
    reference, a scene report and an evidence item of their own station's incident. Every
    op is accepted; none lets them, or their station, read the photo."""
    joint = await bureau.dispatched_incident("a", ("officer_a", "grid_b"))
    own = await bureau.dispatched_incident("b", ("officer_b", "grid_b"))
    officer = await Phone(bureau, "officer_a").sign_in()
    photo = b"\xff\xd8\xff\xe0 scene photo of a fight " * 50
    digest = await upload(bureau, officer, photo, "image/jpeg")
    report = officer.op(
        "scene_report", joint["id"], {"situation": "见照片", "attachments": [digest]}
    )
    assert (await officer.push([report]))["results"][0]["status"] == "applied"
    assert await status(bureau, "grid_b", digest) == 200
    assert await status(bureau, "officer_b", digest) == 404  # station B does not see A's

    r = await bureau.call(
        "dispatcher",
        "POST",
        f"/api/incidents/{joint['id']}/reassign",
        json={"station_id": bureau.stations["a"], "person_ids": [bureau.people["officer_a"]]},
    )
    assert r.status_code == 200
    assert await status(bureau, "grid_b", digest) == 404

    grid = await Phone(bureau, "grid_b").sign_in()
    bodycam = {
        "camera_serial": "DSJ-7",
        "clip_id": "c-1",
        "started_at": "2026-11-30T01:00:00+00:00",
        "ended_at": "2026-11-30T01:05:00+00:00",
        "sha256": digest,
        "bytes": len(photo),
    }
    quoting = [
        grid.op("note", own["id"], {"text": f"见 /api/blobs/{digest}"}),
        grid.op("bodycam_ref", own["id"], bodycam),
        grid.op("scene_report", own["id"], {"situation": "转引", "attachments": [digest]}),
        grid.op(
            "evidence_item", own["id"], {"kind": "other", "reference": "照片", "sha256": digest}
        ),
    ]
    results = (await grid.push(quoting))["results"]
    assert [r["status"] for r in results] == ["applied"] * 4
    for who in ("grid_b", "officer_b", "chief_b"):
        assert await status(bureau, who, digest) == 404, who
    # The quoting scene report and evidence item were indexed, and neither grants.
    refs = await BlobRef.select(BlobRef.op_id, BlobRef.granted).where(BlobRef.sha256 == digest)
    assert {r["op_id"]: bool(r["granted"]) for r in refs} == {
        report["op_id"]: True,
        quoting[2]["op_id"]: False,
        quoting[3]["op_id"]: False,
    }
    # The people still on A's incident, and the command center, read it as before.
    for who in ("officer_a", "officer_a2", "chief_a", "dispatcher"):
        assert await status(bureau, who, digest) == 200, who


async def test_a_body_camera_hash_grants_nothing_an_evidence_item_does(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident("a", ("officer_a",))
    officer = await Phone(bureau, "officer_a").sign_in()
    still = b"\x89PNG\r\n\x1a\n still from a body camera"
    digest = await upload(bureau, officer, still, "image/png")
    body = {
        "camera_serial": "DSJ-1",
        "clip_id": "c-9",
        "started_at": "2026-11-30T01:00:00+00:00",
        "ended_at": "2026-11-30T01:05:00+00:00",
        "sha256": digest,
        "bytes": len(still),
    }
    await officer.push([officer.op("bodycam_ref", incident["id"], body)])
    assert await status(bureau, "officer_a", digest) == 200  # the uploader
    for who in ("officer_a2", "dispatcher"):
        assert await status(bureau, who, digest) == 404, who
    item = {"kind": "scene_inspection", "reference": "勘察照片", "sha256": digest}
    await officer.push([officer.op("evidence_item", incident["id"], item)])
    for who in ("officer_a2", "dispatcher"):
        assert await status(bureau, who, digest) == 200, who
    assert await status(bureau, "officer_b", digest) == 404


async def test_a_reference_recorded_before_its_upload_grants_once_its_author_uploads(
    bureau: Bureau,
) -> None:
    """Offline, the phone records the report first and uploads the photo when it can: the
    reference waits (not granted) and grants when its author sends the bytes. Someone
    else's upload of the same bytes does not make it grant."""
    incident = await bureau.dispatched_incident("a", ("officer_a", "officer_a2"))
    officer = await Phone(bureau, "officer_a").sign_in()
    colleague = await Phone(bureau, "officer_a2").sign_in()
    photo = b"\xff\xd8\xff scene photo taken offline"
    digest = sha(photo)
    report = officer.op(
        "scene_report", incident["id"], {"situation": "离线", "attachments": [digest]}
    )
    await officer.push([report])
    rec = (await bureau.call("dispatcher", "GET", f"/api/incidents/{incident['id']}")).json()
    assert rec["attachments"] == {digest: "pending"}
    # A colleague sends the same bytes first: they may read them back, nobody else.
    await upload(bureau, colleague, photo, "image/jpeg")
    assert await status(bureau, "officer_a2", digest) == 200
    assert await status(bureau, "dispatcher", digest) == 404
    assert await status(bureau, "officer_a", digest) == 404
    # The author uploads: their reference now grants everyone who sees the incident.
    r = await bureau.client.put(f"/api/blobs/{digest}", content=photo, headers=officer.headers)
    assert r.status_code == 200  # already held
    for who in ("officer_a", "dispatcher", "chief_a"):
        assert await status(bureau, who, digest) == 200, who
    assert await status(bureau, "officer_b", digest) == 404


async def test_blobs_are_served_as_their_bytes_say_never_as_the_uploader_says(
    bureau: Bureau,
) -> None:
    incident = await bureau.dispatched_incident("a", ("officer_a",))
    officer = await Phone(bureau, "officer_a").sign_in()
    page = b"<html><script>alert(document.cookie)</script></html>"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    files = {
        "page": (page, "text/html", "application/octet-stream"),
        "svg": (svg, "image/svg+xml", "application/octet-stream"),
        "png": (PNG, "application/octet-stream", "image/png"),
        "jpeg": (b"\xff\xd8\xff\xdb" + b"\0" * 64, "text/plain", "image/jpeg"),
        "gif": (b"GIF89a" + b"\0" * 32, "text/html", "image/gif"),
        "webp": (b"RIFF\x24\0\0\0WEBPVP8 " + b"\0" * 32, "text/html", "image/webp"),
        "riff_not_webp": (
            b"RIFF\x24\0\0\0WAVEfmt " + b"\0" * 32,
            "image/webp",
            "application/octet-stream",
        ),
    }
    digests = {
        name: await upload(bureau, officer, data, claimed)
        for name, (data, claimed, _) in files.items()
    }
    body = {"situation": "附件", "attachments": sorted(digests.values())}
    await officer.push([officer.op("scene_report", incident["id"], body)])
    for name, (data, _, served) in files.items():
        r = await bureau.call("dispatcher", "GET", f"/api/blobs/{digests[name]}")
        assert r.status_code == 200 and r.content == data, name
        assert r.headers["content-type"] == served, name
        assert r.headers["x-content-type-options"] == "nosniff", name
        disposition = r.headers["content-disposition"]
        if served == "application/octet-stream":
            assert disposition == f'attachment; filename="{digests[name]}.bin"', name
        else:
            assert disposition == f'inline; filename="{digests[name]}.{served[6:]}"', name
        assert r.headers["content-security-policy"] == "default-src 'none'; sandbox", name


async def test_the_index_is_backfilled_from_stored_events(bureau: Bureau) -> None:
    """The migration's backfill, run again over events stored as before the index: a
    reference grants when its author uploaded the blob, or when an earlier granted
    reference sat on the same incident; the rest (here: the blob trick) do not."""
    migration = importlib.import_module("migrations.core.core_2026_11_30t13_00_00_000000")
    incident = await bureau.dispatched_incident("a", ("officer_a", "officer_a2"))
    elsewhere = await bureau.dispatched_incident("b", ("officer_b",))
    officer = await Phone(bureau, "officer_a").sign_in()
    colleague = await Phone(bureau, "officer_a2").sign_in()
    stranger = await Phone(bureau, "officer_b").sign_in()
    photo = b"\xff\xd8\xff backfilled photo"
    digest = await upload(bureau, officer, photo, "image/jpeg")
    first = officer.op("scene_report", incident["id"], {"situation": "1", "attachments": [digest]})
    await officer.push([first])
    second = colleague.op(
        "evidence_item", incident["id"], {"kind": "other", "reference": "x", "sha256": digest}
    )
    await colleague.push([second])
    quoted = stranger.op(
        "scene_report", elsewhere["id"], {"situation": "3", "attachments": [digest]}
    )
    await stranger.push([quoted])
    live = {r["id"]: bool(r["granted"]) for r in await BlobRef.select(BlobRef.id, BlobRef.granted)}

    assert await migration.backfill_references() == 3
    rebuilt = {
        r["id"]: bool(r["granted"]) for r in await BlobRef.select(BlobRef.id, BlobRef.granted)
    }
    assert (
        rebuilt
        == live
        == {
            f"{first['op_id']}:{digest}": True,
            f"{second['op_id']}:{digest}": True,
            f"{quoted['op_id']}:{digest}": False,
        }
    )
    assert await status(bureau, "dispatcher", digest) == 200
    assert await status(bureau, "chief_b", digest) == 404
    # Holders come from blob.uploaded_by (one row here: the officer's upload).
    holders = await BlobHolder.select(BlobHolder.person).where(BlobHolder.sha256 == digest)
    assert [h["person"] for h in holders] == [bureau.people["officer_a"]]
    assert await Blob.count().where(Blob.sha256 == digest) == 1


def test_hashes_stay_out_of_the_access_log() -> None:
    digest = "ab" * 32
    assert redact_path(f"/api/blobs/{digest}") == "/api/blobs/{hex}"
    assert redact_path(f"/rate/{'c' * 40}?x=1") == "/rate/{hex}?x=1"
    assert redact_path("/api/incidents/0123abcd") == "/api/incidents/0123abcd"  # short ids stay
    # As uvicorn logs a request: the path is one of the record's arguments.
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5555", "GET", f"/api/blobs/{digest}", "1.1", 200),
        None,
    )
    assert RedactHexPaths().filter(record)
    assert digest not in record.getMessage()
    assert record.getMessage() == '127.0.0.1:5555 - "GET /api/blobs/{hex} HTTP/1.1" 200'


async def test_a_push_naming_a_thousand_files_is_judged_file_by_file(bureau: Bureau) -> None:
    # 20 reports × 50 attachments: the grant is judged in chunks, and each file on its own.
    incident = await bureau.dispatched_incident("a", ("officer_a",))
    officer = await Phone(bureau, "officer_a").sign_in()
    held = [await upload(bureau, officer, f"照片{i}".encode(), "image/jpeg") for i in range(3)]
    names = sorted({sha(f"未上传{i}".encode()) for i in range(997)} | set(held))
    reports = [
        officer.op(
            "scene_report", incident["id"], {"situation": f"{i}", "attachments": names[i::20]}
        )
        for i in range(20)
    ]
    results = (await officer.push(reports))["results"]
    assert [r["status"] for r in results] == ["applied"] * 20
    granted = await BlobRef.select(BlobRef.sha256).where(BlobRef.granted == True)  # noqa: E712
    assert sorted(r["sha256"] for r in granted) == sorted(held)
    assert await BlobRef.count() == 1000
    for digest in held:
        assert await status(bureau, "dispatcher", digest) == 200
