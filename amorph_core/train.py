"""Train the denoiser on reference glasses (paper eq. 5): noise sigma ~ U(sigma_min, sigma_max) Å per
structure, x_noisy = x + sigma*eps, the model predicts the displacement sigma*eps, MSE loss.

Beyond the paper: a noise-conditional denoiser (TrainConfig.noise_conditional; the model is told sigma) trained
EDM-style (Karras et al. 2022): log-normal noise levels (sigma_dist 'lognormal') and a loss weight per level that
makes every level's loss unit-scale (loss_weight 'edm'). A noise-blind checkpoint is grown into one (its
weights kept; model.denoiser.with_noise_conditioning).

Respects the documented train/validation split of the reference registry. Neighbour lists are built on the
training device. Resumable: train_state.pt (state_dicts + step + RNG states) next to the checkpoint; a time
limit ends a run cleanly so it can be resumed in another call. Single GPU, CPU, or several GPUs through
torchrun (DistributedDataParallel; each rank draws its own batches).
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from amorph_core import __version__
from amorph_core.errors import AmorphError
from amorph_core.fileio import atomic_write
from amorph_core.model.checkpoint import save_checkpoint
from amorph_core.model.denoiser import Denoiser, DenoiserConfig
from amorph_core.model.graph import periodic_graph
from amorph_core.systems import get_system


SIGMA_DISTS = ("uniform", "loguniform", "mixture", "window", "lognormal")  # TrainConfig.sigma_dist
LOSS_WEIGHTS = ("paper", "balanced", "edm")  # TrainConfig.loss_weight


@dataclass(frozen=True)
class TrainConfig:
    """Training settings. sigma in Å; lr per optimizer step; time limit in minutes (None = none)."""

    system: str = "sio2"
    steps: int = 20000
    batch_size: int = 8
    lr: float = 1e-3
    lr_min: float = 1e-5
    warmup: int = 200
    weight_decay: float = 0.0
    sigma_min: float = 0.001
    sigma_max: float = 0.75
    sigma_dist: str = "uniform"  # paper: sigma ~ U(min, max); 'loguniform' / 'mixture' (half each) weight low noise
    loss_weight: str = "paper"  # paper eq. 5 (plain MSE); 'balanced': x (sigma_max^2 + s_w^2) / (sigma^2 + s_w^2)
    loss_weight_sigma: float = 0.05  # s_w (Å) of the balanced weight: below it the weight stops growing
    sigma_window: tuple | None = None  # Å; sigma_dist 'window' draws half the levels here (default: the
    # system's freezing window, GlassSystem.freeze_window_a; a-SiO2 0.1-0.45)
    sigma_lognormal: tuple = (-1.4, 1.2)  # sigma_dist 'lognormal': mean and sd of ln(sigma / Å), clipped to the range
    loss_sigma_data: float = 0.5  # Å, the 'edm' weight 1 + (sigma_data / max(sigma, loss_weight_sigma))^2
    noise_conditional: bool = False  # the model is told sigma (a noise-blind checkpoint in out_dir is grown)
    ema_decay: float = 0.999
    grad_clip: float = 10.0
    val_every: int = 500
    ckpt_every: int = 1000
    seed: int = 0
    device: str = "auto"
    max_minutes: float | None = None
    max_structures: int | None = None  # use only the first N training structures (tiny CPU runs)
    schedule_start: int = 0  # step at which this run's warmup + cosine cycle starts (restart cycles on resume)
    model: dict = field(default_factory=dict)  # DenoiserConfig overrides

    def __post_init__(self):
        if not (self.lr > 0 and 0 <= self.lr_min <= self.lr):
            raise AmorphError(f"learning rates must satisfy lr > 0 and 0 <= lr_min <= lr; got {self.lr}, {self.lr_min}")
        if self.steps < 1 or self.batch_size < 1 or self.warmup < 0 or self.schedule_start < 0:
            raise AmorphError("steps and batch_size must be >= 1, warmup and schedule_start >= 0")
        if not (0 < self.sigma_min < self.sigma_max):
            raise AmorphError(f"noise range must satisfy 0 < sigma_min < sigma_max (Å); got {self.sigma_min}, "
                              f"{self.sigma_max}")
        if not 0 <= self.ema_decay < 1:
            raise AmorphError(f"ema_decay must be in [0, 1); got {self.ema_decay}")
        window = self.sigma_window
        if window is None and self.sigma_dist == "window":
            window = get_system(self.system).freeze_window_a
            if window is None:
                raise AmorphError(f"sigma_dist 'window' needs sigma_window (Å): no freezing window is known for "
                                  f"{self.system}")
        if window is not None:
            lo, hi = (float(x) for x in window)
            if not self.sigma_min <= lo < hi <= self.sigma_max:
                raise AmorphError(f"sigma_window must satisfy sigma_min <= lo < hi <= sigma_max (Å); got {lo}, {hi}")
            object.__setattr__(self, "sigma_window", (lo, hi))  # recorded in the checkpoint; a JSON list -> tuple
        mu, sd = (float(x) for x in self.sigma_lognormal)
        if not (math.isfinite(mu) and math.isfinite(sd) and sd > 0):
            raise AmorphError(f"sigma_lognormal must be (mean, sd > 0) of ln(sigma / Å); got {self.sigma_lognormal}")
        object.__setattr__(self, "sigma_lognormal", (mu, sd))
        if self.sigma_dist not in SIGMA_DISTS:
            raise AmorphError(f"sigma_dist must be one of {', '.join(SIGMA_DISTS)}; got {self.sigma_dist!r}")
        if self.loss_weight not in LOSS_WEIGHTS:
            raise AmorphError(f"loss_weight must be one of {', '.join(LOSS_WEIGHTS)}; got {self.loss_weight!r}")


def _git_version() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=5)
        return out.stdout.strip() or "unknown"
    except Exception:
        return "unknown"


class Dataset:
    """Reference glasses of one split as tensors on a device."""

    def __init__(self, system, split, elements, device, max_structures=None):
        from amorph_core.structures.references import reference_glasses

        glasses = reference_glasses(system, split=split)
        if max_structures:
            glasses = glasses[:max_structures]
        if not glasses:
            raise AmorphError(f"no '{split}' reference glasses for system '{system}'")
        index = {el: i for i, el in enumerate(elements)}
        self.items = []
        h = hashlib.sha256()
        for a in glasses:
            pos = torch.tensor(a.positions, dtype=torch.float32, device=device)
            cell = torch.tensor(a.cell.array, dtype=torch.float32, device=device)
            sp = torch.tensor([index[s] for s in a.get_chemical_symbols()], dtype=torch.long, device=device)
            rate = a.info.get("cooling_rate_k_ps")
            self.items.append((pos, cell, sp, math.log10(rate) if rate else 0.0))
            h.update(np.ascontiguousarray(a.positions).tobytes())
        self.sha256 = h.hexdigest()
        self.names = [f"{a.info.get('cooling_rate_k_ps')}Kps_s{a.info.get('sample')}" for a in glasses]

    def __len__(self):
        return len(self.items)


def mean_neighbors(ds: Dataset, cutoff: float) -> float:
    n_e = n_a = 0
    for pos, cell, _, _ in ds.items:
        src, _, _ = periodic_graph(pos, cell[None], [0, len(pos)], cutoff)
        n_e += len(src)
        n_a += len(pos)
    return n_e / n_a


def make_batch(items, sigmas, gen, device):
    """Noisy batch: positions, cells, species, batch index, ptr, log10 rates, target displacements (Å), noise
    levels (Å, one per structure)."""
    pos, cells, sp, rates, targets, ptr = [], [], [], [], [], [0]
    for (p, c, s, r), sig in zip(items, sigmas):
        eps = torch.randn(p.shape, generator=gen, device=device)
        disp = sig * eps
        noisy = p + disp
        frac = noisy @ torch.linalg.inv(c)
        noisy = (frac - torch.floor(frac)) @ c
        pos.append(noisy)
        cells.append(c)
        sp.append(s)
        rates.append(r)
        targets.append(disp)
        ptr.append(ptr[-1] + len(p))
    counts = torch.tensor([len(p) for p in pos], device=device)
    batch = torch.repeat_interleave(torch.arange(len(pos), device=device), counts)
    return (torch.cat(pos), torch.stack(cells), torch.cat(sp), batch, ptr,
            torch.tensor(rates, dtype=torch.float32, device=device), torch.cat(targets),
            torch.tensor([float(s) for s in sigmas], dtype=torch.float32, device=device))


def sample_sigmas(rng, cfg: TrainConfig, n: int) -> np.ndarray:
    """Per-structure noise levels (Å): U(sigma_min, sigma_max) as in the paper, log-uniform on that range,
    'mixture': each structure's level drawn from one of the two with probability 1/2, or 'window': from the
    paper's U(sigma_min, sigma_max) or U(sigma_window) with probability 1/2 each."""
    if cfg.sigma_dist == "uniform":
        return rng.uniform(cfg.sigma_min, cfg.sigma_max, n)
    if cfg.sigma_dist == "window":
        return np.where(rng.random(n) < 0.5, rng.uniform(cfg.sigma_min, cfg.sigma_max, n),
                        rng.uniform(*cfg.sigma_window, n))
    if cfg.sigma_dist == "lognormal":  # EDM's p(sigma), clipped to [sigma_min, sigma_max]
        mu, sd = cfg.sigma_lognormal
        return np.clip(np.exp(rng.normal(mu, sd, n)), cfg.sigma_min, cfg.sigma_max)
    log_uniform = np.exp(rng.uniform(math.log(cfg.sigma_min), math.log(cfg.sigma_max), n))
    if cfg.sigma_dist == "loguniform":
        return log_uniform
    return np.where(rng.random(n) < 0.5, rng.uniform(cfg.sigma_min, cfg.sigma_max, n), log_uniform)  # mixture


def loss_weights(cfg: TrainConfig, sigmas) -> np.ndarray:
    """Per-structure loss weights for noise levels sigmas (Å): 1 for the paper's eq. 5; 'balanced' scales a
    structure's squared error by (sigma_max^2 + s_w^2) / (sigma^2 + s_w^2) (1 at sigma_max, ~sigma_max^2 / s_w^2
    at low noise), so that low-noise errors, which set the bond lengths the final clean steps converge to,
    are not drowned by the ~1 Å^2 errors at high noise."""
    sigmas = np.asarray(sigmas, dtype=float)
    if cfg.loss_weight == "paper":
        return np.ones_like(sigmas)
    if cfg.loss_weight == "edm":  # lambda = 1 / c_out^2 (EDM), scaled to 1 at high noise, floored at s_w
        return 1.0 + (cfg.loss_sigma_data / np.maximum(sigmas, cfg.loss_weight_sigma)) ** 2
    sw2 = cfg.loss_weight_sigma ** 2  # balanced
    return (cfg.sigma_max ** 2 + sw2) / (sigmas ** 2 + sw2)


def loss_on(model, batch, cutoff, weights=None):
    """Eq. 5: mean over atoms of |predicted - true displacement|^2 (Å^2); weights: one per structure, or None.
    Returns (optimised loss, plain eq.-5 loss)."""
    pos, cells, sp, bidx, ptr, rates, target, sigmas = batch
    src, dst, vec = periodic_graph(pos, cells, ptr, cutoff)
    pred = model(sp, src, dst, vec, bidx, log10_rate=rates, sigma=sigmas)
    per_atom = ((pred - target) ** 2).sum(dim=1)
    plain = per_atom.mean()
    if weights is None:
        return plain, plain
    w = torch.as_tensor(weights, dtype=per_atom.dtype, device=per_atom.device)[bidx]
    return (w * per_atom).mean(), plain


@torch.no_grad()
def validation_loss(model, ds: Dataset, cutoff, device, sigmas=(0.05, 0.2, 0.4, 0.75), seed=1234) -> float:
    """Mean loss over every validation structure at fixed noise levels and fixed noise (comparable runs)."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    total, n = 0.0, 0
    for item in ds.items:
        for s in sigmas:
            total += float(loss_on(model, make_batch([item], [s], gen, device), cutoff)[1])
            n += 1
    return total / n


def _lr(cfg: TrainConfig, step: int) -> float:
    """Learning rate at step: linear warmup, then cosine to lr_min, from schedule_start (never negative)."""
    step = max(0, step - cfg.schedule_start)
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.schedule_start - cfg.warmup))
    return cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (1 + math.cos(math.pi * t))


_KEEP_ALIVE: list = []


def end_distributed_process() -> None:
    """In a torchrun rank (WORLD_SIZE > 1), end the process now, after flushing output: interpreter teardown
    would destroy the DDP reducer kept alive by train() and can deadlock (see train). Otherwise a no-op."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _past_deadline(deadline: float, step: int, distributed: bool, device) -> bool:
    """True once the wall-clock deadline has passed. With several ranks, rank 0's clock decides, checked every
    10 steps, so that all ranks stop after the same step (a rank that stopped alone would hang the others)."""
    if not distributed:
        return time.perf_counter() > deadline
    if step % 10:
        return False
    import torch.distributed as dist

    flag = torch.tensor([float(time.perf_counter() > deadline)], device=device)
    dist.broadcast(flag, src=0)
    return bool(flag.item() > 0)


def _any_rank(flag: bool, distributed: bool, device) -> bool:
    """flag, or'ed over all ranks when distributed."""
    if not distributed:
        return flag
    import torch.distributed as dist

    t = torch.tensor([float(flag)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def train(cfg: TrainConfig, out_dir, resume: bool = True, log=print) -> Path:
    """Train (or resume) a denoiser; writes the EMA model as a checkpoint into out_dir. Returns out_dir."""
    sys_ = get_system(cfg.system)
    out_dir = Path(out_dir)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    distributed = world > 1
    if distributed:
        import torch.distributed as dist

        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        local = int(os.environ.get("LOCAL_RANK", "0"))
        device = f"cuda:{local}" if torch.cuda.is_available() else "cpu"
        if device.startswith("cuda"):
            torch.cuda.set_device(local)
    else:
        device = cfg.device if cfg.device not in (None, "auto") else ("cuda" if torch.cuda.is_available() else "cpu")
    main = rank == 0
    torch.manual_seed(cfg.seed + rank)

    mcfg = dict(cfg.model)
    mcfg.setdefault("elements", sys_.elements)
    mcfg.setdefault("conditional", sys_.conditional)
    mcfg["system"] = sys_.name
    train_ds = Dataset(sys_.name, "train", tuple(mcfg["elements"]), device, cfg.max_structures)
    val_ds = Dataset(sys_.name, "validation", tuple(mcfg["elements"]), device, cfg.max_structures)
    state_path = out_dir / "train_state.pt"
    weights = None  # a checkpoint without optimizer state (a shipped model, a copied one): continue from its weights
    has_ckpt = (out_dir / "config.json").exists() and (out_dir / "model.pt").exists()
    if has_ckpt and not resume:
        raise AmorphError(f"{out_dir} already holds a checkpoint; training from scratch would overwrite it "
                          "(choose a new output directory, or resume)")
    if has_ckpt:
        from amorph_core.model.checkpoint import load_model

        prev_model, prev_doc = load_model(out_dir, system=sys_.name)
        model_cfg = prev_model.cfg
        if cfg.model and main:
            log(f"{out_dir} holds a checkpoint: its architecture is kept and TrainConfig.model "
                f"{dict(cfg.model)} is ignored")
    st = None
    if resume and state_path.exists() and not has_ckpt:
        raise AmorphError(f"{state_path} has no config.json + model.pt beside it: not a resumable training directory")
    if resume and state_path.exists():
        st = torch.load(state_path, map_location="cpu", weights_only=True)
    elif has_ckpt:
        weights = (prev_model.state_dict(), int(prev_doc.get("meta", {}).get("step", 0)))
    else:
        mcfg.setdefault("avg_num_neighbors", round(mean_neighbors(train_ds, mcfg.get("cutoff", 5.0)), 3))
        model_cfg = DenoiserConfig.from_dict(mcfg)
    if cfg.noise_conditional and not model_cfg.noise_conditional:
        if st is not None:
            raise AmorphError(f"{out_dir} holds a noise-blind training state: grow its checkpoint in a new directory")
        from amorph_core.model.denoiser import with_noise_conditioning

        grown = with_noise_conditioning(Denoiser(model_cfg))
        if weights is not None:
            grown_sd = grown.state_dict()
            grown_sd.update(weights[0])
            weights = (grown_sd, weights[1])
        model_cfg = grown.cfg
        if main:
            log("noise-conditional: the model is told sigma (new noise projections start at zero)")
    model = Denoiser(model_cfg).to(device)
    ema = copy.deepcopy(model).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    step = 0
    gen = torch.Generator(device=device)
    gen.manual_seed(cfg.seed * 1000 + rank)
    rng = np.random.default_rng(cfg.seed * 1000 + rank)
    if st is not None:
        model.load_state_dict(st["model"])
        ema.load_state_dict(st["ema"])
        opt.load_state_dict(st["opt"])
        step = int(st["step"])
        how = f"resumed at step {step}"
    elif weights is not None:
        model.load_state_dict(weights[0])
        ema.load_state_dict(weights[0])
        step = weights[1]
        how = f"continuing from the checkpoint's weights at step {step} (no optimizer state: a fresh AdamW)"
    if st is not None or weights is not None:  # a continued run draws new noise, not the first run's again
        gen.manual_seed(cfg.seed * 1000 + rank + step)
        rng = np.random.default_rng(cfg.seed * 1000 + rank + step)
        if main:
            log(how)
    net = model
    if distributed:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[int(os.environ.get("LOCAL_RANK", 0))]
                                                        if device.startswith("cuda") else None)
    out_dir.mkdir(parents=True, exist_ok=True)
    log_path = out_dir / "train_log.jsonl"
    t_start = time.perf_counter()
    n_params = sum(p.numel() for p in model.parameters())
    if main:
        log(f"training {sys_.name}: {len(train_ds)} train / {len(val_ds)} validation structures, "
            f"{n_params} parameters, device {device} x{world}, avg neighbours {model_cfg.avg_num_neighbors}")

    def save(final=False):
        if not main:
            return
        val = validation_loss(ema, val_ds, model_cfg.cutoff, device)
        meta = {
            "system": sys_.name, "step": step, "val_loss_A2": val,
            "train_config": {**asdict(cfg), "model": {} if has_ckpt else dict(cfg.model)},  # what was applied
            "train_data_sha256": train_ds.sha256, "val_data_sha256": val_ds.sha256,
            "train_structures": train_ds.names, "val_structures": val_ds.names,
            "code_version": _git_version(), "amorph_version": __version__, "world_size": world,
            "device": torch.cuda.get_device_name() if device.startswith("cuda") else "cpu",
            "n_parameters": n_params, "final": final,
        }
        prev = {}
        if (out_dir / "config.json").exists():
            prev = json.loads((out_dir / "config.json").read_text()).get("meta", {})
        meta["wall_time_s"] = prev.get("wall_time_s", 0.0) + (time.perf_counter() - t_start) - save.accounted
        save.accounted = time.perf_counter() - t_start
        save_checkpoint(out_dir, ema, meta)
        import io
        buf = io.BytesIO()
        torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                    "step": torch.tensor(step)}, buf)
        atomic_write(state_path, buf.getvalue())
        log(f"step {step}: checkpoint saved (validation loss {val:.5f} Å^2)")
        return val

    save.accounted = 0.0
    losses = []
    deadline = None if cfg.max_minutes is None else t_start + 60 * cfg.max_minutes
    while step < cfg.steps:
        idx = rng.integers(0, len(train_ds), cfg.batch_size)
        sig = sample_sigmas(rng, cfg, cfg.batch_size)
        batch = make_batch([train_ds.items[i] for i in idx], sig, gen, device)
        for g in opt.param_groups:
            g["lr"] = _lr(cfg, step)
        loss, plain = loss_on(net, batch, model_cfg.cutoff,
                              None if cfg.loss_weight == "paper" else loss_weights(cfg, sig))
        plain_v = float(plain.detach())
        diverged = not bool(torch.isfinite(loss)) or plain_v > 1e4  # eq. 5 of a zero prediction: ~3 sigma^2 < 2 Å^2
        if _any_rank(diverged, distributed, device):  # all ranks stop together (one alone would hang the others)
            raise AmorphError(f"training diverged at step {step} (loss {plain_v:.3g} Å^2); the last checkpoint "
                              "in the output directory is kept")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        with torch.no_grad():
            d = min(cfg.ema_decay, (1 + step) / (10 + step))
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(d).add_(pm.detach(), alpha=1 - d)
        step += 1
        losses.append(plain_v)  # logged as eq. 5 whatever the weighting, so runs compare
        if main and (step % 50 == 0 or step == cfg.steps):
            row = {"step": step, "loss_A2": float(np.mean(losses)), "lr": _lr(cfg, step - 1),
                   "elapsed_s": round(time.perf_counter() - t_start, 2)}
            losses = []
            if step % cfg.val_every == 0:
                row["val_loss_A2"] = validation_loss(ema, val_ds, model_cfg.cutoff, device)
            with open(log_path, "a") as fh:
                fh.write(json.dumps(row) + "\n")
            if step % 500 == 0:
                log(json.dumps(row))
        if step % cfg.ckpt_every == 0 and step < cfg.steps:
            save()
        if deadline is not None and _past_deadline(deadline, step, distributed, device):
            if main:
                log(f"time limit reached at step {step}")
            break
    save(final=step >= cfg.steps)
    if distributed:
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()
        # Destroying the DDP reducer while the gloo worker threads still hold finished work deadlocks on the
        # GIL (seen on the CPU); keep it alive, the CLI then ends the process with os._exit.
        _KEEP_ALIVE.append(net)
    return out_dir
