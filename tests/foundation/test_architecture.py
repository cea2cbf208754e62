"""Imports point one way: entrypoints → composition root → services → domain (issue 18.3).

The layers, top to bottom (``docs/architecture.md`` draws them):

- **entrypoints** — what a person or Prefect runs: ``flows/``, ``tasks/``, ``plancycle.cli``,
  ``plancycle.portal``, ``plancycle.stack`` (brings up and inspects the Prefect server, work pool
  and workers), and the rehearsals that drive a whole runtime (``plancycle.demo`` and its
  local Prefect server ``plancycle.prefect_local``, ``plancycle.simulation``,
  ``plancycle.ics.rehearsal``).
- **composition root** — ``plancycle.runtime``: builds the register, clock, notifier and
  links once and hands services a :class:`plancycle.context.CycleContext`.
- **services and domain** — everything else in ``plancycle/``: no Prefect, no FastAPI,
  never the runtime or an entrypoint; ``plancycle.config`` imports no service.

The graph is read from the source with ``ast`` and includes imports inside functions and
under ``TYPE_CHECKING``: a type-only import is still an arrow a newcomer has to follow.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("plancycle", "flows", "tasks")
ENTRYPOINTS = ("flows", "tasks", "plancycle.cli", "plancycle.portal", "plancycle.stack",
               "plancycle.demo", "plancycle.prefect_local", "plancycle.simulation",
               "plancycle.ics.rehearsal")
COMPOSITION = ("plancycle.runtime",)
#: The lowest rooms: what they may import besides themselves.
FOUNDATIONS = {
    "plancycle.config": ("plancycle.config", "plancycle.calendar", "plancycle.clock",
                         "plancycle.schedule", "plancycle.returns.codes"),
    "plancycle.clock": ("plancycle.clock",),
    "plancycle.calendar": ("plancycle.calendar", "plancycle.clock"),
}
FRAMEWORKS = {"prefect": ENTRYPOINTS, "fastapi": ("plancycle.portal",),
              "starlette": ("plancycle.portal",)}


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(module → project modules it imports, module → third-party top-level names)."""
    modules = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    external: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        names: list[str] = []
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                    base = ".".join(parts + ([base] if base else []))
                names += [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                          for alias in node.names]
        graph[module] = {r for n in names if (r := resolve(n)) and r != module}
        external[module] = {n.split(".")[0] for n in names if resolve(n) is None}
    return graph, external


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_circles() -> None:
    graph, _ = _graph()
    assert _cycles(graph) == [], "import circles (type-only imports count)"


def _upward(graph: dict[str, set[str]]) -> list[str]:
    """Arrows from services/domain to the runtime or an entrypoint, and from the runtime to
    an entrypoint."""
    arrows = []
    for module, imports in sorted(graph.items()):
        if _within(module, ENTRYPOINTS):
            continue
        above = ENTRYPOINTS if _within(module, COMPOSITION) else ENTRYPOINTS + COMPOSITION
        arrows += [f"{module} -> {target}" for target in sorted(imports)
                   if _within(target, above)]
    return arrows


def test_imports_point_down_the_layers() -> None:
    graph, _ = _graph()
    assert _upward(graph) == [], "services/domain must not import the runtime or an entrypoint"


def test_foundations_import_only_what_is_below_them() -> None:
    graph, _ = _graph()
    wrong = [f"{module} -> {target}"
             for module, imports in sorted(graph.items())
             for room, allowed in FOUNDATIONS.items() if _within(module, (room,))
             for target in sorted(imports) if not _within(target, allowed)]
    assert wrong == []


def test_frameworks_stay_in_the_entrypoints() -> None:
    _, external = _graph()
    wrong = [f"{module} imports {name}"
             for module, names in sorted(external.items())
             for name, allowed in FRAMEWORKS.items()
             if name in names and not _within(module, allowed)]
    assert wrong == []


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _private_imports(sources: dict[str, str]) -> list[str]:
    """``from m import _name`` from another module, and a ``_module`` imported from outside
    its own package: a private name used across modules is API in hiding (issue 18.2)."""
    wrong = []
    for module, text in sorted(sources.items()):
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                continue
            if node.module.split(".")[0] not in PACKAGES:
                continue
            wrong += [f"{module} imports {node.module}.{a.name}"
                      for a in node.names if _private(a.name)]
            parts = node.module.split(".")
            hidden = next((i for i, part in enumerate(parts) if _private(part)), None)
            if hidden is not None and not module.startswith(".".join(parts[:hidden]) + "."):
                wrong.append(f"{module} imports private module {node.module}")
    return wrong


def test_no_private_names_across_modules() -> None:
    sources = {m: p.read_text() for m, p in _modules().items()}
    assert _private_imports(sources) == []
    assert _private_imports({"plancycle.ics.x": "from plancycle.analysis._f import y\n"
                                                "from plancycle.a import _b, c\n",
                             "plancycle.analysis.g": "from plancycle.analysis._f import y\n"}) \
        == ["plancycle.ics.x imports private module plancycle.analysis._f",
            "plancycle.ics.x imports plancycle.a._b"]


def test_the_check_sees_a_circle_and_an_upward_import() -> None:
    """The checker itself: a made-up graph with one circle and one upward arrow."""
    graph = {"plancycle.a": {"plancycle.b"}, "plancycle.b": {"plancycle.a"},
             "plancycle.c": {"plancycle.runtime"}, "plancycle.runtime": set()}
    assert _cycles(graph) == [["plancycle.a", "plancycle.b"]]
    assert _upward(graph) == ["plancycle.c -> plancycle.runtime"]
    assert _upward({"plancycle.runtime": {"flows.chaser"}}) == ["plancycle.runtime -> flows.chaser"]
    assert _upward({"plancycle.cli.main": {"plancycle.runtime", "flows.chaser"}}) == []
