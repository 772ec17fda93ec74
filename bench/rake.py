"""Benchmark: raking 1,000,000 rows to 6 categorical margins (5, 2, 4, 3, 3, 2 levels), tol 1e-8.

Prints, measured in the same run (best of --repeat):
- surveykit ``rake`` on a prebuilt design (and end to end from the DataFrame),
- the floor: a bare numpy ``np.bincount`` IPF loop on the same integer codes with the same
  convergence rule (every margin within tol x N before its adjustment in a sweep),
- weightipy (``pip install weightipy``; skipped with a note when not importable).
Goal: surveykit <= 1.5x the floor and >= 5x faster than weightipy. (surveykit sweeps over the
table of cells of the margins' cross-classification, so it beats the row-level floor; weightipy
stops on its own rule, when an iteration no longer improves by 1%, hence its tiny deviation: the
tol 1e-14 row shows what that precision costs surveykit.)

    python3 bench/rake.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from surveykit.design import SurveyDesign
from surveykit.weighting import rake

LEVELS = (5, 2, 4, 3, 3, 2)
TOL = 1e-8


def make_data(n: int, seed: int = 20261122) -> tuple[pd.DataFrame, dict[str, dict[int, float]]]:
    """Seeded correlated categorical data (codes 1..k) and target shares unlike the sample's."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=n)
    cols = {}
    margins = {}
    for j, k in enumerate(LEVELS):
        score = 0.8 * latent + rng.normal(size=n)  # correlated margins: IPF needs several sweeps
        cuts = np.quantile(score, np.sort(rng.uniform(0.1, 0.9, k - 1)))
        name = f"v{j + 1}"
        cols[name] = (np.searchsorted(cuts, score) + 1).astype(np.int64)
        shares = rng.dirichlet(np.full(k, 4.0))
        margins[name] = {c + 1: float(s) for c, s in enumerate(shares)}
    return pd.DataFrame(cols), margins


def floor_ipf(codes: list[np.ndarray], targets: list[np.ndarray], tol: float,
              max_iter: int = 100) -> tuple[np.ndarray, int]:
    """The bare numpy IPF loop: bincount, factor per category, gather-multiply."""
    w = np.ones(codes[0].shape[0])
    limit = tol * targets[0].sum()
    for it in range(1, max_iter + 1):
        worst = 0.0
        for c, t in zip(codes, targets, strict=True):
            s = np.bincount(c, weights=w, minlength=t.size)
            worst = max(worst, float(np.abs(s - t).max()))
            w *= (t / s)[c]
        if worst <= limit:
            return w, it
    raise RuntimeError("floor IPF did not converge")


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def max_margin_dev(df: pd.DataFrame, w: np.ndarray, margins: dict, n: float) -> float:
    dev = 0.0
    for col, shares in margins.items():
        got = pd.Series(w).groupby(df[col].to_numpy()).sum()
        dev = max(dev, max(abs(got[k] - s * n) for k, s in shares.items()))
    return dev / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = args.rows
    df, margins = make_data(n)
    print(f"rows {n:,}; margins {LEVELS}; tol {TOL:g}; best of {args.repeat}")

    design = SurveyDesign(df)
    t_sk, res = best_of(lambda: rake(design, margins, tol=TOL), args.repeat)
    t_e2e, _ = best_of(lambda: rake(df, margins, tol=TOL), args.repeat)
    t_tight, res_tight = best_of(lambda: rake(design, margins, tol=1e-14, max_iter=500),
                                 args.repeat)

    codes = [(df[c].to_numpy() - 1).astype(np.intp) for c in margins]
    targets = [np.array([margins[c][k + 1] for k in range(len(margins[c]))]) * n
               for c in margins]
    t_floor, (w_floor, it_floor) = best_of(lambda: floor_ipf(codes, targets, TOL), args.repeat)
    agree = float(np.max(np.abs(res.weights / w_floor - 1)))

    rows = [("surveykit rake (design built)", t_sk, res.iterations,
             max_margin_dev(df, res.weights, margins, n)),
            ("surveykit rake (from DataFrame)", t_e2e, res.iterations, np.nan),
            ("surveykit rake, tol 1e-14", t_tight, res_tight.iterations,
             max_margin_dev(df, res_tight.weights, margins, n)),
            ("numpy bincount IPF (floor)", t_floor, it_floor,
             max_margin_dev(df, w_floor, margins, n))]
    t_wp = None
    try:
        import weightipy as wp
    except ImportError:
        print("note: weightipy not importable (pip install weightipy); skipped")
    else:
        scheme = wp.scheme_from_dict({c: {k: 100 * s for k, s in m.items()}
                                      for c, m in margins.items()})
        def run_wp() -> np.ndarray:
            out = wp.weight_dataframe(df.copy(), scheme, weight_column="w")
            return out["w"].to_numpy()
        t_wp, w_wp = best_of(run_wp, max(1, min(args.repeat, 2)))
        rows.append((f"weightipy {wp.__version__}", t_wp, np.nan,
                     max_margin_dev(df, w_wp, margins, n)))

    print(f"\n{'method':34s} {'seconds':>9s} {'sweeps':>7s} {'max |share dev|':>16s}")
    for name, t, it, dev in rows:
        its = "" if np.isnan(it) else f"{int(it)}"
        devs = "" if np.isnan(dev) else f"{dev:.2e}"
        print(f"{name:34s} {t:9.3f} {its:>7s} {devs:>16s}")
    print(f"\nsurveykit / floor          = {t_sk / t_floor:.2f}x  (goal <= 1.5x)")
    print(f"surveykit end-to-end / floor = {t_e2e / t_floor:.2f}x")
    if t_wp is not None:
        print(f"weightipy / surveykit      = {t_wp / t_sk:.1f}x faster (goal >= 5x)")
    print(f"max relative difference surveykit vs floor weights: {agree:.1e}")


if __name__ == "__main__":
    main()
