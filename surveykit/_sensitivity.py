"""Weighting sensitivity: every published table under alternative weightings, side by side.

``sensitivity(design)`` recomputes every registry table (``surveykit.replication``) under
several weighting schemes of the same respondents — unweighted, the file's weights, the file's
weights trimmed (default 0.3–3 × the mean weight, R's ``trimWeights``) and, given population
margins, the sample raked to them (R's ``rake``) — and reports per scheme Kish's effective
sample size, every cell's estimate with its design-based SE and CI, and the *conclusions* that
change relative to the file's weights: within a family of comparable groups (the categories of
one sociodemographic variable, or the SCS-participation groups of a table) an ordering of two
groups that flips, or a difference whose 95 % CI starts or stops covering zero. Differences use
the joint linearisation of the two domain means (``design.vcov`` on their influence scores), so
overlapping groups (Sesame users vs all commercial users) are handled correctly.

On the bundled SYNTHETIC replica the "unweighted" column reflects the replica generator's
ASSUMED sample composition, not the composition of the original survey's respondents.

Public as ``sk.sensitivity(design, margins=...)`` (this module is private) and
``sk.weighting_schemes`` (the default schemes, to adjust before passing them).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from surveykit._atomic import write_text
from surveykit._cells import NEUTRALISED_NOTE, neutralise
from surveykit._dist import norm_ppf
from surveykit.errors import WeightingError

__all__ = ["DEFAULT_TRIM", "REPLICA_NOTE", "Scheme", "SensitivityResult", "load_margins",
           "sensitivity", "weighting_schemes", "write_sensitivity"]

#: Default trimming bounds, as multiples of the mean weight.
DEFAULT_TRIM: tuple[float, float] = (0.3, 3.0)
#: What the unweighted column means on the synthetic replica (said wherever it is shown).
REPLICA_NOTE = ("On the SYNTHETIC replica the unweighted composition is an assumption of the "
                "replica (its generator's assumed sample, data_dictionary/replica.md), not a "
                "fact about the original survey: differences between the unweighted and "
                "weighted columns describe the replica, not Kostka's respondents.")
CHANGE_KINDS = ("ordering flips", "CI now covers zero", "CI no longer covers zero")


def load_margins(path: str | Path) -> tuple[dict[str, dict[Any, float]], str]:
    """Population margins for the raked scheme (``surveykit weight`` targets YAML) and a short
    description of their source; ``"illustrative"`` is the shipped ILLUSTRATIVE example."""
    from surveykit._resources import data_path
    from surveykit.weighting import load_targets

    if str(path) == "illustrative":
        path = data_path("sensitivity", "illustrative_margins.yaml")
        return load_targets(path)["margins"], "ILLUSTRATIVE margins (not a census)"
    return load_targets(path)["margins"], Path(path).name


@dataclass(frozen=True)
class Scheme:
    """One weighting of the same respondents: an id, a label, a design, how it was made."""

    name: str
    label: str
    design: Any
    description: str


def weighting_schemes(design: Any, *, trim_bounds: tuple[float, float] | None = DEFAULT_TRIM,
                      margins: Mapping[str, Mapping[Any, float]] | None = None,
                      margins_source: str | None = None) -> list[Scheme]:
    """The standard schemes: unweighted, the file's weights, trimmed, raked (if ``margins``).

    Trimming bounds are multiples of the mean weight (``trim`` takes absolute weights).
    Raking starts from equal weights, i.e. it is an independent re-weighting of the sample to
    the given population margins, not an adjustment of the file's weights.

    Parameters
    ----------
    design : SurveyDesign
        The design with the file's weights.
    trim_bounds : tuple of float, optional
        ``(lower, upper)`` trimming bounds as multiples of the mean weight.
    margins : mapping, optional
        Population margins ``{column: {category: share}}`` for a raked scheme.
    margins_source : str, optional
        Where the margins come from (recorded with the scheme).

    Returns
    -------
    list of Scheme

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> [s.name for s in sk.weighting_schemes(design)]
    ['unweighted', 'file', 'trimmed']
    """
    from surveykit.weighting import rake, trim

    w = np.asarray(design.base_weights, dtype=float)
    n = len(w)
    out = [Scheme("unweighted", "Unweighted", design.with_weights(np.ones(n)),
                  "every respondent weight 1"),
           Scheme("file", "File weights", design, "the weights supplied with the data")]
    if trim_bounds is not None:
        lo, hi = (float(b) for b in trim_bounds)
        mean_w = float(w.mean())
        trimmed = trim(design, lower=lo * mean_w, upper=hi * mean_w)
        out.append(Scheme("trimmed", f"Trimmed {lo:g}-{hi:g}", trimmed,
                          f"file weights trimmed to [{lo:g}, {hi:g}] x the mean weight, excess "
                          "redistributed (R trimWeights)"))
    if margins:
        raked = rake(design.with_weights(np.ones(n)), margins).design
        src = f" from {margins_source}" if margins_source else ""
        out.append(Scheme("raked", "Raked to margins", raked,
                          f"equal weights raked to the population margins{src} "
                          f"({', '.join(map(str, margins))}; R rake)"))
    return out


@dataclass
class SensitivityResult:
    """Every published cell under every scheme, the schemes' weights, and what changes."""

    schemes: pd.DataFrame       # one row per scheme: label, description, Kish n_effective ...
    cells: pd.DataFrame         # one row per cell x scheme
    comparisons: pd.DataFrame   # one row per pair of comparable groups x row x scheme
    changes: pd.DataFrame       # the comparisons whose conclusion differs from the reference
    reference: str = "file"
    is_synthetic: bool = False
    notes: list[str] = field(default_factory=list)

    def wide(self, value: str = "computed") -> pd.DataFrame:
        """Cells x schemes (published order, scheme order) of ``value``."""
        keys = ["table_id", "row_id", "group_id"]
        order = self.cells.drop_duplicates(keys)[[*keys, "row_label", "group_label", "published"]]
        piv = self.cells.pivot(index=keys, columns="scheme", values=value)
        piv = piv[list(self.schemes["scheme"])]
        return order.merge(piv.reset_index(), on=keys, how="left")

    @property
    def summary(self) -> str:
        """One line per scheme: effective n, largest cell shift, conclusions that change."""
        lines = []
        for row in self.schemes.itertuples():
            ch = self.changes[self.changes["scheme"] == row.scheme]
            shift = self.cells.loc[self.cells["scheme"] == row.scheme, "shift_se"].abs().max()
            text = (f"{row.label}: Kish effective n {row.n_effective:,.0f} (deff "
                    f"{row.deff_kish:.3f})")
            if row.scheme != self.reference:
                counts = [f"{int((ch['kind'] == k).sum())} {k}" for k in CHANGE_KINDS]
                flips = ch[ch["kind"] == CHANGE_KINDS[0]]
                real = int((~flips["covers_zero_reference"].astype(bool)).sum())
                counts[0] += f" ({real} of a difference whose reference CI excluded zero)"
                text += (f"; largest cell shift {shift:.1f} SE; " + ", ".join(counts))
            lines.append(text)
        return "\n".join(lines)


# -- computing ------------------------------------------------------------------------------------
def sensitivity(design: Any, schemes: Sequence[Scheme] | Mapping[str, Any] | None = None, *,
                margins: Mapping[str, Mapping[Any, float]] | None = None,
                trim_bounds: tuple[float, float] | None = DEFAULT_TRIM,
                margins_source: str | None = None, registry: Any = None,
                tables: Sequence[str] | None = None, reference: str = "file",
                level: float = 0.95) -> SensitivityResult:
    """Recompute every published table under each weighting scheme and compare conclusions.

    ``schemes``: :class:`Scheme` objects or ``{name: design}``; default
    :func:`weighting_schemes` (unweighted, file, trimmed, raked when ``margins`` are given).
    ``reference`` names the scheme the others are compared with (default the file's weights).

    Parameters
    ----------
    design : SurveyDesign
        The design with the file's weights.
    schemes : sequence of Scheme or mapping, optional
        The weighting schemes (default: :func:`weighting_schemes`).
    margins : mapping, optional
        Population margins for the raked scheme.
    trim_bounds : tuple of float, optional
        Trimming bounds of the trimmed scheme, as multiples of the mean weight.
    margins_source : str, optional
        Where the margins come from.
    registry : optional
        The published-table registry (default: the bundled one).
    tables : sequence of str, optional
        Table ids to recompute (default: all).
    reference : str
        The scheme the others are compared with.
    level : float
        Confidence level of the intervals.

    Returns
    -------
    SensitivityResult

    Examples
    --------
    >>> df = sk.load_replica()
    >>> design = sk.SurveyDesign(df, weights="weight")
    >>> res = sk.sensitivity(design, tables=["fig_5_6"])
    >>> res.schemes["scheme"].tolist()
    ['unweighted', 'file', 'trimmed']
    """
    from surveykit.published import load_registry
    from surveykit.replication.tables import compute_table, table_ids

    reg = registry if registry is not None else load_registry()
    if getattr(design, "is_replicate", False):
        raise WeightingError("sensitivity needs a linearisation design (SurveyDesign): the "
                             "pairwise CIs use design.vcov of influence scores",
                             file=getattr(design, "source", None),
                             hint="pass the SurveyDesign the replicate design was made from")
    if schemes is None:
        plan = weighting_schemes(design, trim_bounds=trim_bounds, margins=margins,
                                 margins_source=margins_source)
    elif isinstance(schemes, Mapping):
        plan = [Scheme(str(k), str(k), d, "user-supplied design") for k, d in schemes.items()]
    else:
        plan = list(schemes)
    names = [s.name for s in plan]
    if len(set(names)) != len(names) or reference not in names:
        raise WeightingError("sensitivity schemes need unique names including the reference",
                             values=names, hint=f"reference scheme: {reference!r}")
    ids = list(tables) if tables is not None else table_ids(reg)
    z = float(norm_ppf(0.5 + level / 2))

    rows, comps, info = [], [], []
    for s in plan:  # a handful of schemes x 7 tables
        summ = _weights_row(s)
        info.append(summ)
        for tid in ids:
            t = compute_table(tid, s.design, reg).assign(scheme=s.name)
            rows.append(t)
            comps.append(_pair_comparisons(tid, s, reg, t, z))
    cells = pd.concat(rows, ignore_index=True)
    ref = cells[cells["scheme"] == reference].set_index(["table_id", "row_id", "group_id"])
    key = pd.MultiIndex.from_frame(cells[["table_id", "row_id", "group_id"]])
    ref_value = ref["computed"].reindex(key).to_numpy(dtype=float)
    ref_se = ref["std_error"].reindex(key).to_numpy(dtype=float)
    cells["change"] = cells["computed"].to_numpy(dtype=float) - ref_value
    with np.errstate(divide="ignore", invalid="ignore"):
        cells["shift_se"] = np.where(ref_se > 0, cells["change"] / ref_se, np.nan)
    comparisons = pd.concat(comps, ignore_index=True)
    changes = _changes(comparisons, reference)
    synthetic = bool(getattr(design, "is_synthetic", False))
    notes = [REPLICA_NOTE] if synthetic else []
    return SensitivityResult(schemes=pd.DataFrame(info), cells=cells, comparisons=comparisons,
                             changes=changes, reference=reference, is_synthetic=synthetic,
                             notes=notes)


def _weights_row(s: Scheme) -> dict[str, Any]:
    from surveykit.weighting import weight_summary

    ws = weight_summary(s.design)
    return {"scheme": s.name, "label": s.label, "description": s.description,
            "n": int(ws["n"]), "min": float(ws["min"]), "max": float(ws["max"]),
            "cv": float(ws["cv"]), "deff_kish": float(ws["deff_kish"]),
            "n_effective": float(ws["n_effective"])}


def _families(groups: pd.DataFrame) -> dict[str, list[str]]:
    """Comparable groups of a table: the categories of one variable (a group whose domain adds
    one variable, shared by >= 2 groups), the rest together (SCS-participation groups). The
    table's total (a domain no narrower than the common part) is compared with nobody."""
    from surveykit.published import domain_names

    names = {g: set(domain_names(d)) for g, d in zip(groups["group_id"], groups["domain"],
                                                      strict=True)}
    common = set.intersection(*names.values()) if names else set()
    extra = {g: frozenset(v - common) for g, v in names.items()}
    single = pd.Series([e for e in extra.values() if len(e) == 1]).value_counts()
    fam: dict[str, list[str]] = {}
    for g, e in extra.items():
        if not e:
            continue  # the total
        key = next(iter(e)) if len(e) == 1 and single.get(e, 0) >= 2 else "participation"
        fam.setdefault(key, []).append(g)
    return {k: v for k, v in fam.items() if len(v) >= 2}


def _cell_scores(design: Any, data: pd.DataFrame, cell: pd.Series) -> tuple[float, np.ndarray]:
    """Estimate and weighted influence scores of one cell's domain mean (R svymean on a
    domain: (y - theta) / N_domain, times the weight, zero outside the domain)."""
    from surveykit.published import evaluate_domain

    x = pd.to_numeric(data[cell["var"]], errors="coerce").to_numpy(dtype=float)
    dom = cell["domain"] if isinstance(cell["domain"], str) and cell["domain"] else None
    m = evaluate_domain(data, dom) & ~np.isnan(x)
    y = np.isin(x, cell["code"]).astype(float) if cell["stat"] == "percent" else np.nan_to_num(x)
    w = np.asarray(design.weights, dtype=float) * m
    total = w.sum()
    theta = float(w @ y / total)
    scale = 100.0 if cell["stat"] == "percent" else 1.0
    return scale * theta, scale * w * (y - theta) / total


def _pair_comparisons(table_id: str, scheme: Scheme, reg: Any, computed: pd.DataFrame,
                      z: float) -> pd.DataFrame:
    """Differences between comparable groups of every row, with their joint-linearised CI."""
    cells = reg.table(table_id)
    fam = _families(cells.drop_duplicates("group_id")[["group_id", "domain"]])
    if not fam:
        return pd.DataFrame()
    design = scheme.design
    data = design.data
    ok = computed.set_index(["row_id", "group_id"])["computed"].notna()
    by_key = cells.set_index(["row_id", "group_id"])
    pairs, cols = [], []
    cache: dict[tuple[str, str], tuple[float, np.ndarray]] = {}

    def scores(row_id: str, g: str) -> tuple[float, np.ndarray]:
        if (row_id, g) not in cache:
            cache[(row_id, g)] = _cell_scores(design, data, by_key.loc[(row_id, g)])
        return cache[(row_id, g)]

    for row_id in dict.fromkeys(cells["row_id"]):
        for family, members in fam.items():
            present = [g for g in members if (row_id, g) in by_key.index and ok.get((row_id, g))]
            for a, b in combinations(present, 2):
                (ea, sa), (eb, sb) = scores(row_id, a), scores(row_id, b)
                pairs.append((row_id, family, a, b, ea - eb))
                cols.append(sa - sb)
    if not pairs:
        return pd.DataFrame()
    v = np.diag(np.atleast_2d(design.vcov(np.column_stack(cols))))
    se = np.sqrt(np.maximum(v, 0.0))
    out = pd.DataFrame(pairs, columns=["row_id", "family", "group_a", "group_b", "difference"])
    out.insert(0, "table_id", table_id)
    out["std_error"] = se
    out["ci_low"] = out["difference"] - z * se
    out["ci_high"] = out["difference"] + z * se
    out["covers_zero"] = (out["ci_low"] <= 0) & (out["ci_high"] >= 0)
    out["scheme"] = scheme.name
    return out


def _changes(comparisons: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Comparisons whose sign or CI verdict differs from the reference scheme."""
    cols = ["scheme", "table_id", "row_id", "family", "group_a", "group_b", "kind",
            "difference_reference", "covers_zero_reference", "difference", "ci_low", "ci_high"]
    if comparisons.empty:
        return pd.DataFrame(columns=cols)
    keys = ["table_id", "row_id", "group_a", "group_b"]
    ref = comparisons[comparisons["scheme"] == reference][[*keys, "difference", "covers_zero"]]
    m = comparisons[comparisons["scheme"] != reference].merge(ref, on=keys,
                                                               suffixes=("", "_reference"))
    eps = 1e-9
    flip = ((np.sign(m["difference"]) * np.sign(m["difference_reference"]) < 0)
            & (m["difference"].abs() > eps) & (m["difference_reference"].abs() > eps))
    now = m["covers_zero"] & ~m["covers_zero_reference"]
    gone = ~m["covers_zero"] & m["covers_zero_reference"]
    parts = [m[mask].assign(kind=kind) for mask, kind in zip((flip, now, gone), CHANGE_KINDS,
                                                              strict=True)]
    return pd.concat(parts, ignore_index=True)[cols]


# -- writing --------------------------------------------------------------------------------------
def _sidecar(csv: Path, title: str, result: SensitivityResult,
             provenance: Mapping[str, Any] | None) -> Path:
    from surveykit.provenance import SYNTHETIC_BANNER

    doc = {"file": csv.name, "title": title,
           "data_source": "synthetic replica" if result.is_synthetic
           else str((provenance or {}).get("input_file") or "input data"),
           "synthetic": result.is_synthetic,
           "banner": SYNTHETIC_BANNER if result.is_synthetic else None,
           "reference_scheme": result.reference, "notes": result.notes,
           "text_cells": NEUTRALISED_NOTE,
           "schemes": result.schemes[["scheme", "label", "description"]].to_dict("records"),
           "provenance": {k: (v if isinstance(v, (str, int, float, bool)) or v is None
                              else str(v)) for k, v in (provenance or {}).items()}}
    return write_text(csv.with_suffix(".json"),
                      json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def _csv(frame: pd.DataFrame, path: Path, source: str) -> Path:
    out = frame.copy()
    for c in out.columns:  # rounded, -0.0 made 0.0: no "-0.000000" in the file
        if pd.api.types.is_float_dtype(out[c].dtype):
            out[c] = out[c].round(6) + 0.0
    out.insert(0, "data_source", source)
    out, _ = neutralise(out)  # group labels come from the data: no spreadsheet formulas
    return write_text(path, out.to_csv(index=False, float_format="%.6f", lineterminator="\n"))


#: What :func:`write_sensitivity` writes into ``sensitivity/``.
SENSITIVITY_NAMES: tuple[str, ...] = (
    "schemes.csv", "schemes.json", "cells.csv", "cells.json", "cells_wide.csv",
    "cells_wide.json", "changes.csv", "changes.json", "cells_by_scheme.png",
    "cells_by_scheme.svg", "cells_by_scheme.pdf", "sensitivity.md", "manifest.json")


def write_sensitivity(result: SensitivityResult, out: str | Path,
                      provenance: Mapping[str, Any] | None = None, *, staged: bool = True,
                      force: bool = False) -> dict[str, Path]:
    """Write ``out/sensitivity/``: ``schemes.csv``, ``cells.csv`` (long), ``cells_wide.csv``
    (cells x schemes), ``changes.csv`` (plain CSVs, each with a ``.json`` sidecar), the figure
    ``cells_by_scheme.{png,svg}`` and ``sensitivity.md`` (the report section).

    The folder is written as one run (:class:`surveykit._runfolder.RunFolder`: staged,
    swapped in whole with a ``manifest.json``; a folder holding other files is refused unless
    ``force``). ``staged=False`` writes straight into ``out/sensitivity`` (``out`` is already
    a staging folder, as in ``surveykit replicate --sensitivity``).
    """
    folder = Path(out) / "sensitivity"
    if not staged:
        return _write_sensitivity_files(result, folder, provenance)
    from surveykit._runfolder import RunFolder

    run = RunFolder(folder, command="sensitivity", argv=None, inputs=(),
                    known=SENSITIVITY_NAMES, force=force)
    with run as stage:
        made = _write_sensitivity_files(result, stage, provenance)
        final = {k: run.final(p) for k, p in made.items()}
        run.commit()
    return final


def _write_sensitivity_files(result: SensitivityResult, folder: Path,
                             provenance: Mapping[str, Any] | None) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    source = ("synthetic replica" if result.is_synthetic
              else str((provenance or {}).get("input_file") or "input data"))
    keep = ["table_id", "row_id", "group_id", "row_label", "group_label", "stat", "published",
            "scheme", "computed", "std_error", "ci_low", "ci_high", "passed", "change",
            "shift_se"]
    files = {
        "schemes": (result.schemes, "Weighting schemes and Kish effective sample sizes"),
        "cells": (result.cells[keep], "Every published cell under every weighting scheme"),
        "cells_wide": (result.wide(), "Computed value of every published cell, cells x schemes"),
        "changes": (result.changes, "Conclusions that change relative to the reference scheme"),
    }
    paths: dict[str, Path] = {}
    for stem, (frame, title) in files.items():
        paths[stem] = _csv(frame, folder / f"{stem}.csv", source)
        paths[f"{stem}_json"] = _sidecar(paths[stem], title, result, provenance)
    fig = sensitivity_figure(result)
    from surveykit.report.figures import save_figure

    saved = save_figure(fig, folder / "cells_by_scheme")
    import matplotlib.pyplot as plt

    plt.close(fig)
    paths.update({f"figure_{ext}": p for ext, p in saved.items()})
    md = folder / "sensitivity.md"
    write_text(md, section_markdown(result, "sensitivity/cells_by_scheme.png"))
    paths["markdown"] = md
    return paths


def sensitivity_figure(result: SensitivityResult) -> Any:
    """Heat map, cells x schemes: each cell's shift from the reference in reference SEs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wide = result.wide("shift_se")
    schemes = [s for s in result.schemes["scheme"] if s != result.reference]
    labels = dict(zip(result.schemes["scheme"], result.schemes["label"], strict=True))
    values = wide[schemes].to_numpy(dtype=float)
    lim = max(2.0, float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 2.0)
    height = max(6.0, 0.035 * len(wide) + 2.0)
    fig, ax = plt.subplots(figsize=(2.0 + 1.4 * len(schemes), height))
    im = ax.imshow(values, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim,
                   interpolation="nearest")
    ax.set_xticks(range(len(schemes)), [labels[s] for s in schemes], rotation=20, ha="right")
    starts = wide.groupby("table_id", sort=False).indices

    def name(tid: str) -> str:
        return ("Fig. " + tid[4:].replace("_", ".")) if tid.startswith("fig_") else tid

    # one tick per table; neighbouring small tables (< 6 cells) share one label
    ticks: list[list[Any]] = []  # [cell positions, labels, ("small")]
    for tid, ix in starts.items():
        small = len(ix) < 6
        if small and ticks and ticks[-1][2:] == ["small"]:
            ticks[-1][0].extend(ix.tolist())
            ticks[-1][1].append(name(tid))
        else:
            ticks.append([ix.tolist(), [name(tid)]] + (["small"] if small else []))
    ax.set_yticks([float(np.mean(ix)) for ix, *_ in ticks],
                  [", ".join(labels) for _, labels, *_ in ticks])
    for ix in starts.values():
        ax.axhline(ix.min() - 0.5, color="black", linewidth=0.6)
    ax.set_ylabel("published cells (registry order; white: reference SE 0)")
    cbar = fig.colorbar(im, ax=ax, fraction=0.08, pad=0.04)
    cbar.set_label(f"shift from {labels[result.reference]} (in its SEs)")
    title = "Published cells under alternative weightings"
    if result.is_synthetic:
        title += "\nSYNTHETIC replica - not the original survey data"
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def section_markdown(result: SensitivityResult, figure_path: str | None = None,
                     max_rows: int = 15) -> str:
    """The report section: schemes, largest shifts, conclusions that change."""
    out = ["## Weighting sensitivity", ""]
    if result.is_synthetic:
        out += [f"> **{REPLICA_NOTE}**", ""]
    out += ["Every published cell was recomputed under each weighting scheme below, on the "
            "same respondents. Conclusions compare pairs of comparable groups (categories of "
            "one variable, or the SCS-participation groups of a table) with the reference "
            f"scheme ({result.reference!r}); 95 % CIs of differences use the joint "
            "linearisation of the two domain means.", ""]
    out += ["| scheme | how | Kish deff | effective n | min w | max w |", "|---|---|---:|---:|"
            "---:|---:|"]
    for r in result.schemes.itertuples():
        out.append(f"| {r.label} | {r.description} | {r.deff_kish:.3f} | {r.n_effective:,.0f} "
                   f"| {r.min:.3g} | {r.max:.3g} |")
    out += ["", "Per scheme:", ""]
    out += [f"* {line}" for line in result.summary.splitlines()]
    if figure_path:
        out += ["", f"![Published cells under alternative weightings]({figure_path})"]
    ch = result.changes
    out += ["", f"Conclusions that change ({len(ch)} in all; all in `sensitivity/changes.csv`; "
            f"the {min(max_rows, len(ch))} with the largest reference difference shown):", ""]
    if len(ch):
        top = ch.reindex(ch["difference_reference"].abs().sort_values(ascending=False).index)
        out += ["| scheme | table | row | groups | change | reference diff | scheme diff (95 % CI) "
                "|", "|---|---|---|---|---|---:|---:|"]
        for r in top.head(max_rows).itertuples():
            out.append(f"| {r.scheme} | {r.table_id} | {r.row_id} | {r.group_a} vs {r.group_b} "
                       f"| {r.kind} | {r.difference_reference:.2f} | {r.difference:.2f} "
                       f"({r.ci_low:.2f}, {r.ci_high:.2f}) |")
    else:
        out.append("None.")
    return "\n".join(out) + "\n"


def section_html(result: SensitivityResult, max_rows: int = 15) -> str:
    """The report section as HTML (figure embedded as PNG), for ``report.html``."""
    import base64
    import io
    from html import escape

    import matplotlib.pyplot as plt

    fig = sensitivity_figure(result)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    png = base64.b64encode(buf.getvalue()).decode("ascii")
    out = ['<section id="sensitivity">\n<h2>Weighting sensitivity</h2>']
    if result.is_synthetic:
        out.append(f'<p class="banner" role="note">{escape(REPLICA_NOTE)}</p>')
    out.append("<p>Every published cell recomputed under each weighting scheme, same "
               "respondents. Conclusions compare pairs of comparable groups with the reference "
               f"scheme ({escape(result.reference)}); 95 % CIs of differences use the joint "
               "linearisation of the two domain means. All numbers: <code>sensitivity/</code>."
               "</p>")
    head = ["scheme", "how", "Kish deff", "effective n", "min w", "max w"]
    rows = [[r.label, r.description, f"{r.deff_kish:.3f}", f"{r.n_effective:,.0f}",
             f"{r.min:.3g}", f"{r.max:.3g}"] for r in result.schemes.itertuples()]
    out.append(_html_table(head, rows))
    out.append("<ul>" + "".join(f"<li>{escape(line)}</li>"
                                for line in result.summary.splitlines()) + "</ul>")
    out.append(f'<figure id="figure-sensitivity"><img src="data:image/png;base64,{png}" '
               'alt="Published cells under alternative weightings"><figcaption>Each published '
               "cell's shift from the reference weighting, in the reference's standard errors "
               "(cells x schemes).</figcaption></figure>")
    ch = result.changes
    if len(ch):
        top = ch.reindex(ch["difference_reference"].abs().sort_values(ascending=False).index)
        rows = [[r.scheme, r.table_id, r.row_id, f"{r.group_a} vs {r.group_b}", r.kind,
                 f"{r.difference_reference:.2f}",
                 f"{r.difference:.2f} ({r.ci_low:.2f}, {r.ci_high:.2f})"]
                for r in top.head(max_rows).itertuples()]
        out.append(f"<p>Conclusions that change: {len(ch)} (largest reference differences "
                   "first; all in <code>sensitivity/changes.csv</code>).</p>")
        out.append(_html_table(["scheme", "table", "row", "groups", "change", "reference diff",
                                "scheme diff (95 % CI)"], rows))
    else:
        out.append("<p>No conclusion changes.</p>")
    out.append("</section>")
    return "\n".join(out)


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    from html import escape

    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f'<table class="sensitivity"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'
