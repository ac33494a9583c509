"""Security headers on pages, their files and the API, and CSV exports a spreadsheet
cannot turn into formulas (PROTOCOL §12 "Pages"; issue 10 finding 10)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.core.config import Settings
from server.core.ids import new_id
from server.core.tables import Station
from server.services.reports import _cell
from tests.server.conftest import Bureau

ROOT = Path(__file__).resolve().parents[2]


def parse_csp(header: str) -> dict[str, list[str]]:
    """A Content-Security-Policy as {directive: [source, ...]}, as a browser reads it
    (directives split on ';', names case-insensitive, the first of a name wins)."""
    policy: dict[str, list[str]] = {}
    for part in header.split(";"):
        tokens = part.split()
        if tokens:
            policy.setdefault(tokens[0].lower(), tokens[1:])
    return policy


class Scripts(HTMLParser):
    """Collects every <script> (its attributes and inline text) and every inline event
    handler attribute (onload=...) of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, Any]] = []
        self.handlers: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        if tag == "script":
            self.scripts.append({"attrs": dict(attrs), "text": ""})
            self._in_script = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1]["text"] += data


def inline_script(html: str) -> list[str]:
    """What in `html` a CSP without 'unsafe-inline' would refuse to run."""
    parser = Scripts()
    parser.feed(html)
    problems = [f"inline handler {h}" for h in parser.handlers]
    for s in parser.scripts:
        if not s["attrs"].get("src") or s["text"].strip():
            problems.append(f"inline <script> {s['text'].strip()[:40]!r}")
    return problems


@pytest.fixture
async def web(settings: Settings, tmp_path: Path) -> AsyncIterator[AsyncTestClient[Any]]:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(
        '<!doctype html><title>清零</title><script type="module" src="/assets/index-abc.js">'
        "</script>",
        encoding="utf-8",
    )
    (dist / "sw.js").write_text('const VERSION = "v1";', encoding="utf-8")
    (dist / "assets" / "index-abc.js").write_text("export {};", encoding="utf-8")
    async with AsyncTestClient(app=create_app(replace(settings, pwa_dist=str(dist)))) as client:
        yield client


PAGES = ["/", "/index.html", "/command/", "/command/index.html"]
FILES = [
    "/sw.js",
    "/assets/index-abc.js",
    "/command/app.js",
    "/command/style.css",
    "/core/index.js",
]


async def test_pages_and_their_files_carry_the_page_policy(web: AsyncTestClient[Any]) -> None:
    for path in PAGES + FILES + ["/assets/missing.js"]:
        r = await web.get(path)
        assert r.status_code == (404 if "missing" in path else 200), path
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["referrer-policy"] == "no-referrer", path
        assert r.headers["x-frame-options"] == "DENY", path
        policy = parse_csp(r.headers["content-security-policy"])
        assert policy["script-src"] == ["'self'"], path
        assert policy["frame-ancestors"] == ["'none'"], path
        assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"], path
        for directive in ("script-src", "default-src"):
            assert not {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(policy[directive]), path
        if path in PAGES:
            assert r.headers["content-type"].startswith("text/html"), path
            assert inline_script(r.text) == [], path


def test_the_pages_in_the_source_tree_have_no_inline_script() -> None:
    # What `make pwa` builds from and /command/ serves as is. (Inline *style* attributes
    # are allowed by style-src-attr; inline script is not.)
    for page in ("pwa/index.html", "pwa/command/index.html"):
        assert inline_script((ROOT / page).read_text(encoding="utf-8")) == [], page
    # And the check itself finds what it must.
    assert inline_script("<script>alert(1)</script>") == ["inline <script> 'alert(1)'"]
    assert inline_script('<script src="/a.js">x()</script>') == ["inline <script> 'x()'"]
    assert inline_script('<img src=x onerror="alert(1)">') == ["inline handler onerror"]


async def test_the_api_and_its_errors_carry_nosniff_and_forbid_framing(
    web: AsyncTestClient[Any],
) -> None:
    for path, code in [("/api/health", 200), ("/api/incidents", 401), ("/api/nope", 404)]:
        r = await web.get(path)
        assert r.status_code == code, path
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert parse_csp(r.headers["content-security-policy"]) == {
            "default-src": ["'none'"],
            "frame-ancestors": ["'none'"],
        }, path
    schema = await web.get("/schema/openapi.json")
    assert schema.status_code == 200
    assert parse_csp(schema.headers["content-security-policy"]) == {"frame-ancestors": ["'none'"]}


# ---------------------------------------------------------------------------------------
# CSV


def test_csv_cells_that_a_spreadsheet_would_run_get_an_apostrophe() -> None:
    cases = {
        "=1+2": "'=1+2",
        "+8613800000000": "'+8613800000000",
        "-2+3": "'-2+3",
        "@SUM(A1:A9)": "'@SUM(A1:A9)",
        "\t=1": "'\t=1",
        "\r=1": "'\r=1",
        "甲派出所": "甲派出所",
        " =1": " =1",  # only the first character counts
        "": "",
    }
    for value, cell in cases.items():
        assert _cell(value) == cell, value
    # Numbers stay numbers (a negative count is a number, not a formula).
    assert _cell(-3) == -3 and _cell(0.825) == 0.825 and _cell(0) == 0 and _cell(None) == ""


async def test_a_csv_report_neutralises_station_names(bureau: Bureau) -> None:
    names = ['=HYPERLINK("http://x","点我")', "+1", "-1", "@A1", "\t=1", "\r=1", "城关所"]
    for name in names:
        await Station.insert(
            Station(
                id=new_id(),
                bureau=bureau.bureau_id,
                name=name,
                kind="police_station",
                area_type="urban",
            )
        )
    r = await bureau.call(
        "dispatcher",
        "GET",
        "/api/reports/daily",
        params={"date": date.today().isoformat(), "format": "csv"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["x-content-type-options"] == "nosniff"
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))
    header = rows[0]
    by_name = {
        row[header.index("name")]: row for row in rows[1:] if len(row) > 3 and row[1] == "station"
    }
    for expected in [
        '\'=HYPERLINK("http://x","点我")',
        "'+1",
        "'-1",
        "'@A1",
        "'\t=1",
        "'\r=1",
        "城关所",
    ]:
        assert expected in by_name, (expected, sorted(by_name))
        # The counts beside it are plain numbers.
        assert by_name[expected][header.index("received")] == "0"
