"""Benchmark: raking 1,000,000 rows to 6 categorical margins (5, 2, 4, 3, 3, 2 levels), tol 1e-8.

Run twice, on integer codes 1..k and on the same data as string categories ("cat1", ...).
Prints, measured in the same run, min / median / max of --repeat runs (3 by default):
- surveykit ``rake`` on a prebuilt design, and end to end from the DataFrame (the user's call:
  building the design and the category codes included),
- the floor: category codes by ``pd.factorize`` (for integer codes, the codes themselves) and a
  bare numpy ``np.bincount`` IPF loop with the same convergence rule (every margin within
  tol x N before its adjustment in a sweep),
- weightipy (``pip install weightipy``; skipped with a note when not importable).
Goal (issue 14): end to end <= 1.5x the floor and >= 5x faster than weightipy, for both.
(surveykit sweeps over the table of cells of the margins' cross-classification, so it beats the
row-level floor; weightipy stops on its own rule, when an iteration no longer improves by 1%,
hence its tiny deviation.)

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


def runs(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    """Seconds of each of ``repeat`` runs, and the last result."""
    out, ts = None, []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return ts, out


def spread(ts: list[float]) -> str:
    return f"{min(ts):7.3f} {float(np.median(ts)):7.3f} {max(ts):7.3f}"


def as_text(df: pd.DataFrame, margins: dict) -> tuple[pd.DataFrame, dict]:
    """The same data with string categories ("cat1", ...) and targets keyed by them."""
    sdf = pd.DataFrame({c: "cat" + df[c].astype(str) for c in df.columns})
    return sdf, {c: {f"cat{k}": v for k, v in m.items()} for c, m in margins.items()}


def max_margin_dev(df: pd.DataFrame, w: np.ndarray, margins: dict, n: float) -> float:
    dev = 0.0
    for col, shares in margins.items():
        got = pd.Series(w).groupby(df[col].to_numpy()).sum()
        dev = max(dev, max(abs(got[k] - s * n) for k, s in shares.items()))
    return dev / n


def bench_case(kind: str, df: pd.DataFrame, margins: dict, n: int, repeat: int,
               wp: Any) -> None:
    """One data layout: surveykit (design built, end to end), the floor and weightipy."""
    print(f"\n== {kind}")
    design = SurveyDesign(df)
    t_sk, res = runs(lambda: rake(design, margins, tol=TOL), repeat)
    t_e2e, res_e2e = runs(lambda: rake(df, margins, tol=TOL), repeat)

    def floor(df: pd.DataFrame = df, margins: dict = margins) -> tuple[np.ndarray, int]:
        # the bare floor: category codes by pd.factorize (for integer codes 1..k, the
        # codes themselves), targets in code order, bincount IPF
        codes, targets = [], []
        for c, m in margins.items():
            if kind == "integer codes":
                code = (df[c].to_numpy() - 1).astype(np.intp)
                levels = list(range(1, len(m) + 1))
            else:
                code, levels = pd.factorize(df[c])
            codes.append(code)
            targets.append(np.array([m[k] for k in levels]) * n)
        return floor_ipf(codes, targets, TOL)

    t_floor, (w_floor, it_floor) = runs(floor, repeat)
    agree = float(np.max(np.abs(res_e2e.weights / w_floor - 1)))
    rows = [("surveykit rake (design built)", t_sk, res.iterations,
             max_margin_dev(df, res.weights, margins, n)),
            ("surveykit rake (from DataFrame)", t_e2e, res_e2e.iterations,
             max_margin_dev(df, res_e2e.weights, margins, n)),
            ("numpy factorize + bincount IPF (floor)", t_floor, it_floor,
             max_margin_dev(df, w_floor, margins, n))]
    t_wp = None
    if wp is not None:
        scheme = wp.scheme_from_dict({c: {k: 100 * s for k, s in m.items()}
                                      for c, m in margins.items()})

        def run_wp(df: pd.DataFrame = df, scheme: Any = scheme) -> np.ndarray:
            out = wp.weight_dataframe(df.copy(), scheme, weight_column="w")
            return out["w"].to_numpy()

        t_wp, w_wp = runs(run_wp, repeat)
        rows.append((f"weightipy {wp.__version__}", t_wp, np.nan,
                     max_margin_dev(df, w_wp, margins, n)))
    print(f"{'method':40s} {'min':>7s} {'median':>7s} {'max':>7s} {'sweeps':>7s} "
          f"{'max |share dev|':>16s}")
    for name, t, it, dev in rows:
        its = "" if np.isnan(it) else f"{int(it)}"
        devs = "" if np.isnan(dev) else f"{dev:.2e}"
        print(f"{name:40s} {spread(t)} {its:>7s} {devs:>16s}")
    med = float(np.median(t_e2e))
    print(f"end to end / floor = {med / np.median(t_floor):.2f}x (goal <= 1.5x); "
          f"per run {', '.join(f'{a / b:.2f}' for a, b in zip(t_e2e, t_floor, strict=True))}")
    if t_wp is not None:
        print(f"weightipy / end to end = {np.median(t_wp) / med:.1f}x faster (goal >= 5x); "
              f"per run {', '.join(f'{a / b:.1f}' for a, b in zip(t_wp, t_e2e, strict=True))}")
    print(f"max relative difference surveykit vs floor weights: {agree:.1e}")



def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = args.rows
    idf, imargins = make_data(n)
    print(f"rows {n:,}; margins {LEVELS}; tol {TOL:g}; {args.repeat} runs each: "
          "min / median / max seconds")
    try:
        import weightipy as wp
    except ImportError:
        wp = None
        print("note: weightipy not importable (pip install weightipy); skipped")
    for kind, (df, margins) in (("integer codes", (idf, imargins)),
                                ("string categories", as_text(idf, imargins))):
        bench_case(kind, df, margins, n, args.repeat, wp)


if __name__ == "__main__":
    main()
