"""Shared set-up of the device benchmark scripts: the output folder, the device, and a results dict written to
OUT/NAME after every measurement (so a run cut at the call's time limit still leaves what it measured)."""
import json
import time
from pathlib import Path

import numpy as np
import torch


def min_image_max_diff(a, b) -> float:
    """Largest |position difference| (Å) between two ase structures of one orthorhombic cell, by minimum image."""
    d = a.positions - b.positions
    d -= a.cell.lengths() * np.round(d / a.cell.lengths())
    return float(np.abs(d).max())


def add_device_args(ap, budget_s: float):
    """--device, --model, --quick and --budget-s, as every device benchmark takes them."""
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--model", default=None, help="shipped model name or checkpoint folder (default: the sio2 default)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (smoke test, e.g. on a CPU)")
    ap.add_argument("--budget-s", type=float, default=budget_s, help="skip later parts once this much time is spent")


class Bench:
    """res: the results (device and torch version first); save() writes them with the elapsed time;
    sync() waits for the GPU; left() is the time budget still unspent (s)."""

    def __init__(self, out, device: str, name: str, budget_s: float = float("inf"), **meta):
        self.t0 = time.perf_counter()
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.dev, self.cuda, self.name, self.budget_s = device, device.startswith("cuda"), name, budget_s
        self.res = {"device": torch.cuda.get_device_name() if self.cuda else "cpu", "torch": torch.__version__,
                    **meta}

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def left(self) -> float:
        return self.budget_s - self.elapsed()

    def save(self):
        self.res["elapsed_s"] = round(self.elapsed(), 1)
        (self.out / self.name).write_text(json.dumps(self.res, indent=1))

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()
