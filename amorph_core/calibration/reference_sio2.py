"""Convert the DM2 a-SiO2 LAMMPS data files into assets/reference/sio2 (extxyz.gz + manifest.json).

Usage: python -m amorph_core.calibration.reference_sio2 ../shared/data/dm2-sio2
"""
import gzip
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

from ase.io import write

from amorph_core.structures.density import density_g_cm3
from amorph_core.structures.io import read_structure
from amorph_core.structures.references import REFERENCE_DIR, VALIDATION_SAMPLES

RATES = {"0_1k": 0.1, "1k": 1.0, "10k": 10.0, "100k": 100.0}


def main(src):
    src = Path(src)
    out = REFERENCE_DIR / "sio2"
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for f in sorted(src.glob("sio2_3000_glass_*_sample*.dat")):
        m = re.match(r"sio2_3000_glass_(.+)_sample(\d+)\.dat", f.name)
        rate, sample = RATES[m.group(1)], int(m.group(2))
        atoms = read_structure(f)
        atoms.info.clear()
        name = f"sio2_{rate:g}Kps_s{sample}.extxyz.gz"
        with gzip.open(out / name, "wt", compresslevel=9) as fh:
            write(fh, atoms, format="extxyz")
        entries.append({
            "file": name, "cooling_rate_k_ps": rate, "sample": sample, "n_atoms": len(atoms),
            "density_g_cm3": round(density_g_cm3(atoms), 5),
            "split": "validation" if sample in VALIDATION_SAMPLES else "train",
            "source": f"DM2 data set, {f.name}",
            "source_sha256": hashlib.sha256(f.read_bytes()).hexdigest(),
        })
    entries.sort(key=lambda e: (e["cooling_rate_k_ps"], e["sample"]))
    manifest = {
        "system": "sio2",
        "description": "24 melt-quenched a-SiO2 glasses (3000 atoms) of Yang & Schwalbe-Koda (2025): "
                       "BJP potential, DSF Coulomb (alpha 0.25 1/A, 8 A), 50 ps at 5000 K, quench at the "
                       "given rate (NPT), 100 ps NPT at 300 K; LAMMPS.",
        "license": "MIT (see LICENSE in this folder)",
        "split_rule": f"sample in {list(VALIDATION_SAMPLES)} -> validation, others -> train, at every rate",
        "structures": entries,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    shutil.copy(src / "LICENSE", out / "LICENSE")
    print(f"wrote {len(entries)} glasses to {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/dm2-sio2")
