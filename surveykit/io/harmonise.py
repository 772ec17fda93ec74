"""Harmonisation: raw study file + mapping -> canonical, validated, derived frame + report.

No row is ever dropped: every raw row becomes one canonical row. Every problem is either a
typed error (naming file, column, the first offending values and their count) or an NA with a
reason that is counted in the :class:`HarmonisationReport`.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from surveykit._atomic import atomic_path
from surveykit._text import code_fence, terminal_safe
from surveykit.design import validate_weights
from surveykit.dictionary import (
    Codebook,
    Variable,
    combine,
    load_codebook,
    reasons_of,
    str_values,
)
from surveykit.errors import InputFileError, MappingError, ValidationError
from surveykit.io.mapping import Mapping, Rule, load_mapping
from surveykit.io.readers import PARQUET_HINT, SYSTEM_MISSING, RawFile, read, write_sav
from surveykit.labels import attach_codebook
from surveykit.provenance import SYNTHETIC_BANNER, flag, synthetic_evidence, with_source_column

NOT_COLLECTED = "not collected"
NOT_ASKED = "not asked"
UNMAPPED = "unmapped"

RECODE_COLUMNS = ["study", "variable", "raw_column", "raw", "canonical", "n"]
UNMAPPED_COLUMNS = ["study", "variable", "raw_column", "raw", "n"]
MISSING_COLUMNS = ["study", "variable", "reason", "n"]
#: One row per canonical variable: how it was obtained and how many rows are valid / missing
#: (``n_valid + n_missing == rows_out`` for every variable).
VARIABLE_COLUMNS = ["study", "variable", "rule", "raw_column", "n_valid", "n_missing"]


@dataclass
class HarmonisationReport:
    """What harmonisation did, per study: rows, recode counts, unmapped codes, NA by reason."""

    studies: list[str]
    sources: list[str]
    rows_in: int
    rows_out: int
    recodes: pd.DataFrame
    unmapped: pd.DataFrame
    missing: pd.DataFrame
    mappings: list[str | None] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    variables: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=VARIABLE_COLUMNS))

    def __repr__(self) -> str:  # short summary; the tables are attributes
        from surveykit.display import report_repr

        return report_repr(self)

    def _repr_html_(self) -> str:
        from surveykit.display import report_html

        return report_html(self)

    def to_frame(self) -> pd.DataFrame:
        """One long table: ``section`` (rows/recode/unmapped/missing) plus the details."""
        cols = ["section", "study", "variable", "raw_column", "raw", "canonical", "reason", "n"]
        parts = [
            pd.DataFrame({"section": ["rows_in", "rows_out"], "study": ["+".join(self.studies)] * 2,
                          "n": [self.rows_in, self.rows_out]}),
            self.recodes.assign(section="recode"),
            self.unmapped.assign(section="unmapped"),
            self.missing.assign(section="missing"),
        ]
        parts = [p for p in parts if len(p)]
        frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        return frame.reindex(columns=cols)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python version (JSON-serialisable)."""
        def records(df: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: _plain(v) for k, v in r.items()} for r in df.to_dict("records")]

        return {
            "studies": list(self.studies), "sources": list(self.sources),
            "mappings": list(self.mappings), "rows_in": self.rows_in, "rows_out": self.rows_out,
            "recodes": records(self.recodes), "unmapped": records(self.unmapped),
            "missing": records(self.missing), "notes": list(self.notes),
            "variables": records(self.variables),
        }

    def render(self) -> str:
        """Plain-text report (what the CLI prints)."""
        lines = [f"Harmonisation report: {', '.join(self.studies)}"]
        for s in self.sources:
            lines.append(f"  source: {s}")
        lines.append(f"  rows in: {self.rows_in}   rows out: {self.rows_out}")
        if len(self.recodes):
            lines.append("Recodes (raw code -> canonical code: n)")
            for (study, var, rawcol), block in self.recodes.groupby(
                    ["study", "variable", "raw_column"], sort=False):
                pairs = ", ".join(f"{_fmt(r)}->{_fmt(c)}: {n}" for r, c, n in
                                  zip(block["raw"], block["canonical"], block["n"], strict=True))
                prefix = f"{study}/" if len(self.studies) > 1 else ""
                lines.append(f"  {prefix}{var} <- {rawcol}: {pairs}")
        if len(self.unmapped):
            lines.append("Unmapped raw codes (set to NA, reason 'unmapped')")
            for r in self.unmapped.itertuples(index=False):
                lines.append(f"  {r.variable} <- {r.raw_column}: {_fmt(r.raw)}: {r.n}")
        if len(self.missing):
            lines.append("Missing values by reason")
            for (study, var), block in self.missing.groupby(["study", "variable"], sort=False):
                prefix = f"{study}/" if len(self.studies) > 1 else ""
                parts = ", ".join(f"{r}: {n}" for r, n in zip(block["reason"], block["n"],
                                                               strict=True))
                lines.append(f"  {prefix}{var}: {parts}")
        if len(self.variables):
            lines.append("Every variable (valid + missing = rows out)")
            for r in self.variables.itertuples(index=False):
                prefix = f"{r.study}/" if len(self.studies) > 1 else ""
                src = f" <- {r.raw_column}" if isinstance(r.raw_column, str) else ""
                lines.append(f"  {prefix}{r.variable}{src}: {r.rule}, {r.n_valid} valid, "
                             f"{r.n_missing} missing")
        for note in self.notes:
            lines.append(f"Note: {note}")
        # codes, labels and reasons are data: control characters escaped, one line each
        return "\n".join(terminal_safe(line, newlines=False) for line in lines)

    def to_markdown(self) -> str:
        """The plain-text report as a Markdown section body (for replication.md), in a code
        fence that nothing in the report can close."""
        return code_fence(self.render())


@dataclass
class Harmonised:
    """A canonical frame, its NA reasons, the report and the codebook it satisfies."""

    frame: pd.DataFrame
    report: HarmonisationReport
    missing: dict[str, pd.Series]
    codebook: Codebook

    def __repr__(self) -> str:  # short summary, not 33,000 characters of frame and reasons
        from surveykit.display import harmonised_repr

        return harmonised_repr(self)

    def _repr_html_(self) -> str:
        from surveykit.display import harmonised_html

        return harmonised_html(self)

    def write(self, path: str | Path, file_label: str | None = None) -> Path:
        """Write the canonical frame (.csv, .parquet, .sav/.zsav); see :func:`write_canonical`."""
        return write_canonical(self.frame, path, self.codebook, self.missing, file_label)


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    return v


def _fmt(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


# ---------------------------------------------------------------------------------------------


def _as_raw(data: RawFile | pd.DataFrame | str | Path) -> RawFile:
    if isinstance(data, RawFile):
        return data
    if isinstance(data, pd.DataFrame):
        raw = RawFile(path="<DataFrame>", data=data)
        return raw
    if not isinstance(data, (str, Path)):
        raise InputFileError(f"harmonise needs a RawFile, a DataFrame or a file path, got "
                             f"{type(data).__name__}")
    return read(data)


def _normalise(series: pd.Series) -> tuple[pd.Series, bool]:
    """Values to match mapping keys against: floats for numeric columns, else strings.

    Mixed object columns are normalised per distinct value exactly as the mapping keys are
    (:func:`_norm_key`), so a float ``3.0`` among strings still matches the key ``3``.
    """
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series):
        return series.astype(float), True
    codes, uniq = pd.factorize(series)
    keys = np.array([_norm_key(u, False) for u in uniq] + [None], dtype=object)
    return pd.Series(keys[codes], index=series.index, dtype=object, name=series.name), False


def _norm_key(key: Any, numeric: bool) -> Any:
    if numeric:
        try:
            return float(key)
        except (TypeError, ValueError):
            return None
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    return str(key)


def _canonical(value: Any, var: Variable) -> Any:
    return str(value) if not var.is_numeric else float(value)


def _canon_reasons(why: np.ndarray, var: Variable) -> np.ndarray:
    """Use the codebook's spelling of reasons that match one case-insensitively."""
    if not len(why):
        return why
    known = {r.lower(): r for r in var.missing.values()}
    codes, uniq = pd.factorize(pd.Series(why, dtype=object), use_na_sentinel=False)
    fixed = np.array([None if u is None else known.get(str(u).lower(), u) for u in uniq],
                     dtype=object)
    return fixed[codes]


def _check_recode_not_missing(rule: Rule, raw: RawFile, mapping: Mapping) -> None:
    """A code cannot be both missing and recoded: it would silently become NA (MappingError).

    Missing either by the mapping's own ``missing:`` or by the raw file's declared user-missing
    values / ranges (which the reader turns into NA with a reason before any recode).
    """
    if not rule.recode:
        return
    keys = [k for k in rule.recode if k is not None]
    in_mapping = [k for k in keys if k in (rule.missing or {})
                  or _try_float(k) in {_try_float(m) for m in (rule.missing or {})} - {None}]
    if in_mapping:
        raise MappingError(f"codes of {rule.variable!r} are both recoded and declared missing "
                           "in the mapping", file=mapping.path, column=rule.source,
                           values=in_mapping, hint="keep each code in `recode` or `missing`")
    declared = []
    for k in keys:
        x = _try_float(k)
        for r in raw.missing_ranges.get(rule.source, []):
            lo, hi = r.get("lo"), r.get("hi")
            if isinstance(lo, str) or isinstance(hi, str):
                if str(k) == lo == hi:
                    declared.append(k)
            elif x is not None and lo <= x <= hi:
                declared.append(k)
    if declared:
        raise MappingError(
            f"raw codes recoded for {rule.variable!r} are declared user-missing in the file, "
            "so they would become NA, not their recode", file=raw.path, column=rule.source,
            values=list(dict.fromkeys(declared)),
            hint=f"remove them from `recode` in {mapping.path or 'the mapping'} (they stay NA "
                 "with their reason), or undeclare them as missing in the file")


def _apply_rule(rule: Rule, var: Variable, raw: RawFile, mapping: Mapping, study: str,
                recodes: list[pd.DataFrame], unmapped: list[pd.DataFrame],
                ) -> tuple[pd.Series, np.ndarray]:
    """Canonical values and NA reasons of one mapped variable (vectorised over rows)."""
    col = raw.data[rule.source]
    n = len(col)
    why = raw.reasons(rule.source).to_numpy(dtype=object).copy()
    norm, numeric = _normalise(col)
    _check_recode_not_missing(rule, raw, mapping)
    present = col.notna().to_numpy()
    is_missing = np.zeros(n, dtype=bool)
    if rule.missing:
        keys = {_norm_key(k, numeric): r for k, r in rule.missing.items()}
        keys.pop(None, None)
        hit = norm.isin(list(keys)).to_numpy(dtype=bool) & present
        if hit.any():
            why[hit] = norm[hit].map(keys).to_numpy(dtype=object)
            is_missing = hit
    valid = present & ~is_missing
    if rule.recode is not None or rule.ranges:
        result = np.full(n, np.nan if var.is_numeric else None, dtype=float if var.is_numeric
                         else object)
        matched = np.zeros(n, dtype=bool)
        if rule.recode is not None:
            table = {_norm_key(k, numeric): _canonical(v, var) for k, v in rule.recode.items()}
            table.pop(None, None)
            m = norm.isin(list(table)).to_numpy(dtype=bool) & valid
            if m.any():
                result[m] = norm[m].map(table).to_numpy(dtype=result.dtype)
            matched |= m
        by_range = np.zeros(n, dtype=bool)
        if rule.ranges:
            if numeric:
                x = norm.to_numpy(dtype=float)
            else:
                x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            rows = []
            for r in rule.ranges:
                m = valid & ~matched & (x >= r.min) & (x <= r.max)
                result[m] = _canonical(r.code, var)
                matched |= m
                by_range |= m
                if m.any():  # one line per range, not one per distinct raw value
                    k = len(pd.unique(x[m]))
                    rows.append({"raw": f"{_fmt(float(r.min))}..{_fmt(float(r.max))} "
                                        f"({k} raw value{'s' if k != 1 else ''})",
                                 "canonical": _canonical(r.code, var), "n": int(m.sum())})
            if rows:
                recodes.append(pd.DataFrame(rows).assign(study=study, variable=rule.variable,
                                                         raw_column=rule.source))
        bad = valid & ~matched
        if bad.any():
            if rule.unmapped == "error":
                raise MappingError(
                    f"raw codes not covered by the mapping of {rule.variable!r}",
                    file=raw.path, column=rule.source, values=col[bad].tolist(),
                    hint=f"add them to `recode`/`ranges` in {mapping.path or 'the mapping'} "
                    "or set `unmapped: missing`",
                )
            why[bad] = UNMAPPED
            counts = col[bad].value_counts(sort=False).sort_index()
            unmapped.append(pd.DataFrame({
                "study": study, "variable": rule.variable, "raw_column": rule.source,
                "raw": counts.index.to_list(), "n": counts.to_numpy()}))
        exact = matched & ~by_range
        if exact.any():
            pairs = pd.DataFrame({"raw": col[exact].to_numpy(), "canonical": result[exact]})
            counts = pairs.value_counts(sort=False).sort_index().reset_index(name="n")
            recodes.append(counts.assign(study=study, variable=rule.variable,
                                         raw_column=rule.source))
        values = pd.Series(result, name=rule.variable)
    else:
        if var.type == "weight":
            validate_weights(col, column=rule.source, source=raw.path)
        if var.is_numeric:
            num = pd.to_numeric(col, errors="coerce")
            bad = num.isna().to_numpy() & present
            if bad.any():
                raise ValidationError(
                    f"raw values of {rule.variable!r} are not numeric", file=raw.path,
                    column=rule.source, values=col[bad].tolist(),
                    hint="add a `recode` to the mapping")
            values = pd.Series(num.to_numpy(dtype=float, na_value=np.nan), name=rule.variable)
            values[is_missing] = np.nan
        else:
            values = str_values(pd.Series(col.where(valid).to_numpy(dtype=object),
                                          name=rule.variable))
    na = values.isna().to_numpy()
    why = np.where(na, why, None)
    why[na & pd.isna(why)] = SYSTEM_MISSING
    return values, why


def harmonise(data: RawFile | pd.DataFrame | str | Path,
              mapping: str | Path | MappingABC | Mapping) -> Harmonised:
    """Map a raw study file onto the canonical codebooks of ``mapping``.

    ``data`` is a :class:`RawFile`, a DataFrame or a path; ``mapping`` a YAML path, a dict
    or a :class:`Mapping`. Returns :class:`Harmonised` (frame with a ``study`` column and the
    union of the codebooks' variables, validated and with derived variables added).

    Parameters
    ----------
    data : RawFile, pandas.DataFrame, str or pathlib.Path
        The raw study file.
    mapping : str, pathlib.Path, dict or Mapping
        The study's mapping onto the canonical codebooks.

    Returns
    -------
    Harmonised
        ``.frame``, ``.report``, ``.codebook``, ``.missing``.

    Examples
    --------
    >>> from surveykit import replica
    >>> h = sk.harmonise(sk.read(replica.path()), replica.mapping_path())
    >>> h.frame.shape
    (2209, 46)
    """
    raw = _as_raw(data)
    m = load_mapping(mapping)
    cb = combine(load_codebook(name) for name in m.codebooks)
    source = raw.path
    n = raw.n
    if n == 0:
        raise ValidationError("the raw file has no rows", file=source,
                              hint="check the file is complete (a header alone is not data)")

    unknown = [v for v in m.variables if v not in cb.variables]
    if unknown:
        raise MappingError("mapping names variables that are not in the codebooks",
                           file=m.path, values=unknown,
                           hint=f"codebooks {', '.join(m.codebooks)} define: "
                           + ", ".join(cb.variables))
    absent = [c for c in dict.fromkeys([m.id, *(r.source for r in m.variables.values()
                                                 if r.source is not None)])
              if c not in raw.data.columns]
    if absent:
        raise MappingError("raw columns named by the mapping are missing from the file",
                           file=source, values=absent, hint=f"mapping: {m.path or '(dict)'}")
    for name, rule in m.variables.items():
        var = cb.variables[name]
        if rule.derive and var.derive is None:
            raise MappingError(f"{name!r} has no derivation in the codebook", file=m.path,
                               column=name, hint="map it with `from` instead")
        if (rule.value is not None and var.is_numeric
                and (isinstance(rule.value, bool) or _try_float(rule.value) is None)):
            raise MappingError(f"`value` of {name!r} must be a number", file=m.path,
                               column=name, values=[rule.value])
        targets = list((rule.recode or {}).values()) + [r.code for r in rule.ranges]
        if rule.value is not None:
            targets.append(rule.value)
        if var.values and targets:
            valid = ({str(k) for k in var.values} if var.is_string
                     else {float(k) for k in var.values})
            bad = [t for t in targets
                   if (str(t) if var.is_string else _try_float(t)) not in valid]
            if bad:
                raise MappingError(f"mapping targets codes outside the codebook of {name!r}",
                                   file=m.path, column=name, values=bad,
                                   hint="valid codes: " + ", ".join(map(str, var.values)))
    not_mapped = [name for name, var in cb.variables.items()
                  if var.required and var.type != "id" and name not in m.variables]
    if not_mapped:
        raise MappingError("required canonical variables are not mapped", file=m.path,
                           values=not_mapped, hint="e.g. `weight: {value: 1}` if unweighted")

    data = raw.data.reset_index(drop=True)
    if data is not raw.data:
        raw = RawFile(path=raw.path, data=data, variable_labels=raw.variable_labels,
                      value_labels=raw.value_labels,
                      missing_reasons={k: v.reset_index(drop=True)
                                       for k, v in raw.missing_reasons.items()},
                      file_label=raw.file_label, format=raw.format,
                      missing_ranges=raw.missing_ranges)

    ids = _ids(raw.data[m.id], m.id, source)
    columns: dict[str, Any] = {"study": pd.Series([m.study] * n, dtype="str")}
    reasons: dict[str, pd.Series] = {}
    recodes: list[pd.DataFrame] = []
    unmapped: list[pd.DataFrame] = []
    notes: list[str] = []
    derive_names: list[str] = []
    for name, var in cb.variables.items():
        if var.type == "id":
            columns[name] = ids
            continue
        rule = m.variables.get(name)
        if (rule is None and var.derive is not None) or (rule is not None and rule.derive):
            derive_names.append(name)
            columns[name] = pd.Series(np.full(n, np.nan))
            continue
        if rule is None:
            columns[name] = pd.Series(np.full(n, np.nan if var.is_numeric else None,
                                              dtype=float if var.is_numeric else object))
            why = np.full(n, NOT_COLLECTED, dtype=object)
        elif rule.kind == "value":
            const = _canonical(rule.value, var)
            columns[name] = pd.Series([const] * n, dtype=float if var.is_numeric else object)
            why = np.full(n, None, dtype=object)
        else:
            values, why = _apply_rule(rule, var, raw, m, m.study, recodes, unmapped)
            columns[name] = values
            why = _canon_reasons(why, var)
        reasons[name] = pd.Series(why, dtype=object, name=name)

    frame = pd.DataFrame(columns)
    # universes of mapped variables: outside -> NA "not asked" (before derivation)
    for name, var in cb.variables.items():
        if var.universe is None or name in derive_names or var.universe[0] not in frame:
            continue
        outside = ~cb._in_universe(frame, var)
        forced = outside & frame[name].notna().to_numpy()
        if forced.any():
            notes.append(f"{name}: {int(forced.sum())} answers outside the universe "
                         f"({var.universe[0]} == {var.universe[1]}) set to NA 'not asked'")
        if outside.any():
            frame.loc[outside, name] = np.nan if var.is_numeric else None
            r = reasons[name].to_numpy(dtype=object).copy()
            r[outside] = NOT_ASKED
            reasons[name] = pd.Series(r, dtype=object, name=name)
    try:  # raw-derived values first: errors name the real culprit, the raw column
        cb.validate(frame, source=source)
    except ValidationError as exc:
        rule = m.variables.get(exc.column or "")
        if rule is None or rule.source is None:
            raise
        named = ValidationError(f"{exc.message} (canonical {exc.column!r}, mapped from raw "
                                f"column {rule.source!r})", file=source, column=rule.source,
                                values=exc.values, hint=exc.hint)
        named.count, named.more = exc.count, exc.more  # the full count, not the sample's
        named.args = (named._render(),)
        raise named from exc
    skip = [d for d in cb.derived if d not in derive_names]
    frame, reasons = cb.derive_with_reasons(frame, reasons, skip=skip)

    cb.validate(frame, source=source)
    reasons = {k: v for k, v in reasons.items() if k in frame.columns and v.notna().any()}
    report = HarmonisationReport(
        studies=[m.study], sources=[source], mappings=[m.path], rows_in=n, rows_out=len(frame),
        recodes=_concat(recodes, RECODE_COLUMNS), unmapped=_concat(unmapped, UNMAPPED_COLUMNS),
        missing=_missing_table(frame, reasons, m.study, cb), notes=notes,
        variables=_variable_table(frame, m, cb, derive_names),
    )
    if report.rows_out != report.rows_in:  # pragma: no cover - guarded by construction
        raise ValidationError("harmonisation changed the number of rows", file=source,
                              values=[report.rows_in, report.rows_out])
    # synthetic data stay labelled, whatever says so: the mapping, the raw file's label, its
    # attrs or data_source column, or the bundled replica's weights (provenance.py)
    evidence = (synthetic_evidence(frame, file_label=raw.file_label,
                                   mapping_synthetic=m.synthetic)
                or synthetic_evidence(raw.data, weight_columns=()))
    if evidence:
        flag(frame, evidence)
        notes.append(f"{SYNTHETIC_BANNER} ({evidence}): every output made from this frame "
                     "must say so")
    attach_codebook(frame, cb)  # value/variable labels travel with the frame into results
    return Harmonised(frame=frame, report=report, missing=reasons, codebook=cb)


def _try_float(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _ids(col: pd.Series, column: str, source: str) -> pd.Series:
    """Respondent ids: present, unique; integral floats become int64."""
    na = col.isna().to_numpy()
    if na.any():
        raise ValidationError("respondent ids are missing", file=source, column=column,
                              values=[f"row {i + 1}" for i in np.flatnonzero(na)])
    dup = col.duplicated(keep=False).to_numpy()
    if dup.any():
        raise ValidationError("duplicate respondent ids", file=source, column=column,
                              values=col[dup].tolist())
    if pd.api.types.is_float_dtype(col.dtype):
        arr = col.to_numpy(dtype=float)
        if np.all(arr == np.round(arr)):
            return pd.Series(arr.astype(np.int64), name="resp_id")
    if pd.api.types.is_numeric_dtype(col.dtype):
        return pd.Series(col.to_numpy(), name="resp_id")
    return pd.Series(str_values(col).to_numpy(dtype=object), name="resp_id")


def _concat(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True).reindex(columns=columns)


def _variable_table(frame: pd.DataFrame, m: Mapping, cb: Codebook,
                    derived: Sequence[str]) -> pd.DataFrame:
    """How each canonical variable was obtained, with its valid and missing counts."""
    rows = []
    for name, var in cb.variables.items():
        if name not in frame.columns:
            continue
        rule = m.variables.get(name)
        raw_column = None
        if var.type == "id":
            how, raw_column = "respondent id", m.id
        elif name in derived:
            how = "derived"
        elif rule is None:
            how = "not collected"
        elif rule.kind == "value":
            how = f"constant {rule.value}"
        elif rule.recode is not None or rule.ranges:
            how, raw_column = ("recoded" if rule.recode is not None else "ranges"), rule.source
        else:
            how, raw_column = "copied", rule.source
        na = int(frame[name].isna().sum())
        rows.append({"study": m.study, "variable": name, "rule": how, "raw_column": raw_column,
                     "n_valid": len(frame) - na, "n_missing": na})
    return pd.DataFrame(rows, columns=VARIABLE_COLUMNS)


def _missing_table(frame: pd.DataFrame, reasons: MappingABC[str, pd.Series], study: str,
                   cb: Codebook) -> pd.DataFrame:
    rows = []
    for name in cb.variables:
        if name not in frame.columns or not frame[name].isna().any():
            continue
        why = reasons_of(frame, name, reasons).dropna().value_counts()
        for reason, cnt in sorted(why.items(), key=lambda kv: str(kv[0])):
            rows.append({"study": study, "variable": name, "reason": reason, "n": int(cnt)})
    return pd.DataFrame(rows, columns=MISSING_COLUMNS)


def stack(items: Sequence[Harmonised]) -> Harmonised:
    """Stack several harmonised studies into one frame (``study`` column) + combined report.

    Variables missing from a study are NA with reason "not collected"; ``(study, resp_id)``
    stays unique because study names must differ.

    Parameters
    ----------
    items : sequence of Harmonised
        Harmonised studies with distinct study names.

    Returns
    -------
    Harmonised

    Examples
    --------
    >>> from surveykit import replica
    >>> h = sk.harmonise(sk.read(replica.path()), replica.mapping_path())
    >>> both = sk.stack([h, sk.load_followup()])
    >>> both.frame["study"].value_counts().sort_index().tolist()
    [2209, 1500]
    """
    items = list(items)
    if not items:
        raise ValidationError("nothing to stack")
    studies = [s for h in items for s in h.report.studies]
    dups = pd.Series(studies)[pd.Series(studies).duplicated()].tolist()
    if dups:
        raise ValidationError("the same study appears twice in stack()", column="study",
                              values=dups, hint="give each mapping its own `study` name")
    cb = combine(h.codebook for h in items)
    columns = ["study", *cb.variables]
    for h in items:
        columns += [c for c in h.frame.columns if c not in columns]
    frames, reasons_parts = [], []
    for h in items:
        f = h.frame.reindex(columns=columns)
        r = {}
        for c in columns:
            if c in h.missing:
                r[c] = h.missing[c].reset_index(drop=True)
            elif c not in h.frame.columns:
                r[c] = pd.Series([NOT_COLLECTED] * len(f), dtype=object)
            else:
                r[c] = pd.Series([None] * len(f), dtype=object)
        frames.append(f.reset_index(drop=True))
        reasons_parts.append(r)
    frame = pd.concat(frames, ignore_index=True)
    missing = {}
    for c in columns:
        s = pd.concat([r[c] for r in reasons_parts], ignore_index=True)
        if s.notna().any():
            missing[c] = s.astype(object).rename(c)
    reps = [h.report for h in items]
    study_col = frame["study"].to_numpy(dtype=object)
    tables = []
    for study in pd.unique(study_col):
        rows = study_col == study
        sub = frame[rows].reset_index(drop=True)
        sub_reasons = {c: v[rows].reset_index(drop=True) for c, v in missing.items()}
        tables.append(_missing_table(sub, sub_reasons, str(study), cb))
    missing_tab = _concat(tables, MISSING_COLUMNS)
    report = HarmonisationReport(
        studies=studies, sources=[s for r in reps for s in r.sources],
        mappings=[p for r in reps for p in r.mappings],
        rows_in=sum(r.rows_in for r in reps), rows_out=len(frame),
        recodes=_concat([r.recodes for r in reps if len(r.recodes)], RECODE_COLUMNS),
        unmapped=_concat([r.unmapped for r in reps if len(r.unmapped)], UNMAPPED_COLUMNS),
        missing=missing_tab.reindex(columns=MISSING_COLUMNS),
        notes=[n for r in reps for n in r.notes],
        variables=_concat([r.variables for r in reps if len(r.variables)], VARIABLE_COLUMNS),
    )
    if any(h.frame.attrs.get("synthetic") for h in items):
        frame.attrs["synthetic"] = True
    attach_codebook(frame, cb)
    return Harmonised(frame=frame, report=report, missing=missing, codebook=cb)


# ---------------------------------------------------------------------------------------------
# Writing canonical files

OUTPUT_FORMATS = (".csv", ".parquet", ".sav", ".zsav")


def write_canonical(frame: pd.DataFrame, path: str | Path, codebook: Codebook,
                    missing: MappingABC[str, pd.Series] | None = None,
                    file_label: str | None = None) -> Path:
    """Write a canonical frame to .csv, .parquet or .sav/.zsav.

    In .sav files NA values of numeric variables are written as the codebook's missing code
    for their reason (declared user-missing, labelled with the reason), so reading the file
    back with :func:`surveykit.io.read` restores the reasons; "system missing" stays empty.
    CSV and Parquet store NA as empty (reasons are in the report). Synthetic frames get a
    ``data_source`` column saying SYNTHETIC in every format, so copies stay recognisable.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise InputFileError("unsupported output format", file=str(path), values=[suffix],
                             hint=f"use one of {', '.join(OUTPUT_FORMATS)}")
    frame = with_source_column(frame)  # synthetic data say so in every format, labels or not
    try:
        if suffix == ".csv":
            with atomic_path(path) as tmp:
                frame.to_csv(tmp, index=False)
            return path
        if suffix == ".parquet":
            with atomic_path(path) as tmp:
                frame.to_parquet(tmp, index=False)
            return path
    except ImportError as exc:
        raise InputFileError(f"cannot write parquet: {exc}", file=str(path),
                             hint=PARQUET_HINT) from exc
    except OSError as exc:
        raise InputFileError(f"cannot write the output file ({exc.strerror or exc})",
                             file=str(exc.filename or path)) from exc
    out = frame.copy()
    labels: dict[str, str] = {"study": "Study (harmonisation mapping)"}
    value_labels: dict[str, dict[Any, str]] = {}
    ranges: dict[str, list[Any]] = {}
    for name in out.columns:
        var = codebook.variables.get(name)
        if var is None:
            if not pd.api.types.is_numeric_dtype(out[name].dtype):
                out[name] = out[name].astype(object).where(out[name].notna(), "")
            continue
        labels[name] = var.label
        if not var.is_numeric:
            out[name] = str_values(out[name]).where(out[name].notna(), "")
            continue
        vl = {float(k): v for k, v in var.values.items()}
        na = out[name].isna().to_numpy()
        if na.any() and var.missing:
            why = reasons_of(out, name, missing).to_numpy(dtype=object)
            uniq, inv = np.unique(why[na].astype(str), return_inverse=True)
            codes = np.array([np.nan if u == SYSTEM_MISSING else float(var.missing_code(u))
                              for u in uniq])
            arr = out[name].to_numpy(dtype=float).copy()
            arr[na] = codes[inv]
            out[name] = arr
            for c in codes:
                if not np.isnan(c):
                    vl[float(c)] = var.missing[int(c)]
            ranges[name] = [{"lo": float(min(var.missing)), "hi": float(max(var.missing))}]
        if vl:
            value_labels[name] = vl
    label = _file_label(frame, file_label or codebook.title)
    return write_sav(out, path, variable_labels=labels, value_labels=value_labels,
                     missing_ranges=ranges, file_label=label)


def _file_label(frame: pd.DataFrame, label: str) -> str:
    """SPSS file label (64 characters at most), saying SYNTHETIC when the frame is."""
    if frame.attrs.get("synthetic") and "synthetic" not in label.lower():
        label = f"SYNTHETIC - not original survey data: {label}"
    return label[:64]
