"""What to generate (GenerationRequest) and how to run it (RunOptions): both frozen, passed whole from the CLI, the
sweep and the app to generate_structures, and stored as JSON (to_dict / from_dict) where a job must be rebuilt."""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, fields

from amorph_core.errors import AmorphError, AmorphWarning
from amorph_core.systems import get_system

#: fields given as 3 numbers (Å or ratios)
_TRIPLES = ("aspect", "box")


@dataclass(frozen=True)
class GenerationRequest:
    """What to generate. Lengths in Å, densities in g/cm^3, cooling rate in K/ps.

    Size: n_atoms (box from density and aspect) or box=(Lx, Ly, Lz). Density: from the cooling-rate
    regression unless given. Pores: pore_radius_a (+ wall_density_g_cm3, pore_lattice 'single'|'hexagonal').
    seeds: one structure per seed. schedule: preset name (see SCHEDULES) or number of steps; 'auto' (default):
    the model's own (the paper's schedule for a noise-blind model, DEFAULT_EVALS evaluations for a solver).
    mode: how the model runs (Generator's modes: auto, eager, segment, graph, compile, compile-graph).
    rate_guidance: w >= 0; each step moves by d(rate) + w (d(rate) - d(1 K/ps)), d the model's displacement:
    w > 0 strengthens the cooling rate's effect (guidance, conditional models only; 0 = the paper's sampler).
    tf32: TF32 matrix products on a CUDA GPU (faster; other rounding, so another trajectory for the same seed).
    sampler: 'paper' (the paper's sampler; noise-blind models), 'heun', 'pc', 'ancestral' or 'renoise' (solvers for
    noise-conditional models, diffusion.solvers: schedule is then the number of network evaluations), or 'auto'
    (the model's kind: DEFAULT_SOLVER for a noise-conditional model, else 'paper').
    """

    system: str = "sio2"
    cooling_rate_k_ps: float | None = None
    n_atoms: int | None = None
    box: tuple | None = None
    aspect: tuple = (1.0, 1.0, 1.0)
    density_g_cm3: float | None = None
    pore_radius_a: float | None = None
    wall_density_g_cm3: float | None = None
    pore_lattice: str = "single"
    seeds: tuple = (0,)
    schedule: object = "auto"
    device: str = "auto"
    model: str | None = None
    max_atoms_per_batch: int | None = None
    mode: str = "auto"
    rate_guidance: float = 0.0
    tf32: bool = False
    sampler: str = "auto"

    def to_dict(self) -> dict:
        """JSON-able fields (tuples as lists); from_dict(to_dict()) == self."""
        d = asdict(self)
        for key in (*_TRIPLES, "seeds"):
            if d[key] is not None:
                d[key] = list(d[key])
        if not isinstance(d["schedule"], (str, int)):
            d["schedule"] = str(d["schedule"])
        return d

    @classmethod
    def from_dict(cls, entry: dict, where: str = "request") -> "GenerationRequest":
        """A request from JSON-like fields (a sweep spec's entry, a stored job): lists become tuples, seeds may be
        '0-5' or '1,4,9'; an unknown field is an AmorphError that names the known ones ('where' says which
        entry)."""
        if not isinstance(entry, dict):
            raise AmorphError(f"{where}: a request is a table of fields, got {entry!r}")
        known = tuple(f.name for f in fields(cls))
        unknown = sorted(set(entry) - set(known))
        if unknown:
            raise AmorphError(f"{where}: unknown field(s) {', '.join(unknown)}; a request has {', '.join(known)}")
        kw = dict(entry)
        if "seeds" in kw:
            kw["seeds"] = parse_seeds(kw["seeds"])
        for key in _TRIPLES:
            if kw.get(key) is not None:
                if not isinstance(kw[key], (list, tuple)) or len(kw[key]) != 3:
                    raise AmorphError(f"{where}: {key} must be a list of 3 numbers, got {kw[key]!r}")
                kw[key] = tuple(float(x) for x in kw[key])
        return cls(**kw)

    def conditioning_rate(self, warn: bool = True) -> float | None:
        """The cooling rate (K/ps) the model is conditioned on: the request's, checked against the system's range
        (AmorphError when a conditional system has none); None for an unconditional system (a rate given to
        one is ignored). warn: say so with an AmorphWarning, and warn of a rate outside the trained range (once per
        request: build_starts does; later look-ups pass warn=False)."""
        if not warn:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", AmorphWarning)
                return self.conditioning_rate()
        from amorph_core.structures.density import check_rate

        sys_ = get_system(self.system)
        rate = self.cooling_rate_k_ps
        if sys_.conditional:
            if rate is None:
                raise AmorphError(f"{sys_.label} generation needs a cooling rate (K/ps)")
            return check_rate(sys_.name, rate)
        if rate is not None:
            warnings.warn(f"{sys_.label} model is not conditional: cooling rate {rate:g} K/ps is ignored",
                          AmorphWarning, stacklevel=2)
        return None


@dataclass(frozen=True)
class RunOptions:
    """How a request is run, apart from what it makes (the same glass whatever these are).

    progress_every: steps between progress events; entropy_every > 0: each progress event also carries the
    QUESTS entropy of every structure, computed every that many steps (costs time; the app's live chart);
    checkpoint_every > 0: each batch's unfinished trajectory is saved every that many steps and on cancel, and
    with resume a later run of the same request continues it and skips batches already written (0: neither).
    """

    progress_every: int = 50
    entropy_every: int = 0
    checkpoint_every: int = 250
    resume: bool = True

    def __post_init__(self):
        for name in ("progress_every", "entropy_every", "checkpoint_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise AmorphError(f"{name} must be a whole number of steps >= 0, got {value!r}")

    @property
    def event_every(self) -> int:
        """Steps between progress events (entropy_every when set: the entropy rides on them)."""
        return self.entropy_every or self.progress_every or 50


def parse_seeds(text) -> tuple:
    """'0-5' -> (0..5); '1,4,9' -> (1, 4, 9); an int -> (int,)."""
    if isinstance(text, int):
        return (text,)
    if isinstance(text, (list, tuple)):
        return tuple(int(s) for s in text)
    from amorph_core.validation import MAX_SEEDS, seeds as check_seeds

    out = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if part.startswith("-"):  # a negative seed, or a range starting at one
                raise AmorphError(f"seeds must be whole numbers >= 0, got {text!r}")
            if "-" in part:
                a, b = (int(x) for x in part.split("-", 1))
                if b < a or b - a >= MAX_SEEDS:
                    raise AmorphError(f"seed range {part} must run upwards over at most {MAX_SEEDS} seeds")
                out.extend(range(a, b + 1))
            else:
                out.append(int(part))
        except ValueError:
            raise AmorphError(f"seeds must look like '0-5' or '1,4,9', got {text!r}") from None
        if len(out) > MAX_SEEDS:
            raise AmorphError(f"more than {MAX_SEEDS} seeds asked for in {text!r}")
    return check_seeds(out)
