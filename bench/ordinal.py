"""Benchmark: survey ordered logit, surveykit.ordinal vs R survey::svyolr, same data, same run.

50,000 rows, 5-level outcome, 8 covariates (4 numeric, 4 categorical with 3 levels), 10 strata x
40 PSUs, unequal weights, all seeded. Times the model fit only (the design is built beforehand in
both languages). R is timed twice: with svyolr's defaults, and with optim's ``reltol`` tightened
to 1e-12 (needed to agree with the exact maximum to 1e-6). Run: ``python3 bench/ordinal.py``.
"""

from __future__ import annotations

# ruff: noqa: E402  (thread settings must precede the numpy import)
import os

# Both fits run single-threaded, like R's reference BLAS: multi-threaded BLAS only adds contention
# for matrices this small (16 parameters). Override with e.g. OPENBLAS_NUM_THREADS=2.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from surveykit.design import SurveyDesign
from surveykit.models import ordinal

N, N_STRATA, PSU_PER_STRATUM, SEED = 50_000, 10, 40, 20261122
FORMULA = "y ~ x1 + x2 + x3 + x4 + c1 + c2 + c3 + c4"

R_SCRIPT = r"""
suppressPackageStartupMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
df <- read.csv(args[1], stringsAsFactors = TRUE)
df$y <- factor(df$y, levels = 1:5, ordered = TRUE)
des <- svydesign(id = ~psu, strata = ~stratum, weights = ~w, nest = TRUE, data = df)
f <- y ~ x1 + x2 + x3 + x4 + c1 + c2 + c3 + c4
t_def <- system.time(m_def <- svyolr(f, design = des))[["elapsed"]]
tight <- list(reltol = 1e-12, maxit = 1000)
t_tight <- system.time(m_tight <- svyolr(f, design = des, control = tight))[["elapsed"]]
out <- data.frame(term = names(coef(m_def)), default = sprintf("%.17g", coef(m_def)),
                  tight = sprintf("%.17g", coef(m_tight)),
                  se_tight = sprintf("%.17g", sqrt(diag(vcov(m_tight)))))
write.csv(out, args[2], row.names = FALSE)
cat(sprintf("%.6f %.6f\n", t_def, t_tight))
"""


def make_data() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    stratum = np.repeat(np.arange(N_STRATA), N // N_STRATA)
    psu = np.tile(np.repeat(np.arange(PSU_PER_STRATUM), N // (N_STRATA * PSU_PER_STRATUM)),
                  N_STRATA)
    psu_effect = rng.normal(0, 0.3, (N_STRATA, PSU_PER_STRATUM))[stratum, psu]
    df = pd.DataFrame({"stratum": stratum + 1, "psu": psu + 1})
    for j in range(1, 5):
        df[f"x{j}"] = rng.normal(size=N).round(6)
    for j in range(1, 5):
        df[f"c{j}"] = rng.choice(np.array(["a", "b", "c"]), size=N, p=[0.5, 0.3, 0.2])
    eta = (0.5 * df.x1 - 0.3 * df.x2 + 0.2 * df.x3 + 0.1 * df.x4
           + 0.4 * (df.c1 == "b") - 0.6 * (df.c2 == "c") + 0.3 * (df.c3 == "b")
           + 0.2 * (df.c4 == "c") + psu_effect)
    latent = eta + rng.logistic(size=N)
    df["y"] = np.searchsorted(np.array([-1.5, -0.3, 0.8, 2.0]), latent) + 1
    df["w"] = (rng.uniform(0.5, 3.0, N) * (1 + stratum / 5)).round(6)
    return df


def norm(term: str) -> str:
    return re.sub(r"[^A-Za-z0-9|]", "", term.replace("[T.", ""))


def main() -> None:
    df = make_data()
    design = SurveyDesign(df, weights="w", strata="stratum", psu="psu", nest=True)
    ordinal(design, FORMULA)  # warm-up (imports, patsy caches)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        res = ordinal(design, FORMULA)
        times.append(time.perf_counter() - t0)
    t_sk = float(np.median(times))
    print(f"rows={N:,}  outcome levels=5  covariates=8 (4 categorical)  "
          f"strata={N_STRATA} x {PSU_PER_STRATUM} PSUs  parameters={len(res.params)}")
    print(f"surveykit.ordinal fit            : {t_sk:8.3f} s (median of 3)")
    if shutil.which("Rscript") is None:
        print("Rscript not found: R svyolr not timed")
        return
    with tempfile.TemporaryDirectory() as tmp:
        data_csv, out_csv, script = (Path(tmp) / n for n in ("d.csv", "o.csv", "b.R"))
        df.to_csv(data_csv, index=False)
        script.write_text(R_SCRIPT)
        run = subprocess.run(["Rscript", str(script), str(data_csv), str(out_csv)],
                             capture_output=True, text=True, check=False)
        if run.returncode != 0:
            print("R failed:", run.stderr.strip()[-500:])
            return
        t_def, t_tight = (float(v) for v in run.stdout.split())
        ref = pd.read_csv(out_csv)
    assert [norm(t) for t in res.params.index] == [norm(t) for t in ref["term"]]
    est = res.params.to_numpy()
    d_def = np.max(np.abs(est - ref["default"].to_numpy()))
    d_tight = np.max(np.abs(est - ref["tight"].to_numpy()))
    d_se = np.max(np.abs(res.std_errors.to_numpy() / ref["se_tight"].to_numpy() - 1))
    print(f"R svyolr fit (default reltol)    : {t_def:8.3f} s   "
          f"speed-up {t_def / t_sk:6.1f}x   max |coef diff| {d_def:.2e}")
    print(f"R svyolr fit (reltol = 1e-12)    : {t_tight:8.3f} s   "
          f"speed-up {t_tight / t_sk:6.1f}x   max |coef diff| {d_tight:.2e}   "
          f"max rel SE diff {d_se:.2e}")


if __name__ == "__main__":
    main()
