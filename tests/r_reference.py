"""Helpers shared by the tests that compare with the R fixtures of tests/r/fixtures_estimation.R."""

from __future__ import annotations

import numpy as np
import pandas as pd


def pick(ref: pd.DataFrame, design: str, stat: str) -> pd.DataFrame:
    """The R reference rows of one design and statistic (failing if there are none)."""
    out = ref[(ref["design"] == design) & (ref["stat"] == stat)]
    assert len(out), f"no R reference for {design}/{stat}"
    return out.reset_index(drop=True)


def close(got, want, rtol) -> None:
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=rtol)
