"""The import graph between amorph_core modules has no cycle.

Every module of amorph_core is parsed with ast; each `import amorph_core...` / `from amorph_core... import ...`
statement (module level and inside functions, relative imports resolved) is an edge to the module it loads:
`from amorph_core.md.x import y` is an edge to amorph_core.md.x, `from amorph_core.md import x` to the submodule
amorph_core.md.x when x is one, else to the package. A package __init__ re-exporting its own submodules is not a
loop (edges from a package to modules under it are left out). importlib.import_module(...) by name is not seen.
A failure names one loop per strongly connected set of modules, and the whole set.
"""
from __future__ import annotations

import ast
from pathlib import Path

import amorph_core

ROOT = Path(amorph_core.__file__).resolve().parent
PKG = "amorph_core"

#: loops known and accepted, each as the frozenset of its modules; any other loop fails the check. None at present
#: (the old MD protocols module <-> md.engine_openmm, generate <-> validation, app_support <-> jobs: broken up).
KNOWN_CYCLES: list[frozenset] = []


def _modules() -> dict:
    """{module name: (path, is_package)} for every .py file of amorph_core."""
    out = {}
    for p in sorted(ROOT.rglob("*.py")):
        parts = (PKG,) + p.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            out[".".join(parts[:-1])] = (p, True)
        else:
            out[".".join(parts)] = (p, False)
    return out


def _target(name: str, modules: dict) -> str | None:
    """The longest amorph_core module that name is or lies in (amorph_core.x.y.attr -> amorph_core.x.y)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph() -> dict:
    """{module: {amorph_core modules it imports}}."""
    modules = _modules()
    graph = {}
    for mod, (path, is_pkg) in modules.items():
        package = mod if is_pkg else mod.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[:len(base) - (node.level - 1)]
                    base = ".".join(base + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            for n in names:
                t = _target(n, modules) if n.split(".")[0] == PKG else None
                if t is None or t == mod or (is_pkg and t.startswith(mod + ".")):
                    continue
                targets.add(t)
        graph[mod] = targets
    return graph


def find_cycles(graph: dict) -> list:
    """One cycle (a list of modules, first == last) per strongly connected component of more than one module."""
    index, low, on_stack, stack, sccs = {}, {}, set(), [], []
    counter = [0]

    def strongconnect(v):  # Tarjan; the graph is small, recursion depth stays far below the limit
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(comp)

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    cycles = []
    for comp in sccs:  # a concrete loop through the component: breadth-first from its first module back to it
        start = min(comp)
        prev, queue = {start: None}, [start]
        path = None
        while queue and path is None:
            v = queue.pop(0)
            for w in sorted(graph[v] & comp):
                if w == start:
                    path = [v]
                    while prev[path[-1]] is not None:
                        path.append(prev[path[-1]])
                    path = path[::-1] + [start]
                    break
                if w not in prev:
                    prev[w] = v
                    queue.append(w)
        cycles.append((frozenset(comp), path))
    return cycles


def test_import_graph_is_seen():
    g = import_graph()
    assert "amorph_core.md.potentials" in g["amorph_core.md.engine_openmm"]  # module level
    assert "amorph_core.validation" in g["amorph_core.md.quench"]  # `from amorph_core import validation as V`
    assert "amorph_core.md.refinement" in g["amorph_core.cli.generate"]  # inside a function
    assert not any(t.startswith("amorph_core.md.") for t in g["amorph_core.md"])  # a package's own re-exports


def test_no_import_cycles():
    cycles = [c for c in find_cycles(import_graph()) if c[0] not in KNOWN_CYCLES]
    assert not cycles, "import cycles between amorph_core modules:\n" + "\n".join(
        " -> ".join(path) + f"   (component: {sorted(comp)})" for comp, path in cycles)


def test_cycle_finder_reports_a_loop():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    (comp, path), = find_cycles(g)
    assert comp == {"a", "b", "c"} and path == ["a", "b", "c", "a"]
