"""Benchmark: multiple imputation at the user's entry points, same run.

    python3 bench/mi.py [combine|impute|all] [--runs 3] [--rows 10000]

* ``combine``: ``sk.ordinal(mi_design)`` with m = 20 completed copies of the SYNTHETIC replica
  (refused income/education/gender filled by ``sk.impute``) against twenty single
  ``sk.ordinal`` fits on the same 20 designs, in a loop — the floor. The target is a ratio
  <= 1.2 (combination costs nothing beyond the fits).
* ``impute``: ``sk.impute`` of 10 five-point items (15 % missing at random) for m = 20 on
  ``--rows`` rows (default 10,000), 5 iterations and 5 donors (R ``mice``'s defaults), against
  R ``mice(method = "pmm", m = 20, maxit = 5)`` on the same data in the same run when Rscript
  and mice are present (both single-threaded; R timed inside R, without its start-up).

Each side runs ``--runs`` times after a warm-up (impute: no warm-up beyond the first import);
medians and min-max are printed.
"""

from __future__ import annotations

# ruff: noqa: E402  (thread settings must precede the numpy import)
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import surveykit as sk

FORMULA = ("approval ~ C(age_group) + C(gender) + C(education) + C(income_group) + urban"
           " + C(region) + fairness + trust_central")
ITEMS = [f"q{i}" for i in range(1, 11)]


def _times(fn, runs: int) -> tuple[list[float], object]:
    val = None
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        val = fn()
        out.append(time.perf_counter() - t)
    return out, val


def _fmt(ts: list[float]) -> str:
    return f"{np.median(ts):8.3f} s  ({min(ts):.3f}-{max(ts):.3f})"


def bench_combine(runs: int) -> None:
    df = sk.load_replica()
    design = sk.SurveyDesign(df, weights="weight")
    mi = sk.impute(design, ["income_group", "education", "gender"], m=20, seed=1, iterations=5,
                   predictors=["approval", "urban", "fairness", "trust_central"])
    sk.ordinal(mi.designs[0], FORMULA)  # warm-up
    single, _ = _times(lambda: [sk.ordinal(d, FORMULA) for d in mi.designs], runs)
    comb, fit = _times(lambda: sk.ordinal(mi, FORMULA), runs)
    ratios = [c / s for c, s in zip(comb, single, strict=True)]
    print("combine: m = 20 ordinal fits on the SYNTHETIC replica (2,209 rows, 18 parameters)")
    print(f"  twenty single sk.ordinal fits (floor) {_fmt(single)}")
    print(f"  sk.ordinal(MIDesign, m = 20)          {_fmt(comb)}")
    print(f"  ratio combined / floor: median {np.median(ratios):.3f} "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f}); target <= 1.2")
    assert len(fit.imputations) == 20


def _item_data(rows: int, seed: int = 20261206) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=rows)
    df = pd.DataFrame({"w": rng.uniform(0.5, 3.0, rows)})
    for q in ITEMS:
        latent = 0.8 * z + rng.normal(size=rows)
        df[q] = np.digitize(latent, [-1.2, -0.4, 0.4, 1.2]) + 1.0
    for q in ITEMS:  # missing at random given the first item
        p = 0.15 * (1 + 0.5 * (df["q1"].to_numpy() - 3) / 2)
        miss = rng.random(rows) < np.clip(p, 0.02, 0.5)
        if q != "q1":
            df.loc[miss, q] = np.nan
    df.loc[rng.random(rows) < 0.10, "q1"] = np.nan
    return df


R_MICE = r"""
suppressPackageStartupMessages(library(mice))
args <- commandArgs(trailingOnly = TRUE)
df <- read.csv(args[1])
runs <- as.integer(args[2])
t <- numeric(runs)
for (i in seq_len(runs)) t[i] <- system.time(
  mice(df, m = 20, maxit = 5, method = "pmm", printFlag = FALSE, seed = i))[["elapsed"]]
cat(paste(t, collapse = " "), "\n")
"""


def bench_impute(runs: int, rows: int) -> None:
    df = _item_data(rows)
    design = sk.SurveyDesign(df, weights="w")
    py, _ = _times(lambda: sk.impute(design, ITEMS, m=20, iterations=5, donors=5, seed=1),
                   runs)
    cells = int(df[ITEMS].isna().to_numpy().sum())
    print(f"impute: 10 five-point items, {rows:,} rows, {cells:,} missing cells, m = 20, "
          "5 iterations, 5 donors")
    print(f"  sk.impute (statsmodels MICEData + PMM)   {_fmt(py)}")
    if shutil.which("Rscript") is None:
        print("  R mice: Rscript not found (not timed)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "items.csv"
        df.to_csv(path, index=False)
        script = Path(tmp) / "mice.R"
        script.write_text(R_MICE)
        run = subprocess.run(["Rscript", str(script), str(path), str(runs)],
                             capture_output=True, text=True, check=False,
                             env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    if run.returncode != 0:
        print(f"  R mice: failed ({run.stderr.strip().splitlines()[-1:]})")
        return
    r = [float(x) for x in run.stdout.split()]
    print(f"  R mice(method = 'pmm')                    {_fmt(r)}")
    ratios = [p / q for p, q in zip(py, r, strict=True)]
    print(f"  ratio surveykit / R mice: median {np.median(ratios):.2f} "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f})")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("what", nargs="?", default="all", choices=["combine", "impute", "all"])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--rows", type=int, default=10_000)
    a = p.parse_args(argv)
    if a.what in ("combine", "all"):
        bench_combine(a.runs)
    if a.what in ("impute", "all"):
        bench_impute(a.runs, a.rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
