"""Benchmark: issue 21's restructure, BEFORE against AFTER in one run, at the user's entry points.

    python3 bench/restructure.py [--before REF] [--repeat 3] [--rake-rows 1000000]
                                 [--prop-rows 10000000] [--ordinal-rows 50000]

BEFORE is the tree at ``--before`` (default: the commit main was at when the restructure began,
29f9f85), checked out into a temporary git worktree; AFTER is this working tree. Each timing
runs in a fresh Python process with PYTHONPATH on one tree, alternating BEFORE/AFTER so that
a busy shared machine slows both alike; the median of ``--repeat`` runs is compared (after /
before; 1.00 = no change). Entry points (DataFrame + formula, as a user calls them):

- ``rake``: sk.rake on 1M rows, six correlated margins (bench/rake.py's data), tol 1e-8;
- ``proportion by``: sk.proportion(design, "y", by="g") on 10M rows, 50 strata x 40 PSUs
  (bench/estimate_by.py's data), design built beforehand (not timed);
- ``ordinal``: sk.ordinal on 50k rows, a 5-level outcome on three predictors and a factor;
- ``surveykit replicate``: the CLI on the bundled replica into a new folder (whole process).
Each in-process timing also prints a checksum of the result, which must be equal in both trees.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

SNIPPETS = {
    "rake": """
import sys, time; sys.path.insert(0, {bench!r})
from rake import make_data, TOL
import surveykit as sk
df, margins = make_data({rake_rows})
t = time.perf_counter(); w = sk.rake(df, margins, tol=TOL)
dt = time.perf_counter() - t
import numpy as np
print(dt, float(np.asarray(getattr(w, 'weights', w)).sum()))
""",
    "proportion by": """
import sys, time; sys.path.insert(0, {bench!r})
from estimate_by import make_data
import surveykit as sk
df = make_data({prop_rows})
d = sk.SurveyDesign(df, weights="w", strata="h", psu="psu")
t = time.perf_counter(); r = sk.proportion(d, "y", by="g")
dt = time.perf_counter() - t
print(dt, float(r["std_error"].sum()))
""",
    "ordinal": """
import time
import numpy as np, pandas as pd
import surveykit as sk
rng = np.random.default_rng(21)
n = {ordinal_rows}
x1, x2, x3 = rng.normal(size=(3, n))
f = rng.integers(1, 5, size=n)
eta = 0.5 * x1 - 0.3 * x2 + 0.2 * x3 + 0.25 * f + rng.logistic(size=n)
y = np.digitize(eta, [-1.5, -0.3, 0.7, 1.8]) + 1
df = pd.DataFrame(dict(y=y, x1=x1, x2=x2, x3=x3, f=f, w=rng.gamma(3.0, 1.0, size=n),
                       h=rng.integers(0, 20, size=n), psu=rng.integers(0, 400, size=n)))
d = sk.SurveyDesign(df, weights="w", strata="h", psu="psu", nest=True)
t = time.perf_counter(); m = sk.ordinal(d, "y ~ x1 + x2 + x3 + C(f)")
dt = time.perf_counter() - t
print(dt, float(np.sqrt(np.diag(m.vcov.to_numpy())).sum()))
""",
}


def timed(tree: Path, name: str, args: argparse.Namespace) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(tree), "MPLBACKEND": "Agg"}
    if name == "surveykit replicate":
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "surveykit", "replicate", "--out", tmp],
                           env=env, check=True, stdout=subprocess.DEVNULL, cwd=tree)
            return time.perf_counter() - start, "-"
    code = SNIPPETS[name].format(bench=str(HERE / "bench"), rake_rows=args.rake_rows,
                                 prop_rows=args.prop_rows, ordinal_rows=args.ordinal_rows)
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=tree,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), f"{float(out[1]):.10g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="29f9f85")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rake-rows", type=int, default=1_000_000)
    parser.add_argument("--prop-rows", type=int, default=10_000_000)
    parser.add_argument("--ordinal-rows", type=int, default=50_000)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    names = args.only or [*SNIPPETS, "surveykit replicate"]
    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp) / "before"
        subprocess.run(["git", "-C", str(HERE), "worktree", "add", "--detach", str(before),
                        args.before], check=True, capture_output=True)
        try:
            print(f"load average {os.getloadavg()[0]:.1f}; before = {args.before}, after = "
                  "this tree; seconds per run (median of", args.repeat, "), fresh processes")
            print(f"{'entry point':<22} {'before':>8} {'after':>8} {'after/before':>13}  "
                  "checksum before / after")
            for name in names:
                tb, ta, cb, ca = [], [], "", ""
                for _ in range(args.repeat):
                    t, cb = timed(before, name, args)
                    tb.append(t)
                    t, ca = timed(HERE, name, args)
                    ta.append(t)
                mb, ma = statistics.median(tb), statistics.median(ta)
                print(f"{name:<22} {mb:8.2f} {ma:8.2f} {ma / mb:13.2f}  {cb} / {ca}",
                      flush=True)
        finally:
            subprocess.run(["git", "-C", str(HERE), "worktree", "remove", "--force",
                            str(before)], check=False, capture_output=True)


if __name__ == "__main__":
    main()
