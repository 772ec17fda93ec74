"""Sampling stages of a linearisation design (their variance: :mod:`surveykit.variance`).

A design has one or more stages. Stage 1 holds the primary sampling units (PSUs) in the
first-stage strata; stage ``s >= 2`` holds the stage-``s`` units, which R nests automatically
in the stage-``s-1`` units (``id=~a+b`` makes the stage-2 unit the pair ``(a, b)``), in
stage-``s`` strata that are the stage-``s`` strata column (or, without one, nothing) crossed
with the stage-``s-1`` unit. Every array here is an integer code array, built in O(n) by
hashing (no sort), so a million-row design costs a few passes over the rows.

The recursive variance over the stages (R's ``multistage``/``svyrecvar``) lives in
:mod:`surveykit.variance.linearisation`; its names are re-exported here for compatibility.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from surveykit.variance.linearisation import (  # noqa: F401  (compatibility re-exports)
    CERTAINTY_TOL,
    recursive_vcov,
    stage_variance,
    unit_variance,
)


@dataclass(frozen=True)
class Stage:
    """One sampling stage. Codes are 0-based and dense.

    cluster: row -> unit code at this stage.
    cluster_stratum: unit -> stratum code at this stage.
    n: stratum -> number of sampled units (in the full sample, as R's ``fpc$sampsize``).
    f: stratum -> finite population correction ``1 - n/N`` (1 without an FPC).
    ratio: stratum -> sampling fraction ``n/N`` (0 without an FPC).
    parent: stratum -> the unit of the previous stage that contains it (0 at stage 1).
    rows_are_units: every row is its own unit (cluster is ``arange(n)``), a fast path.
    """

    cluster: np.ndarray
    cluster_stratum: np.ndarray
    n: np.ndarray
    f: np.ndarray
    ratio: np.ndarray
    parent: np.ndarray
    rows_are_units: bool = False

    @property
    def n_units(self) -> int:
        return len(self.cluster_stratum)

    @property
    def n_strata(self) -> int:
        return len(self.n)

    @cached_property
    def indicator(self) -> Any:
        """Sparse units x rows 0/1 matrix (CSR) of ``cluster``, built once per stage."""
        from scipy import sparse

        n = len(self.cluster)
        return sparse.csr_matrix((np.ones(n), (self.cluster, np.arange(n))),
                                 shape=(self.n_units, n))

    def row_stratum(self) -> np.ndarray:
        """Stratum code of every row."""
        if self.rows_are_units:
            return self.cluster_stratum
        return self.cluster_stratum[self.cluster]


def dense_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Codes 0..k-1 of an integer array in order of first appearance, by hashing (no sort)."""
    import pandas as pd

    codes, uniques = pd.factorize(values, sort=False)
    return codes.astype(np.intp, copy=False), len(uniques)


def pair_codes(a: np.ndarray, b: np.ndarray, nb: int) -> tuple[np.ndarray, int]:
    """Dense codes of the pairs ``(a_i, b_i)`` of two code arrays (``0 <= b < nb``)."""
    return dense_codes(a.astype(np.int64) * np.int64(nb) + b.astype(np.int64))


def unit_strata(cluster: np.ndarray, row_stratum: np.ndarray, n_units: int) -> tuple[
        np.ndarray, np.ndarray]:
    """Stratum of each unit and the rows whose unit also appears in another stratum."""
    out = np.zeros(n_units, dtype=np.intp)
    out[cluster] = row_stratum
    return out, np.flatnonzero(out[cluster] != row_stratum)


def per_stratum_value(values: np.ndarray, row_stratum: np.ndarray, n_strata: int) -> tuple[
        np.ndarray, np.ndarray]:
    """The value of each stratum and the strata in which it is not constant."""
    out = np.zeros(n_strata)
    out[row_stratum] = values
    bad = values != out[row_stratum]
    return out, np.unique(row_stratum[bad])
