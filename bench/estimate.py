"""Benchmark: proportions of a 5-level variable by a 7-level group, 1,000,000 rows, 200
bootstrap replicates (seeded), surveykit vs the ``svy`` package measured in the same run.

    python3 bench/estimate.py [--rows 1000000] [--reps 200] [--repeat 3]

Design: 100 strata x 20 PSUs (2,000 PSUs), unequal weights. Three timings per package:

1. ``build``: create 200 Rao–Wu-type bootstrap replicate weights from strata and PSUs;
2. ``estimate``: proportions by group with replicate SEs and logit CIs, on those weights;
3. ``estimate (same weights)``: both packages estimate from the SAME replicate weight matrix
   (surveykit's), so the estimation engines are compared on identical input, and the answers
   are checked against each other.

``svy`` is not a surveykit dependency (``pip install svy`` for this script only); if it cannot
be imported or run, the reason is printed and only surveykit is timed. Best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from surveykit.design import ReplicateDesign, SurveyDesign
from surveykit.estimation import proportion
from surveykit.replicates import make_replicate_design


def make_data(n: int, seed: int = 2024) -> pd.DataFrame:
    """Synthetic stratified cluster sample with a 5-level outcome related to a 7-level group."""
    rng = np.random.default_rng(seed)
    n_strata, psu_per = 100, 20
    psu = rng.integers(0, n_strata * psu_per, size=n)
    stratum = psu // psu_per
    group = rng.integers(1, 8, size=n)
    shift = 0.15 * (group - 4) + rng.normal(0, 0.3, size=n_strata * psu_per)[psu]
    y = np.clip(np.round(3 + shift + rng.normal(0, 1.1, size=n)), 1, 5).astype(np.int64)
    w = rng.gamma(4.0, 250.0, size=n)
    return pd.DataFrame({"h": stratum, "psu": psu, "w": w, "g": group, "y": y})


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)

    df = make_data(args.rows)
    design = SurveyDesign(df, weights="w", strata="h", psu="psu")
    rows: list[tuple[str, float, float | None, str]] = []

    t_build, rep = best(lambda: make_replicate_design(design, "bootstrap",
                                                      replicates=args.reps, seed=1,
                                                      progress=False), 1)
    t_est, ours = best(lambda: proportion(rep, "y", by="g", ci="logit", progress=False),
                       args.repeat)
    assert isinstance(rep, ReplicateDesign)

    svy_note = ""
    try:
        import polars as pl
        import svy

        pdf = pl.from_pandas(df)
        sample = svy.Sample(pdf, svy.Design(stratum="h", psu="psu", wgt="w"))
        t_sbuild, s_rep = best(lambda: sample.weighting.create_bs_wgts(n_reps=args.reps,
                                                                       rstate=1), 1)
        t_sest, _ = best(lambda: s_rep.estimation.prop("y", by="g", method="replication"),
                         args.repeat)
        # identical replicate weights for both engines
        cols = {f"rw{i + 1}": rep.repweights[:, i] for i in range(args.reps)}
        pdf2 = pdf.with_columns(**{k: pl.Series(v) for k, v in cols.items()})
        del cols
        s_same = svy.Sample(pdf2, svy.Design(wgt="w", rep_wgts=svy.BootstrapWgts(
            prefix="rw", n_reps=args.reps)))
        t_ssame, s_res = best(lambda: s_same.estimation.prop("y", by="g",
                                                             method="replication"),
                              args.repeat)
        theirs = s_res.to_polars().to_pandas()
        merged = ours.merge(theirs, left_on=["g", "level"], right_on=["g", "y"])
        d_est = float(np.max(np.abs(merged["estimate"] - merged["est"])))
        # svy scales bootstrap variances by 1/R, surveykit (R's bootweights) by
        # nbar/((nbar-1)(R-1)): compare SEs after removing that constant
        k = np.sqrt(rep.scale * args.reps)
        d_se = float(np.max(np.abs(merged["std_error"] / (merged["se"] * k) - 1)))
        svy_note = (f"check on identical weights: max |estimate diff| = {d_est:.2e}, "
                    f"max relative SE diff (after the scale constant) = {d_se:.2e}; "
                    f"svy {svy.__version__}")
        rows += [("build 200 bootstrap replicates", t_build, t_sbuild, ""),
                 ("proportions by group (own replicates)", t_est, t_sest, ""),
                 ("proportions by group (same weights)", t_est, t_ssame, "")]
    except Exception as exc:  # report why svy could not run, time surveykit alone
        svy_note = f"svy not measured: {type(exc).__name__}: {exc}"
        rows += [("build 200 bootstrap replicates", t_build, None, ""),
                 ("proportions by group", t_est, None, "")]

    print(f"rows={args.rows:,} reps={args.reps} groups=7 levels=5 "
          f"(best of {args.repeat} for estimation)")
    print(f"{'task':42s} {'surveykit s':>12s} {'svy s':>10s} {'svy/surveykit':>14s}")
    for task, ours_t, svy_t, _ in rows:
        ratio = f"{svy_t / ours_t:14.2f}" if svy_t is not None else f"{'n/a':>14s}"
        svy_s = f"{svy_t:10.3f}" if svy_t is not None else f"{'n/a':>10s}"
        print(f"{task:42s} {ours_t:12.3f} {svy_s} {ratio}")
    print(svy_note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
