"""Copy the Cu50Zr50 glasses made on the device (benchmarks/results/md/cuzr_10Kps_s*.extxyz.gz, by
`benchmarks/md_device.py cuzr`) into assets/reference/cuzr/ with a manifest in the schema of the silica set.

python -m amorph_core.calibration.reference_cuzr
"""
import hashlib
import json
import shutil
from pathlib import Path

import ase.io

from amorph_core.md.quench import MeltQuench
from amorph_core.structures.density import density_g_cm3

ROOT = Path(__file__).resolve().parents[2]


def main():
    src = ROOT / "benchmarks" / "results" / "md"
    dst = ROOT / "assets" / "reference" / "cuzr"
    dst.mkdir(parents=True, exist_ok=True)
    runs = json.loads((src / "cuzr_runs_0.json").read_text())
    files = sorted(src.glob("cuzr_10Kps_s*.extxyz.gz"))
    val = max(int(f.name.split("_s")[1].split(".")[0]) for f in files)
    entries = []
    for f in files:
        a = ase.io.read(f)
        s = int(a.info["sample"])
        shutil.copy(f, dst / f.name)
        entries.append({"file": f.name, "cooling_rate_k_ps": 10.0, "sample": s, "n_atoms": len(a),
                        "density_g_cm3": round(density_g_cm3(a), 5), "split": "validation" if s == val else "train",
                        "source": "Amorph melt-quench (benchmarks/md_device.py cuzr)", "engine": a.info["engine"],
                        "potential": "Mendelev, Sordelet & Kramer 2007 EAM/FS (CuZr_mm.eam.fs)", "seed": s,
                        "wall_s": round(runs[str(s)]["wall_s"], 1),
                        "sha256": hashlib.sha256(f.read_bytes()).hexdigest()})
    man = {
        "system": "cuzr",
        "description": (f"{len(entries)} Cu50Zr50 glasses of 5000 atoms made by Amorph's own melt-quench on one GPU "
                        "(OpenMM 8.6.1 CUDA, mixed precision, Langevin 1/ps + Monte Carlo barostat at 0 bar every 25 "
                        "steps, 1 fs): random start (1.7 Å minimum separation, 7.2 g/cm3), minimisation, 10 ps NVT + "
                        "40 ps NPT at 2000 K, cooling 2000 -> 300 K at 10 K/ps (NPT), 30 ps NPT at 300 K; final 300 K "
                        "snapshot. Potential: Mendelev 2007 EAM (the paper used Cheng, Ma & Sheng 2009, which we do "
                        "not have). Seeds = sample numbers (random start, velocities, thermostat)."),
        "protocol": json.loads(json.dumps(MeltQuench.for_system("cuzr", 10.0).__dict__)),
        "license": "CC0 (generated here); the potential file is GPL-2.0 (LAMMPS distribution)",
        "split_rule": f"sample in [{val}] -> validation, others -> train",
        "structures": entries,
    }
    (dst / "manifest.json").write_text(json.dumps(man, indent=1) + "\n")
    print(json.dumps(man, indent=1))


if __name__ == "__main__":
    main()
