"""Density of a-SiO2 as a function of cooling rate: linear in log10(rate), fitted on the reference glasses
(paper Fig. 14). Valid (fitted) over the reference rates; extrapolated with a warning out to
1e-2..1e3 K/ps; refused beyond that."""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from amorph_core.errors import AmorphError, AmorphWarning
from amorph_core.systems import get_system

AMU_PER_A3_TO_G_CM3 = 1.66053906660  # 1 amu/Å^3 in g/cm^3


def density_g_cm3(atoms) -> float:
    """Mass density of a periodic structure in g/cm^3."""
    return float(atoms.get_masses().sum() / atoms.get_volume() * AMU_PER_A3_TO_G_CM3)


@dataclass(frozen=True)
class DensityRegression:
    """density [g/cm3] = intercept + slope * log10(rate [K/ps]); fitted over fit_range_k_ps."""

    intercept: float
    slope: float
    fit_range_k_ps: tuple
    allowed_range_k_ps: tuple
    residual_sd: float
    n: int

    def __call__(self, rate_k_ps: float) -> float:
        return self.intercept + self.slope * math.log10(rate_k_ps)


@lru_cache(maxsize=4)
def fit_density_regression(system: str = "sio2") -> DensityRegression:
    """Least-squares fit of density vs log10(cooling rate) on the system's reference glasses."""
    from amorph_core.structures.references import reference_manifest

    sys_ = get_system(system)
    entries = [e for e in reference_manifest(sys_.name)["structures"] if e.get("cooling_rate_k_ps")]
    x = np.log10([e["cooling_rate_k_ps"] for e in entries])
    y = np.array([e["density_g_cm3"] for e in entries])
    if len(set(x)) < 2:
        raise AmorphError(f"system '{system}' has reference glasses at fewer than 2 cooling rates: no regression")
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (intercept + slope * x)
    return DensityRegression(
        intercept=float(intercept), slope=float(slope),
        fit_range_k_ps=(float(10 ** x.min()), float(10 ** x.max())),
        allowed_range_k_ps=tuple(sys_.rate_range_k_ps),
        residual_sd=float(resid.std(ddof=2)) if len(x) > 2 else 0.0, n=len(x),
    )


def positive_rate(rate_k_ps) -> float:
    """A cooling rate as a positive finite float (K/ps), or AmorphError."""
    try:
        rate = float(rate_k_ps)
    except (TypeError, ValueError):
        raise AmorphError(f"cooling rate must be a number in K/ps, got {rate_k_ps!r}") from None
    if not math.isfinite(rate) or rate <= 0:
        raise AmorphError(f"cooling rate must be a positive number of K/ps, got {rate_k_ps!r}")
    return rate


def check_rate(system: str, rate_k_ps: float) -> float:
    """Validate a cooling rate (K/ps): error outside the allowed range, warning outside the trained range."""
    sys_ = get_system(system)
    rate = positive_rate(rate_k_ps)
    lo, hi = sys_.rate_range_k_ps
    if not (lo * (1 - 1e-9) <= rate <= hi * (1 + 1e-9)):
        raise AmorphError(
            f"cooling rate {rate:g} K/ps is outside the supported range {lo:g}..{hi:g} K/ps for {sys_.label} "
            f"(is it in K/s? 1 K/ps = 1e12 K/s)"
        )
    tlo, thi = sys_.trained_rate_range_k_ps
    if not (tlo * (1 - 1e-9) <= rate <= thi * (1 + 1e-9)):
        warnings.warn(
            f"cooling rate {rate:g} K/ps is outside the reference/training range {tlo:g}..{thi:g} K/ps: "
            f"extrapolating", AmorphWarning, stacklevel=2)
    return rate


def density_from_rate(rate_k_ps: float, system: str = "sio2") -> float:
    """Target density (g/cm3) for a cooling rate (K/ps) from the regression; warns when extrapolating."""
    sys_ = get_system(system)
    if not sys_.conditional:
        return sys_.default_density_g_cm3
    rate = check_rate(sys_.name, rate_k_ps)
    return fit_density_regression(sys_.name)(rate)
