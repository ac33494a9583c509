"""The package boundaries CONVENTIONS.md promises: sync/ stands alone."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWED_IN_SYNC = {"msgspec", "websockets", "sqlite_utils", "sync", "__future__"}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_sync_imports_nothing_from_server() -> None:
    files = sorted((ROOT / "sync").rglob("*.py"))
    assert files, "sync/ has no modules"
    for path in files:
        modules = imported_modules(path)
        assert "server" not in modules, f"{path} imports server/"
        outside = modules - ALLOWED_IN_SYNC - set(sys.stdlib_module_names)
        assert not outside, (
            f"{path} imports {sorted(outside)}: sync/ uses only the stdlib, msgspec, websockets, sqlite-utils"
        )


def test_sync_imports_in_a_fresh_interpreter_without_server() -> None:
    # Importing sync must not pull server/ (or a database driver) in by the back door.
    code = "import sys, sync, sync.messages, sync.rules; bad = [m for m in sys.modules if m.split('.')[0] in ('server', 'piccolo', 'litestar')]; print(bad); sys.exit(1 if bad else 0)"
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
