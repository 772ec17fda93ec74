"""Benchmark: ``sk.experiment(design, y, treat, by=g)`` on 1,000,000 rows (issue 22: within 2x of
a numpy floor measured in the same run).

Data: 3 arms, 4 groups, 200 strata x 10 PSUs, unequal weights. Cases (--repeat runs each, min /
median / max seconds):

- ``experiment``: ``sk.experiment(design, "y", "arm", by="g")`` on a prebuilt SurveyDesign
  (effects per group and arm, design-based covariance, equal-effects test);
- ``floor``: the same numbers in bare numpy from integer codes already made: cell totals and
  means by ``bincount``, each effect's influence score per row, PSU totals by ``bincount``,
  the stratified with-replacement covariance (centred PSU totals within strata, n_h/(n_h-1)).

Both must agree (max abs difference of the covariance printed).

    python3 bench/experiment.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

import surveykit as sk


def make_data(n: int, seed: int = 20221201) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    h = rng.integers(0, 200, n)
    return pd.DataFrame({"h": h, "psu": h * 100 + rng.integers(0, 10, n),
                         "w": rng.uniform(0.5, 3.0, n), "arm": rng.integers(1, 4, n),
                         "g": rng.integers(1, 5, n), "y": rng.normal(size=n)})


def floor(codes_h: np.ndarray, codes_psu: np.ndarray, n_psu: int, n_h: int, psu_h: np.ndarray,
          w: np.ndarray, y: np.ndarray, arm: np.ndarray, g: np.ndarray) -> tuple[np.ndarray,
                                                                            np.ndarray]:
    G, K = 4, 3
    cell = g * K + arm
    W = np.bincount(cell, weights=w, minlength=G * K)
    m = np.bincount(cell, weights=w * y, minlength=G * K) / W
    we = w * (y - m[cell]) / W[cell]
    cols, theta = [], []
    for gg in range(G):
        for k in (1, 2):
            a, b = gg * K + k, gg * K
            theta.append(m[a] - m[b])
            cols.append(np.bincount(codes_psu, weights=np.where(cell == a, we, 0.0)
                                    - np.where(cell == b, we, 0.0), minlength=n_psu))
    z = np.column_stack(cols)
    nh = np.bincount(psu_h, minlength=n_h)
    zbar = np.column_stack([np.bincount(psu_h, weights=z[:, j], minlength=n_h)
                            for j in range(z.shape[1])]) / nh[:, None]
    d = z - zbar[psu_h]
    f = (nh / (nh - 1))[psu_h]
    return np.array(theta), (d * f[:, None]).T @ d


def times(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    df = make_data(args.rows)
    design = sk.SurveyDesign(df, weights="w", strata="h", psu="psu", nest=False)
    # floor inputs: integer codes made once, outside the timing
    _, psu_codes = np.unique(df["psu"].to_numpy(), return_inverse=True)
    n_psu = int(psu_codes.max()) + 1
    psu_h = np.zeros(n_psu, dtype=np.intp)
    psu_h[psu_codes] = df["h"].to_numpy()
    w, y = df["w"].to_numpy(), df["y"].to_numpy()
    arm, g = df["arm"].to_numpy() - 1, df["g"].to_numpy() - 1
    res = sk.experiment(design, "y", "arm", by="g")
    th, V = floor(df["h"].to_numpy(), psu_codes, n_psu, 200, psu_h, w, y, arm, g)
    diff = max(np.abs(res["estimate"].to_numpy() - th).max(),
               np.abs(res.attrs["vcov"].to_numpy() - V).max())
    t_sk = times(lambda: sk.experiment(design, "y", "arm", by="g"), args.repeat)
    t_fl = times(lambda: floor(df["h"].to_numpy(), psu_codes, n_psu, 200, psu_h, w, y, arm, g),
                 args.repeat)
    print(f"rows {args.rows:,}; 3 arms x 4 groups; 200 strata, {n_psu:,} PSUs; "
          f"max |difference| (estimates, covariance) = {diff:.1e}")
    print("| case | min s | median s | max s |")
    print("| --- | ---: | ---: | ---: |")
    for name, t in (("sk.experiment(by=)", t_sk), ("numpy floor", t_fl)):
        print(f"| {name} | {min(t):.3f} | {np.median(t):.3f} | {max(t):.3f} |")
    print(f"ratio (median) sk / floor = {np.median(t_sk) / np.median(t_fl):.2f} (goal <= 2)")


if __name__ == "__main__":
    main()
