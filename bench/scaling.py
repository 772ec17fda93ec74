"""Single-machine baseline for docs/scaling.md: the two units of work a cluster would share.

1. Many survey files: one file = read .sav + harmonise + design + a few estimates (the bundled
   replica, copied --files times). Seconds per file, one process.
2. Many replicates: --replicates bootstrap replicate weights of the replica, and approval
   proportions by region on them, all at once (surveykit) and in blocks of replicate columns
   (what each Dask task would do), the blocks' replicate estimates combined by
   ``ReplicateDesign.replicate_vcov`` on one machine: the SEs must agree exactly.
3. With dask installed (not a surveykit dependency): the file loop as ``dask.delayed`` tasks on
   the local process scheduler, for the same files (skipped with a note otherwise).

    python3 bench/scaling.py [--files 8] [--replicates 500] [--blocks 4]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import surveykit as sk


def one_file(path: str, mapping: str) -> pd.DataFrame:
    """The per-file task: read, harmonise, design, estimates (small tidy frames out)."""
    frame = sk.harmonise(sk.read(path), mapping).frame
    design = sk.SurveyDesign(frame, weights="weight")
    approval = sk.proportion(design, "approval")
    by_region = sk.mean(design.subset(frame["behaviour_module"].eq(1)), "bc_index", by="region")
    return pd.concat([approval.assign(file=Path(path).name),
                      by_region.assign(file=Path(path).name)], ignore_index=True)


def block_estimates(y: np.ndarray, groups: np.ndarray, levels: np.ndarray,
                    reps: np.ndarray) -> np.ndarray:
    """Replicate estimates (R_block x groups*levels) of P(y = level | group) for a block of
    replicate weight columns: the work one Dask task does (plain weighted shares)."""
    out = []
    for g in np.unique(groups):
        in_g = groups == g
        total = reps[in_g].sum(axis=0)
        for lev in levels:
            out.append(reps[in_g & (y == lev)].sum(axis=0) / total)
    return np.array(out).T


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--replicates", type=int, default=500)
    parser.add_argument("--blocks", type=int, default=4)
    args = parser.parse_args()
    mapping = str(sk.replica.mapping_path())

    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i in range(args.files):
            dst = Path(tmp) / f"survey_{i:03d}.sav"
            shutil.copy(sk.replica.path(), dst)
            files.append(str(dst))
        one_file(files[0], mapping)  # warm imports: the per-file cost, not the start-up
        t = time.perf_counter()
        serial = [one_file(f, mapping) for f in files]
        per_file = (time.perf_counter() - t) / len(files)
        print(f"1. one process: {per_file:.3f} s per file (read + harmonise + design + "
              f"3 estimates), {len(files)} files of 2,209 rows")

        frame = sk.replica.load_replica()
        design = sk.SurveyDesign(frame, weights="weight")
        t = time.perf_counter()
        rep = design.replicate("bootstrap", replicates=args.replicates, seed=20180401)
        t_build = time.perf_counter() - t
        t = time.perf_counter()
        full = sk.proportion(rep, "approval", by="region")
        t_est = time.perf_counter() - t
        y = frame["approval"].to_numpy(dtype=float)
        g = frame["region"].to_numpy(dtype=float)
        levels = np.unique(y[~np.isnan(y)])
        W = rep.replicate_weights
        t = time.perf_counter()
        parts = [block_estimates(y, g, levels, W[:, cols])
                 for cols in np.array_split(np.arange(W.shape[1]), args.blocks)]
        theta_reps = np.vstack(parts)  # gathered on one machine: R x p, small
        w = rep.weights
        theta = block_estimates(y, g, levels, w[:, None])[0]
        se = np.sqrt(np.diag(rep.replicate_vcov(theta, theta_reps)))
        t_blocks = time.perf_counter() - t
        gap = float(np.max(np.abs(se - full["std_error"].to_numpy())))
        print(f"2. {args.replicates} bootstrap replicates: build {t_build:.2f} s; proportions "
              f"by region {t_est:.2f} s at once, {t_blocks:.2f} s in {args.blocks} blocks "
              f"combined by replicate_vcov (max |SE difference| {gap:.1e})")

        try:
            import dask
        except ImportError:
            print("3. dask not installed: skipped (pip install dask to run it)")
            return
        tasks = [dask.delayed(one_file)(f, mapping) for f in files]
        t = time.perf_counter()
        results = dask.compute(*tasks, scheduler="processes", num_workers=2)
        t_dask = time.perf_counter() - t
        same = all(a.equals(b) for a, b in zip(serial, results, strict=True))
        print(f"3. dask {dask.__version__} delayed, local processes (2 workers): "
              f"{t_dask:.2f} s for {len(files)} files ({t_dask / len(files):.3f} s per file, "
              f"start-up included); results identical to one process: {same}")


if __name__ == "__main__":
    main()
