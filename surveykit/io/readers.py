"""Reading raw survey files (SPSS, Stata, SAS, CSV, Parquet) into a labelled :class:`RawFile`.

Labelled formats go through pyreadstat with ``user_missing=True`` so that user-defined missing
values (SPSS missing values/ranges, Stata/SAS tagged missing ``.a``-``.z``) are not silently
turned into plain NaN: they become NA **with their reason** (the value label of the missing code,
else ``"user missing <code>"``), kept in :attr:`RawFile.missing_reasons`. System-missing values
get the reason ``"system missing"``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyreadstat

from surveykit._atomic import atomic_path
from surveykit._reproducible import pin_sav_header
from surveykit.errors import InputFileError
from surveykit.labels import attach as attach_labels

#: extension -> format name
FORMATS = {
    ".sav": "sav", ".zsav": "sav", ".por": "por", ".dta": "dta", ".sas7bdat": "sas7bdat",
    ".xpt": "xpt", ".csv": "csv", ".parquet": "parquet",
}
SYSTEM_MISSING = "system missing"

_READERS = {
    "sav": (pyreadstat.read_sav, True),
    "por": (pyreadstat.read_por, False),
    "dta": (pyreadstat.read_dta, True),
    "sas7bdat": (pyreadstat.read_sas7bdat, True),
    "xpt": (pyreadstat.read_xport, False),
}


@dataclass
class RawFile:
    """A raw data file with its labels; user-missing values are NA with a reason."""

    path: str
    data: pd.DataFrame
    variable_labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict[Any, str]] = field(default_factory=dict)
    missing_reasons: dict[str, pd.Series] = field(default_factory=dict)
    file_label: str | None = None
    format: str = "dataframe"
    #: declared user-missing codes as read: {column: [{"lo": a, "hi": b}, ...]} (SPSS) or
    #: {column: [{"lo": "a", "hi": "a"}, ...]} (Stata/SAS tags)
    missing_ranges: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of rows (respondents)."""
        return len(self.data)

    def __repr__(self) -> str:  # short: not the dataclass dump of every label and reason
        from surveykit.display import raw_repr

        return raw_repr(self)

    def _repr_html_(self) -> str:
        from surveykit.display import raw_html

        return raw_html(self)

    def reasons(self, column: str) -> pd.Series:
        """NA reasons of one column (None where the value is present)."""
        given = self.missing_reasons.get(column)
        if given is not None:
            return given
        na = self.data[column].isna().to_numpy()
        return pd.Series(np.where(na, SYSTEM_MISSING, None), index=self.data.index,
                         dtype=object, name=column)


#: How to get Parquet support (pyarrow is an optional dependency).
PARQUET_HINT = "install the parquet extra: pip install 'surveykit[parquet]' (pyarrow)"


def require_parquet(path: str | Path, action: str = "write") -> None:
    """InputFileError naming the ``[parquet]`` extra when no Parquet engine is installed.

    Called before any work is done, so a command does not compute everything and then fail.
    """
    import importlib.util

    if Path(path).suffix.lower() != ".parquet":
        return
    if any(importlib.util.find_spec(m) is not None for m in ("pyarrow", "fastparquet")):
        return
    raise InputFileError(f"cannot {action} .parquet: pyarrow is not installed", file=str(path),
                         hint=PARQUET_HINT)


def restore_user_missing(raw: RawFile, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (rows of ``raw``) with SPSS user-missing codes put back where ``raw`` read them
    as NA with a reason, so that writing a .sav keeps them (copy; other columns untouched)."""
    out = frame.copy()
    for col, ranges in raw.missing_ranges.items():
        if col not in out.columns or col not in raw.missing_reasons:
            continue
        if any(isinstance(r.get("lo"), str) for r in ranges):
            continue  # Stata/SAS tags have no SPSS code
        labels = raw.value_labels.get(col, {})
        codes = {str(v): float(k) for k, v in labels.items()
                 if any(r["lo"] <= float(k) <= r["hi"] for r in ranges)}
        why = raw.missing_reasons[col].to_numpy(dtype=object)
        values = pd.to_numeric(out[col], errors="coerce").to_numpy(dtype=float).copy()
        for reason in pd.unique(why[pd.notna(why)]):
            text = str(reason)
            code = codes.get(text)
            if code is None and text.startswith("user missing "):
                code = float(text.removeprefix("user missing "))
            if code is not None:
                values[why == reason] = code
        out[col] = values
    return out


def file_format(path: str | Path) -> str:
    """The format name of a path from its extension; InputFileError if unknown."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputFileError(
            "unknown file extension", file=str(path), values=[suffix or "(none)"],
            hint=f"supported: {', '.join(sorted(FORMATS))}",
        )
    return FORMATS[suffix]


def read(path: str | Path, *, encoding: str | None = None) -> RawFile:
    """Read a raw survey file into a :class:`RawFile` (labels and missing reasons kept).

    Supported: .sav .zsav .por .dta .sas7bdat .xpt (pyreadstat), .csv .parquet (pandas).
    Raises InputFileError for an unknown extension, a missing file, or an unreadable /
    truncated file (with what the underlying reader said).

    Parameters
    ----------
    path : str or pathlib.Path
        The file to read.
    encoding : str, optional
        Text encoding of the file (default: the reader's own detection).

    Returns
    -------
    RawFile
        ``.data``, ``.variable_labels``, ``.value_labels``, ``.missing_reasons`` ...

    Examples
    --------
    >>> from surveykit import replica
    >>> raw = sk.read(replica.path())
    >>> raw.format, raw.n
    ('sav', 2209)
    """
    path = Path(path)
    if path.is_dir():
        raise InputFileError("is a directory, not a data file", file=str(path),
                             hint="give the path of a data file inside it")
    fmt = file_format(path)
    if not path.is_file():
        raise InputFileError("file not found", file=str(path))
    require_parquet(path, "read")
    if fmt in _READERS:
        return _read_pyreadstat(path, fmt, encoding)
    if fmt == "csv":
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
        if b"\x00" in head:
            raise InputFileError("not a CSV text file (it contains NUL bytes)", file=str(path),
                                 hint="is it a binary file with the wrong extension?")
        _refuse_duplicate_columns(head, path, encoding)
    try:
        if fmt == "csv":
            data = pd.read_csv(path, encoding=encoding)
        else:
            data = pd.read_parquet(path)
    except ImportError as exc:
        raise InputFileError(f"cannot read {fmt} file: {exc}", file=str(path),
                             hint=PARQUET_HINT) from exc
    except Exception as exc:  # pandas/pyarrow raise many types for corrupt input
        what = " ".join(str(exc).split()) or type(exc).__name__  # one line for the CLI
        raise InputFileError(f"cannot read {fmt} file ({type(exc).__name__}: {what})",
                             file=str(path)) from exc
    if fmt == "csv":
        data = _integer_columns(data, path, encoding)
    return RawFile(path=str(path), data=data, missing_reasons=_system_missing(data), format=fmt)


_INTEGER_TEXT = r"^\s*[+-]?\d+\s*$"


def _integer_columns(data: pd.DataFrame, path: str | Path, encoding: str | None
                     ) -> pd.DataFrame:
    """Columns the CSV writes as whole numbers ("1", "10") but pandas read as float because a
    value is missing become nullable integers (``Int64``), so codes stay codes: ``1``, not
    ``1.0``, in results, model terms and files written back. Columns written with decimals
    ("2.0", "1.5") stay float: the values pass through as the file has them."""
    cand = [c for c in data.columns if data[c].dtype.kind == "f" and data[c].isna().any()
            and data[c].notna().any()]
    if not cand or data.columns.duplicated().any():
        return data
    text = pd.read_csv(path, encoding=encoding, usecols=cand, dtype=str)
    out = data
    for c in cand:
        vals = text[c].dropna()
        if len(vals) and vals.str.match(_INTEGER_TEXT).all() and (vals.str.len() < 16).all():
            if out is data:
                out = data.copy()
            out[c] = data[c].astype("Int64")
    return out


def _refuse_duplicate_columns(head: bytes, path: Path, encoding: str | None) -> None:
    """A CSV header naming a column twice is an error (pandas would rename the second one
    ``w.1`` without a word, and analyses would use the first)."""
    import csv
    import io

    text = head.decode(encoding or "utf-8-sig", errors="replace")
    try:
        header = next(csv.reader(io.StringIO(text)), [])
    except csv.Error:
        return  # pandas reports the malformed file
    seen: dict[str, int] = {}
    for name in header:
        seen[name] = seen.get(name, 0) + 1
    twice = [name for name, n in seen.items() if n > 1]
    if twice:
        raise InputFileError("the CSV header names a column more than once",
                             file=str(path), values=twice,
                             hint="rename the columns so that each name is used once")


def _system_missing(data: pd.DataFrame, skip: Mapping[str, pd.Series] | None = None,
                    ) -> dict[str, pd.Series]:
    out: dict[str, pd.Series] = dict(skip or {})
    na = data.isna()
    for col in data.columns[na.any().to_numpy()]:
        if col in out:
            continue
        out[col] = pd.Series(np.where(na[col].to_numpy(), SYSTEM_MISSING, None),
                             index=data.index, dtype=object, name=col)
    return out


def _read_pyreadstat(path: Path, fmt: str, encoding: str | None) -> RawFile:
    reader, has_user_missing = _READERS[fmt]
    kwargs: dict[str, Any] = {}
    if has_user_missing:
        kwargs["user_missing"] = True
    if encoding and fmt not in ("dta", "por"):
        kwargs["encoding"] = encoding
    try:
        data, meta = reader(str(path), **kwargs)
    except Exception as exc:  # pyreadstat.ReadstatError, PyreadstatError, OSError, ...
        what = " ".join(str(exc).split()) or type(exc).__name__  # one line for the CLI
        raise InputFileError(f"cannot read {fmt} file ({type(exc).__name__}: {what})",
                             file=str(path),
                             hint="the file may be truncated or not really a " + fmt) from exc
    value_labels = {k: dict(v) for k, v in (meta.variable_value_labels or {}).items()}
    variable_labels = {k: v for k, v in (meta.column_names_to_labels or {}).items() if v}
    reasons: dict[str, pd.Series] = {}
    declared: dict[str, list[dict[str, Any]]] = {
        k: [dict(r) for r in v] for k, v in (getattr(meta, "missing_ranges", None) or {}).items()}
    for k, tags in (getattr(meta, "missing_user_values", None) or {}).items():
        declared.setdefault(k, []).extend({"lo": t, "hi": t} for t in tags)
    # SPSS: user-missing values and ranges are returned as ordinary values.
    for col, ranges in (getattr(meta, "missing_ranges", None) or {}).items():
        if col not in data.columns:
            continue
        ser = data[col]
        labels = value_labels.get(col, {})
        is_missing = np.zeros(len(data), dtype=bool)
        why = np.full(len(data), None, dtype=object)
        for rng in ranges:
            lo, hi = rng["lo"], rng["hi"]
            if isinstance(lo, str) or isinstance(hi, str):
                m = (ser.astype(object) == lo).to_numpy(dtype=bool, na_value=False) if lo == hi \
                    else ((ser >= lo) & (ser <= hi)).to_numpy(dtype=bool, na_value=False)
            else:
                num = pd.to_numeric(ser, errors="coerce")
                m = ((num >= lo) & (num <= hi)).to_numpy(dtype=bool, na_value=False).copy()
            m = m & ~is_missing
            if m.any():
                vals = ser[m]
                if lo == hi:
                    why[m] = _reason(lo, labels)
                else:  # one reason per distinct code in the range, mapped vectorised
                    table = {v: _reason(v, labels) for v in pd.unique(vals)}
                    why[m] = vals.map(table).to_numpy(dtype=object)
                is_missing |= m
        if is_missing.any():
            data[col] = ser.mask(is_missing)
            sys_na = data[col].isna().to_numpy() & ~is_missing
            why[sys_na] = SYSTEM_MISSING
            reasons[col] = pd.Series(why, index=data.index, dtype=object, name=col)
    # Stata / SAS: tagged missing values come back as one-letter strings.
    for col, tags in (getattr(meta, "missing_user_values", None) or {}).items():
        if col not in data.columns or not tags:
            continue
        ser = data[col]
        labels = value_labels.get(col, {})
        obj = ser.astype(object)
        is_tag = obj.isin(list(tags)).to_numpy(dtype=bool)
        if not is_tag.any():
            continue
        why = np.full(len(data), None, dtype=object)
        for tag in tags:
            m = (obj == tag).to_numpy(dtype=bool, na_value=False)
            why[m] = labels.get(tag, f"user missing .{tag}")
        clean = pd.to_numeric(ser.mask(is_tag), errors="coerce")
        data[col] = clean
        why[clean.isna().to_numpy() & ~is_tag] = SYSTEM_MISSING
        reasons[col] = pd.Series(why, index=data.index, dtype=object, name=col)
    _numeric_storage(data, meta, reasons, value_labels)
    attach_labels(data, value_labels, variable_labels)  # labels travel with the frame
    return RawFile(
        path=str(path), data=data, variable_labels=variable_labels, value_labels=value_labels,
        missing_reasons=_system_missing(data, reasons), file_label=meta.file_label or None,
        format=fmt, missing_ranges=declared,
    )


_NUMERIC_STORAGE = ("int8", "int16", "int32", "int64", "float", "double")


def _numeric_storage(data: pd.DataFrame, meta: Any, reasons: dict[str, pd.Series],
                     value_labels: Mapping[str, Mapping[Any, str]]) -> None:
    """Columns the file stores as numbers come back as numbers (float64 with NaN, as R's haven
    reads them), never ``object``: pyreadstat returns integer-stored Stata/SPSS items that hold
    missing values (and undeclared Stata tags ``.a``-``.z``) as Python objects. Tags become NA
    with their reason (value label, else ``user missing .a``)."""
    types = getattr(meta, "readstat_variable_types", None) or {}
    for col, kind in types.items():
        if col not in data.columns or kind not in _NUMERIC_STORAGE or data[col].dtype != object:
            continue
        obj = data[col]
        tag = obj.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
        num = pd.to_numeric(obj.mask(tag), errors="coerce").astype(float)
        if tag.any() or col in reasons:
            why = (reasons[col].to_numpy(dtype=object).copy() if col in reasons
                   else np.full(len(data), None, dtype=object))
            labels = value_labels.get(col, {})
            for t in pd.unique(obj[tag]):
                why[(obj == t).to_numpy(dtype=bool) & tag] = labels.get(t, f"user missing .{t}")
            why[num.isna().to_numpy() & pd.isna(why)] = SYSTEM_MISSING
            reasons[col] = pd.Series(why, index=data.index, dtype=object, name=col)
        data[col] = num


def _reason(code: Any, labels: Mapping[Any, str]) -> str:
    """Reason for a user-missing code: its value label, else 'user missing <code>'."""
    if code in labels:
        return str(labels[code])
    if isinstance(code, float) and code.is_integer():
        return f"user missing {int(code)}"
    return f"user missing {code}"


def write_sav(
    frame: pd.DataFrame,
    path: str | Path,
    *,
    variable_labels: Mapping[str, str | None] | None = None,
    value_labels: Mapping[str, Mapping[Any, str]] | None = None,
    missing_ranges: Mapping[str, list[Any]] | None = None,
    file_label: str = "",
    compress: bool | None = None,
) -> Path:
    """Write an SPSS .sav (or .zsav) file with labels and user-missing values (pyreadstat).

    ``missing_ranges`` is pyreadstat's format: {column: [code, ..., {"lo": a, "hi": b}]}.

    Parameters
    ----------
    frame : pandas.DataFrame
        The data to write.
    path : str or pathlib.Path
        Target ``.sav`` or ``.zsav`` file (written atomically).
    variable_labels : mapping, optional
        ``{column: label}``.
    value_labels : mapping, optional
        ``{column: {code: label}}``.
    missing_ranges : mapping, optional
        User-missing values in pyreadstat's format (see above).
    file_label : str
        The file label.
    compress : bool, optional
        Write a compressed file (default: from the suffix, ``.zsav``).

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> df = sk.load_replica()[["resp_id", "urban"]]
    >>> sk.write_sav(df, "urban.sav", value_labels={"urban": {0: "rural", 1: "urban"}})
    PosixPath('urban.sav')
    >>> sk.read("urban.sav").value_labels["urban"]
    {0.0: 'rural', 1.0: 'urban'}
    """
    path = Path(path)
    if compress is None:
        compress = path.suffix.lower() == ".zsav"
    variable_labels = {k: _fit_label(v, SAV_VARIABLE_LABEL_BYTES, f"variable {k!r}: label")
                       for k, v in (variable_labels or {}).items() if v is not None} or None
    value_labels = {k: {code: _fit_label(lab, SAV_VALUE_LABEL_BYTES,
                                         f"variable {k!r}: value label of {code!r}")
                        for code, lab in v.items()}
                    for k, v in (value_labels or {}).items()} or None
    file_label = _fit_label(file_label or "", SAV_FILE_LABEL_BYTES, "file label")
    out = frame.copy()
    for col in out.columns:  # pandas 3 string columns -> object for pyreadstat
        if pd.api.types.is_string_dtype(out[col].dtype) and out[col].dtype != object:
            out[col] = out[col].astype(object)
    try:
        with atomic_path(path) as tmp:  # a failed write leaves an existing file untouched
            pyreadstat.write_sav(
                out, str(tmp), file_label=file_label or "",
                column_labels=dict(variable_labels) if variable_labels else None,
                variable_value_labels={k: dict(v) for k, v in value_labels.items()}
                if value_labels else None,
                missing_ranges={k: list(v) for k, v in missing_ranges.items()}
                if missing_ranges else None,
                compress=compress,
            )
            pin_sav_header(tmp)  # SOURCE_DATE_EPOCH or a constant: same bytes run to run
    except Exception as exc:
        raise InputFileError(f"cannot write sav file ({type(exc).__name__}: {exc})",
                             file=str(path)) from exc
    return path


#: SPSS limits in bytes of the file's encoding (UTF-8): longer labels are cut by the format
SAV_VARIABLE_LABEL_BYTES = 256
SAV_VALUE_LABEL_BYTES = 120
SAV_FILE_LABEL_BYTES = 64


def _fit_label(text: Any, limit: int, what: str) -> Any:
    """``text`` cut to whole characters within ``limit`` UTF-8 bytes, with a warning naming
    ``what`` and the limit (SPSS would cut it silently, possibly inside a character)."""
    if not isinstance(text, str):
        return text
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    cut = raw[:limit].decode("utf-8", errors="ignore")
    warnings.warn(f"{what} is {len(raw)} bytes, SPSS .sav allows {limit} bytes: written as "
                  f"the first {len(cut)} characters ({cut[:40]!r}...)", UserWarning,
                  stacklevel=3)
    return cut


def _summary_text(values: pd.Series, numeric: bool) -> str:
    """One line for many distinct values: min/mean/max of numbers, the count of strings."""
    if numeric:
        return f"min {values.min():.6g}, mean {values.mean():.6g}, max {values.max():.6g}"
    return f"{values.nunique()} distinct"


def describe_raw(raw: RawFile) -> pd.DataFrame:
    """The codebook-style view of a raw file: labels, value counts, NA counts by reason.

    Same columns as :meth:`surveykit.dictionary.Codebook.describe_frame`; ``type`` is the
    storage type (numeric/string). Labelled columns list every labelled code with its count
    (plus unlabelled values); unlabelled columns with at most 12 distinct values list them,
    others get a one-line summary.
    """
    from surveykit.dictionary import DESCRIBE_COLUMNS

    rows: list[dict[str, Any]] = []
    data = raw.data
    for col in data.columns:
        ser = data[col]
        numeric = pd.api.types.is_numeric_dtype(ser.dtype)
        base = {"variable": col, "label": raw.variable_labels.get(col, ""),
                "type": "numeric" if numeric else "string"}
        present = ser[ser.notna()]
        counts = present.value_counts(sort=False)
        labels = raw.value_labels.get(col, {})
        if labels:
            for code, lab in labels.items():
                if not _is_missing_code(raw, col, code):
                    rows.append({**base, "kind": "code", "code": code, "value_label": lab,
                                 "n": int(counts.get(code, 0))})
            other = counts[[c not in labels for c in counts.index]]
            if len(other) <= 12:
                for code, cnt in other.sort_index().items():
                    rows.append({**base, "kind": "code", "code": code,
                                 "value_label": "(no label)", "n": int(cnt)})
            else:  # a numeric variable with a labelled (missing) code: summarise, not list
                vals = present[present.isin(other.index)]
                rows.append({**base, "kind": "value", "code": None,
                             "value_label": f"{len(other)} unlabelled values: "
                                            + _summary_text(vals, numeric),
                             "n": int(other.sum())})
        elif len(counts) <= 12:
            for code, cnt in counts.sort_index().items():
                rows.append({**base, "kind": "code", "code": code, "value_label": "",
                             "n": int(cnt)})
        else:
            rows.append({**base, "kind": "value", "code": None,
                         "value_label": _summary_text(present, numeric), "n": len(present)})
        why = raw.reasons(col).dropna().value_counts()
        for reason, cnt in sorted(why.items(), key=lambda kv: str(kv[0])):
            rows.append({**base, "kind": "missing", "code": None, "value_label": str(reason),
                         "n": int(cnt)})
    return pd.DataFrame(rows, columns=DESCRIBE_COLUMNS)


def _is_missing_code(raw: RawFile, col: str, code: Any) -> bool:
    """True if a labelled code is one of the column's user-missing codes (shown as NA rows)."""
    for rng in raw.missing_ranges.get(col, []):
        lo, hi = rng["lo"], rng["hi"]
        try:
            if lo <= code <= hi:
                return True
        except TypeError:
            continue
    return False
