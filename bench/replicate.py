"""Benchmark: `surveykit replicate` on the bundled replica, cold, against the 6 s goal (issue 14).

"Cold" = a fresh Python process per run (imports, reading the .sav, every table, the three
models, 8 figures as PNG 300 dpi + PDF - the default formats -, the HTML/Markdown report), into
a new folder. Prints each of --repeat runs (3 by default), min / median / max, the median CPU
seconds of the run (user + system of every process: what a busy machine cannot hide) and the
median against the goal, for the default (figures drawn by one worker process per core) and,
with --serial, also with SURVEYKIT_JOBS=1 (everything in one process); --svg adds a series with
``--figure-formats png,pdf,svg``. The machine's load average is printed too: on a shared
2-core machine other work slows every run.

    python3 bench/replicate.py [--repeat 3] [--serial] [--svg]
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
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"surveykit replicate, bundled replica, {args.repeat} cold runs; cores: "
          f"{os.cpu_count()}; load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    base = {k: v for k, v in os.environ.items() if k != "SURVEYKIT_JOBS"}
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
