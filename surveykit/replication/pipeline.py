"""The replication pipeline behind ``surveykit replicate``.

read → harmonise → ``SurveyDesign(frame, weights="weight")`` → every registry table → the
illustrative models → tables, models, ``replication.md`` and ``replication.json`` and the
report (:class:`surveykit.report.ReportRun`: the tables' figures are drawn by worker processes
while the models are fitted and the tables written). Without ``data`` it uses the
bundled synthetic replica. Whether the data are synthetic is read from the data themselves
(:func:`surveykit.provenance.synthetic_evidence`), so a copy of the replica passed with
``--data`` says so in every output just the same. Outputs are byte-identical across runs:
the date comes from ``SOURCE_DATE_EPOCH`` or the input file, never from the clock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from surveykit._resources import data_path
from surveykit.errors import InputFileError, MappingError, ReplicationError, ValidationError
from surveykit.provenance import flag, synthetic_evidence
from surveykit.replication.result import ReplicationResult

#: Codebooks a canonical frame is validated against (``behaviour`` includes ``approval``).
CODEBOOKS: tuple[str, ...] = ("approval", "behaviour")

Progress = bool | Callable[[str], Any] | None

#: What ``replicate`` writes at the top of its output folder (a folder holding only these and
#: no manifest is taken for a run of an earlier surveykit version).
RUN_NAMES: tuple[str, ...] = ("tables", "models", "figures", "sensitivity", "replication.md",
                              "replication.json", "report.html", "report.md", "manifest.json")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _codebook_version() -> str:
    """Short content hashes of the canonical codebooks (they carry no version number)."""

    parts = []
    for name in CODEBOOKS:
        text = data_path("codebooks", f"{name}.yaml").read_bytes()
        parts.append(f"{name}:{hashlib.sha256(text).hexdigest()[:12]}")
    return ", ".join(parts)


def _date(path: Path | None) -> str:
    """ISO date of the run: SOURCE_DATE_EPOCH, else the input file's modification date (UTC)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None:
        try:
            stamp = float(epoch)
        except ValueError as exc:
            raise ReplicationError("SOURCE_DATE_EPOCH must be an integer number of seconds",
                                   values=[epoch]) from exc
    elif path is not None:
        stamp = path.stat().st_mtime
    else:
        return "unknown"
    return dt.datetime.fromtimestamp(stamp, tz=dt.UTC).date().isoformat()


def _replica_files() -> tuple[Path, Path, dict[str, Any]]:
    """Paths of the bundled replica and its mapping, and what the replica says about itself."""
    try:
        from surveykit import replica
    except ImportError as exc:  # pragma: no cover - the replica ships with the package
        raise ReplicationError("the bundled replica is not available",
                               hint="pass --data FILE --mapping YAML") from exc
    info: dict[str, Any] = {}
    sidecar = getattr(replica, "sidecar_path", None)
    if callable(sidecar):  # the JSON written next to the .sav: seed and build parameters
        side = Path(str(sidecar()))
        if side.is_file():
            info["seed"] = json.loads(side.read_text(encoding="utf-8")).get("seed")
    if not (hasattr(replica, "path") and hasattr(replica, "mapping_path")):
        raise ReplicationError("the bundled replica is not available in this installation",
                               hint="pass --data FILE --mapping YAML")
    return Path(str(replica.path())), Path(str(replica.mapping_path())), info


def canonical_from_file(path: str | Path) -> pd.DataFrame:
    """Read a file that is already canonical, validate it and add missing derived variables.

    Raises a :class:`MappingError` when the file is not canonical (then a mapping is needed).
    """
    from surveykit.dictionary import combine, load_codebook
    from surveykit.io import read

    raw = read(path)
    cb = combine(load_codebook(name) for name in CODEBOOKS)
    frame = raw.data
    known = [c for c in frame.columns if c in cb.variables]
    if "resp_id" not in frame.columns or "weight" not in frame.columns:
        raise MappingError(
            "--data without --mapping needs a canonical file (with resp_id, weight and the "
            "canonical variables)", file=str(path),
            values=[c for c in frame.columns if c not in cb.variables],
            hint="pass --mapping YAML to harmonise a raw file "
                 "(format: data_dictionary/mappings/README.md)")
    try:
        cb.validate(frame, source=str(path))
    except ValidationError as exc:
        raise ValidationError(exc.message, file=str(path), column=exc.column,
                              values=exc.values,
                              hint="the file is not canonical; pass --mapping YAML to "
                                   "harmonise it") from exc
    present = [c for c in cb.derived if c in known]
    from surveykit.labels import attach_codebook

    out = attach_codebook(cb.derive(frame, missing=raw.missing_reasons, skip=present), cb)
    return flag(out, synthetic_evidence(frame, file_label=raw.file_label))


def load_data(data: str | Path | pd.DataFrame | None = None,
              mapping: str | Path | Any | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The canonical frame to analyse and its provenance (see :func:`load_harmonised`)."""
    frame, provenance, _ = load_harmonised(data, mapping)
    return frame, provenance


def load_harmonised(data: str | Path | pd.DataFrame | None = None,
                    mapping: str | Path | Any | None = None,
                    ) -> tuple[pd.DataFrame, dict[str, Any], Any]:
    """The canonical frame to analyse and its provenance.

    ``data=None``: the bundled synthetic replica, harmonised with its own mapping.
    A path with a ``mapping``: read and harmonised (``surveykit.harmonise``).
    A path without a mapping: must already be canonical (validated against the codebooks).
    A DataFrame: taken as a canonical frame (with ``mapping``, harmonised instead).
    The third item is the harmonisation report (None when nothing was harmonised).
    """
    from surveykit.io import harmonise

    bundled = data is None
    info: dict[str, Any] = {}
    if bundled:
        if mapping is not None:
            raise ReplicationError("a mapping was given without --data",
                                   hint="pass --data FILE together with --mapping YAML")
        path, mapping, info = _replica_files()
    elif isinstance(data, pd.DataFrame):
        path = None
    else:
        path = Path(data)
    report = None
    if isinstance(data, pd.DataFrame) and mapping is None:
        frame = data
    elif mapping is not None:
        h = harmonise(data if isinstance(data, pd.DataFrame) else path, mapping)
        frame, report = h.frame, h.report
        # outputs name files, not where they sit on this machine (byte-identical elsewhere)
        report.sources = [Path(s).name for s in report.sources]
        report.mappings = [None if m is None else Path(m).name for m in report.mappings]
    else:
        frame = canonical_from_file(path)  # type: ignore[arg-type]
    attrs = dict(frame.attrs)
    frame = frame.reset_index(drop=True)
    frame.attrs = attrs
    # synthetic or not is a property of the data (mapping, file label, data_source column,
    # the replica's weights), never of how the run was called
    evidence = synthetic_evidence(frame)
    flag(frame, evidence)
    from surveykit import __version__

    mapping_name = None
    if mapping is not None:
        mapping_name = (Path(mapping).name if isinstance(mapping, (str, Path))
                        else "(mapping object)")
    provenance = {
        "package_version": __version__,
        "input_file": path.name if path is not None else "(data frame)",
        "input_sha256": _sha256(path) if path is not None else None,
        "mapping": mapping_name,
        "codebook_version": _codebook_version(),
        "seed": info.get("seed"),
        "date": _date(path),
        "is_replica": evidence is not None,
        "synthetic_evidence": evidence,
        "n_respondents": len(frame),
    }
    return frame, provenance, report


def build_design(frame: pd.DataFrame, source: str | None = None) -> Any:
    """The analysis design of the replication: the survey weights, no strata or clusters.

    The published studies report weighted online-panel estimates without strata or PSUs, so
    each respondent is its own PSU (R: ``svydesign(ids = ~1, weights = ~weight)``).
    """
    from surveykit.design import SurveyDesign

    return SurveyDesign(frame, weights="weight", source=source)


def _notify(progress: Progress) -> Callable[[str], None]:
    if progress is None or progress is False:
        return lambda message: None
    if callable(progress):
        return lambda message: progress(message)  # type: ignore[misc, operator]
    import sys

    return lambda message: print(f"surveykit replicate: {message}", file=sys.stderr)


MARGIN_COLUMNS: tuple[str, ...] = ("variable", "variable_label", "category", "label",
                                   "n_unweighted", "n_missing", "unweighted_share",
                                   "sample_share", "weighted_share", "target_share",
                                   "difference")

Targets = Mapping[str, Mapping[Any, float]]


def replica_margins() -> dict[str, dict[int, float]]:
    """The ASSUMED population margins the bundled replica's weights were calibrated to."""
    from surveykit.replica import calibration_margins

    return calibration_margins()


def margin_shares(design: Any, targets: Targets) -> pd.DataFrame:
    """Per margin category: unweighted, weighted and target shares (:data:`MARGIN_COLUMNS`).

    Shares are among the respondents of the design's domain with a value of the variable; those
    without one are counted in ``n_missing`` (targets of calibrated panels are usually defined
    among respondents who answered). ``variable_label`` ("Age group") and ``label`` ("14–30")
    are the data's variable and value labels, else the canonical codebook's, else the name and
    code, as the codebook writes it.
    """
    from surveykit.design import SurveyDesign
    from surveykit.dictionary import combine, load_codebook
    from surveykit.errors import WeightingError
    from surveykit.labels import label_of, value_labels, variable_label
    from surveykit.weighting import margin_table

    cb = combine(load_codebook(name) for name in CODEBOOKS)
    data = design.data
    w = np.asarray(design.base_weights, dtype=float)
    frames = []
    for var, shares in targets.items():  # loop over margin variables, not respondents
        if var not in data.columns:
            raise WeightingError("margin variable not found in the data", file=design.source,
                                 column=var, hint="targets must name canonical variables")
        has = data[var].notna().to_numpy() & np.asarray(design.domain, dtype=bool)
        sub = pd.DataFrame({var: data[var].to_numpy()[has], "_w": w[has],
                            "_one": np.ones(int(has.sum()))})
        before = SurveyDesign(sub, weights="_one", source=design.source)
        after = SurveyDesign(sub, weights="_w", source=design.source)
        tab = margin_table(before, after, {var: shares})
        known = cb.variables.get(var)
        values = {**(known.values if known is not None else {}), **value_labels(design, var)}
        name = getattr(known, "label", None) or var
        tab.insert(1, "variable_label", variable_label(design, var, default=name))
        tab.insert(3, "label", [label_of(values, c) for c in tab["category"]])
        tab.insert(5, "n_missing", int(np.asarray(design.domain, dtype=bool).sum() - has.sum()))
        frames.append(tab)
    if not frames:
        return pd.DataFrame(columns=list(MARGIN_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(MARGIN_COLUMNS)]


def _weighting(design: Any, targets: Targets | None = None) -> dict[str, pd.DataFrame]:
    """Weight summary and, when calibration targets are known, the margin table."""
    from surveykit.weighting import weight_summary

    summary = weight_summary(design)
    frame = (summary.to_frame("value").rename_axis("statistic").reset_index()
             if isinstance(summary, pd.Series) else pd.DataFrame(summary))
    margins = margin_shares(design, targets or {})
    return {"summary": frame, "margins": margins}


def compute(design: Any, *, registry: Any = None, models: bool = True,
            progress: Progress = None, margins: Targets | None = None) -> ReplicationResult:
    """Every registry table (and the illustrative models) from one design; no files written.

    ``margins`` (``{variable: {category: target share or total}}``) are the population targets
    the weights were calibrated to; they fill ``result.weighting["margins"]`` (else it is empty).
    """
    from surveykit.published import load_registry
    from surveykit.replication.tables import compute_table, table_ids, table_meta

    note = _notify(progress)
    reg = registry if registry is not None else load_registry()
    result = ReplicationResult(weights=np.asarray(design.base_weights, dtype=float).copy())
    for table_id in table_ids(reg):
        note(f"table {table_id}")
        result.tables[table_id] = compute_table(table_id, design, reg)
        result.table_meta[table_id] = table_meta(table_id, reg)
    result.weighting = _weighting(design, margins)
    if models:
        fit_models(result, design, progress=progress)
    return result


def fit_models(result: ReplicationResult, design: Any, *, progress: Progress = None) -> None:
    """Fit the illustrative models into ``result.models``/``model_meta`` (a model the data
    cannot support is recorded with its error, not fatal)."""
    from surveykit.errors import ConvergenceError, ModelError
    from surveykit.replication.models import MODEL_SPECS, fit_model, model_meta

    note = _notify(progress)
    for name in MODEL_SPECS:
        note(f"model {name}")
        try:
            result.models[name] = fit_model(name, design)
            meta = model_meta(name, result.models[name])
        except (ModelError, ConvergenceError) as exc:
            # models are illustrations: a model the data cannot support is reported, not fatal
            meta = model_meta(name)
            meta["error"] = str(exc)
        result.model_meta[name] = meta


def run(data: str | Path | pd.DataFrame | None = None, mapping: str | Path | Any | None = None,
        out: str | Path | None = "replication", strict: bool = False,
        progress: Progress = None, *, report: bool = True,
        models: bool = True, margins: Targets | None = None, sensitivity: bool = False,
        sensitivity_margins: Targets | None = None,
        sensitivity_margins_source: str | None = None,
        figure_formats: Sequence[str] | None = None, force: bool = False,
        command: Sequence[str] | None = None,
        inputs: Sequence[str | Path] = ()) -> ReplicationResult:
    """Re-create every published table from ``data`` and compare it with the registry.

    Without ``data`` the bundled synthetic replica is used (and every output says so). Writes
    ``out/tables/<id>.{csv,md,tex}``, ``out/models/<name>.{csv,md,tex}``, ``out/replication.md``
    and ``out/replication.json`` (and, if ``report``, the HTML/Markdown report with its
    figures); ``out=None`` writes nothing. With ``strict`` a
    :class:`~surveykit.errors.ReplicationError` is raised after writing when any replicable
    cell is outside rounding. ``margins`` are the calibration targets of the weights, shown in
    the weighting diagnostics; for the bundled replica they default to its assumed population
    margins (:func:`surveykit.replica.calibration_margins`); a user file has none unless given.
    ``sensitivity`` adds :func:`surveykit._sensitivity.sensitivity` (every table unweighted, with
    the file's weights, trimmed and, given ``sensitivity_margins``, raked to them), written to
    ``out/sensitivity/`` and shown as a report section. ``figure_formats`` are the report's
    figure files (default PNG and PDF; see :func:`surveykit.report.write_report`).

    The run is written into a staging folder beside ``out`` and swapped in whole when complete,
    with ``out/manifest.json`` (inputs and outputs with their sha256, command line, versions;
    :mod:`surveykit._runfolder`): an interrupted run leaves the previous complete run. ``out``
    holding other files than an earlier run is refused before any work unless ``force``
    (then this run's files are written into it and the other files left alone). ``command``
    is the command line recorded in the manifest, ``inputs`` more files read (margins YAMLs).
    """
    note = _notify(progress)
    folder = None
    if out is not None:  # before any work: out/ is new, empty or an earlier run, no input
        from surveykit._runfolder import RunFolder

        read = [p for p in (data, mapping) if isinstance(p, (str, Path))]
        if data is None:
            read += _replica_files()[:2]
        folder = RunFolder(out, command="replicate", argv=command, inputs=[*read, *inputs],
                           known=RUN_NAMES, force=force)
    note("reading and harmonising the data")
    frame, provenance, harmonisation = load_harmonised(data, mapping)
    design = build_design(frame, source=provenance["input_file"])
    if margins is None and data is None:  # the bundled replica's assumed population margins
        margins = replica_margins()
    result = compute(design, models=False, progress=progress, margins=margins)
    result.provenance = provenance
    result.is_replica = bool(provenance["is_replica"])
    result.harmonisation = harmonisation
    stage = None
    report_run = None
    try:
        if folder is not None:
            stage = folder.__enter__()
        if stage is not None and report:  # the tables' figures are drawn while the models fit
            from surveykit.report import ReportRun

            report_run = ReportRun(result, stage, figure_formats)
            report_run.start()
        if models:
            fit_models(result, design, progress=progress)
        if sensitivity:
            from surveykit._sensitivity import sensitivity as weighting_sensitivity

            note("weighting sensitivity")
            result.sensitivity = weighting_sensitivity(design, margins=sensitivity_margins,
                                                       margins_source=sensitivity_margins_source)
        if folder is not None and stage is not None:
            from surveykit.replication.writers import write_outputs

            note(f"writing {out}")
            try:
                write_outputs(result, stage)
                if result.sensitivity is not None:
                    from surveykit._sensitivity import write_sensitivity

                    write_sensitivity(result.sensitivity, stage, provenance, staged=False)
                if report_run is not None:
                    note("writing the report")
                    report_run.finish()
                result.files = folder.commit()
            except OSError as exc:
                raise InputFileError(f"cannot write the replication outputs "
                                     f"({exc.strerror or exc})",
                                     file=str(exc.filename or out)) from exc
    except BaseException:
        if report_run is not None:
            report_run.close()
            report_run = None
        if folder is not None:
            folder.__exit__(*sys.exc_info())
        raise
    finally:
        if report_run is not None:
            report_run.close()
    if strict and not result.ok:
        failed = result.cells
        failed = failed[failed["passed"].eq(False).fillna(False).astype(bool)]
        labels = [f"{t}/{r}/{g}" for t, r, g in
                  zip(failed["table_id"], failed["row_id"], failed["group_id"], strict=True)]
        raise ReplicationError(
            f"{result.n_failed} of {result.n_replicable} replicable cells are outside rounding",
            file=provenance["input_file"], values=labels,
            hint="see replication.md for published and computed values" if out is not None
            else None)
    return result
