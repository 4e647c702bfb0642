"""Registry of glass systems: composition, elements and defaults. Adding a glass is adding data here."""
from __future__ import annotations

from dataclasses import dataclass, field

from amorph_core.errors import AmorphError


@dataclass(frozen=True)
class GlassSystem:
    """A glass-forming system.

    formula: element -> count per formula unit. rate_range_k_ps: cooling rates (K/ps) the app offers;
    trained_rate_range_k_ps: the rates covered by reference data. default_density_g_cm3 is used when the
    system has no cooling-rate density regression (unconditional systems).
    freeze_window_a: the extra-noise levels (Å) over which the sampler's glasses freeze (measured with
    amorph_core.calibration.freeze_window); matched_quench: (F1, alpha) of the 'matched' schedule, whose passage
    through that window has F = F1 (rate / 1 K/ps)^-alpha times the paper's steps per Å (generate.resolve_schedule).
    """

    name: str
    label: str
    formula: dict
    conditional: bool
    default_density_g_cm3: float
    rate_range_k_ps: tuple = (1e-2, 1e3)
    trained_rate_range_k_ps: tuple = (0.1, 100.0)
    bond_cutoffs_a: dict = field(default_factory=dict)
    charges: dict = field(default_factory=dict)
    freeze_window_a: tuple | None = None
    matched_quench: tuple | None = None

    @property
    def elements(self) -> tuple:
        return tuple(self.formula)

    @property
    def atoms_per_formula(self) -> int:
        return sum(self.formula.values())

    def counts(self, n_atoms: int) -> dict:
        """Atom counts per element for a total of n_atoms (must be whole formula units)."""
        n_atoms = int(n_atoms)
        if n_atoms <= 0:
            raise AmorphError(f"number of atoms must be positive, got {n_atoms}")
        per = self.atoms_per_formula
        if n_atoms % per:
            lo = (n_atoms // per) * per
            raise AmorphError(
                f"{self.label} needs whole formula units of {per} atoms: {n_atoms} is not a multiple of "
                f"{per} (try {max(lo, per)} or {lo + per})"
            )
        k = n_atoms // per
        return {el: k * c for el, c in self.formula.items()}

    def check_elements(self, symbols) -> None:
        unknown = sorted(set(symbols) - set(self.elements))
        if unknown:
            raise AmorphError(
                f"element(s) {', '.join(unknown)} not part of system '{self.name}' "
                f"(knows {', '.join(self.elements)})"
            )


SYSTEMS = {
    "sio2": GlassSystem(
        name="sio2",
        label="a-SiO2",
        formula={"Si": 1, "O": 2},
        conditional=True,
        default_density_g_cm3=2.14,
        rate_range_k_ps=(1e-2, 1e3),
        trained_rate_range_k_ps=(0.1, 100.0),
        bond_cutoffs_a={("Si", "O"): 2.0},
        charges={"Si": 2.4, "O": -1.2},
        freeze_window_a=(0.1, 0.45),
        matched_quench=(1.7, 0.4),
    ),
    "cuzr": GlassSystem(
        name="cuzr",
        label="Cu50Zr50",
        formula={"Cu": 1, "Zr": 1},
        conditional=False,
        default_density_g_cm3=7.14,  # mean of assets/reference/cuzr (Mendelev EAM, 10 K/ps, 300 K)
        rate_range_k_ps=(10.0, 10.0),
        trained_rate_range_k_ps=(10.0, 10.0),
        bond_cutoffs_a={},
        charges={},
    ),
}


def get_system(name: str) -> GlassSystem:
    """Look up a system by name ('sio2', 'cuzr'); case-insensitive, accepts labels like 'a-SiO2'."""
    key = str(name).lower().replace("-", "").replace("_", "")
    aliases = {"asio2": "sio2", "silica": "sio2", "cu50zr50": "cuzr", "cuzr": "cuzr", "sio2": "sio2"}
    key = aliases.get(key, key)
    if key not in SYSTEMS:
        raise AmorphError(f"unknown system '{name}' (known: {', '.join(SYSTEMS)})")
    return SYSTEMS[key]


def guess_system(symbols) -> GlassSystem:
    """The system whose elements match the set of symbols of a structure."""
    present = set(symbols)
    for sys_ in SYSTEMS.values():
        if present and present <= set(sys_.elements):
            return sys_
    raise AmorphError(
        f"no known system contains element(s) {', '.join(sorted(present))} "
        f"(known: " + "; ".join(f"{s.name}: {'/'.join(s.elements)}" for s in SYSTEMS.values()) + ")"
    )
