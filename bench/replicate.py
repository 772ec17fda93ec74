"""Benchmark: `surveykit replicate` on the bundled replica, cold, against the 6 s goal (issue 14).

"Cold" = a fresh Python process per run (imports, reading the .sav, every table, the three
models, 8 figures as PNG 300 dpi + PDF - the default formats -, the HTML/Markdown report), into
a new folder. Prints each of --repeat runs (3 by default), min / median / max, the median CPU
seconds of the run (user + system of every process: what a busy machine cannot hide) and the
median against the goal, for the default (figures drawn by one worker process per core) and,
with --serial, also with SURVEYKIT_JOBS=1 (everything in one process); --svg adds a series with
``--figure-formats png,pdf,svg``. The machine's load average is printed too: on a shared
2-core machine other work slows every run.

--compare REF also times the same command from a checkout of the git commit REF (extracted
with `git archive` into a temporary folder), runs alternating with this tree's, and prints the
ratio of the medians (this tree / REF): "before/after in one run" for changes such as the
staged, manifest-writing run folders of issue 19.

    python3 bench/replicate.py [--repeat 3] [--serial] [--svg] [--compare REF]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

GOAL_S = 6.0


def one_run(env: dict[str, str], extra: tuple[str, ...] = ()) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system, all processes) of one
    `python -m surveykit replicate --out DIR` in a new process."""
    with tempfile.TemporaryDirectory() as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "surveykit", "replicate", "--out", tmp, *extra],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return wall, cpu


def baseline_tree(ref: str, dest: str) -> str:
    """Extract the tree of git commit ``ref`` into ``dest`` (nothing in the repository
    changes); returns ``dest``."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    archive = subprocess.run(["git", "-C", root, "archive", ref], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", dest], input=archive, check=True)
    return dest


def compare(ref: str, env: dict[str, str], repeat: int) -> None:
    """Alternate cold runs of this tree and of ``ref``; print both and the ratio."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as tmp:
        base = baseline_tree(ref, tmp)
        trees = {"this tree": here, f"{ref[:12]}": base}
        runs: dict[str, list[tuple[float, float]]] = {k: [] for k in trees}
        for _ in range(repeat):
            for label, tree in trees.items():
                runs[label].append(one_run({**env, "PYTHONPATH": tree}))
        meds = {}
        for label, got in runs.items():
            times = [w for w, _ in got]
            meds[label] = statistics.median(times)
            cpu = statistics.median(c for _, c in got)
            print(f"{label:<34} " + "  ".join(f"{t:6.2f}" for t in times)
                  + f"   median {meds[label]:5.2f}  (CPU {cpu:5.2f})")
        new, old = meds["this tree"], meds[f"{ref[:12]}"]
        print(f"this tree / {ref[:12]}: {new / old:5.3f} (wall-clock medians, alternating runs)")


def series(label: str, env: dict[str, str], repeat: int, extra: tuple[str, ...] = ()) -> float:
    runs = [one_run(env, extra) for _ in range(repeat)]
    times = [w for w, _ in runs]
    med = statistics.median(times)
    shown = "  ".join(f"{t:6.2f}" for t in times)
    cpu = statistics.median(c for _, c in runs)
    print(f"{label:<34} {shown}   min {min(times):5.2f}  median {med:5.2f}  "
          f"max {max(times):5.2f}  (CPU {cpu:5.2f})  median/goal = {med / GOAL_S:4.2f}x")
    return med


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--serial", action="store_true",
                        help="also time SURVEYKIT_JOBS=1 (no worker processes)")
    parser.add_argument("--svg", action="store_true",
                        help="also time --figure-formats png,pdf,svg")
    parser.add_argument("--compare", metavar="REF",
                        help="also time the git commit REF, alternating runs (ratio printed)")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"surveykit replicate, bundled replica, {args.repeat} cold runs; cores: "
          f"{os.cpu_count()}; load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    base = {k: v for k, v in os.environ.items() if k != "SURVEYKIT_JOBS"}
    if args.compare:
        compare(args.compare, base, args.repeat)
        return
    med = series("default (PNG+PDF, worker processes)", base, args.repeat)
    if args.serial:
        series("SURVEYKIT_JOBS=1 (one process)", {**base, "SURVEYKIT_JOBS": "1"}, args.repeat)
    if args.svg:
        series("--figure-formats png,pdf,svg", base, args.repeat,
               ("--figure-formats", "png,pdf,svg"))
    verdict = "meets" if med <= GOAL_S else "MISSES"
    print(f"goal: <= {GOAL_S:.0f} s cold; the default median {med:.2f} s {verdict} it")


if __name__ == "__main__":
    main()
