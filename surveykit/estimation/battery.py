"""Item batteries: several Likert items that share one response scale, tabulated together.

``likert(design, ["approval", "fairness", "trust_central"])`` (dispatched here by
:func:`surveykit.likert` when ``var`` is a list) gives one row per item (per ``by`` group),
one column per response level of the shared scale (weighted %), ``N`` and ``n missing``; the
numbers are those of :func:`surveykit.proportion` of each item (R's
``svymean(~factor(item))`` x 100; ``svyby`` for groups).

The shared scale: the value labels of the items when they have them (every labelled item must
carry the same codes and labels), else the codes observed in the data (every item the same
codes); ``labels=`` declares it explicitly. Items that do not share one scale are a
:class:`~surveykit.errors.ScaleMismatchError` naming the items and their codes/labels, and a
code outside the scale is an error too: percentages of different scales side by side mislead.

Missing values (``na``, the rule of every estimator): ``"listwise"`` (default, R's
``svymean(~a+b, na.rm=TRUE)``) leaves a respondent missing any item out of every item;
``"per_variable"`` tabulates each item on its own respondents. Either way they are counted in
``n missing``, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from surveykit.errors import EstimationError, ScaleMismatchError
from surveykit.estimation._core import Design, as_list, categorical_column, check_design
from surveykit.labels import as_code, label_of, value_labels, variable_label
from surveykit.provenance import mark

NET_SORTS = (None, "net")


def shared_scale(design: Design, items: Sequence[str],
                 labels: Mapping[Any, str] | None = None) -> tuple[list[Any], list[str]]:
    """The codes (scale order) and their labels of the scale ``items`` share (module docs)."""
    observed: dict[str, list[Any]] = {}
    for item in items:
        _, levels, _ = categorical_column(design, item)
        observed[item] = [as_code(lv) for lv in levels]
    if labels:
        scale = {as_code(k): str(v) for k, v in labels.items()}
        source = "the labels= given"
    else:
        labelled = {i: value_labels(design, i) for i in items}
        labelled = {i: lab for i, lab in labelled.items() if lab}
        if labelled:
            first, ref = next(iter(labelled.items()))
            differ = [i for i, lab in labelled.items() if lab != ref]
            if differ:
                shown = [f"{i}: {_show(lab)}" for i, lab in labelled.items()]
                raise ScaleMismatchError(
                    f"items do not share one scale: the value labels of {', '.join(differ)} "
                    f"differ from those of {first}", values=shown,
                    hint="tabulate them separately, recode them onto one scale, or pass "
                         "labels={code: label} to show items with the same codes on one scale")
            scale, source = dict(ref), f"the value labels of {first}"
        else:
            sets = {i: tuple(sorted(c, key=_order)) for i, c in observed.items()}
            if len(set(sets.values())) > 1:
                shown = [f"{i}: codes {', '.join(map(str, c))}" for i, c in sets.items()]
                raise ScaleMismatchError(
                    "items do not share one scale: their observed codes differ and they have "
                    "no value labels to say which scale they are on", values=shown,
                    hint="pass labels={code: label, ...} to declare the shared scale")
            first = next(iter(sets))
            scale = {c: str(c) for c in sets[first]}
            source = "the codes observed"
    outside = {i: [c for c in obs if c not in scale] for i, obs in observed.items()}
    outside = {i: c for i, c in outside.items() if c}
    if outside:
        raise ScaleMismatchError(
            f"items do not share one scale: codes outside {source} "
            f"({', '.join(map(str, sorted(scale, key=_order)))})",
            values=[f"{i}: {', '.join(map(str, c))}" for i, c in outside.items()],
            hint="recode or declare the codes as missing, or pass labels= with the full scale")
    codes = sorted(scale, key=_order)
    return codes, [scale[c] for c in codes]


def _order(code: Any) -> tuple[int, Any]:
    return (0, code) if isinstance(code, (int, float)) else (1, str(code))


def _show(labels: Mapping[Any, str]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in labels.items()) + "}"


def net_agreement(shares: np.ndarray) -> np.ndarray:
    """Top half minus bottom half of the scale (the middle level of an odd scale left out),
    for each row of ``shares`` (rows x levels, in scale order)."""
    k = shares.shape[1]
    half = k // 2
    return shares[:, k - half:].sum(axis=1) - shares[:, :half].sum(axis=1)


def likert_battery(design: Design, items: Sequence[str], by: str | Sequence[str] | None = None,
                   *, na: str = "listwise", sort: str | None = None,
                   labels: Mapping[Any, str] | None = None, se: bool = False,
                   ci: str = "logit", level: float = 0.95,
                   progress: bool | None = None) -> pd.DataFrame:
    """The battery table (module docstring); see :func:`surveykit.likert`."""
    from surveykit.estimation.descriptive import proportion

    design = check_design(design)
    items = as_list(items, "items")
    if not items:
        raise EstimationError("likert: no items given")
    if len(set(items)) != len(items):
        raise EstimationError("likert: an item is listed twice",
                              values=sorted({i for i in items if items.count(i) > 1}))
    if sort not in NET_SORTS:
        raise EstimationError(f"likert: unknown sort={sort!r}", hint="use None or 'net'")
    codes, level_labels = shared_scale(design, items, labels)
    if len(set(level_labels)) != len(level_labels):
        raise ScaleMismatchError("the scale's labels are not unique", values=level_labels)
    long = proportion(design, items, by=by, na=na, ci=ci, level=level, progress=progress,
                      scale=codes)
    by_names = as_list(by, "by")
    k = len(codes)
    shares = long["estimate"].to_numpy().reshape(-1, k) * 100.0
    ses = long["std_error"].to_numpy().reshape(-1, k) * 100.0
    heads = long.iloc[::k].reset_index(drop=True)
    out = pd.DataFrame({"item": heads["variable"].astype(object),
                        "item_label": [variable_label(design, v) for v in heads["variable"]]})
    for b in by_names:
        out[b] = heads[b].to_numpy()
        if f"{b}_label" in heads.columns:
            out[f"{b}_label"] = heads[f"{b}_label"].to_numpy()
    for j, name in enumerate(level_labels):
        out[name] = shares[:, j]
        if se:
            out[f"{name} (SE)"] = ses[:, j]
    out["N"] = heads["n_unweighted"].astype("int64").to_numpy()
    out["n missing"] = heads["n_missing"].astype("int64").to_numpy()
    net = net_agreement(shares)
    if sort == "net":
        order_net = net
        if by_names:  # one item order for every group: the net agreement of the whole sample
            whole = likert_battery(design, items, None, na=na, labels=labels)
            order_net = np.array([whole.attrs["net"][i] for i in out["item"]])
        rank = {i: r for r, i in enumerate(pd.Series(order_net, index=out["item"])
                                           .groupby(level=0, sort=False).first()
                                           .sort_values(ascending=False, kind="stable").index)}
        pos = np.array([rank[i] for i in out["item"]])
        idx = np.lexsort((np.arange(len(out)), pos))
        out = out.iloc[idx].reset_index(drop=True)
        net = net[idx]
    out.attrs.update({
        "battery": True, "items": list(dict.fromkeys(out["item"])), "codes": list(codes),
        "levels": list(level_labels), "by": by_names, "na": na, "sort": sort,
        "n_missing_by": long.attrs.get("n_missing_by", 0),
        "net": ({i: float(v) for i, v in zip(out["item"], net, strict=True)}
                if not by_names else
                {(i, *(as_code(out[b].iloc[r]) for b in by_names)): float(net[r])
                 for r, i in enumerate(out["item"])}),
        "variable_labels": {**{i: variable_label(design, i) for i in items},
                            **{b: variable_label(design, b) for b in by_names}},
    })
    return mark(out, design.is_synthetic)


def group_text(row: pd.Series, by: Sequence[str]) -> str:
    """The label of a battery row's ``by`` group ("Urban", "Urban / 31–50")."""
    return " / ".join(str(row[f"{b}_label"]) if f"{b}_label" in row.index
                      else label_of({}, row[b]) for b in by)
