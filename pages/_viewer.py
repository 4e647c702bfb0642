"""The 3D structure view: HTML of a 3Dmol.js viewer (py3Dmol) with the periodic cell, and its colour legend.

No Streamlit here (the page puts the HTML into an iframe): plain functions, tested without a browser.
Element colours are the glass systems' own (`GlassSystem.colours`, amorph_core/systems.py).
"""
from __future__ import annotations

import json

import numpy as np

from amorph_core.errors import AmorphError
from amorph_core.systems import SYSTEMS

#: where the app serves 3Dmol.js from (static/ with server.enableStaticServing)
JS_URL = "/app/static/3Dmol-min.js"
#: viewer styles (3Dmol style specs); 'auto' picks by atom count
STYLES = {
    "balls and sticks": {"sphere": {"scale": 0.25}, "stick": {"radius": 0.12}},
    "sticks": {"stick": {"radius": 0.15}},
    "lines": {"line": {"linewidth": 1.0}},
    "spheres": {"sphere": {"scale": 0.6}},
}
#: colours of the defect classes, in sorted class order (Si3, Si5, O1, ...)
DEFECT_COLORS = ["#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]
#: an element no registered system colours
OTHER_ELEMENT_COLOR = "#909090"
#: the atoms that are no defect, when colouring by defect
NO_DEFECT_COLOR = "#c8c8c8"


def element_colors() -> dict:
    """{element: hex colour} of every registered glass system."""
    return {el: c for s in SYSTEMS.values() for el, c in s.colours.items()}


def auto_style(n_atoms: int) -> str:
    """Viewer style that stays responsive for n_atoms: balls+sticks to 5k, sticks to 20k, lines above."""
    if n_atoms <= 5000:
        return "balls and sticks"
    if n_atoms <= 20000:
        return "sticks"
    return "lines"


def color_legend(color_by: str, symbols, defects: dict | None = None) -> list:
    """(label, colour) pairs for the 3D view's legend, in the colours viewer_html draws."""
    if color_by == "defect":
        return [(f"{name} ({len(idx)})", DEFECT_COLORS[k % len(DEFECT_COLORS)])
                for k, (name, idx) in enumerate(sorted((defects or {}).items())) if idx] + [("4-/2-fold",
                                                                                               NO_DEFECT_COLOR)]
    colors = element_colors()
    return [(el, colors.get(el, OTHER_ELEMENT_COLOR)) for el in sorted(set(symbols))]


def _xyz_text(atoms) -> str:
    pos = atoms.get_positions()
    sym = atoms.get_chemical_symbols()
    lines = [str(len(atoms)), "amorph"]
    lines += [f"{s} {x:.3f} {y:.3f} {z:.3f}" for s, (x, y, z) in zip(sym, pos)]
    return "\n".join(lines) + "\n"


def _cell_edges(cell) -> list:
    o = np.zeros(3)
    a, b, c = np.asarray(cell)
    corners = [o, a, b, c, a + b, a + c, b + c, a + b + c]
    idx = [(0, 1), (0, 2), (0, 3), (1, 4), (1, 5), (2, 4), (2, 6), (3, 5), (3, 6), (4, 7), (5, 7), (6, 7)]
    return [(corners[p], corners[q]) for p, q in idx]


def viewer_html(atoms, style: str = "auto", color_by: str = "element", defects: dict | None = None,
                width: int = 700, height: int = 520, js_url: str = JS_URL, background: str = "white") -> str:
    """HTML (3Dmol.js via py3Dmol) showing atoms with their periodic cell.

    color_by 'element' colours atoms by element; 'defect' draws everything thin and grey and the
    under/over-coordinated atoms listed in defects ({'Si3': [indices], ...}) as coloured spheres.
    """
    import py3Dmol

    if style == "auto":
        style = auto_style(len(atoms))
    if style not in STYLES:
        raise AmorphError(f"unknown viewer style '{style}' (choose from auto, {', '.join(STYLES)})")
    view = py3Dmol.view(width=width, height=height, js=js_url)
    view.addModel(_xyz_text(atoms), "xyz")
    spec = json.loads(json.dumps(STYLES[style]))
    if color_by == "defect":
        base = ({"line": {"color": "#b0b0b0"}} if len(atoms) > 5000
                else {"stick": {"radius": 0.06, "color": NO_DEFECT_COLOR}})
        view.setStyle({}, base)
        for k, (name, idx) in enumerate(sorted((defects or {}).items())):
            if idx:
                view.addStyle({"index": list(map(int, idx))},
                              {"sphere": {"scale": 0.45, "color": DEFECT_COLORS[k % len(DEFECT_COLORS)]}})
    else:
        view.setStyle({}, spec)
        for el, col in element_colors().items():
            s = {k: dict(v, color=col) for k, v in spec.items()}
            view.setStyle({"elem": el}, s)
    for p, q in _cell_edges(atoms.cell.array):
        view.addLine({"start": dict(zip("xyz", map(float, p))), "end": dict(zip("xyz", map(float, q))),
                      "color": "#333333"})
    view.setBackgroundColor(background)
    view.zoomTo()
    return view._make_html()
