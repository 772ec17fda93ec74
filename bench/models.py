"""Benchmark: survey models at the user's entry point, surveykit vs R ``survey``, same run.

    python3 bench/models.py [ordinal|glm|negbin|all] [--rows 50000] [--runs 3]

Data (seeded): 50,000 rows shaped like the 2018 SCS survey, integer-coded as in the replica,
10 strata x 40 PSUs, unequal weights, a PSU random effect. Every model uses the formula of
issue 14, with ``C()`` on integer columns (the case that used to spend ~90 % in patsy):

    <outcome> ~ C(age) + female + C(edu) + C(income) + urban + C(region) + trust + fair

* ``ordinal``: ``sk.ordinal`` (approval, 5 levels) vs ``svyolr`` with its defaults and with
  optim's ``reltol`` tightened to 1e-15 (as the test fixtures; 1e-12 still leaves ~3e-6);
* ``glm``: ``sk.glm(family="binomial")`` (a 0/1 outcome) vs ``svyglm(family=quasibinomial)``
  with glm's default ``epsilon`` (1e-8) and with 1e-12;
* ``negbin``: ``sk.negbin`` (a count) vs ``MASS::glm.nb`` with the design weights followed by
  the sandwich through ``svyrecvar`` (R survey has no negative binomial; this is the recipe of
  tests/r/fixtures_models.R), default and tight ``epsilon``.

What is timed is the call a user makes on a built design (formula processing, fit, variance),
in both languages. Each language runs ``--runs`` times in one process after a warm-up; the
speed-up is reported per run pair (R run i / surveykit run i) as median and min-max spread.
Coefficients are checked against R's tight fit (max relative difference; 1e-6 required).
Both run single-threaded (R's reference BLAS; OPENBLAS_NUM_THREADS=1 here).
"""

from __future__ import annotations

# ruff: noqa: E402  (thread settings must precede the numpy import)
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from surveykit.design import SurveyDesign
from surveykit.models import glm, negbin, ordinal

N_STRATA, PSU_PER_STRATUM, SEED = 10, 40, 20261201
RHS = "C(age) + female + C(edu) + C(income) + urban + C(region) + trust + fair"
OUTCOME = {"ordinal": "approval", "glm": "sesame", "negbin": "bc_index"}

R_COMMON = r"""
suppressPackageStartupMessages({library(survey); library(MASS)})
args <- commandArgs(trailingOnly = TRUE)
runs <- as.integer(args[3])
df <- read.csv(args[1])
des <- svydesign(id = ~psu, strata = ~stratum, weights = ~w, nest = TRUE, data = df)
rhs <- "factor(age) + female + factor(edu) + factor(income) + urban + factor(region) + trust + fair"
timed <- function(expr_fun) {  # warm-up, then `runs` elapsed times and the last value
  val <- expr_fun()
  t <- numeric(runs)
  for (i in seq_len(runs)) t[i] <- system.time(val <- expr_fun())[["elapsed"]]
  list(t = t, val = val)
}
"""

R_MODEL = {
    "ordinal": r"""
df$approval <- factor(df$approval, levels = 1:5, ordered = TRUE)
des <- update(des, approval = factor(approval, levels = 1:5, ordered = TRUE))
f <- as.formula(paste("approval ~", rhs))
d <- timed(function() svyolr(f, design = des))
g <- timed(function() svyolr(f, design = des, control = list(reltol = 1e-15, maxit = 5000)))
coef_of <- function(m) coef(m)
""",
    "glm": r"""
f <- as.formula(paste("sesame ~", rhs))
d <- timed(function() svyglm(f, design = des, family = quasibinomial()))
g <- timed(function() svyglm(f, design = des, family = quasibinomial(),
                              control = glm.control(epsilon = 1e-12, maxit = 100)))
coef_of <- function(m) coef(m)
""",
    "negbin": r"""
f <- as.formula(paste("bc_index ~", rhs))
nb_survey <- function(eps) {  # glm.nb point estimates + svyrecvar sandwich of the joint scores
  w <- weights(des)
  dat <- df; dat$.w <- w / mean(w)
  fit <- glm.nb(f, data = dat, weights = .w, control = glm.control(epsilon = eps, maxit = 100))
  X <- model.matrix(fit); y <- fit$y; p <- ncol(X)
  score <- function(par) {
    b <- par[1:p]; th <- exp(par[p + 1]); mu <- drop(exp(X %*% b))
    cbind(X * ((y - mu) / (1 + mu / th)),
          th * (digamma(y + th) - digamma(th) + log(th / (th + mu)) + 1 - (y + th) / (th + mu))) * w
  }
  par <- c(coef(fit), log(fit$theta))
  H <- optimHess(par, function(q) 0, function(q) colSums(score(q)))
  V <- svyrecvar(score(par) %*% solve(-H), des$cluster, des$strata, des$fpc)
  list(coef = coef(fit), V = V)
}
d <- timed(function() nb_survey(1e-8))
g <- timed(function() nb_survey(1e-12))
coef_of <- function(m) m$coef
""",
}

R_TAIL = r"""
out <- data.frame(term = names(coef_of(g$val)), tight = sprintf("%.17g", coef_of(g$val)),
                  default = sprintf("%.17g", coef_of(d$val)))
write.csv(out, args[2], row.names = FALSE)
cat(paste(sprintf("%.6f", d$t), collapse = " "), "\n")
cat(paste(sprintf("%.6f", g$t), collapse = " "), "\n")
"""


def make_data(n: int, seed: int = SEED) -> pd.DataFrame:
    """Integer-coded survey-like data; outcomes depend on covariates and a PSU effect."""
    rng = np.random.default_rng(seed)
    per = n // (N_STRATA * PSU_PER_STRATUM)
    stratum = np.repeat(np.arange(N_STRATA), n // N_STRATA)[:n]
    psu = np.tile(np.repeat(np.arange(PSU_PER_STRATUM), per), N_STRATA)[:n]
    n = len(psu)
    stratum = stratum[:n]
    u = rng.normal(0, 0.3, (N_STRATA, PSU_PER_STRATUM))[stratum, psu]
    df = pd.DataFrame({
        "stratum": stratum + 1, "psu": psu + 1,
        "age": rng.choice([1, 2, 3], n, p=[0.45, 0.4, 0.15]),
        "female": rng.integers(0, 2, n),
        "edu": rng.choice([1, 2, 3, 4], n, p=[0.1, 0.3, 0.35, 0.25]),
        "income": rng.choice([1, 2, 3], n, p=[0.3, 0.45, 0.25]),
        "urban": (rng.random(n) < 0.6).astype(int),
        "region": rng.choice([1, 2, 3], n, p=[0.45, 0.3, 0.25]),
        "trust": rng.integers(1, 6, n),
        "fair": rng.integers(1, 6, n),
    })
    eta = (0.15 * (df.age == 2) + 0.3 * (df.age == 3) - 0.1 * df.female + 0.2 * (df.edu == 4)
           + 0.1 * (df.income == 3) + 0.25 * df.urban - 0.2 * (df.region == 3)
           + 0.35 * (df.trust - 3) + 0.25 * (df.fair - 3) + u).to_numpy()
    df["approval"] = np.searchsorted(np.array([-2.5, -1.2, 0.0, 1.5]),
                                     eta + rng.logistic(size=n)) + 1
    df["sesame"] = (rng.random(n) < 1 / (1 + np.exp(-(eta - 0.3)))).astype(int)
    mu = np.exp(0.4 + 0.5 * eta)
    df["bc_index"] = rng.negative_binomial(2.0, 2.0 / (2.0 + mu))
    df["w"] = (rng.uniform(0.5, 3.0, n) * (1 + stratum / 5)).round(6)
    return df


def norm(term: str) -> str:
    """R and surveykit names on one key: factor(edu)2 ~ C(edu)[T.2]."""
    t = term.replace("factor(", "").replace("C(", "").replace("[T.", "")
    return re.sub(r"[^A-Za-z0-9|]", "", t).replace("Intercept", "")


def time_runs(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    fn()  # warm-up (imports, caches)
    times, res = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        res = fn()
        times.append(time.perf_counter() - t0)
    return times, res


def ratio_text(r_times: list[float], sk_times: list[float]) -> str:
    ratios = np.asarray(r_times) / np.asarray(sk_times)
    return (f"speed-up {np.median(ratios):6.1f}x (runs {', '.join(f'{v:.1f}' for v in ratios)}; "
            f"spread {ratios.min():.1f}-{ratios.max():.1f})")


def bench(model: str, df: pd.DataFrame, runs: int) -> bool:
    """Time one model in both languages; True when coefficients agree with R's tight fit."""
    design = SurveyDesign(df, weights="w", strata="stratum", psu="psu", nest=True)
    formula = f"{OUTCOME[model]} ~ {RHS}"
    fit: dict[str, Callable[[], Any]] = {
        "ordinal": lambda: ordinal(design, formula),
        "glm": lambda: glm(design, formula, family="binomial"),
        "negbin": lambda: negbin(design, formula),
    }
    sk_times, res = time_runs(fit[model], runs)
    print(f"\n== {model}: {formula}")
    print(f"rows={len(df):,}  strata={N_STRATA} x {PSU_PER_STRATUM} PSUs  "
          f"parameters={len(res.params)}")
    print(f"surveykit {model:<8} : " + "  ".join(f"{t:.3f}" for t in sk_times)
          + f"  s (median {np.median(sk_times):.3f})")
    if shutil.which("Rscript") is None:
        print("Rscript not found: R not timed")
        return True
    with tempfile.TemporaryDirectory() as tmp:
        data_csv, out_csv, script = (Path(tmp) / n for n in ("d.csv", "o.csv", "b.R"))
        df.to_csv(data_csv, index=False)
        script.write_text(R_COMMON + R_MODEL[model] + R_TAIL)
        run = subprocess.run(["Rscript", str(script), str(data_csv), str(out_csv), str(runs)],
                             capture_output=True, text=True, check=False)
        if run.returncode != 0:
            print("R failed:", run.stderr.strip()[-500:])
            return False
        lines = run.stdout.strip().splitlines()
        t_def, t_tight = ([float(v) for v in line.split()] for line in lines[-2:])
        ref = pd.read_csv(out_csv)
    r_names = [norm(t) for t in ref["term"]]
    sk_names = [norm(t) for t in res.params.index]
    if r_names != sk_names:
        print("term names differ:", sk_names, r_names)
        return False
    est = res.params.to_numpy()
    rel = {k: float(np.max(np.abs(est - ref[k].to_numpy()) / np.maximum(np.abs(ref[k]), 1e-8)))
           for k in ("default", "tight")}
    label = {"ordinal": "svyolr", "glm": "svyglm", "negbin": "glm.nb+svyrecvar"}[model]
    for key, times, setting in (("default", t_def, "default"), ("tight", t_tight, "tight")):
        print(f"R {label:<16} ({setting:>7}): " + "  ".join(f"{t:.3f}" for t in times)
              + f"  s   {ratio_text(times, sk_times)}   max rel coef diff {rel[key]:.1e}")
    ok = rel["tight"] <= 1e-6
    print("coefficients agree with R's tight fit to 1e-6:", "yes" if ok else "NO")
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", nargs="?", default="all", choices=["all", *OUTCOME])
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    df = make_data(args.rows)
    models = list(OUTCOME) if args.model == "all" else [args.model]
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    ok = [bench(m, df, args.runs) for m in models]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
