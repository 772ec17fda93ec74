"""Publication figures and the HTML/Markdown replication report.

``write_report(result, out_dir)`` is what ``surveykit replicate`` calls at the end of a run: it
draws every figure (:mod:`surveykit.report.figures`), saves each as PNG/SVG/PDF under
``out_dir/figures/`` and writes ``out_dir/report.html`` (self-contained) and
``out_dir/report.md``. The same result gives byte-identical files.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

__all__ = ["write_report"]

#: Figures being saved by :func:`save_figures` (read by the forked PDF writer).
_PENDING: list[tuple[Any, Path]] = []


def _save_pdfs() -> list[Path]:
    from surveykit.report.figures import save_figure

    return [save_figure(fig, stem, formats=("pdf",))["pdf"] for fig, stem in _PENDING]


def save_figures(figs: list[Any], stems: list[Path]) -> list[dict[str, Path]]:
    """Save each figure as ``<stem>.png``, ``.svg`` and ``.pdf`` (same bytes as
    :func:`~surveykit.report.figures.save_figure`, but faster).

    Two things make ``surveykit replicate`` slow here, both avoided: the constrained layout
    was recomputed for every format (now once per figure, at the PNG's 300 dpi), and the
    three formats were written one after the other although the PDFs (TrueType font
    subsetting) take as long as PNG and SVG together: on a machine with two or more cores
    the PDFs are written by one forked process (``concurrent.futures``) while this one
    writes PNG and SVG (``SURVEYKIT_JOBS=1`` writes everything in this process).
    """
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    from surveykit.report.figures import _style, save_figure

    with _style():
        for fig in figs:  # the layout, once, at the resolution of the PNG
            engine = fig.get_layout_engine()
            if engine is not None:
                dpi = fig.dpi
                fig.set_dpi(300)
                fig.draw_without_rendering()
                fig.set_dpi(dpi)
                fig.set_layout_engine("none")
    _PENDING[:] = list(zip(figs, stems, strict=True))
    try:
        pool = None
        jobs = os.environ.get("SURVEYKIT_JOBS", "")
        cores = int(jobs) if jobs.isdigit() else (os.cpu_count() or 1)
        if cores > 1 and "fork" in multiprocessing.get_all_start_methods():
            pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
        with pool or _NoPool() as executor:
            pdfs = executor.submit(_save_pdfs) if pool is not None else None
            out = [save_figure(fig, stem, formats=("png", "svg")) for fig, stem in _PENDING]
            pdf_paths = pdfs.result() if pdfs is not None else _save_pdfs()
    finally:
        _PENDING.clear()
    return [{**files, "pdf": pdf} for files, pdf in zip(out, pdf_paths, strict=True)]


class _NoPool:
    """Stand-in for the executor when the PDFs are written in this process."""

    def __enter__(self) -> _NoPool:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def write_report(result: Any, out_dir: str | Path) -> dict[str, Path]:
    """Write the replication report of ``result`` (a
    :class:`~surveykit.replication.result.ReplicationResult`) into ``out_dir``.

    Returns the paths written: ``"html"`` (report.html), ``"markdown"`` (report.md) and, per
    figure, ``"figures/<stem>.<ext>"`` for ext in png, svg, pdf. Progress is shown on stderr
    when it is a terminal.
    """
    from tqdm import tqdm

    from surveykit.report.figures_report import build_figures
    from surveykit.report.html import render_html
    from surveykit.report.markdown import render_markdown

    out = Path(out_dir)
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    show = bool(getattr(sys.stderr, "isatty", lambda: False)())
    paths: dict[str, Path] = {}
    with tqdm(total=3, desc="report", unit="step", file=sys.stderr, disable=not show,
              leave=False) as bar:
        bar.set_postfix_str("drawing figures")
        figures = build_figures(result)
        bar.update(1)
        bar.set_postfix_str("saving figures")
        for fig, files in zip(figures, save_figures([f.figure for f in figures],
                                                    [fig_dir / f.stem for f in figures]),
                              strict=True):
            fig.files = files
            for ext, path in fig.files.items():
                paths[f"figures/{fig.stem}.{ext}"] = path
        bar.update(1)
        bar.set_postfix_str("writing HTML and Markdown")
        html_path = out / "report.html"
        md_path = out / "report.md"
        html_path.write_text(render_html(result, figures), encoding="utf-8", newline="\n")
        md_path.write_text(render_markdown(result, figures), encoding="utf-8", newline="\n")
        bar.update(1)
    return {"html": html_path, "markdown": md_path, **paths}
