"""Benchmark: proportion / mean / total by group on a large linearisation design against a
numpy linearisation floor measured in the same run (issue 14, goal 4).

    python3 bench/estimate_by.py [--rows 10000000] [--repeat 3]

Data: ``--rows`` respondents, 50 strata x 40 PSUs (2,000 PSUs), unequal weights, a 7-level
group ``g``, a 5-level outcome ``y`` and a continuous ``x``. The floor is what a hand-written
numpy linearisation needs for the same numbers: ``np.unique`` to code the PSUs, one
``bincount`` over PSU x group x level (or PSU x group for w and w x), the ratio influence
totals and stratum centring. surveykit runs on a design built beforehand (the build time is
printed separately). Each run prints surveykit / floor; the SEs of both are checked to agree.
Peak memory: ``tracemalloc`` peak during one call, over the bytes of the input columns.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from surveykit.design import SurveyDesign
from surveykit.estimation import mean, proportion, total

H, P, G, K = 50, 40, 7, 5


def make_data(n: int, seed: int = 14) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    psu = rng.integers(0, H * P, size=n)
    g = rng.integers(1, G + 1, size=n)
    shift = 0.1 * (g - 4) + rng.normal(0, 0.3, size=H * P)[psu]
    y = np.clip(np.round(3 + shift + rng.normal(0, 1.1, size=n)), 1, K).astype(np.int64)
    return pd.DataFrame({"h": psu // P, "psu": psu, "w": rng.gamma(4.0, 250.0, size=n),
                         "g": g, "y": y, "x": shift + rng.normal(0, 1, size=n)})


def _centre_var(z: np.ndarray, ph: np.ndarray) -> np.ndarray:
    """Stratum-centred PSU totals -> variances (with-replacement, n_h/(n_h-1))."""
    nh = np.bincount(ph).astype(float)
    sums = np.stack([np.bincount(ph, weights=z[:, j], minlength=len(nh))
                     for j in range(z.shape[1])], axis=1)
    zc = (z - (sums / nh[:, None])[ph]) * np.sqrt(nh / (nh - 1))[ph][:, None]
    return np.einsum("ij,ij->j", zc, zc)


def floor_proportion(psu: np.ndarray, h: np.ndarray, w: np.ndarray, g: np.ndarray,
                     y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    u, pc = np.unique(psu, return_inverse=True)
    ph = np.zeros(len(u), np.intp)
    ph[pc] = h
    t = np.bincount((pc * G + (g - 1)) * K + (y - 1), weights=w,
                    minlength=len(u) * G * K).reshape(len(u), G, K)
    nn = t.sum(axis=2)
    big_w = nn.sum(axis=0)
    m = t.sum(axis=0) / big_w[:, None]
    z = ((t - m[None] * nn[:, :, None]) / big_w[None, :, None]).reshape(len(u), G * K)
    return m.ravel(), np.sqrt(_centre_var(z, ph))


def floor_ratio(psu: np.ndarray, h: np.ndarray, w: np.ndarray, g: np.ndarray, x: np.ndarray,
                kind: str) -> tuple[np.ndarray, np.ndarray]:
    u, pc = np.unique(psu, return_inverse=True)
    ph = np.zeros(len(u), np.intp)
    ph[pc] = h
    cell = pc * G + (g - 1)
    ty = np.bincount(cell, weights=w * x, minlength=len(u) * G).reshape(len(u), G)
    if kind == "total":
        return ty.sum(axis=0), np.sqrt(_centre_var(ty, ph))
    nn = np.bincount(cell, weights=w, minlength=len(u) * G).reshape(len(u), G)
    m = ty.sum(axis=0) / nn.sum(axis=0)
    return m, np.sqrt(_centre_var((ty - m * nn) / nn.sum(axis=0), ph))


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def peak(fn: Callable[[], Any]) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return top


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    df = make_data(args.rows)
    cols = {c: df[c].to_numpy() for c in df.columns}
    t_build, design = timed(lambda: SurveyDesign(df, weights="w", strata="h", psu="psu"))
    tasks: dict[str, tuple[Callable[[], Any], Callable[[], Any], list[str]]] = {
        "proportion(y, by=g)": (
            lambda: proportion(design, "y", by="g", ci="wald", progress=False),
            lambda: floor_proportion(cols["psu"], cols["h"], cols["w"], cols["g"], cols["y"]),
            ["psu", "h", "w", "g", "y"]),
        "mean(x, by=g)": (
            lambda: mean(design, "x", by="g", progress=False),
            lambda: floor_ratio(cols["psu"], cols["h"], cols["w"], cols["g"], cols["x"],
                                "mean"),
            ["psu", "h", "w", "g", "x"]),
        "total(x, by=g)": (
            lambda: total(design, "x", by="g", progress=False),
            lambda: floor_ratio(cols["psu"], cols["h"], cols["w"], cols["g"], cols["x"],
                                "total"),
            ["psu", "h", "w", "g", "x"]),
    }
    print(f"rows={args.rows:,} strata={H} PSUs={H * P} groups={G} levels={K}; "
          f"design build {t_build:.2f} s (not in the ratios)")
    print(f"{'task':22s} {'surveykit s':>12s} {'floor s':>9s} {'ratio':>6s}   "
          f"{'peak MB':>8s} {'input MB':>9s} {'peak/input':>10s}  max |SE diff|/SE")
    for name, (ours, floor, used) in tasks.items():
        input_mb = sum(cols[c].nbytes for c in used) / 1e6
        ratios = []
        for _ in range(args.repeat):
            t_f, (est_f, se_f) = timed(floor)
            t_o, res = timed(ours)
            ratios.append(t_o / t_f)
            d_se = float(np.max(np.abs(res["std_error"].to_numpy() - se_f) / se_f))
            d_est = float(np.max(np.abs(res["estimate"].to_numpy() - est_f)
                                 / np.abs(est_f)))
            assert d_est < 1e-9 and d_se < 1e-9, (d_est, d_se)
            print(f"{name:22s} {t_o:12.3f} {t_f:9.3f} {t_o / t_f:6.2f}", flush=True)
        mem = peak(ours) / 1e6
        print(f"{name:22s} ratio min/median/max {min(ratios):.2f}/{np.median(ratios):.2f}/"
              f"{max(ratios):.2f}   {mem:8.0f} {input_mb:9.0f} {mem / input_mb:10.2f}  "
              f"{d_se:.1e}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
