"""Elastic moduli of generated glasses beside the reference glasses' (paper Table 1), as generated and after MD
refinement protocols, with the residual stress each carries after minimisation at its own cell.

    OMP_NUM_THREADS=1 python benchmarks/moduli_generated.py GLASS_DIR OUT_DIR [--seeds 0-5] \
        [--protocols "none;short;1,4"] [--engine lammps] [--reference benchmarks/results/md/moduli_ref1K_lammps.json]

GLASS_DIR holds generated extxyz files with a seed in their header (`amorph generate` output); protocols: 'none'
(as generated) or any `--refine` protocol (parse_refine: short, min, NVT_PS[,NPT_PS]). Each glass and protocol
is written to OUT_DIR/<protocol>_s<seed>.json as soon as it is done (a rerun skips what exists) and
OUT_DIR/summary.json collects mean and sd per protocol (with its seeds; a run with other protocols adds to it)
beside the references' (the same recipe: static
relaxed moduli, strain 1e-3, residual force < 1e-4 eV/Å). Hydrostatic stress: + = tensile.
"""
from __future__ import annotations

import argparse
import json
import statistics as st
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from amorph_core.generate import parse_seeds  # noqa: E402
from amorph_core.md.mechanics import elastic_moduli  # noqa: E402
from amorph_core.md.refinement import parse_refine, refine  # noqa: E402
from amorph_core.structures import density_g_cm3, read_structure  # noqa: E402

KEYS = ("K_GPa", "G_GPa", "E_GPa", "poisson", "hydrostatic_stress_GPa", "density_g_cm3")


def tag(protocol: str) -> str:
    return protocol.replace(",", "+")


def hydrostatic(res: dict) -> float:
    """Mean of the normal stresses after minimisation (GPa, + = tensile)."""
    return sum(res["stress0_GPa"][:3]) / 3


def one(glass: Path, protocol: str, engine: str) -> dict:
    atoms = read_structure(glass)
    if protocol != "none":
        nvt, npt = parse_refine(protocol)
        atoms = refine(atoms, engine=engine, seed=int(atoms.info.get("seed", 0)), nvt_ps=nvt, npt_ps=npt)
    res = elastic_moduli(atoms, engine=engine)
    res["hydrostatic_stress_GPa"] = hydrostatic(res)
    res["density_g_cm3"] = density_g_cm3(atoms)
    res["source"] = str(glass)
    return res


def summarise(rows: list) -> dict:
    return {k: {"mean": st.mean(r[k] for r in rows), "sd": st.stdev(r[k] for r in rows) if len(rows) > 1 else 0.0,
                "n": len(rows)} for k in KEYS if all(k in r for r in rows)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("glass_dir", type=Path)
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--seeds", default="0-5")
    ap.add_argument("--protocols", default="none;short", help="';'-separated: none, short, 1,4 (NVT ps, NPT ps)...")
    ap.add_argument("--engine", default="lammps")
    ap.add_argument("--reference", type=Path,
                    default=Path(__file__).resolve().parent / "results" / "md" / "moduli_ref1K_lammps.json")
    args = ap.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    protocols = [p.strip() for p in args.protocols.split(";")]
    seeds = parse_seeds(args.seeds)
    glasses = {int(read_structure(p).info["seed"]): p for p in sorted(args.glass_dir.glob("*.extxyz"))}
    summary_path = args.out_dir / "summary.json"  # protocols of earlier runs (other seeds) are kept
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    for protocol in protocols:
        rows = []
        for seed in seeds:
            out = args.out_dir / f"{tag(protocol)}_s{seed}.json"
            if not out.exists():
                out.write_text(json.dumps(one(glasses[seed], protocol, args.engine), indent=1))
                print(f"{out.name} done", flush=True)
            rows.append(json.loads(out.read_text()))
        summary[tag(protocol)] = {"seeds": list(seeds), **summarise(rows)}
    if args.reference.exists():
        refs = json.loads(args.reference.read_text())
        for r in refs:
            r.setdefault("hydrostatic_stress_GPa", hydrostatic(r))
        summary["reference"] = {"source": str(args.reference.name), **summarise(refs)}
    summary_path.write_text(json.dumps(summary, indent=1))
    for name, s in summary.items():
        print(name.ljust(12), "  ".join(f"{k.split('_')[0]} {v['mean']:.3f} ± {v['sd']:.3f}" for k, v in s.items()
                                        if isinstance(v, dict)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
