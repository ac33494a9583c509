"""A field device for tests: signs in, numbers its ops, pushes and pulls over HTTP."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.server.conftest import PASSWORD, Bureau


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Phone:
    bureau: Bureau
    username: str
    device_id: str = ""
    token: str = ""
    seq: int = 0
    cursor: str | None = None
    held: dict[str, dict[str, Any]] = field(default_factory=dict)  # (entity:id) -> data

    async def sign_in(self, device_id: str | None = None) -> Phone:
        r = await self.bureau.client.post(
            "/api/auth/login",
            json={
                "username": self.username,
                "password": PASSWORD,
                "device": {"id": device_id or f"{self.username}-{uuid.uuid4().hex[:8]}"},
            },
        )
        assert r.status_code == 200, r.text
        self.token = r.json()["token"]
        self.device_id = r.json()["device_id"]
        return self

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def op(
        self,
        type: str,
        incident_id: str | None,
        body: dict[str, Any] | None = None,
        *,
        op_id: str | None = None,
        device_time: datetime | None = None,
        clock_offset_ms: int | None = 0,
        record_id: str | None = None,
        base_op_id: str | None = None,
        seq: int | None = None,
    ) -> dict[str, Any]:
        if seq is None:
            self.seq += 1
            seq = self.seq
        return {
            "op_id": op_id or str(uuid.uuid4()),
            "seq": seq,
            "type": type,
            "incident_id": incident_id,
            "device_time": (device_time or now()).isoformat(),
            "clock_offset_ms": clock_offset_ms,
            "record_id": record_id,
            "base_op_id": base_op_id,
            "body": body if body is not None else default_body(type),
        }

    async def push(
        self, ops: list[dict[str, Any]], *, sent_at: datetime | None = None, expect: int = 200
    ) -> dict[str, Any]:
        body = {"device_id": self.device_id, "sent_at": (sent_at or now()).isoformat(), "ops": ops}
        r = await self.bureau.client.post("/api/sync/push", json=body, headers=self.headers)
        if r.status_code == 401 and expect != 401 and r.json().get("code") == "token_expired":
            # The session ended (tests that move the clock by days outlive it): sign in
            # again under the same device id, as the field app does, and send the same ops.
            await self.sign_in(self.device_id)
            r = await self.bureau.client.post("/api/sync/push", json=body, headers=self.headers)
        assert r.status_code == expect, r.text
        return dict(r.json())

    async def pull_all(self, limit: int = 500) -> list[dict[str, Any]]:
        """Follow the cursor until `more` is false; returns the changes received."""
        received: list[dict[str, Any]] = []
        while True:
            params: dict[str, Any] = {"limit": limit}
            if self.cursor is not None:
                params["cursor"] = self.cursor
            r = await self.bureau.client.get("/api/sync/pull", params=params, headers=self.headers)
            assert r.status_code == 200, r.text
            page = r.json()
            received.extend(page["changes"])
            for change in page["changes"]:
                self.held[f"{change['entity']}:{change['id']}"] = change["data"]
            self.cursor = page["cursor"]
            if not page["more"]:
                return received


def default_body(type: str) -> dict[str, Any]:
    t = now()
    return {
        "arrival": {"lat": 30.0, "lon": 120.0, "accuracy_m": 8.0},
        "ack_dispatch": {},
        "scene_report": {
            "situation": "双方争吵，无人受伤",
            "parties": 2,
            "injured": 0,
            "needs_backup": False,
        },
        "disposition": {"result": "mediated", "summary": "调解成功"},
        "bodycam_ref": {
            "camera_serial": "DSJ-001",
            "clip_id": "clip-1",
            "started_at": (t - timedelta(minutes=5)).isoformat(),
            "ended_at": t.isoformat(),
            "sha256": "a" * 64,
            "bytes": 1000,
        },
        "mediation_outcome": {
            "dispute_type": "邻里纠纷",
            "parties": [{"name": "张三", "role": "申请人"}, {"name": "李四", "role": "被申请人"}],
            "agreement": "reached",
            "terms": "李四赔偿张三200元",
            "follow_up_on": None,
            "mediator_ids": [],
        },
        "evidence_item": {"kind": "interview_record", "reference": "笔录-001", "sha256": None},
        "note": {"text": "已通知社区"},
        "point_check_reply": {"request_id": "pc-1", "text": "正在现场"},
    }[type]
