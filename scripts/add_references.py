"""Add melt-quenched glasses to a system's reference set (assets/reference/SYSTEM: the files + manifest.json).

    python scripts/add_references.py cuzr DIR/cuzr_10Kps_s*.extxyz.gz [--runs DIR/cuzr_runs_4.json] [--validation 3 7]
    python scripts/add_references.py cuzr RUN/final.extxyz ...      (RUN: an `amorph md melt-quench --out-dir`)

Each file (as written by `benchmarks/md_device.py cuzr`: an extxyz whose header holds cooling_rate_k_ps, seed,
sample, engine and density_g_cm3) is copied into the set and gets a manifest entry (sha256, split, provenance;
wall_s from the --runs JSON of the same device run). A glass from `amorph md melt-quench` (its final.extxyz: no
sample in the header) becomes sample = its seed, is written into the set as SYSTEM_<rate>Kps_s<sample>.extxyz.gz
with the same header fields as a device glass, and takes wall_s from the run's log.jsonl beside it. An entry of
the same file name is replaced. --validation
lists the samples held out from training (the manifest's split_rule is rewritten to say so); the other samples
are training glasses. The set's description keeps its text with the new glass count.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ase.io  # noqa: E402

from amorph_core.fileio import atomic_write  # noqa: E402
from amorph_core.structures.io import structure_to_bytes  # noqa: E402
from amorph_core.structures.references import REFERENCE_DIR  # noqa: E402

SOURCES = {"cuzr": ("Amorph melt-quench (benchmarks/md_device.py cuzr)",
                    "Mendelev, Sordelet & Kramer 2007 EAM/FS (CuZr_mm.eam.fs)")}
#: where a glass made by `amorph md melt-quench` comes from
CLI_SOURCE = "Amorph melt-quench (amorph md melt-quench)"
#: the header fields a reference glass keeps
RECORD = ("cooling_rate_k_ps", "seed", "engine", "potential", "density_g_cm3")


def _from_cli_run(f: Path, atoms, system: str, folder: Path) -> tuple:
    """A melt-quench run's final.extxyz -> (the set's copy, wall seconds or None): sample = seed, momenta dropped,
    the device glasses' header fields; written atomically, gzip without a time stamp, so the same glass gives
    the same bytes."""
    h = atoms.info
    sample = int(h["seed"])
    a = atoms.copy()
    a.arrays.pop("momenta", None)
    a.info = {k: h[k] for k in RECORD}
    a.info["sample"] = sample
    dest = folder / f"{system}_{float(h['cooling_rate_k_ps']):g}Kps_s{sample}.extxyz.gz"
    atomic_write(dest, gzip.compress(structure_to_bytes(a, "extxyz"), mtime=0))
    log = f.parent / "log.jsonl"
    wall = None
    if log.exists():
        lines = [json.loads(x) for x in log.read_text().splitlines() if x.strip()]
        wall = max((r["wall_s"] for r in lines if "wall_s" in r), default=None)
    return dest, wall


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("system")
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--runs", type=Path, action="append", default=[], help="cuzr_runs_*.json of the device run")
    ap.add_argument("--root", type=Path, default=REFERENCE_DIR, help="the reference sets' folder (default: assets')")
    ap.add_argument("--validation", type=int, nargs="+", default=None,
                    help="samples held out for validation (default: the manifest's current ones)")
    args = ap.parse_args(argv)
    folder = args.root / args.system
    man_path = folder / "manifest.json"
    man = json.loads(man_path.read_text())
    runs = {}
    for r in args.runs:
        runs.update({int(k): v for k, v in json.loads(r.read_text()).items()})
    val = set(args.validation if args.validation is not None else
              [e["sample"] for e in man["structures"] if e.get("split") == "validation"])
    source, potential = SOURCES[args.system]
    entries = {e["file"]: e for e in man["structures"]}
    for f in args.files:
        atoms = ase.io.read(f, format="extxyz")  # the glass's record is its header (atoms.info)
        h = atoms.info
        wall, src = None, source
        if "sample" in h:
            sample = int(h["sample"])
            dest = folder / f.name
            if f.resolve() != dest.resolve():
                shutil.copyfile(f, dest)
        else:
            dest, wall = _from_cli_run(f, atoms, args.system, folder)
            sample, src = int(h["seed"]), CLI_SOURCE
        if sample in runs:
            wall = float(runs[sample]["wall_s"])
        old = entries.get(dest.name, {})
        entries[dest.name] = {
            "file": dest.name, "cooling_rate_k_ps": float(h["cooling_rate_k_ps"]), "sample": sample,
            "n_atoms": len(atoms),
            "density_g_cm3": float(h["density_g_cm3"]), "split": "", "source": old.get("source", src),
            "engine": h["engine"], "potential": potential, "seed": int(h["seed"]),
            "wall_s": round(wall, 1) if wall is not None else old.get("wall_s"),
            "sha256": hashlib.sha256(dest.read_bytes()).hexdigest()}
    structures = sorted(entries.values(), key=lambda e: (e["cooling_rate_k_ps"], e["sample"]))
    for e in structures:
        e["split"] = "validation" if e["sample"] in val else "train"
    man["structures"] = structures
    man["split_rule"] = f"sample in {sorted(val)} -> validation, others -> train"
    man["description"] = re.sub(r"^\d+ ", f"{len(structures)} ", man["description"])
    man_path.write_text(json.dumps(man, indent=1) + "\n")
    n_val = sum(e["split"] == "validation" for e in structures)
    print(f"{man_path}: {len(structures)} glasses ({len(structures) - n_val} train, {n_val} validation)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
