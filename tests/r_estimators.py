"""Reading the R fixtures of tests/r/fixtures_estimators.R (estimators_results.csv)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.conftest import R_FIXTURES

RTOL_EST, RTOL_SE = 1e-6, 1e-4


def load() -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / "estimators_results.csv", keep_default_na=False,
                       na_values=["", "NA"])


def rows(ref: pd.DataFrame, case: str, stat: str) -> pd.DataFrame:
    out = ref[(ref["case"] == case) & (ref["stat"] == stat)].reset_index(drop=True)
    assert len(out), f"no R reference for {case}/{stat}"
    return out


def vcov(ref: pd.DataFrame, case: str, names: list[str]) -> np.ndarray:
    cells = rows(ref, case, "vcov").set_index("name")["estimate"]
    return np.array([[cells[f"{a}|{b}"] for b in names] for a in names])


def check_vcov(res: pd.DataFrame, ref: pd.DataFrame, case: str, rtol: float = RTOL_SE) -> None:
    """Estimates, SEs and the joint covariance (attrs['vcov']) against the R case."""
    want = rows(ref, case, "estimate")
    names = list(want["name"])
    v = res.attrs["vcov"]
    assert list(v.index) == list(v.columns)
    assert sorted(v.index) == sorted(names)
    est = pd.Series(res["estimate"].to_numpy(), index=v.index)
    se = pd.Series(res["std_error"].to_numpy(), index=v.index)
    np.testing.assert_allclose(est[names], want["estimate"], rtol=RTOL_EST)
    np.testing.assert_allclose(se[names], want["se"], rtol=rtol, atol=1e-12 * want["se"].max())
    r = vcov(ref, case, names)
    # covariances relative to the SEs (correlation scale), so zero cells compare sensibly
    scale = np.sqrt(np.outer(np.diag(r), np.diag(r)))
    scale = np.maximum(scale, 1e-8 * scale.max())
    np.testing.assert_allclose(v.loc[names, names].to_numpy() / scale, r / scale,
                               atol=rtol, rtol=0)
