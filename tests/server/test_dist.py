"""The wheel a bureau installs (`make dist`, docs/deploy.md), installed into a fresh venv
and served from outside the checkout: it must carry the field app, the command view, the
rating page and the migrations, and find them inside the installed package.

The wheel is built from the checkout with scripts/build-dist.sh (so pwa/dist must be
built: `make test` runs `make pwa` first). Its dependencies are installed offline, from
wheels repacked out of the distributions this test runs under (the project's .venv, which
`make setup` filled from pyproject.toml): pip still resolves the wheel's declared
dependencies, so a dependency the wheel forgets to declare fails here, but nothing is
downloaded and the install takes seconds, not a minute of index look-ups.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement
from packaging.tags import parse_tag, sys_tags
from packaging.utils import canonicalize_name

from tests.live import ROOT, free_port

pytestmark = pytest.mark.slow

WEB_APPS = ("dist", "command", "core", "rate")
SUPPORTED = frozenset(sys_tags())


def _dependency_closure(root: str) -> list[metadata.Distribution]:
    """The installed distributions `root` needs (with their extras), root excluded."""
    found: dict[str, metadata.Distribution] = {}
    done: set[tuple[str, frozenset[str]]] = set()
    todo: list[tuple[str, frozenset[str]]] = [(root, frozenset())]
    while todo:
        name, extras = todo.pop()
        key = canonicalize_name(name)
        if (key, extras) in done:
            continue
        done.add((key, extras))
        dist = metadata.distribution(name)
        if key != canonicalize_name(root):
            found[key] = dist
        for raw in dist.requires or []:
            req = Requirement(raw)
            wanted = [{"extra": extra} for extra in extras] or [{"extra": ""}]
            if req.marker is not None and not any(req.marker.evaluate(env) for env in wanted):
                continue
            todo.append((req.name, frozenset(req.extras)))
    return list(found.values())


def _repack(dist: metadata.Distribution, wheelhouse: Path) -> None:
    """An installed distribution back into a wheel (its files under site-packages and its
    dist-info; pip writes the console scripts again from entry_points.txt)."""
    wheel_file = dist.read_text("WHEEL") or ""
    tags = [
        line.split(":", 1)[1].strip() for line in wheel_file.splitlines() if line.startswith("Tag:")
    ]
    # The first of its tags this interpreter takes (a py2.py3 wheel lists py2 first).
    tag = next((t for t in tags if parse_tag(t) & SUPPORTED), "py3-none-any")
    name = canonicalize_name(dist.metadata["Name"]).replace("-", "_")
    target = wheelhouse / f"{name}-{dist.version}-{tag}.whl"
    base = Path(str(dist.locate_file("")))
    record = None
    entries: list[str] = []
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as whl:
        for file in dist.files or []:
            path = file.as_posix()
            if path.startswith("..") or "__pycache__" in path or not (base / path).is_file():
                continue
            if path.endswith(".dist-info/RECORD"):
                record = path
                continue
            whl.write(base / path, path)
            entries.append(f"{path},,")
        assert record is not None, f"{dist.metadata['Name']} has no RECORD"
        whl.writestr(record, "\n".join([*entries, f"{record},,"]) + "\n")


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that could point the installed server
    back at the checkout (PYTHONPATH, the venv, Qingling's own settings)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("QINGLING_", "PYTHON", "PICCOLO_", "VIRTUAL_ENV", "PIP_"))
    }
    return {**env, **extra}


@dataclass
class Installed:
    venv: Path
    site_packages: Path
    workdir: Path
    wheel: Path

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    if not (ROOT / "pwa" / "dist" / "index.html").is_file():
        raise RuntimeError("pwa/dist is not built: run `make pwa` (make test does)")
    top = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [str(ROOT / "scripts" / "build-dist.sh"), sys.executable, str(top / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (top / "out").glob("qingling-*.whl")
    assert str(wheel) in built.stdout  # the script names the wheel it made, with its size

    wheelhouse = top / "wheelhouse"
    wheelhouse.mkdir()
    for dist in _dependency_closure("qingling"):
        _repack(dist, wheelhouse)

    venv = top / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--isolated",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--quiet",
            "--no-index",
            "--no-cache-dir",
            # No .pyc for every dependency's every module up front (30 s of the install
            # under load); the server compiles what it imports as it starts.
            "--no-compile",
            "--find-links",
            str(wheelhouse),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=_clean_env(),
    )
    assert install.returncode == 0, install.stdout + install.stderr
    (site_packages,) = (venv / "lib").glob("python3*/site-packages")
    workdir = top / "bureau"  # the server's working folder: not the checkout
    workdir.mkdir()
    return Installed(venv=venv, site_packages=site_packages, workdir=workdir, wheel=wheel)


def test_the_wheel_carries_the_front_ends_and_the_migrations(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for app in WEB_APPS:
        checkout = ROOT / "pwa" / app
        for file in checkout.rglob("*"):
            if file.is_file():
                assert f"server/web/{app}/{file.relative_to(checkout).as_posix()}" in names
    for migration in (ROOT / "migrations" / "core").glob("*.py"):
        assert f"migrations/core/{migration.name}" in names
    assert "piccolo_conf.py" in names


def test_the_installed_server_finds_everything_inside_the_venv(installed: Installed) -> None:
    probe = subprocess.run(
        [
            installed.bin("python"),
            "-c",
            "import server, piccolo_conf, migrations;"
            "from server.core.config import DEFAULT_PWA_DIST, web_folder;"
            "from server.core.piccolo_app import APP_CONFIG;"
            "print(server.__file__); print(piccolo_conf.__file__); print(migrations.__file__);"
            "print(DEFAULT_PWA_DIST); print(APP_CONFIG.migrations_folder_path);"
            "[print(web_folder(n)) for n in ('command', 'core', 'rate')]",
        ],
        cwd=installed.workdir,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    for line in probe.stdout.splitlines():
        assert Path(line).resolve().is_relative_to(installed.site_packages.resolve()), line
        assert Path(line).exists(), line


def test_migrate_on_a_fresh_sqlite_file(installed: Installed) -> None:
    db = installed.workdir / "migrated.db"
    done = subprocess.run(
        [installed.bin("qingling"), "migrate"],
        cwd=installed.workdir,
        env=_clean_env(QINGLING_DATABASE_URL=f"sqlite:///{db}"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "up to date" in done.stdout and db.is_file()


@pytest.fixture(scope="module")
def served(installed: Installed) -> Iterator[str]:
    """`qingling serve` from the venv, in a folder outside the checkout, on a fresh SQLite
    file and a free port; its base URL once /api/health answers."""
    port = free_port()
    log = installed.workdir / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [installed.bin("qingling"), "serve", "--port", str(port), "--log-level", "warning"],
            cwd=installed.workdir,
            env=_clean_env(QINGLING_DATABASE_URL=f"sqlite:///{installed.workdir / 'q.db'}"),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, log.read_text()
                try:
                    if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "not healthy in 60 s: " + log.read_text()
                time.sleep(0.1)
            yield url
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _local_references(html: str) -> list[str]:
    """The same-origin scripts, styles, icons and manifest a page loads."""
    return [
        ref
        for ref in re.findall(r'(?:src|href)="([^"]+)"', html)
        if ref.startswith("/") and not ref.startswith("//")
    ]


@pytest.mark.parametrize(
    ("page", "built"),
    [
        ("/", "dist/index.html"),
        ("/command/", "command/index.html"),
        ("/rate/abc", "rate/index.html"),
    ],
)
def test_each_page_is_the_built_one_and_its_assets_load(
    installed: Installed, served: str, page: str, built: str
) -> None:
    with httpx.Client(base_url=served, timeout=10) as client:
        answer = client.get(page)
        assert answer.status_code == 200, answer.text[:300]
        assert answer.headers["content-type"].startswith("text/html")
        assert answer.text == (installed.site_packages / "server" / "web" / built).read_text()
        references = _local_references(answer.text)
        assert any(ref.endswith(".js") for ref in references), references
        for ref in references:
            assert client.get(ref).status_code == 200, ref


def test_every_front_end_file_answers(installed: Installed, served: str) -> None:
    web = installed.site_packages / "server" / "web"
    prefixes = {"dist": "/", "command": "/command/", "core": "/core/", "rate": "/rate/assets/"}
    with httpx.Client(base_url=served, timeout=10) as client:
        for app, prefix in prefixes.items():
            files = [f for f in (web / app).rglob("*") if f.is_file()]
            assert files, app
            for file in files:
                url = prefix + file.relative_to(web / app).as_posix()
                answer = client.get(url)
                assert answer.status_code == 200, url
                assert answer.content == file.read_bytes(), url


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "deploy").iterdir()))
def test_docs_deploy_shows_each_deploy_file_whole(name: str) -> None:
    """docs/deploy.md shows the unit, the settings file, the nginx site and the wrapper as
    they are in deploy/, so a bureau copying either gets the same thing."""
    text = (ROOT / "deploy" / name).read_text()
    assert text.strip() in (ROOT / "docs" / "deploy.md").read_text(), name
