"""The README's first command, for real: `qingling serve --demo` on a socket, then a
dispatcher signs in, creates and dispatches an incident, as with curl."""

from __future__ import annotations

from pathlib import Path

import httpx

from server.demo import DEMO_PASSWORD
from tests.conftest import TEST_DATABASE_URL
from tests.live import live_server


def test_demo_dispatcher_creates_and_dispatches_over_http(tmp_path: Path) -> None:
    with live_server(TEST_DATABASE_URL, "--demo", log=tmp_path / "server.log") as base:
        with httpx.Client(base_url=base, timeout=10) as http:
            r = http.post(
                "/api/auth/login",
                json={
                    "username": "dispatcher",
                    "password": DEMO_PASSWORD,
                    "device": {"label": "desk"},
                },
            )
            assert r.status_code == 200, r.text
            headers = {"Authorization": f"Bearer {r.json()['token']}"}
            stations = {
                s["name"]: s["id"] for s in http.get("/api/stations", headers=headers).json()
            }
            assert "城关派出所" in stations and "河口派出所" in stations
            # The demo already holds incidents in several states.
            everything = http.get(
                "/api/incidents", params={"status": "all"}, headers=headers
            ).json()
            assert {i["status"] for i in everything} == {
                "received",
                "dispatched",
                "diverted",  # to the linked agencies (PROTOCOL §10)
                "closed",
                "cancelled",
            }
            r = http.post(
                "/api/incidents",
                json={
                    "category": "dispute",
                    "area_type": "urban",
                    "address": "人民路1号",
                    "narrative": "争吵",
                },
                headers=headers,
            )
            assert r.status_code == 201, r.text
            incident = r.json()
            # The officers of 城关派出所, found through a sign-in of one of them.
            officer = http.post(
                "/api/auth/login", json={"username": "officer.zhang", "password": DEMO_PASSWORD}
            ).json()["person"]
            r = http.post(
                f"/api/incidents/{incident['id']}/dispatch",
                json={"station_id": stations["城关派出所"], "person_ids": [officer["id"]]},
                headers=headers,
            )
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "dispatched"
            # The officer now sees it.
            token = http.post(
                "/api/auth/login", json={"username": "officer.zhang", "password": DEMO_PASSWORD}
            ).json()["token"]
            seen = http.get(
                f"/api/incidents/{incident['id']}", headers={"Authorization": f"Bearer {token}"}
            )
            assert seen.status_code == 200
            assert seen.json()["timeline"][-1]["type"] == "dispatched"
