"""The SYNTHETIC replica: respondent-level data reconstructed from published tables.

The original microdata of Kostka (2019) and Kostka & Antoine (2020) are not public. The replica
is generated deterministically from a seed so that, once weighted, it reproduces every
replicable cell of the published-table registry within its rounding; everything else about it
(covariates, their relationships, population margins) is ASSUMED and documented in
``data_dictionary/replica.md``. It is not the original survey data, and results computed from it
are not findings about China.

    from surveykit.replica import build, write, path, mapping_path, load_replica
    b = build(seed=20180401)      # ReplicaBuild: canonical, raw, diagnostics, calibration, cells
    write("out/", seed=20180401)  # out/replica.sav + out/replica.json
    df = load_replica()           # bundled .sav harmonised through replica.yaml
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from surveykit._resources import data_path
from surveykit.errors import InputFileError, ReplicationError
from surveykit.provenance import REPLICA_SAV_NAME
from surveykit.replica import spec

__all__ = ["DEFAULT_SEED", "ReplicaBuild", "build", "calibration_margins", "load_replica",
           "mapping_path", "path", "sidecar_path", "write"]

DEFAULT_SEED = spec.DEFAULT_SEED
SAV_NAME = REPLICA_SAV_NAME
JSON_NAME = "replica.json"
_CACHE: dict[str, pd.DataFrame] = {}


@dataclass
class ReplicaBuild:
    """Everything one build of the SYNTHETIC replica produces (nothing written to disk).

    Parameters
    ----------
    seed : int
        The generator's seed.
    canonical : pandas.DataFrame
        The replica on the canonical variables (what :func:`load_replica` returns).
    raw : pandas.DataFrame
        The replica as a raw survey file (what ``replica.sav`` holds).
    weight_diagnostics : dict
        Summary of the calibrated weights (Kish deff, effective n, range).
    calibration : dict
        The ASSUMED population margins the weights are calibrated to.
    cells : pandas.DataFrame
        Every published cell beside the replica's value.
    metadata : dict
        Build parameters and library versions (the JSON sidecar).

    Examples
    --------
    >>> from surveykit import replica
    >>> sorted(replica.ReplicaBuild.__dataclass_fields__)[:3]
    ['calibration', 'canonical', 'cells']
    """

    seed: int
    canonical: pd.DataFrame          # canonical variables + `weight` (before the .sav round trip)
    raw: pd.DataFrame                # questionnaire layout written to the .sav
    weight_diagnostics: dict[str, float]
    calibration: dict[str, Any]      # calibration report (method, bounds, constraints, misfit)
    cells: pd.DataFrame              # registry cells with the weighted replica value and `ok`
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def all_reproduced(self) -> bool:
        """True if every replicable, consistent registry cell is within its tolerance."""
        sel = self.cells["replicable"] & self.cells["consistent"]
        return bool(self.cells.loc[sel, "ok"].all())


def build(seed: int = DEFAULT_SEED) -> ReplicaBuild:
    """Generate, weight and check the SYNTHETIC replica for ``seed`` (deterministic; ~10 s).

    Parameters
    ----------
    seed : int
        Seed of the generator; the bundled replica uses the default.

    Returns
    -------
    ReplicaBuild

    Examples
    --------
    >>> from surveykit import replica
    >>> replica.build.__defaults__ == (replica.DEFAULT_SEED,)
    True
    """
    from surveykit.published import compute_cells, load_registry, within_tolerance
    from surveykit.replica import weights as wmod
    from surveykit.replica.generate import attitude_items, generate
    from surveykit.replica.sav import to_raw

    seed = int(seed)
    if seed < 0:
        from surveykit.errors import ValidationError

        raise ValidationError("the replica seed must be a non-negative integer", values=[seed])
    registry = load_registry()
    cells = registry.cells()
    frame = generate(seed, cells)
    # the attitude items are assigned after the weights (spec.ATTITUDE_ITEMS): not constraints
    weighted = cells[~cells["var"].isin(list(spec.ATTITUDE_ITEMS))]
    constraints = wmod.cell_constraints(frame, weighted) + wmod.margin_constraints(frame,
                                                                                   spec.MARGINS)
    d = np.ones(len(frame))
    w_lp, lp_report = wmod.feasible_weights(constraints, d)
    targets = wmod.target_values(constraints, w_lp)
    w, report = wmod.calibrate_to(frame, constraints, targets, d)
    # rounding keeps the .sav byte-identical across BLAS builds (differences ~1e-15)
    w = np.round(w, spec.WEIGHT_DECIMALS)
    frame = attitude_items(frame, w, cells, seed)
    report["lp_interval_margin"] = lp_report
    report["lp_bounds"] = list(spec.LP_BOUNDS)
    report["margin_targets"] = _margin_targets(constraints, targets)
    canonical = frame.drop(columns=["_atom", "_subtype"])
    canonical.insert(1, "weight", w)
    est = compute_cells(canonical, cells, w)
    out_cells = cells.copy()
    out_cells["replica"] = est
    out_cells["ok"] = within_tolerance(est, cells["value"], cells["tolerance"], cells["bound"])
    result = ReplicaBuild(seed=seed, canonical=canonical, raw=to_raw(canonical),
                          weight_diagnostics=wmod.diagnostics(w, d), calibration=report,
                          cells=out_cells)
    if not result.all_reproduced:
        bad = out_cells[out_cells["replicable"] & out_cells["consistent"] & ~out_cells["ok"]]
        raise ReplicationError("the replica does not reproduce every published cell",
                               values=[f"{r.table_id}/{r.row_id}/{r.group_id}"
                                       for r in bad.itertuples()])
    result.metadata = _metadata(result)
    return result


def built_with() -> dict[str, str]:
    """Versions of the libraries the replica's bytes depend on."""
    import pyreadstat
    import scipy

    return {"numpy": np.__version__, "pandas": pd.__version__, "scipy": scipy.__version__,
            "pyreadstat": pyreadstat.__version__}


def _metadata(b: ReplicaBuild) -> dict[str, Any]:
    sel = b.cells["replicable"]
    cells = b.cells[sel]
    dev = (cells["replica"] - cells["value"]).abs()
    return {
        "synthetic": True,
        "description": ("SYNTHETIC replica reconstructed from published tables of Kostka (2019) "
                        "and Kostka & Antoine (2020); not the original survey data; results "
                        "computed from it are not findings about China"),
        "seed": b.seed,
        "n": len(b.canonical),
        "build": {
            "atom_counts": spec.ATOM_COUNTS,
            "subtype_counts": spec.SUBTYPE_COUNTS,
            "margins_assumed": {k: {str(c): p for c, p in v.items()}
                                for k, v in spec.MARGINS.items()},
            "g_bounds": list(spec.G_BOUNDS),
            "behaviour_responsiveness_sd": spec.BEHAVIOUR_RESPONSIVENESS_SD,
            # the weights come from an LP (scipy/HiGHS) and a calibration (numpy): other
            # versions may give other, equally valid, weights; the codes depend on numpy only
            "built_with": built_with(),
        },
        "bc_index": _round(_dispersion(b.canonical)),
        "weights": {k: _round(v) for k, v in b.weight_diagnostics.items()},
        "calibration": {k: _round(v) for k, v in b.calibration.items()},
        "cells": {
            "replicable": int(sel.sum()),
            "consistent_reproduced": int((cells["ok"] & cells["consistent"]).sum()),
            "inconsistent_published": [f"{r.table_id}/{r.row_id}/{r.group_id}: replica "
                                       f"{r.replica:.3f} vs published {r.value}"
                                       for r in cells[~cells["consistent"]].itertuples()],
            "max_abs_deviation_in_tolerances": _round(float(
                (dev / cells["tolerance"].where(cells["tolerance"] > 0))[cells["consistent"]]
                .max())),
        },
    }


def _margin_targets(constraints: list[Any], targets: np.ndarray) -> dict[str, dict[str, float]]:
    """Exact calibration target share of every margin category (the last one is implied)."""
    reached = {c.name: float(t) for c, t in zip(constraints, targets, strict=True)
               if c.kind == "margin"}
    out: dict[str, dict[str, float]] = {}
    for var, shares in spec.MARGINS.items():
        codes = sorted(shares)
        first = {str(k): reached[f"margin/{var}/{k}"] for k in codes[:-1]}
        out[var] = {**first, str(codes[-1]): 1.0 - sum(first.values())}
    return out


def _dispersion(canonical: pd.DataFrame) -> dict[str, float]:
    """Weighted mean, variance and variance/mean ratio of ``bc_index`` in the behaviour module."""
    inside = canonical["behaviour_module"].to_numpy() == 1
    y = canonical["bc_index"].to_numpy(dtype=float)[inside]
    w = canonical["weight"].to_numpy(dtype=float)[inside]
    mean = float(w @ y / w.sum())
    var = float(w @ (y - mean) ** 2 / w.sum())
    return {"weighted_mean": mean, "weighted_variance": var, "variance_mean_ratio": var / mean}


def _round(v: Any) -> Any:
    if isinstance(v, float):
        return float(f"{v:.10g}")
    if isinstance(v, dict):
        return {k: _round(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_round(x) for x in v]
    return v


def write(out_dir: str | Path, seed: int = DEFAULT_SEED) -> tuple[Path, Path]:
    """Build the SYNTHETIC replica and write ``replica.sav`` + ``replica.json`` into ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write into (created when missing).
    seed : int
        Seed of the generator.

    Returns
    -------
    tuple of Path
        The ``.sav`` and the JSON sidecar.

    Examples
    --------
    >>> from surveykit import replica
    >>> replica.write.__name__  # ``surveykit replica --out DIR`` calls it (about 10 s)
    'write'
    """
    from surveykit._atomic import write_text
    from surveykit.replica.sav import write_sav

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    b = build(seed)
    sav = write_sav(b.raw, out / SAV_NAME, b.seed)
    side = out / JSON_NAME
    write_text(side, json.dumps(b.metadata, indent=2, sort_keys=True) + "\n")
    return sav, side


def path() -> Path:
    """Path of the bundled SYNTHETIC replica ``.sav`` (read it with :func:`surveykit.read`).

    Examples
    --------
    >>> sk.replica.path().suffix
    '.sav'
    """
    p = Path(__file__).parent / "data" / SAV_NAME
    if not p.exists():
        raise InputFileError("the bundled replica is missing", file=str(p),
                             hint="regenerate it: surveykit replica --out surveykit/replica/data")
    return p


def sidecar_path() -> Path:
    """Path of the bundled JSON sidecar (seed, build parameters, weight diagnostics).

    Examples
    --------
    >>> sk.replica.sidecar_path().suffix
    '.json'
    """
    return Path(__file__).parent / "data" / JSON_NAME


def calibration_margins(sidecar: str | Path | None = None) -> dict[str, dict[int, float]]:
    """The ASSUMED population margins the replica's weights are calibrated to exactly.

    ``{variable: {code: target share}}`` (shares among respondents with a value) from the JSON
    sidecar (default: the bundled one); the weighted replica reproduces them to ~1e-10. They are
    assumptions of the replica (``data_dictionary/replica.md``), not census figures.

    Parameters
    ----------
    sidecar : str or Path, optional
        A replica's JSON sidecar; default: the bundled one.

    Returns
    -------
    dict

    Examples
    --------
    >>> from surveykit import replica
    >>> margins = replica.calibration_margins()
    >>> round(sum(margins["region"].values()), 10)
    1.0
    """
    file = Path(sidecar) if sidecar is not None else sidecar_path()
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
        targets = meta["calibration"]["margin_targets"]
    except (OSError, ValueError, KeyError) as exc:
        raise InputFileError("the replica sidecar has no calibration margin targets",
                             file=str(file), values=[type(exc).__name__],
                             hint="regenerate it: surveykit replica --out DIR") from exc
    return {var: {int(code): float(share) for code, share in shares.items()}
            for var, shares in targets.items()}


def mapping_path() -> Path:
    """Path of the replica's mapping onto the canonical codebooks (``mappings/replica.yaml``).

    Examples
    --------
    >>> sk.replica.mapping_path().name
    'replica.yaml'
    """

    return data_path("mappings", "replica.yaml")


def load_replica(sav: str | Path | None = None) -> pd.DataFrame:
    """The bundled SYNTHETIC replica (or a given replica file) harmonised to canonical variables.

    The replica is reconstructed from the published tables of Kostka (2019) and Kostka &
    Antoine (2020); results computed from it describe the replica, not public opinion in China.
    ``attrs["synthetic"] = True`` marks it, so every output made from it says so;
    ``attrs["source"]`` names the file.

    Parameters
    ----------
    sav : str or Path, optional
        A replica ``.sav`` written by ``surveykit replica``; default: the bundled one.

    Returns
    -------
    pandas.DataFrame
        One row per respondent (2,209), canonical columns, value labels in ``attrs``.

    Examples
    --------
    >>> df = sk.load_replica()
    >>> len(df), df.attrs["synthetic"]
    (2209, True)
    """
    from surveykit.io import harmonise

    file = Path(sav) if sav is not None else path()
    key = f"{file.resolve()}:{file.stat().st_mtime_ns}" if file.exists() else str(file)
    if key not in _CACHE:
        h = harmonise(str(file), str(mapping_path()))
        _CACHE[key] = h.frame
    frame = _CACHE[key].copy()
    frame.attrs["synthetic"] = True
    frame.attrs["source"] = str(file)
    frame.attrs["description"] = ("SYNTHETIC replica - not the original survey data; results "
                                  "are not findings about China")
    return frame
