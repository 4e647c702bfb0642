"""The asset builders of amorph_core.calibration reproduce the shipped assets from the result files."""
import json
from pathlib import Path

from amorph_core.calibration import generation_cost

ROOT = Path(__file__).resolve().parents[1]


def test_generation_cost_asset_is_rebuilt_from_the_results():
    doc = generation_cost.build()
    assert doc == json.loads((ROOT / "assets" / "generation_cost.json").read_text())
    for row in doc["rows"]:  # every row names result files that exist
        assert all((ROOT / s.strip()).is_file() for s in row["source"].split(";")), row["source"]
    assert {r["model"] for r in doc["rows"]} >= {"sio2-cond-hq4", "sio2-cond"}
