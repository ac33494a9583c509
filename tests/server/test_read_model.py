"""The read model (sync/views.py) is what clients really receive: every record the server
sends decodes strictly as its declared Struct, and the OpenAPI document and
`qingling schema` describe those Structs' fields."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import msgspec

from sync.views import Board, EventView, IncidentRecord, MediationView, ReviewItemView
from tests.live import ROOT
from tests.server.conftest import Bureau
from tests.server.phone import Phone, now

# Decoding rejects a key the Struct does not declare, so a field sent but not described
# (or described but named differently) fails here.
STRICT = {"forbid_unknown_fields": True}


def strict(kind: type[msgspec.Struct]) -> type[msgspec.Struct]:
    return msgspec.defstruct(  # type: ignore[no-any-return]
        kind.__name__, [], bases=(kind,), kw_only=True, **STRICT
    )


def decode(data: object, kind: type[msgspec.Struct]) -> msgspec.Struct:
    return msgspec.json.decode(json.dumps(data), type=strict(kind), strict=True)


async def test_every_record_sent_decodes_as_its_declared_struct(bureau: Bureau) -> None:
    incident = await bureau.dispatched_incident()
    phone = await Phone(bureau, "officer_a").sign_in()
    late = now() - timedelta(hours=2)
    result = await phone.push(
        [
            phone.op("arrival", incident["id"]),
            phone.op("scene_report", incident["id"]),
            phone.op("note", incident["id"], {"text": "迟到的记录"}, device_time=late),
            phone.op("mediation_outcome", None),
        ]
    )
    assert {r["status"] for r in result["results"]} == {"applied"}
    r = await bureau.call(
        "dispatcher", "POST", f"/api/incidents/{incident['id']}/point-check", json={"text": "位置"}
    )
    assert r.status_code == 200

    full = (await bureau.call("dispatcher", "GET", f"/api/incidents/{incident['id']}")).json()
    record = decode(full, IncidentRecord)
    assert isinstance(record, IncidentRecord)
    assert {e.type for e in record.timeline} >= {"received", "dispatched", "arrival", "note"}  # type: ignore[union-attr]
    assert record.point_checks and record.clocks["arrival"].state in ("met", "met_late")

    listed = (await bureau.call("dispatcher", "GET", "/api/incidents")).json()
    for item in listed:
        assert "timeline" not in item
        decode(item, IncidentRecord)
    decode((await bureau.call("dispatcher", "GET", "/api/board")).json(), Board)
    reviews = (await bureau.call("supervisor", "GET", "/api/reviews")).json()
    assert reviews, "the late note opens a review item"
    for item in reviews:
        decode(item, ReviewItemView)

    kinds = {"incident": IncidentRecord, "event": EventView, "review": ReviewItemView}
    kinds["mediation"] = MediationView
    changes = await (await Phone(bureau, "dispatcher").sign_in()).pull_all()
    assert {c["entity"] for c in changes} == set(kinds)
    for change in changes:
        decode(change["data"], kinds[change["entity"]])


async def test_the_openapi_document_describes_the_incident_record(bureau: Bureau) -> None:
    doc = (await bureau.client.get("/schema/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    record = schemas["IncidentRecord"]
    declared = {f.encode_name for f in msgspec.structs.fields(IncidentRecord)}
    assert set(record["properties"]) == declared
    assert "timeline" not in record["required"] and "clocks" in record["required"]
    one = doc["paths"]["/api/incidents/{incident_id}"]["get"]["responses"]["200"]
    assert one["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/IncidentRecord"
    }
    board = doc["paths"]["/api/board"]["get"]["responses"]["200"]
    assert board["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Board"}
    for name in ("TimelineEntry", "ClockView", "Assignee", "ReviewItemView", "ClipView"):
        assert schemas[name]["properties"], name


def test_qingling_schema_prints_what_clients_send_and_receive() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "server.cli", "schema"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    definitions = json.loads(out)["$defs"]
    assert {"PushRequest", "IncidentRecord", "TimelineEntry", "ReviewItemView"} <= set(definitions)
    assert "caller_phone" in definitions["IncidentRecord"]["properties"]
