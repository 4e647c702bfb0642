"""Checkpoints: a directory with model.pt (a state_dict of tensors only, loaded with weights_only=True) and
config.json (the DenoiserConfig plus provenance: training data hashes, code version, training summary).
Never a pickled object."""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import torch

from amorph_core.errors import AmorphError
from amorph_core.fileio import atomic_write
from amorph_core.model.denoiser import Denoiser, DenoiserConfig

MODELS_DIR = Path(__file__).resolve().parents[2] / "assets" / "models"


class _DefaultModels(Mapping):
    """System name -> its default shipped model (`GlassSystem.default_model`), read live from the registry."""

    def _table(self) -> dict:
        from amorph_core.systems import SYSTEMS

        return {name: s.default_model for name, s in SYSTEMS.items() if s.default_model}

    def __getitem__(self, system):
        return self._table()[system]

    def __iter__(self):
        return iter(self._table())

    def __len__(self):
        return len(self._table())


#: default shipped model per system
DEFAULT_MODELS = _DefaultModels()


def save_checkpoint(directory, model: Denoiser, meta: dict | None = None) -> Path:
    """Write model.pt (state_dict) and config.json (config + meta) into directory, atomically."""
    import io

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buf)
    atomic_write(directory / "model.pt", buf.getvalue())
    cfg = json.loads(model.cfg.to_json())
    doc = {"format": "amorph-denoiser/1", "config": cfg, "meta": meta or {}}
    atomic_write(directory / "config.json", json.dumps(doc, indent=1).encode())
    return directory


def resolve_model_dir(name_or_path) -> Path:
    """A model directory from a shipped model name ('sio2-cond') or a path."""
    p = Path(str(name_or_path))
    if (p / "config.json").exists():
        return p
    q = MODELS_DIR / str(name_or_path)
    if (q / "config.json").exists():
        return q
    raise AmorphError(f"no model '{name_or_path}' (shipped: {', '.join(list_models()) or 'none'}; "
                      f"or give a directory with config.json + model.pt)")


def read_config(name_or_path) -> dict:
    d = resolve_model_dir(name_or_path)
    try:
        doc = json.loads((d / "config.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise AmorphError(f"{d}/config.json is not a valid model config ({exc})") from None
    if doc.get("format") != "amorph-denoiser/1":
        raise AmorphError(f"{d}: not an Amorph denoiser checkpoint")
    return doc


def load_model(name_or_path, device="cpu", system: str | None = None):
    """Load a checkpoint; returns (model in eval mode on device, config document). With system given,
    refuses a checkpoint trained for another system."""
    d = resolve_model_dir(name_or_path)
    doc = read_config(d)
    cfg = DenoiserConfig.from_dict(doc["config"])
    if system is not None and cfg.system != system:
        raise AmorphError(f"model '{name_or_path}' was trained for system '{cfg.system}', not '{system}'")
    model = Denoiser(cfg)
    try:
        state = torch.load(d / "model.pt", map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as exc:  # corrupt or mismatched weights
        raise AmorphError(f"{d}/model.pt could not be loaded into the model of config.json ({exc})") from None
    return model.to(device).eval(), doc


def list_models() -> list:
    """Names of the shipped models under assets/models."""
    if not MODELS_DIR.exists():
        return []
    return sorted(p.name for p in MODELS_DIR.iterdir() if (p / "config.json").exists())


def models_for_system(system: str) -> list:
    """Names of the shipped models trained for system, the default first."""
    names = []
    for name in list_models():
        try:
            if read_config(name)["config"].get("system") == system:
                names.append(name)
        except AmorphError:
            continue
    return sorted(names, key=lambda n: (n != DEFAULT_MODELS.get(system), n))
