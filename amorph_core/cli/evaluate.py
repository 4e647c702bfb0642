"""`amorph evaluate GEN... --reference sio2:1 [--json OUT]`: judge generated glasses against the reference MD
glasses (analysis.evaluate): defects, shortest bonds, partial-PDF R-factors, angles, rings, entropy, overlaps."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("evaluate", help="judge generated glasses against reference MD glasses",
                       description="Judge generated glasses against the reference glasses of a system at the "
                                   "nearest cooling rate: prints a table (generated mean ± sd between glasses, "
                                   "reference mean) and writes the whole report as JSON with --json.")
    p.add_argument("files", nargs="+", metavar="GEN", help="structure files, or directories of *.extxyz")
    p.add_argument("--reference", required=True, metavar="SYSTEM:RATE",
                   help="reference glasses, e.g. sio2:1 (cooling rate in K/ps; the nearest reference rate is used)")
    p.add_argument("--json", default=None, metavar="OUT", help="write the report as JSON")
    p.add_argument("--no-rings", action="store_true", help="skip ring statistics (faster)")
    p.add_argument("--no-entropy", action="store_true", help="skip QUESTS entropy and overlaps (faster)")
    return p


def _expand(files) -> list:
    from amorph_core.errors import AmorphError

    out = []
    for f in files:
        p = Path(f)
        if p.is_dir():
            found = sorted(q for q in p.glob("*.extxyz") if not q.name.endswith("_refined.extxyz"))
            if not found:
                raise AmorphError(f"{p}: no .extxyz files in this directory")
            out.extend(found)
        elif p.exists():
            out.append(p)
        else:
            raise AmorphError(f"{p}: no such file or directory")
    return out


def run(args):
    from amorph_core.analysis.evaluate import evaluate, format_table
    from amorph_core.analysis.suite import parse_reference
    from amorph_core.fileio import atomic_write
    from amorph_core.structures.io import read_structure

    reference = parse_reference(args.reference)  # refused before any file is read
    paths = _expand(args.files)
    structures = [read_structure(p) for p in paths]
    report = evaluate(structures, reference, rings=not args.no_rings, entropy=not args.no_entropy,
                      progress=lambda msg: print(f"  {msg}", file=sys.stderr))
    report["files"] = [str(p) for p in paths]
    print(format_table(report))
    if args.json:
        atomic_write(Path(args.json), json.dumps(report, indent=1, default=float).encode())
        print(f"report -> {args.json}")
    return 0
