"""Compute one published table from a survey design and compare it cell by cell.

Every cell of the registry (``data_dictionary/published/``) carries a compute spec: a statistic
(``percent`` of ``var`` in ``code``, or ``mean`` of ``var``) over a domain expression. The cells
of a table are grouped by domain so that each domain is estimated once, with the public
estimators :func:`surveykit.proportion` and :func:`surveykit.mean` on ``design.subset(domain)``
(R's ``subset.survey.design``: the full design is kept, so standard errors are design-based).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from surveykit.errors import ReplicationError
from surveykit.estimation import mean, proportion
from surveykit.published import Registry, domain_names, evaluate_domain, load_registry
from surveykit.replication.compare import compare_cells
from surveykit.replication.result import COMPARISON_COLUMNS

#: Extra columns after the contract's :data:`COMPARISON_COLUMNS`.
EXTRA_COLUMNS: tuple[str, ...] = ("unit", "decimals", "bound", "group_n_published", "var",
                                  "code", "domain", "reason")

_ESTIMATES = ("computed", "std_error", "ci_low", "ci_high")


def table_ids(registry: Registry | None = None) -> list[str]:
    """Ids of the published tables in natural order (fig_5_4 before fig_5_10, prose last)."""
    ids = (registry if registry is not None else load_registry()).tables()
    return sorted(ids, key=lambda t: [int(p) if p.isdigit() else p
                                      for p in re.split(r"(\d+)", t)])


def table_meta(table_id: str, registry: Registry | None = None) -> dict[str, Any]:
    """Title, source, unit, decimals and note of a table (the contract's ``table_meta``)."""
    reg = registry if registry is not None else load_registry()
    meta = reg.meta(table_id)
    from surveykit.replication.writers import citation

    source = citation(meta)  # author, year, title, page, caption: what a reader can look up
    return {"title": meta["title"], "source": source, "unit": meta["unit"],
            "decimals": int(meta["decimals"]), "note": (meta.get("notes") or "").strip(),
            "population": meta.get("population")}


def _indicator_name(var: str, codes: tuple[int, ...]) -> str:
    return f"{var}__in_" + "_".join(str(c) for c in codes)


def _with_indicators(design: Any, cells: pd.DataFrame) -> Any:
    """The design with 0/1 columns for multi-code percent cells (e.g. approval in {4, 5}).

    A share of several codes is the proportion of one indicator, so its standard error is
    that of a single proportion (summing per-code shares would lose their covariance).
    """
    multi = cells[(cells["stat"] == "percent") & cells["code"].map(
        lambda c: c is not None and len(c) > 1)]
    new: dict[str, np.ndarray] = {}
    for var, codes in dict.fromkeys(zip(multi["var"], multi["code"], strict=True)):
        if var not in design.data.columns:
            continue
        y = pd.to_numeric(design.data[var], errors="coerce").to_numpy(dtype=float)
        new[_indicator_name(var, codes)] = np.where(np.isnan(y), np.nan,
                                                    np.isin(y, codes).astype(float))
    if not new:
        return design
    return design.with_columns(**new)


def _unusable(data: pd.DataFrame, var: str, domain: str | None) -> str | None:
    """Why a cell cannot be computed from these data (None when it can)."""
    for name in [var, *domain_names(domain)]:
        if name not in data.columns:
            return f"variable {name!r} is not in the data"
        if data[name].isna().all():
            return f"variable {name!r} is missing for every respondent"
    return None


def _share(res: pd.DataFrame, level: float) -> dict[str, float]:
    """The row of a ``proportion`` result for one level (a share of 0 when it never occurs)."""
    levels = pd.to_numeric(res["level"], errors="coerce").to_numpy(dtype=float)
    hit = np.flatnonzero(levels == level)
    if not hit.size:
        return {"computed": 0.0, "std_error": 0.0, "ci_low": 0.0, "ci_high": 0.0,
                "n_unweighted": res["n_unweighted"].iloc[0]}
    row = res.iloc[hit[0]]
    return {"computed": row["estimate"], "std_error": row["std_error"],
            "ci_low": row["ci_low"], "ci_high": row["ci_high"],
            "n_unweighted": row["n_unweighted"]}


def _percent_cells(dom: Any, var: str, items: pd.DataFrame) -> dict[int, dict[str, float]]:
    """Estimates for the percent cells of one domain and variable, keyed by cell index.

    One ``proportion`` call gives every single-code cell; each multi-code cell is the share of
    its indicator column (see :func:`_with_indicators`).
    """
    out: dict[int, dict[str, float]] = {}
    single = items[items["code"].map(len) == 1]
    if len(single):
        res = proportion(dom, var)
        for idx, code in zip(single.index, single["code"], strict=True):
            out[idx] = _share(res, float(code[0]))
    for idx, code in items.loc[items["code"].map(len) > 1, "code"].items():
        out[idx] = _share(proportion(dom, _indicator_name(var, code)), 1.0)
    for values in out.values():  # proportions are fractions; the tables print percent
        for key in _ESTIMATES:
            values[key] = 100.0 * float(values[key])
    return out


def _mean_cells(dom: Any, var: str, items: pd.DataFrame) -> dict[int, dict[str, float]]:
    row = mean(dom, var).iloc[0]
    values = {"computed": float(row["estimate"]), "std_error": float(row["std_error"]),
              "ci_low": float(row["ci_low"]), "ci_high": float(row["ci_high"]),
              "n_unweighted": row["n_unweighted"]}
    return {idx: dict(values) for idx in items.index}


def compute_table(table_id: str, design: Any, registry: Registry | None = None) -> pd.DataFrame:
    """Re-compute every cell of a published table from ``design`` and compare it.

    Returns the long comparison frame of :class:`~surveykit.replication.ReplicationResult`:
    one row per published cell (published order) with the published and computed values (in
    the published unit: percent or mean), their difference, the rounding tolerance, ``passed``
    (``pd.NA`` for cells that cannot be compared, with the ``reason``), the design-based
    standard error and 95 % CI, ``n_unweighted`` (domain respondents with a valid value) and
    ``group_n`` (respondents in the domain).
    """
    reg = registry if registry is not None else load_registry()
    cells = reg.table(table_id)
    domains = [d if isinstance(d, str) and d else None for d in cells["domain"]]
    if design.data.index.has_duplicates:
        raise ReplicationError("the design's data have a duplicated row index",
                               file=design.source, hint="reset the index of the data frame")
    design = _with_indicators(design, cells)
    data = design.data
    out = pd.DataFrame({
        "table_id": cells["table_id"], "row_id": cells["row_id"],
        "row_label": cells["row_label"], "group_id": cells["group_id"],
        "group_label": cells["group_label"], "stat": cells["stat"],
        "published": cells["value"].astype(float),
        "computed": np.nan, "difference": np.nan,
        "tolerance": cells["tolerance"].astype(float), "passed": pd.NA,
        "std_error": np.nan, "ci_low": np.nan, "ci_high": np.nan,
        "n_unweighted": pd.array([pd.NA] * len(cells), dtype="Int64"),
        "group_n": pd.array([pd.NA] * len(cells), dtype="Int64"),
        "unit": cells["unit"], "decimals": cells["decimals"].astype(int),
        "bound": cells["bound"],
        "group_n_published": pd.array(cells["group_n"].tolist(), dtype="Int64"),
        "var": cells["var"], "code": cells["code"], "domain": cells["domain"],
        "reason": cells["reason"],
    })
    usable = cells["replicable"].to_numpy(dtype=bool).copy()
    for idx in np.flatnonzero(usable):
        why = _unusable(data, cells.at[idx, "var"], domains[idx])
        if why:
            usable[idx] = False
            out.at[idx, "reason"] = why

    todo = cells[usable]
    # each domain once; within a domain, each variable once
    domain_key = pd.Series([domains[i] or "" for i in np.flatnonzero(usable)], index=todo.index)
    for dkey in dict.fromkeys(domain_key):
        in_dom = todo[domain_key == dkey]
        mask = evaluate_domain(data, dkey or None)
        dom = design.subset(mask)
        group_n = int(dom.n)
        out.loc[in_dom.index, "group_n"] = group_n
        if group_n == 0:
            out.loc[in_dom.index, "reason"] = "no respondent in the domain"
            continue
        for (stat, var), items in in_dom.groupby(["stat", "var"], sort=False):
            y = pd.to_numeric(data[var], errors="coerce").to_numpy(dtype=float)
            if not np.any(mask & ~np.isnan(y)):
                out.loc[items.index, "reason"] = f"{var} is missing for every respondent " \
                                                 "of the domain"
                continue
            # missing values of var leave the domain (R: subset(design, domain & !is.na(var)))
            found = (_percent_cells if stat == "percent" else _mean_cells)(
                dom.subset(~np.isnan(y)), var, items)
            for idx, values in found.items():
                for key, value in values.items():
                    out.at[idx, key] = value

    comparable = cells["consistent"].to_numpy(dtype=bool) & usable
    diff, passed = compare_cells(out["published"], out["computed"], out["tolerance"],
                                 out["bound"], comparable)
    out["difference"] = diff
    out["passed"] = passed.to_numpy()
    out["passed"] = out["passed"].astype("boolean")
    out = out[[*COMPARISON_COLUMNS, *EXTRA_COLUMNS]]
    return out.reset_index(drop=True)
