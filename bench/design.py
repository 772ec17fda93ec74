"""Benchmark: building a SurveyDesign on 1,000,000 rows (issue 14, goal 1: <= 0.05 s unclustered).

Each case runs --repeat times (3 by default) and prints min / median / max seconds, next to
- the floor, measured in the same run: the bare numpy passes any design needs (weights: minimum
  and sum; strata: one ``bincount`` of integer codes, or ``pd.factorize`` of text labels;
  PSUs: ``pd.factorize`` of the labels), so the ratio shows the overhead of the checks kept;
- R's ``svydesign`` on the same data when ``Rscript`` with ``survey`` is available (timed inside
  R, reading the data is not counted).

    python3 bench/design.py [--rows 1000000] [--repeat 3] [--no-r]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from surveykit.design import SurveyDesign

GOAL = 0.05


def make_data(n: int, seed: int = 20261201) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    h = rng.integers(0, 50, n)
    return pd.DataFrame({
        "w": rng.uniform(0.5, 3.0, n),
        "h": h,
        "region": pd.Series(np.array([f"region{i:02d}" for i in range(50)])[h],
                            dtype="str"),
        "psu": h * 1000 + rng.integers(0, 200, n),
        "y": rng.normal(size=n),
    })


def times(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def floor(df: pd.DataFrame, strata: str | None, psu: str | None) -> None:
    w = df["w"].to_numpy()
    assert w.min() >= 0 and np.isfinite(w.sum())
    if strata == "h":
        np.bincount(df["h"].to_numpy())
    elif strata is not None:
        pd.factorize(df[strata])
    if psu is not None:
        pd.factorize(df[psu])


R_CODE = """
suppressPackageStartupMessages(library(survey))
d <- read.csv("{path}")
for (case in c("w", "w+h", "w+region", "w+h+psu")) {{
  ts <- sapply(1:{repeat}, function(i) system.time(switch(case,
    "w" = svydesign(id = ~1, weights = ~w, data = d),
    "w+h" = svydesign(id = ~1, strata = ~h, weights = ~w, data = d),
    "w+region" = svydesign(id = ~1, strata = ~region, weights = ~w, data = d),
    "w+h+psu" = svydesign(id = ~psu, strata = ~h, weights = ~w, data = d)))[["elapsed"]])
  cat(case, ts, "\\n")
}}
"""


def r_times(df: pd.DataFrame, repeat: int) -> dict[str, list[float]]:
    if shutil.which("Rscript") is None:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.csv"
        df.to_csv(path, index=False)
        run = subprocess.run(["Rscript", "-e", R_CODE.format(path=path, repeat=repeat)],
                             capture_output=True, text=True, check=False)
    out = {}
    for line in run.stdout.splitlines():
        case, *vals = line.split()
        out[case] = [float(v) for v in vals]
    return out


def fmt(ts: list[float]) -> str:
    return f"{min(ts):7.4f} {float(np.median(ts)):7.4f} {max(ts):7.4f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-r", action="store_true")
    args = ap.parse_args()
    df = make_data(args.rows)
    cases = {  # name -> (kwargs, strata, psu)
        "w": ({"weights": "w"}, None, None),
        "w+h": ({"weights": "w", "strata": "h"}, "h", None),
        "w+region": ({"weights": "w", "strata": "region"}, "region", None),
        "w+h+psu": ({"weights": "w", "strata": "h", "psu": "psu"}, "h", "psu"),
    }
    rt = {} if args.no_r else r_times(df, args.repeat)
    print(f"rows {args.rows:,}; {args.repeat} runs each: min / median / max seconds")
    print(f"{'case':10s} {'surveykit':>23s} {'numpy floor':>23s} {'ratio':>6s} "
          f"{'R svydesign':>23s} {'R/sk':>6s}")
    for name, (kw, strata, psu) in cases.items():
        sk_t = times(lambda kw=kw: SurveyDesign(df, **kw), args.repeat)
        fl_t = times(lambda s=strata, p=psu: floor(df, s, p), args.repeat)
        ratio = float(np.median(sk_t) / np.median(fl_t))
        r = rt.get(name)
        rs = f"{fmt(r):>23s} {np.median(r) / np.median(sk_t):6.1f}" if r else ""
        print(f"{name:10s} {fmt(sk_t):>23s} {fmt(fl_t):>23s} {ratio:6.2f} {rs}")
    unclustered = times(lambda: SurveyDesign(df, weights="w", strata="h"), args.repeat)
    print(f"\nunclustered 1M-row design (weights + strata): median {np.median(unclustered):.4f} s "
          f"(goal <= {GOAL} s: {'met' if np.median(unclustered) <= GOAL else 'NOT met'})")


if __name__ == "__main__":
    main()
