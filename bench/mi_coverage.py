"""Monte Carlo check of sk.impute + Rubin's rules: coverage of 95 % intervals (not run in CI).

    python3 bench/mi_coverage.py [--sims 300] [--n 400] [--m 10]

A finite population of 100,000 in two strata; each simulation draws a stratified sample
(unequal sampling fractions, so the weights matter), makes ``y`` missing at random given the
fully observed ``x`` (about 30 % missing, more where x is large, so complete cases are biased),
imputes ``y`` m times with ``sk.impute`` (PMM; x, the weights and strata among the predictors)
and estimates the population mean of ``y`` and the slope of ``y`` on ``x`` with the combined
design-based intervals. Reports the share of intervals that contain the population values
(target: within 92-98 %) and, for contrast, complete-case coverage.
"""

from __future__ import annotations

# ruff: noqa: E402
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import surveykit as sk


def population(seed: int = 1, size: int = 100_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    h = (rng.random(size) < 0.3).astype(int)  # stratum 1: 30 % of the population
    x = rng.normal(loc=h * 0.8, size=size)
    y = 1.0 + 0.7 * x + 0.5 * h + rng.normal(size=size)
    return pd.DataFrame({"h": h, "x": x, "y": y})


def one(pop: pd.DataFrame, truth: tuple[float, float], rng: np.random.Generator, n: int,
        m: int, strength: float = 1.0) -> tuple[bool, bool, bool, bool]:
    n1 = n // 2  # stratum 1 oversampled: half the sample from 30 % of the population
    idx = []
    for s, k in ((0, n - n1), (1, n1)):
        rows = np.flatnonzero(pop["h"].to_numpy() == s)
        idx.append(rng.choice(rows, k, replace=False))
    sample = pop.iloc[np.concatenate(idx)].reset_index(drop=True)
    sizes = pop["h"].value_counts()
    sample["w"] = np.where(sample["h"] == 1, sizes[1] / n1, sizes[0] / (n - n1))
    p_miss = 1 / (1 + np.exp(-(-1.1 + strength * sample["x"])))
    sample.loc[rng.random(len(sample)) < p_miss, "y"] = np.nan
    design = sk.SurveyDesign(sample, weights="w", strata="h")
    mi = sk.impute(design, "y", m=m, seed=int(rng.integers(1 << 31)), iterations=5,
                   predictors=["x"])
    mean_mi = sk.mean(mi, "y")
    slope_mi = sk.glm(mi, "y ~ x").tidy().set_index("term").loc["x"]
    mean_cc = sk.mean(design, "y")
    slope_cc = sk.glm(design, "y ~ x").tidy().set_index("term").loc["x"]

    def cov(lo: float, hi: float, t: float) -> bool:
        return bool(lo <= t <= hi)

    return (cov(mean_mi["ci_low"].iloc[0], mean_mi["ci_high"].iloc[0], truth[0]),
            cov(slope_mi["ci_low"], slope_mi["ci_high"], truth[1]),
            cov(mean_cc["ci_low"].iloc[0], mean_cc["ci_high"].iloc[0], truth[0]),
            cov(slope_cc["ci_low"], slope_cc["ci_high"], truth[1]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--sims", type=int, default=300)
    p.add_argument("--n", type=int, default=400)
    p.add_argument("--m", type=int, default=10)
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--strength", type=float, default=1.0,
                   help="logit slope of P(y missing) on x (1.0: missingness concentrated at "
                        "large x, where PMM has few donors)")
    a = p.parse_args(argv)
    pop = population()
    X = np.column_stack([np.ones(len(pop)), pop["x"]])
    slope = float(np.linalg.lstsq(X, pop["y"].to_numpy(), rcond=None)[0][1])
    truth = (float(pop["y"].mean()), slope)  # census values (finite-population targets)
    rng = np.random.default_rng(a.seed)
    hits = []
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(a.sims):
            hits.append(one(pop, truth, rng, a.n, a.m, a.strength))
    h = np.array(hits, dtype=float)
    se = np.sqrt(0.95 * 0.05 / a.sims)
    print(f"{a.sims} simulations, n = {a.n}, m = {a.m} (PMM), y missing at random given x "
          f"(logit slope {a.strength}); {time.perf_counter() - t0:.0f} s")
    print(f"  coverage of 95 % intervals (Monte Carlo SE {se:.3f}):")
    for name, j in (("mean of y, multiply imputed", 0), ("slope y~x, multiply imputed", 1),
                    ("mean of y, complete cases", 2), ("slope y~x, complete cases", 3)):
        print(f"    {name:<30} {h[:, j].mean():.3f}")
    ok = all(0.92 <= h[:, j].mean() <= 0.98 for j in (0, 1))
    print(f"  multiply imputed coverage within 92-98 %: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
