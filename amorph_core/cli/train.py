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
    p.add_argument("--sigma-dist", default="uniform",
                   choices=["uniform", "loguniform", "mixture", "window", "lognormal"],
                   help="noise levels per structure: U(0.001, 0.75) Å as in the paper (default), log-uniform, "
                        "a 50/50 mixture of the two, window: half from U(0.1, 0.45) Å, where a-SiO2 freezes, or "
                        "lognormal: EDM's ln(sigma) ~ N(MU, SD^2) (--sigma-lognormal; default -1.4 1.2, median 0.25 Å), "
                        "clipped to the range")
    p.add_argument("--sigma-lognormal", type=float, nargs=2, default=(-1.4, 1.2), metavar=("MU", "SD"),
                   help="mean and sd of ln(sigma / Å) for --sigma-dist lognormal (e.g. -0.6 0.9: median 0.55 Å, "
                        "where a-SiO2's network forms)")
    p.add_argument("--sigma-min", type=float, default=0.001, help="smallest training noise level in Å")
    p.add_argument("--sigma-max", type=float, default=0.75, help="largest training noise level in Å (the "
                                                                 "paper: 0.75; noise-conditional models: 2.5)")
    p.add_argument("--loss-weight", default="paper", choices=["paper", "balanced", "edm"],
                   help="paper: eq. 5 as published (default); balanced: low-noise errors weighted up to ~226x; "
                        "edm: 1 + (0.5 Å / sigma)^2, every noise level's loss on one scale (EDM)")
    p.add_argument("--noise-conditional", action="store_true",
                   help="the model is told the noise level (a noise-blind checkpoint in OUT is grown: its "
                        "weights kept); sample it with --sampler heun or pc")
    p.add_argument("--schedule-start", type=int, default=0, metavar="STEP",
                   help="step where this run's warm-up + cosine learning-rate cycle starts (e.g. the step of the "
                        "checkpoint being fine-tuned)")
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
                      sigma_min=args.sigma_min, sigma_max=args.sigma_max, noise_conditional=args.noise_conditional,
                      schedule_start=args.schedule_start, sigma_lognormal=tuple(args.sigma_lognormal),
                      val_every=max(1, min(500, args.steps)), ckpt_every=max(1, min(1000, args.steps)),
                      warmup=min(200, max(1, (args.steps - args.schedule_start) // 10)))
    train(cfg, args.out, resume=not args.no_resume)
    end_distributed_process()
    return 0
