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


# ---------------------------------------------------------------------------------------
# The server's layers (docs/architecture.md): imports flow one way, from transport down
# to core. A module may import its own layer and the layers below it, never above.

LAYERS = ("core", "access", "record", "write", "services", "live", "http")
# Modules directly under server/ compose the rest: the app factory, the command line and
# the demo seed stand above every layer.
TOP = "top"
# The write path, in order: a step may use the steps after it, never one before it.
WRITE_PATH = (
    "ingest",
    "reconcile",
    "verdicts",
    "supervision",
    "review_items",
    "publish",
    "feed",
    "group",
)
# Our own top-level modules and packages, whose imports the rules below govern.
OURS = ("server", "sync", "piccolo_conf")


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules(root: Path) -> dict[str, Path]:
    files = [*sorted((root / "server").rglob("*.py")), *sorted((root / "sync").rglob("*.py"))]
    if (root / "piccolo_conf.py").exists():
        files.append(root / "piccolo_conf.py")
    return {module_name(root, p): p for p in files}


def _resolve(target: str, names: list[str], modules: dict[str, Path]) -> set[str]:
    """`from target import a, b`: each name that is a module of ours, else `target`."""
    found = {f"{target}.{n}" for n in names if f"{target}.{n}" in modules}
    if len(found) < len(names) and target in modules:
        found.add(target)
    return found


def project_imports(root: Path, modules: dict[str, Path]) -> dict[str, list[tuple[str, int, bool]]]:
    """For each of our modules: (imported module of ours, line, inside a function?)."""
    out: dict[str, list[tuple[str, int, bool]]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        in_function: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                in_function.update(id(n) for n in ast.walk(node) if n is not node)
        edges: list[tuple[str, int, bool]] = []
        for node in ast.walk(tree):
            targets: set[str] = set()
            if isinstance(node, ast.Import):
                targets = {a.name for a in node.names if a.name.split(".")[0] in OURS}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    package = name.rsplit(".", node.level)[0] if "." in name else name
                    base = f"{package}.{node.module}" if node.module else package
                else:
                    base = node.module or ""
                if base.split(".")[0] in OURS:
                    targets = _resolve(base, [a.name for a in node.names], modules)
            for target in targets:
                edges.append((target, node.lineno, id(node) in in_function))
        out[name] = edges
    return out


def layer_of(module: str) -> str | None:
    if module == "piccolo_conf":
        return "core"  # Piccolo's configuration: core, at the root only because Piccolo looks there
    parts = module.split(".")
    if parts[0] != "server":
        return None  # sync/: below the server, checked on its own
    if len(parts) >= 2 and parts[1] in LAYERS:
        return parts[1]
    return TOP


def rank(layer: str) -> int:
    return len(LAYERS) if layer == TOP else LAYERS.index(layer)


def layering_problems(root: Path) -> list[str]:
    """Every import that breaks the layering, every import cycle, every import of ours
    made inside a function; empty when the tree is as docs/architecture.md draws it."""
    modules = project_modules(root)
    imports = project_imports(root, modules)
    problems: list[str] = []
    for module, edges in imports.items():
        here = layer_of(module)
        for target, line, in_function in edges:
            where = f"{modules[module].relative_to(root)}:{line}"
            if in_function:
                problems.append(f"{where}: imports {target} inside a function")
            there = layer_of(target)
            if target.split(".")[0] == "server" and here is None:
                problems.append(f"{where}: {module} (below the server) imports {target}")
            if here is None or there is None:
                continue
            if rank(there) > rank(here):
                problems.append(
                    f"{where}: {module} ({here}) imports {target} ({there}), a layer above"
                )
            if here == there == "services" and module != target:
                problems.append(f"{where}: services never import each other: {module} -> {target}")
            if here == there == "write":
                step = module.split(".")[2] if module.count(".") >= 2 else ""
                other = target.split(".")[2] if target.count(".") >= 2 else ""
                if step in WRITE_PATH and other in WRITE_PATH:
                    if WRITE_PATH.index(other) < WRITE_PATH.index(step):
                        problems.append(
                            f"{where}: the write path runs {' -> '.join(WRITE_PATH)}; "
                            f"{step} must not import {other}"
                        )
    problems.extend(f"import cycle: {' -> '.join(c)}" for c in cycles(imports))
    return problems


def cycles(imports: dict[str, list[tuple[str, int, bool]]]) -> list[list[str]]:
    """The import cycles among our modules (one path around each strongly connected set)."""
    graph = {
        m: sorted({t for t, _, _ in edges if t in imports and t != m})
        for m, edges in imports.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            members = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                members.append(top)
                if top == node:
                    break
            if len(members) > 1:
                found.append(sorted(members))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_server_is_layered_without_cycles() -> None:
    problems = layering_problems(ROOT)
    assert not problems, "\n".join(problems)


def test_every_server_module_belongs_to_a_layer() -> None:
    stray = [
        p.relative_to(ROOT)
        for p in (ROOT / "server").glob("*.py")
        if p.stem not in ("__init__", "app", "cli", "demo")
    ]
    assert not stray, f"put these in a layer's package (docs/architecture.md): {stray}"


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_the_layering_check_catches_what_it_forbids(tmp_path: Path) -> None:
    # The check itself, on a small tree made to break each rule once.
    root = _tree(
        tmp_path,
        {
            "server/__init__.py": "",
            "server/core/__init__.py": "",
            "server/core/db.py": "from server.services import incidents\n",
            "server/services/__init__.py": "",
            "server/services/incidents.py": "from server.services.reviews import x\n",
            "server/services/reviews.py": "def f():\n    from server.core import db\n",
            "server/write/__init__.py": "",
            "server/write/feed.py": "from server.write.reconcile import y\n",
            "server/write/reconcile.py": "from server.write import feed\n",
            "sync/__init__.py": "",
            "sync/rules.py": "import server.core.db\n",
        },
    )
    problems = "\n".join(layering_problems(root))
    assert (
        "server.core.db (core) imports server.services.incidents (services), a layer above"
        in problems
    )
    assert (
        "services never import each other: server.services.incidents -> server.services.reviews"
        in problems
    )
    assert "imports server.core.db inside a function" in problems
    assert "feed must not import reconcile" in problems
    assert "import cycle: server.write.feed -> server.write.reconcile" in problems
    assert "server.core.db" in problems and "(below the server) imports server.core.db" in problems
    # And a tree that keeps the rules passes.
    clean = _tree(
        tmp_path / "clean",
        {
            "server/__init__.py": "",
            "server/core/__init__.py": "",
            "server/core/db.py": "import sqlite3\n",
            "server/services/__init__.py": "",
            "server/services/incidents.py": "from server.core import db\n",
            "sync/__init__.py": "",
        },
    )
    assert layering_problems(clean) == []
