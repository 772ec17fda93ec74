"""Registry of published results (``data_dictionary/published/*.yaml``).

Each YAML file is one published table (format: ``data_dictionary/published/README.md``). The
loader validates every file and expands it to a tidy cell table: one row per published number,
with the compute spec (``stat``, ``var``, ``code``, ``domain``) that lets
``surveykit.replication`` recompute the number from any canonical frame, and the tolerance
implied by the published rounding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from surveykit._resources import data_path
from surveykit._yaml import read_yaml
from surveykit.errors import SchemaError
from surveykit.expressions import evaluate

__all__ = ["Registry", "load_registry"]

#: Columns of the tidy cell table, in order.
CELL_COLUMNS: tuple[str, ...] = (
    "table_id", "row_id", "row_label", "group_id", "group_label", "group_n", "value", "unit",
    "decimals", "tolerance", "stat", "var", "code", "domain", "replicable", "source",
    "bound", "reason", "note", "n_published", "consistent",
)

STATS = ("percent", "mean")
UNITS = ("percent", "mean")
BOUNDS = ("upper", "lower")

_TABLE_KEYS = {"id", "title", "source", "population", "unit", "decimals", "weighted", "notes",
               "groups", "rows"}
_REQUIRED_TABLE_KEYS = {"id", "title", "source", "population", "unit", "decimals", "weighted",
                        "groups", "rows"}
_GROUP_KEYS = {"id", "label", "n", "n_published", "domain"}
_ROW_KEYS = {"id", "label", "stat", "var", "code", "domain", "values", "unit", "decimals",
             "bound", "replicable", "reason", "source", "note", "inconsistent"}
_SOURCE_KEYS = {"paper", "figure", "page", "secondary"}  # secondary: where it is reproduced

# tokens of the domain-expression vocabulary: names, integers, ==, !=, &, |, parentheses
_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|(\d+)|(==|!=)|([&|()]))")
_NAME_ONLY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def default_dir() -> Path:
    """The folder of the bundled registry (``data_dictionary/published``)."""

    return data_path("published")


def domain_names(expr: str | None) -> list[str]:
    """Variable names used in a domain expression (validated), in order of first use."""
    if not isinstance(expr, str):
        return []
    return list(dict.fromkeys(_tokens(expr, file=None)[1]))


def _tokens(expr: str, file: str | None) -> tuple[list[str], list[str]]:
    """Tokenise and check a domain expression; return (tokens, names)."""
    pos, toks, names = 0, [], []
    text = expr.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SchemaError(
                "domain expression uses something outside the vocabulary "
                "(names, integers, ==, !=, &, |, parentheses)",
                file=file, values=[expr], hint=f"problem at character {pos}: {text[pos:pos+10]!r}",
            )
        tok = m.group(m.lastindex or 0)
        toks.append(tok)
        if m.group(1):
            names.append(tok)
        pos = m.end()
    depth = 0
    for i, tok in enumerate(toks):
        depth += tok == "("
        depth -= tok == ")"
        if depth < 0:
            break
        if tok in ("==", "!="):
            ok = (0 < i < len(toks) - 1 and _NAME_ONLY.fullmatch(toks[i - 1])
                  and toks[i + 1].isdigit())
            if not ok:
                raise SchemaError("a comparison must read `name == integer` or `name != integer`",
                                  file=file, values=[expr])
    if depth != 0 or not toks:
        raise SchemaError("unbalanced or empty domain expression", file=file, values=[expr])
    return toks, names


def combine_domains(*exprs: str | None) -> str | None:
    """AND several domain expressions (None = everyone)."""
    parts = [e for e in exprs if e]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return " & ".join(f"({p})" for p in parts)


def tolerance_for(decimals: int, bound: str | None = None) -> float:
    """Half a unit in the last published decimal (0 for a bound)."""
    return 0.0 if bound else 0.5 * 10.0 ** (-int(decimals))


def within_tolerance(estimate: Any, value: Any, tolerance: Any, bound: Any = None,
                     eps: float = 1e-9) -> np.ndarray:
    """Whether estimates reproduce published values (vectorised; `eps` absorbs float noise).

    ``bound='upper'`` means the published value is an upper bound (``estimate <= value``).
    """
    est = np.asarray(estimate, dtype=float)
    val = np.asarray(value, dtype=float)
    tol = np.asarray(tolerance, dtype=float)
    b = np.broadcast_to(np.asarray(bound, dtype=object), np.broadcast(est, val).shape)
    upper = np.array([x == "upper" for x in b.ravel()], dtype=bool).reshape(b.shape)
    lower = np.array([x == "lower" for x in b.ravel()], dtype=bool).reshape(b.shape)
    ok = np.abs(est - val) <= tol + eps
    ok = np.where(upper, est <= val + eps, ok)
    ok = np.where(lower, est >= val - eps, ok)
    return np.asarray(ok & np.isfinite(est))


@dataclass(frozen=True)
class Registry:
    """The loaded published-table registry: table metadata and the tidy cell table.

    Made by :func:`load_registry`.

    Parameters
    ----------
    meta_by_id : dict
        Table-level fields (title, source, population, unit, decimals) by table id.
    cell_frame : pandas.DataFrame
        One row per published cell.
    directory : Path, optional
        The folder the registry was read from.

    Examples
    --------
    >>> registry = sk.load_registry()
    >>> registry.meta("fig_5_4")["id"]
    'fig_5_4'
    """

    meta_by_id: dict[str, dict[str, Any]]
    cell_frame: pd.DataFrame = field(repr=False)
    directory: Path | None = None

    def tables(self) -> list[str]:
        """Ids of all tables, sorted."""
        return sorted(self.meta_by_id)

    def meta(self, table_id: str) -> dict[str, Any]:
        """Table-level fields (id, title, source, population, unit, decimals, weighted, notes)."""
        self._check(table_id)
        return dict(self.meta_by_id[table_id])

    def table(self, table_id: str) -> pd.DataFrame:
        """Tidy cells of one table, in published order (rows x groups)."""
        self._check(table_id)
        out = self.cell_frame[self.cell_frame["table_id"] == table_id]
        return out.reset_index(drop=True)

    def cells(self, replicable_only: bool = False) -> pd.DataFrame:
        """All cells of all tables (sorted by table id, then published order)."""
        out = self.cell_frame
        if replicable_only:
            out = out[out["replicable"]]
        return out.reset_index(drop=True)

    def _check(self, table_id: str) -> None:
        if table_id not in self.meta_by_id:
            raise SchemaError("unknown published table", file=str(self.directory),
                              values=[table_id], hint=f"tables: {', '.join(self.tables())}")


def load_registry(directory: str | Path | None = None) -> Registry:
    """Load and validate the published-table registry (every ``*.yaml`` of its folder).

    Each file is one published table: its cells, their published values, rounding, group N
    and source page (format: ``data_dictionary/published/README.md``).

    Parameters
    ----------
    directory : str or Path, optional
        A registry folder; default: the bundled ``data_dictionary/published``.

    Returns
    -------
    Registry
        ``.tables()`` the table ids, ``.table(id)`` one table's cells, ``.cells()`` every
        published cell (one row each).

    Raises
    ------
    SchemaError
        A file breaks the registry format.

    Examples
    --------
    >>> registry = sk.load_registry()
    >>> "fig_5_4" in registry.tables()
    True"""
    folder = Path(directory) if directory is not None else default_dir()
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise SchemaError("no registry tables (*.yaml) found", file=str(folder))
    metas: dict[str, dict[str, Any]] = {}
    frames = []
    for f in files:
        meta, cells = _load_table(f)
        if meta["id"] in metas:
            raise SchemaError("duplicate table id", file=str(f), values=[meta["id"]])
        metas[meta["id"]] = meta
        frames.append(cells)
    frames.sort(key=lambda c: c["table_id"].iloc[0] if len(c) else "")
    cells = pd.concat(frames, ignore_index=True)
    return Registry(metas, cells, folder)


def _load_table(path: Path) -> tuple[dict[str, Any], pd.DataFrame]:
    file = str(path)
    doc = read_yaml(path, "registry file")
    if not isinstance(doc, dict):
        raise SchemaError("registry file must be a mapping", file=file)
    _keys(doc, _TABLE_KEYS, _REQUIRED_TABLE_KEYS, file, "table")
    if doc["id"] != path.stem:
        raise SchemaError("table id must equal the file name", file=file, values=[doc["id"]])
    source = doc["source"]
    if not isinstance(source, dict):
        raise SchemaError("`source` must be a mapping", file=file)
    _keys(source, _SOURCE_KEYS, {"paper", "page"}, file, "source")
    unit = _choice(doc["unit"], UNITS, file, "unit")
    decimals = _int(doc["decimals"], file, "decimals")
    if not isinstance(doc["weighted"], bool):
        raise SchemaError("`weighted` must be true/false", file=file, values=[doc["weighted"]])

    groups = _groups(doc["groups"], file)
    rows = doc["rows"]
    if not isinstance(rows, list) or not rows:
        raise SchemaError("`rows` must be a non-empty list", file=file)
    records = []
    row_ids: set[str] = set()
    for row in rows:
        records.extend(_row_cells(row, groups, doc, unit, decimals, file, row_ids))
    meta = {k: doc.get(k) for k in sorted(_TABLE_KEYS - {"groups", "rows"})}
    meta["file"] = file
    frame = pd.DataFrame.from_records(records, columns=list(CELL_COLUMNS))
    frame["value"] = frame["value"].astype(float)
    frame["tolerance"] = frame["tolerance"].astype(float)
    frame["decimals"] = frame["decimals"].astype(int)
    frame["group_n"] = frame["group_n"].astype("Int64")
    return meta, frame


def _groups(groups: Any, file: str) -> dict[str, dict[str, Any]]:
    if not isinstance(groups, list) or not groups:
        raise SchemaError("`groups` must be a non-empty list", file=file)
    out: dict[str, dict[str, Any]] = {}
    for g in groups:
        if not isinstance(g, dict):
            raise SchemaError("each group must be a mapping", file=file, values=[g])
        _keys(g, _GROUP_KEYS, {"id", "label", "n", "domain"}, file, "group")
        if g["id"] in out:
            raise SchemaError("duplicate group id", file=file, values=[g["id"]])
        if g["n"] is not None:
            _int(g["n"], file, f"groups.{g['id']}.n")
        if g["domain"] is not None:
            _tokens(str(g["domain"]), file)
        out[str(g["id"])] = g
    return out


def _row_cells(row: Any, groups: dict[str, dict[str, Any]], doc: dict[str, Any], unit: str,
               decimals: int, file: str, seen: set[str]) -> Iterable[dict[str, Any]]:
    if not isinstance(row, dict):
        raise SchemaError("each row must be a mapping", file=file, values=[row])
    _keys(row, _ROW_KEYS, {"id", "label", "stat", "var", "values"}, file, "row")
    rid = str(row["id"])
    if rid in seen:
        raise SchemaError("duplicate row id", file=file, values=[rid])
    seen.add(rid)
    stat = _choice(row["stat"], STATS, file, f"rows.{rid}.stat")
    r_unit = _choice(row.get("unit", unit), UNITS, file, f"rows.{rid}.unit")
    r_dec = _int(row.get("decimals", decimals), file, f"rows.{rid}.decimals")
    bound = row.get("bound")
    if bound is not None:
        _choice(bound, BOUNDS, file, f"rows.{rid}.bound")
    code = row.get("code")
    if stat == "percent":
        codes = code if isinstance(code, list) else [code]
        if code is None or not all(isinstance(c, int) and not isinstance(c, bool) for c in codes):
            raise SchemaError("a percent row needs `code`: an integer or a list of integers",
                              file=file, column=rid, values=[code])
        code_t: tuple[int, ...] | None = tuple(codes)
    else:
        if code is not None:
            raise SchemaError("a mean row takes no `code`", file=file, column=rid, values=[code])
        code_t = None
    replicable = row.get("replicable", True)
    if not isinstance(replicable, bool):
        raise SchemaError("`replicable` must be true/false", file=file, column=rid)
    reason = row.get("reason")
    if not replicable and not reason:
        raise SchemaError("a row with `replicable: false` needs a `reason`", file=file, column=rid)
    row_domain = row.get("domain")
    if row_domain is not None:
        _tokens(str(row_domain), file)
    if not isinstance(_NAME_ONLY.fullmatch(str(row["var"])), re.Match):
        raise SchemaError("`var` must be a variable name", file=file, column=rid,
                          values=[row["var"]])
    values = row["values"]
    if not isinstance(values, dict) or not values:
        raise SchemaError("`values` must map group ids to numbers", file=file, column=rid)
    unknown = [g for g in values if g not in groups]
    if unknown:
        raise SchemaError("`values` names unknown groups", file=file, column=rid, values=unknown)
    inconsistent = row.get("inconsistent") or {}
    if not isinstance(inconsistent, dict) or any(g not in values for g in inconsistent):
        raise SchemaError("`inconsistent` must map published group ids to reasons",
                          file=file, column=rid, values=list(inconsistent))
    source = row.get("source") or doc["source"]["page"]
    for gid, g in groups.items():  # published order of the groups
        if gid not in values:
            continue
        val = values[gid]
        if isinstance(val, bool) or not isinstance(val, (int, float)):
            raise SchemaError("published values must be numbers", file=file,
                              column=f"{rid}/{gid}", values=[val])
        why = inconsistent.get(gid)
        yield {
            "table_id": doc["id"], "row_id": rid, "row_label": str(row["label"]),
            "group_id": gid, "group_label": str(g["label"]),
            "group_n": None if g["n"] is None else int(g["n"]),
            "value": float(val), "unit": r_unit, "decimals": r_dec,
            "tolerance": tolerance_for(r_dec, bound), "stat": stat, "var": str(row["var"]),
            "code": code_t, "domain": combine_domains(g["domain"], row_domain),
            "replicable": replicable, "source": str(source), "bound": bound,
            "reason": reason if reason else (f"inconsistent: {why}" if why else None),
            "note": row.get("note"), "n_published": bool(g.get("n_published", g["n"] is not None)),
            "consistent": why is None,
        }


def _keys(d: dict[str, Any], allowed: set[str], required: set[str], file: str, what: str) -> None:
    extra = sorted(set(map(str, d)) - allowed)
    if extra:
        raise SchemaError(f"unknown {what} key(s)", file=file, values=extra,
                          hint=f"allowed: {', '.join(sorted(allowed))}")
    missing = sorted(required - set(d))
    if missing:
        raise SchemaError(f"missing {what} key(s)", file=file, values=missing)


def _choice(value: Any, options: tuple[str, ...], file: str, key: str) -> str:
    if value not in options:
        raise SchemaError(f"`{key}` must be one of {', '.join(options)}", file=file, values=[value])
    return str(value)


def _int(value: Any, file: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SchemaError(f"`{key}` must be a non-negative integer", file=file, values=[value])
    return value


def evaluate_domain(frame: pd.DataFrame, expr: str | None) -> np.ndarray:
    """Boolean mask of a domain expression over a canonical frame (missing -> outside)."""
    if not isinstance(expr, str):  # None (or NaN in a string column) = everyone
        return np.ones(len(frame), dtype=bool)
    names = domain_names(expr)
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise SchemaError("domain expression names variables the data do not have",
                          column=None, values=missing, hint=f"expression: {expr}")
    sub = frame[names].astype(float)
    mask = evaluate(expr, sub, kind=SchemaError, what="domain expression")
    return np.asarray(mask, dtype=bool) & sub.notna().all(axis=1).to_numpy()


def compute_cells(frame: pd.DataFrame, cells: pd.DataFrame, weights: Any) -> np.ndarray:
    """Weighted value of each cell's compute spec (percent in %, means as is).

    A plain-pandas reference implementation (no variance): used to check the replica and as a
    cross-check for ``surveykit.replication``. Cells whose variable is absent give NaN.
    """
    w = np.asarray(weights, dtype=float)
    out = np.full(len(cells), np.nan)
    for k, (var, stat, code, dom) in enumerate(
        zip(cells["var"], cells["stat"], cells["code"], cells["domain"], strict=True)
    ):
        if var not in frame.columns:
            continue
        y = frame[var].to_numpy(dtype=float)
        mask = evaluate_domain(frame, dom) & ~np.isnan(y)
        den = w[mask].sum()
        if den <= 0:
            continue
        if stat == "percent":
            out[k] = 100.0 * w[mask & np.isin(y, code)].sum() / den
        else:
            out[k] = (w[mask] * y[mask]).sum() / den
    return out
