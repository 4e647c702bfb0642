"""Stress-strain curves of `amorph md tensile --json` results in one plot.

    python benchmarks/plot_tensile.py OUT.png RESULT.json:LABEL [RESULT.json:LABEL ...]
"""
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        print(__doc__)
        return 2
    fig, ax = plt.subplots(figsize=(6, 4))
    for spec in argv[1:]:
        path, _, label = spec.partition(":")
        res = json.loads(Path(path).read_text())
        ax.plot(res["strain"], res["stress_gpa"], label=label or Path(path).stem)
    ax.set_xlabel("tensile strain")
    ax.set_ylabel("stress (GPa)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(argv[0], dpi=90)
    print(f"plot -> {argv[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
