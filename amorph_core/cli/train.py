"""`amorph train`: train (or resume) a denoiser on the reference glasses of a system."""
from __future__ import annotations


def add_parser(sub):
    p = sub.add_parser("train", help="train a denoiser on the reference glasses",
                       description="Train a denoiser (train split of the reference registry; validation split "
                                   "held out). Resumes from OUT/train_state.pt when present; a checkpoint in OUT without it (a "
                                   "shipped or copied model) is fine-tuned from its weights at its step.")
    p.add_argument("--system", default="sio2")
    p.add_argument("--out", required=True, help="checkpoint directory")
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--max-minutes", type=float, default=None, help="stop cleanly (resumable) after this long")
    p.add_argument("--device", default="auto")
    p.add_argument("--max-structures", type=int, default=None, help="use only N training structures")
    p.add_argument("--tiny", action="store_true", help="a tiny model for CPU smoke runs")
    p.add_argument("--no-resume", action="store_true",
                   help="train from scratch (refused if OUT already holds a checkpoint)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sigma-dist", default="uniform", choices=["uniform", "loguniform", "mixture", "window"],
                   help="noise levels per structure: U(0.001, 0.75) Å as in the paper (default), log-uniform, "
                        "a 50/50 mixture of the two, or window: half from U(0.1, 0.45) Å, where a-SiO2 freezes")
    p.add_argument("--loss-weight", default="paper", choices=["paper", "balanced"],
                   help="paper: eq. 5 as published (default); balanced: low-noise errors weighted up to ~226x")
    return p


def run(args):
    from amorph_core.errors import AmorphError
    from amorph_core.train import TrainConfig, end_distributed_process, train

    if args.steps <= 0 or args.batch_size <= 0:
        raise AmorphError("--steps and --batch-size must be positive")
    model = {}
    if args.tiny:
        model = dict(num_blocks=1, hidden_scalars=8, hidden_vectors=4, radial_hidden=8, num_bessel=4)
    cfg = TrainConfig(system=args.system, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                      max_minutes=args.max_minutes, device=args.device, max_structures=args.max_structures,
                      model=model, seed=args.seed, sigma_dist=args.sigma_dist, loss_weight=args.loss_weight,
                      val_every=max(1, min(500, args.steps)), ckpt_every=max(1, min(1000, args.steps)),
                      warmup=min(200, max(1, args.steps // 10)))
    train(cfg, args.out, resume=not args.no_resume)
    end_distributed_process()
    return 0
