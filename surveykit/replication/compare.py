"""Cell-by-cell comparison of computed estimates with published values.

A published cell "replicates" when the computed value, in the published unit, lies within the
rounding of the published number (half a unit in its last decimal; the registry computes the
tolerance), or on the right side of a published bound ("less than 2 %"). The rule itself is
:func:`surveykit.published.within_tolerance`; this module adds the "not comparable" state.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from surveykit.published import within_tolerance


def compare_cells(published: Any, computed: Any, tolerance: Any, bound: Any = None,
                  comparable: Any = True) -> tuple[np.ndarray, pd.Series]:
    """Differences ``computed - published`` and pass flags (``pd.NA`` when not comparable).

    A cell is not comparable when ``comparable`` is False for it (the registry marks it not
    replicable or inconsistent) or when its published value, computed value or tolerance is
    missing; it then counts neither as a pass nor as a failure.
    """
    pub = pd.to_numeric(pd.Series(np.asarray(published, dtype=object)), errors="coerce")
    comp = pd.to_numeric(pd.Series(np.asarray(computed, dtype=object)), errors="coerce")
    tol = pd.to_numeric(pd.Series(np.asarray(tolerance, dtype=object)), errors="coerce")
    n = len(pub)
    bnd = np.broadcast_to(np.asarray(bound, dtype=object), (n,))
    bnd = np.array([None if (b is None or (isinstance(b, float) and np.isnan(b))) else b
                    for b in bnd], dtype=object)
    diff = (comp - pub).to_numpy(dtype=float)
    ok = within_tolerance(comp.to_numpy(dtype=float), pub.to_numpy(dtype=float),
                          tol.fillna(0.0).to_numpy(dtype=float), bnd)
    mask = np.broadcast_to(np.asarray(comparable, dtype=bool), (n,))
    mask = mask & ~np.isnan(diff) & tol.notna().to_numpy()
    passed = pd.Series(np.asarray(ok, dtype=bool), dtype="boolean")
    passed[~mask] = pd.NA
    return diff, passed
