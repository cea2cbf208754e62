"""The portal's imports point one way: ``app`` → routers → ``deps`` → ``services`` → the rest.

Read from the source with ``ast`` (type-only imports under ``TYPE_CHECKING`` count too), so a
new circle fails here before anyone meets it.
"""

from __future__ import annotations

import ast
from pathlib import Path

PORTAL = Path(__file__).resolve().parents[2] / "plancycle" / "portal"
PACKAGE = "plancycle.portal"


def portal_imports() -> dict[str, set[str]]:
    """Each portal module → the portal modules it imports (anywhere in the file)."""
    graph: dict[str, set[str]] = {}
    modules = {f"{PACKAGE}.{p.stem}" for p in PORTAL.glob("*.py") if p.stem != "__init__"}
    for path in PORTAL.glob("*.py"):
        if path.stem == "__init__":
            continue
        name = f"{PACKAGE}.{path.stem}"
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            found |= {t for t in targets if t in modules and t != name}
            if isinstance(node, ast.ImportFrom) and node.module == PACKAGE and any(
                    f"{PACKAGE}.{a.name}" not in modules for a in node.names):
                found.add(PACKAGE)  # a name re-exported by the package's __init__
        graph[name] = found
    return graph


def test_no_portal_module_imports_the_application_or_the_package_back():
    graph = portal_imports()
    importers = {m for m, targets in graph.items()
                 if f"{PACKAGE}.app" in targets or PACKAGE in targets}
    assert importers == set(), f"{importers} import the application; use plancycle.portal.deps"


def test_portal_imports_have_no_circle():
    graph = portal_imports()
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            assert state.get(target) != 1, " → ".join(path + [target])
            if target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert graph[f"{PACKAGE}.deps"] <= {f"{PACKAGE}.services", f"{PACKAGE}.settings",
                                        f"{PACKAGE}.problems", f"{PACKAGE}.identity",
                                        f"{PACKAGE}.security"}
