"""Writing a :class:`ReplicationResult`: tables and models as CSV, Markdown and LaTeX, plus
``replication.md`` and ``replication.json``.

CSV files are plain, so ``pandas.read_csv(path)`` and R's ``read.csv(path)`` read them with their
defaults: no comment lines; a ``data_source`` column says where the numbers come from
("synthetic replica" for the bundled replica, else the input file's name) and a sidecar
``<name>.json`` next to each CSV carries the provenance and the published source. Text cells
that a spreadsheet would run as a formula get a leading ``'`` (:mod:`surveykit._cells`; the
sidecar says so). Every output
made from the synthetic replica carries :data:`SYNTHETIC_BANNER` (a quoted line in Markdown,
the caption in LaTeX, a field in JSON). Published tables are cited by author, year, page and
title (:func:`citation`). Numbers are written with fixed decimals and nothing depends on the
clock, so two runs on the same input give byte-identical files.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from surveykit._atomic import write_text
from surveykit._cells import NEUTRALISED_NOTE, neutralise
from surveykit.replication.result import COMPARISON_COLUMNS, ReplicationResult

#: Decimals of the CSV and JSON numbers (estimates, SEs, CIs).
CSV_DECIMALS = 6
#: Extra decimals shown for computed values in Markdown / LaTeX beyond the published ones.
EXTRA_DECIMALS = 2

_CSV_COLUMNS = (*COMPARISON_COLUMNS, "unit", "decimals", "bound", "reason")


# -- small formatting helpers ---------------------------------------------------------------------
def _missing(x: Any) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def _fmt(x: Any, decimals: int) -> str:
    """Fixed decimals; a value that rounds to zero prints "0.000", never "-0.000"."""
    if _missing(x):
        return ""
    return f"{round(float(x), int(decimals)) + 0.0:.{int(decimals)}f}"


def no_negative_zero(frame: pd.DataFrame, decimals: int) -> pd.DataFrame:
    """A copy whose float columns are rounded to ``decimals`` with -0.0 made 0.0, so a fixed
    ``float_format`` writes no "-0.0000"."""
    out = frame.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c].dtype):
            out[c] = out[c].round(decimals) + 0.0
    return out


def _result(passed: Any) -> str:
    if _missing(passed):
        return "n/a"
    return "pass" if bool(passed) else "FAIL"


def _json_value(x: Any) -> Any:
    if _missing(x):
        return None
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return round(float(x), CSV_DECIMALS)
    if isinstance(x, tuple):
        return [_json_value(v) for v in x]
    return x if isinstance(x, (str, list, dict)) else str(x)


def _md_escape(text: Any) -> str:
    return "" if _missing(text) else str(text).replace("|", "\\|").replace("\n", " ")


_TEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                "^": r"\textasciicircum{}", "<": r"$<$", ">": r"$>$", "—": "---", "–": "--",
                "−": "--"}
_TEX_RE = re.compile("|".join(re.escape(k) for k in _TEX_SPECIAL))


def tex_escape(text: Any) -> str:
    """Escape text for LaTeX (special characters, dashes, < and >)."""
    return "" if _missing(text) else _TEX_RE.sub(lambda m: _TEX_SPECIAL[m.group(0)], str(text))


#: The value of the ``data_source`` column in CSVs made from the bundled replica.
REPLICA_SOURCE = "synthetic replica"
#: notes about a transcription in a registry's `paper` ("(cited as 2019 in the seed text)",
#: ", as reported in ..."): not part of the citation
_SEED_NOTES = (re.compile(r"\s*\([^)]*\bseed\b[^)]*\)", re.IGNORECASE),
               re.compile(r",[^,;]*\bseed\b[^,;]*", re.IGNORECASE))


def _drop_seed_notes(text: str) -> str:
    for pattern in _SEED_NOTES:
        text = pattern.sub("", text)
    return text.strip()


def citation(meta: dict[str, Any] | None) -> str:
    """The published source of a registry table as a reader can look it up: author, year,
    title, page and the table's published caption, e.g. 'Kostka (2019), "China's Social Credit
    Systems and Public Opinion", p. 13 ("Comparison of approval rates between different groups
    (weighted)")'. ``meta`` is a registry table (``source`` a mapping with ``paper`` and
    ``page``) or a table's meta whose ``source`` is already text. Never names a file of ours."""
    meta = meta or {}
    source = meta.get("source")
    if not isinstance(source, dict):
        return _drop_seed_notes(str(source or ""))
    paper = _drop_seed_notes(str(source.get("paper") or ""))
    paper = re.sub(r'"([^"]+)"', "\u201c\\1\u201d", paper)
    page = re.search(r"\bpp?\.\s*[\d\u2013-]+", str(source.get("page") or ""))
    text = f"{paper}, {page.group(0)}" if page else paper
    caption = str(meta.get("title") or "").strip()
    if caption and page:
        text += f" (\u201c{caption}\u201d)"
    elif not page:
        text += ", numbers quoted in the running text (page given per row)"
    return text


def data_source(provenance: dict[str, Any] | None, banner: str | None) -> str:
    """Value of the ``data_source`` column: "synthetic replica", else the input file."""
    prov = provenance or {}
    if banner or prov.get("is_replica"):
        return REPLICA_SOURCE
    return str(prov.get("input_file") or "input data")


def _sidecar(csv_path: Path, *, title: str, banner: str | None, source: str | None,
             provenance: dict[str, Any] | None, columns: list[str]) -> Path:
    """``<stem>.json`` next to a CSV: what it is, where its numbers come from."""
    prov = provenance or {}
    doc = {
        "file": csv_path.name,
        "title": title,
        "data_source": data_source(prov, banner),
        "synthetic": bool(banner or prov.get("is_replica")),
        "banner": banner,
        "published_source": source,
        "columns": columns,
        "text_cells": NEUTRALISED_NOTE,
        "provenance": {k: _json_value(v) for k, v in prov.items()},
    }
    return _write(csv_path.with_suffix(".json"),
                  json.dumps(doc, indent=2, ensure_ascii=False))


def _md_table(header: list[str], rows: list[list[str]], align: list[str]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def _write(path: Path, text: str) -> Path:
    return write_text(path, text if text.endswith("\n") else text + "\n")


# -- tables ---------------------------------------------------------------------------------------
def _wide(frame: pd.DataFrame, extra: int = EXTRA_DECIMALS) -> tuple[list[str], list[list[str]],
                                                                      list[str]]:
    """Rows x groups in published order: 'computed [published]' per cell, for Markdown/LaTeX."""
    groups = list(dict.fromkeys(zip(frame["group_id"], frame["group_label"], strict=True)))
    rows = list(dict.fromkeys(zip(frame["row_id"], frame["row_label"], strict=True)))
    cells = {(r, g): rec for r, g, rec in zip(frame["row_id"], frame["group_id"],
                                               frame.to_dict("records"), strict=True)}
    body = []
    for rid, rlabel in rows:
        line = [str(rlabel)]
        for gid, _ in groups:
            rec = cells.get((rid, gid))
            if rec is None:
                line.append("")
                continue
            dec = int(rec["decimals"])
            pub = _fmt(rec["published"], dec)
            if rec.get("bound") == "upper":
                pub = "<" + pub
            elif rec.get("bound") == "lower":
                pub = ">" + pub
            comp = _fmt(rec["computed"], dec + extra)
            mark = " ✗" if rec["passed"] is False or (not _missing(rec["passed"])
                                                     and not bool(rec["passed"])) else ""
            line.append(f"{comp or '–'} [{pub}]{mark}")
        body.append(line)
    header = [""] + [str(label) for _, label in groups]
    return header, body, ["l"] + ["r"] * len(groups)


def _group_n_line(frame: pd.DataFrame) -> str:
    parts = []
    seen: set[str] = set()
    for gid, glabel, n in zip(frame["group_id"], frame["group_label"], frame["group_n"],
                              strict=True):
        if gid in seen:
            continue
        seen.add(gid)
        parts.append(f"{glabel}: n = {'' if _missing(n) else int(n)}")
    return "; ".join(parts)


def table_summary(frame: pd.DataFrame) -> str:
    """'N of M cells within rounding' for one table."""
    passed = frame["passed"]
    ok = passed.notna()
    text = f"{int(passed[ok].astype(bool).sum())} of {int(ok.sum())} cells within rounding"
    if (~ok).any():
        text += f" ({int((~ok).sum())} published cell(s) not replicable)"
    return text


def _plain_csv(frame: pd.DataFrame, source: str) -> str:
    """A plain CSV (header line, fixed decimals, no comments) with a ``data_source`` column."""
    out = no_negative_zero(frame, CSV_DECIMALS)
    out["data_source"] = source
    out, _ = neutralise(out)  # labels come from the user's data: no formulas for spreadsheets
    return out.to_csv(index=False, float_format=f"%.{CSV_DECIMALS}f", lineterminator="\n")


def table_csv(frame: pd.DataFrame, banner: str | None,
              provenance: dict[str, Any] | None = None) -> str:
    """The long comparison frame as a plain CSV (fixed decimals, ``data_source`` column)."""
    cols = [c for c in _CSV_COLUMNS if c in frame.columns]
    out = frame[cols].copy()
    out["passed"] = [None if _missing(p) else bool(p) for p in out["passed"]]
    return _plain_csv(out, data_source(provenance, banner))


def table_markdown(frame: pd.DataFrame, meta: dict[str, Any], banner: str | None) -> str:
    """Markdown: the table as published (computed [published]) and the cell-by-cell list."""
    table_id = frame["table_id"].iloc[0] if len(frame) else ""
    lines = [f"# {table_id}: {meta.get('title', '')}", ""]
    if banner:
        lines += [f"> **{banner}**", ""]
    lines += [f"Source: {_md_escape(citation(meta))}. Unit: {meta.get('unit', '')}.", "",
              f"**{table_summary(frame)}**", ""]
    header, body, align = _wide(frame)
    lines += ["Computed value, published value in brackets (✗ = outside rounding).", ""]
    lines += _md_table([_md_escape(h) for h in header],
                       [[_md_escape(c) for c in r] for r in body], align)
    lines += ["", _md_escape(_group_n_line(frame)), "", "## Cell by cell", ""]
    rows = []
    for rec in frame.to_dict("records"):
        dec = int(rec["decimals"])
        lo, hi = (_fmt(rec[k], dec + EXTRA_DECIMALS) for k in ("ci_low", "ci_high"))
        ci = f"{lo}–{hi}" if lo else ""
        res = _result(rec["passed"])
        if res == "n/a" and not _missing(rec.get("reason")):
            res = f"n/a: {rec['reason']}"
        rows.append([_md_escape(rec["row_label"]), _md_escape(rec["group_label"]),
                     _fmt(rec["published"], dec), _fmt(rec["computed"], dec + EXTRA_DECIMALS),
                     _fmt(rec["difference"], dec + EXTRA_DECIMALS),
                     ("≤ bound" if rec.get("bound") == "upper" else
                      "≥ bound" if rec.get("bound") == "lower" else
                      _fmt(rec["tolerance"], dec + 1)),
                     _md_escape(res), _fmt(rec["std_error"], dec + EXTRA_DECIMALS), ci,
                     "" if _missing(rec["n_unweighted"]) else str(int(rec["n_unweighted"]))])
    lines += _md_table(["Row", "Group", "Published", "Computed", "Difference", "Tolerance",
                        "Result", "SE", "95% CI", "n"], rows,
                       ["l", "l", "r", "r", "r", "r", "l", "r", "r", "r"])
    if meta.get("note"):
        lines += ["", f"Note: {_md_escape(meta['note'])}"]
    return "\n".join(lines) + "\n"


def table_latex(frame: pd.DataFrame, meta: dict[str, Any], banner: str | None) -> str:
    """LaTeX table (as published: computed value, published in brackets); banner in caption."""
    table_id = frame["table_id"].iloc[0] if len(frame) else ""
    header, body, align = _wide(frame)
    caption = f"{meta.get('title', '')}. Computed values, published values in brackets."
    if banner:
        caption = f"{banner}. {caption}"
    lines = [r"\begin{table}[htbp]", r"\centering",
             rf"\caption{{{tex_escape(caption)}}}", rf"\label{{tab:{table_id}}}",
             r"\begin{tabular}{" + "".join(align) + "}", r"\hline",
             " & ".join(tex_escape(h) for h in header) + r" \\", r"\hline"]
    for r in body:
        lines.append(" & ".join(tex_escape(c).replace("✗", r"$^{\dagger}$") for c in r)
                     + r" \\")
    lines += [r"\hline",
              rf"\multicolumn{{{len(header)}}}{{l}}{{\footnotesize "
              rf"{tex_escape(table_summary(frame))}; $^{{\dagger}}$ outside rounding. "
              rf"Source: {tex_escape(citation(meta))}.}} \\",
              r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def write_table(frame: pd.DataFrame, meta: dict[str, Any], out_dir: str | Path,
                banner: str | None = None,
                provenance: dict[str, Any] | None = None) -> list[Path]:
    """Write ``<out_dir>/<table_id>.{csv,md,tex}`` and the CSV's sidecar ``.json``; returns
    the paths (CSV, Markdown, LaTeX, JSON)."""
    out = Path(out_dir)
    table_id = frame["table_id"].iloc[0]
    csv = _write(out / f"{table_id}.csv", table_csv(frame, banner, provenance))
    return [csv, _write(out / f"{table_id}.md", table_markdown(frame, meta, banner)),
            _write(out / f"{table_id}.tex", table_latex(frame, meta, banner)),
            _sidecar(csv, title=str(meta.get("title") or table_id), banner=banner,
                     source=citation(meta) or None, provenance=provenance,
                     columns=[*(c for c in _CSV_COLUMNS if c in frame.columns), "data_source"])]


# -- models ---------------------------------------------------------------------------------------
def model_tidy(model: Any) -> pd.DataFrame:
    """Coefficients as the papers print them (odds ratios / IRRs), with readable term labels
    (the ``label`` column of ``tidy()``)."""
    tidy = model.tidy(exponentiate=model.default_exponentiate())
    tidy["stars"] = ["***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""
                     for p in tidy["p_value"].fillna(1.0)]
    tidy["nobs"] = int(model.nobs)
    return tidy


def _relabel(text: str, labels: dict[str, str], latex: bool) -> str:
    for term in sorted(labels, key=len, reverse=True):
        if latex:
            text = text.replace(f"\n{tex_escape(term)} &", f"\n{tex_escape(labels[term])} &")
        else:
            text = text.replace(f"| {term} |", f"| {_md_escape(labels[term])} |")
    return text


def write_model(name: str, model: Any, meta: dict[str, Any], out_dir: str | Path,
                banner: str | None = None,
                provenance: dict[str, Any] | None = None) -> list[Path]:
    """Write ``<out_dir>/<name>.{csv,md,tex}`` and the CSV's sidecar ``.json`` (only ``.md``
    with the error for a failed fit)."""
    out = Path(out_dir)
    head = [f"# {meta['title']}", ""]
    if banner:
        head += [f"> **{banner}**", ""]
    head += [f"Formula: `{meta.get('formula', '')}`" +
             (f"; domain: `{meta['domain']}`" if meta.get("domain") else ""), "",
             f"{meta.get('note', '')}", ""]
    if model is None:
        return [_write(out / f"{name}.md", "\n".join(
            [*head, f"**Not fitted:** {_md_escape(meta.get('error', 'no model'))}"]) + "\n")]
    tidy = model_tidy(model)
    labels = dict(zip(tidy["term"], tidy["label"], strict=True))
    csv = _plain_csv(tidy, data_source(provenance, banner))
    md = "\n".join([*head, _relabel(model.to_markdown(), labels, latex=False)])
    caption = f"{meta['title']}. {meta.get('note', '')}"
    if banner:
        caption = f"{banner}. {caption}"
    tex = "\n".join([r"\begin{table}[htbp]", r"\centering",
                     rf"\caption{{{tex_escape(caption)}}}", rf"\label{{tab:{name}}}",
                     _relabel("\n" + model.to_latex(), labels, latex=True).strip("\n"),
                     r"\end{table}"])
    csv_path = _write(out / f"{name}.csv", csv)
    return [csv_path, _write(out / f"{name}.md", md), _write(out / f"{name}.tex", tex),
            _sidecar(csv_path, title=str(meta["title"]), banner=banner, source=None,
                     provenance=provenance, columns=[*tidy.columns, "data_source"])]


# -- the whole run --------------------------------------------------------------------------------
def replication_json(result: ReplicationResult) -> dict[str, Any]:
    """Everything of the run as plain JSON-able data (stable order, fixed rounding)."""
    tables = {}
    for table_id, frame in result.tables.items():
        cols = [c for c in _CSV_COLUMNS if c in frame.columns]
        tables[table_id] = {
            "meta": {k: _json_value(v) for k, v in result.table_meta.get(table_id, {}).items()},
            "summary": table_summary(frame),
            "cells": [{c: _json_value(rec[c]) for c in cols} for rec in frame.to_dict("records")],
        }
    models = {}
    for name, meta in result.model_meta.items():
        entry: dict[str, Any] = {"meta": {k: _json_value(v) for k, v in meta.items()}}
        model = result.models.get(name)
        if model is not None:
            tidy = model_tidy(model)
            entry["nobs"] = int(model.nobs)
            entry["coefficients"] = [{k: _json_value(v) for k, v in rec.items()}
                                     for rec in tidy.to_dict("records")]
        models[name] = entry
    weighting = {k: [{c: _json_value(v) for c, v in rec.items()} for rec in f.to_dict("records")]
                 for k, f in result.weighting.items()}
    return {
        "banner": result.banner,
        "is_replica": bool(result.is_replica),
        "summary": result.summary,
        "n_cells": len(result.cells),
        "n_replicable": result.n_replicable,
        "n_passed": result.n_passed,
        "n_failed": result.n_failed,
        "provenance": {k: _json_value(v) for k, v in result.provenance.items()},
        "tables": tables,
        "models": models,
        "weighting": weighting,
        "harmonisation": (result.harmonisation.to_dict()
                          if getattr(result, "harmonisation", None) is not None else None),
    }


def replication_markdown(result: ReplicationResult) -> str:
    """``replication.md``: summary, provenance, every published cell compared, models, weights."""
    lines = ["# Replication of the published tables", ""]
    if result.banner:
        lines += [f"> **{result.banner}.** Results reproduce the published cells by "
                  "construction; they are not findings about China.", ""]
    lines += [f"**{result.summary}.**", "", "## Provenance", ""]
    lines += _md_table(["Field", "Value"],
                       [[k, _md_escape(v)] for k, v in result.provenance.items()], ["l", "l"])
    lines += ["", "## Tables", ""]
    for table_id, frame in result.tables.items():
        meta = result.table_meta.get(table_id, {})
        lines += [f"### {table_id}: {_md_escape(meta.get('title', ''))}", "",
                  f"Source: {_md_escape(citation(meta))}. {table_summary(frame)}. "
                  f"Files: `tables/{table_id}.csv` (provenance in `.json`), `.md`, `.tex`.", ""]
        rows = []
        for rec in frame.to_dict("records"):
            dec = int(rec["decimals"])
            res = _result(rec["passed"])
            if res == "n/a" and not _missing(rec.get("reason")):
                res = f"n/a: {rec['reason']}"
            rows.append([_md_escape(rec["row_label"]), _md_escape(rec["group_label"]),
                         _fmt(rec["published"], dec),
                         _fmt(rec["computed"], dec + EXTRA_DECIMALS),
                         _fmt(rec["difference"], dec + EXTRA_DECIMALS),
                         ("≤ bound" if rec.get("bound") == "upper" else
                          "≥ bound" if rec.get("bound") == "lower" else
                          _fmt(rec["tolerance"], dec + 1)),
                         _md_escape(res)])
        lines += _md_table(["Row", "Group", "Published", "Computed", "Difference",
                            "Tolerance", "Result"], rows, ["l", "l", "r", "r", "r", "r", "l"])
        lines.append("")
    lines += ["## Illustrative models", "",
              "The papers' coefficient tables are not in the registry: these models illustrate "
              "the analyses on the same design and are not compared with published numbers.", ""]
    for name, meta in result.model_meta.items():
        model = result.models.get(name)
        status = (f"N = {int(model.nobs)}; files `models/{name}.csv`, `.md`, `.tex`"
                  if model is not None else f"not fitted: {_md_escape(meta.get('error', ''))}")
        lines.append(f"- **{name}**: {_md_escape(meta['title'])} ({status}).")
    report = getattr(result, "harmonisation", None)
    if report is not None:  # how the input became canonical: every row and variable
        lines += ["", "## Harmonisation", "", report.to_markdown().rstrip("\n")]
    summary = result.weighting.get("summary")
    if summary is not None and len(summary):
        lines += ["", "## Weights", ""]
        lines += _md_table([str(c) for c in summary.columns],
                           [[_md_escape(v) if isinstance(v, str) else _fmt(v, 4)
                             for v in rec.values()] for rec in summary.to_dict("records")],
                           ["l"] + ["r"] * (len(summary.columns) - 1))
    return "\n".join(lines) + "\n"


def write_outputs(result: ReplicationResult, out: str | Path) -> list[Path]:
    """Write every table, every model, ``replication.md`` and ``replication.json`` under
    ``out``; returns the written paths (sorted)."""
    root = Path(out)
    banner = result.banner
    paths: list[Path] = []
    for table_id, frame in result.tables.items():
        paths += write_table(frame, result.table_meta.get(table_id, {}), root / "tables", banner,
                             result.provenance)
    for name, meta in result.model_meta.items():
        paths += write_model(name, result.models.get(name), meta, root / "models", banner,
                             result.provenance)
    paths.append(_write(root / "replication.md", replication_markdown(result)))
    text = json.dumps(replication_json(result), indent=2, ensure_ascii=False)
    paths.append(_write(root / "replication.json", text))
    return sorted(paths)
