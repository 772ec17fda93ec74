"""Publication figures and the HTML/Markdown replication report.

``write_report(result, out_dir)`` is what ``surveykit replicate`` calls at the end of a run: it
draws every figure (:mod:`surveykit.report.figures`), saves each as PNG and PDF (SVG on
request) under ``out_dir/figures/`` and writes ``out_dir/report.html`` (self-contained) and
``out_dir/report.md``. The same result gives byte-identical files.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["render_figures", "save_figures", "write_report"]

#: The jobs of :func:`render_figures` (module state, read by forked worker processes).
_JOBS: list[tuple[Callable[[], Any], Path, tuple[str, ...]]] = []


def _render(index: int) -> dict[str, Path] | None:
    """Draw job ``index`` and save it in every format (in a worker process or here)."""
    from surveykit.report.figures import save_figure

    draw, stem, formats = _JOBS[index]
    fig = draw()
    return None if fig is None else save_figure(fig, stem, formats)


def _workers(n_jobs: int) -> int:
    """Processes to draw with: ``SURVEYKIT_JOBS`` if set, else the CPUs this process may use;
    1 (this process) where ``fork`` is unavailable."""
    import multiprocessing
    import os

    jobs = os.environ.get("SURVEYKIT_JOBS", "")
    if jobs.isdigit() and int(jobs) > 0:
        cores = int(jobs)
    else:
        cores = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                 else os.cpu_count() or 1)
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(cores, n_jobs))


def render_figures(draws: Sequence[Callable[[], Any]], stems: Sequence[Path],
                   formats: Sequence[str], order: Sequence[int] | None = None
                   ) -> list[dict[str, Path] | None]:
    """Draw each figure (``draws[i]()``; None = nothing to plot) and save it as
    ``<stems[i]>.<format>``; returns ``{format: path}`` per figure (None when not drawn).

    Drawing and saving is most of the time of ``surveykit replicate`` (a 300 dpi PNG and a PDF
    with embedded TrueType subsets per figure), and figures are independent: on a machine with
    several cores they are drawn by forked worker processes, one figure at a time each, in
    order of submission (``order``: job indices, slowest first, so that no long job is left
    for the end; ``SURVEYKIT_JOBS=1`` draws everything in this process). Files are
    byte-identical whatever the number of processes; results are in the order of ``draws``.
    """
    from surveykit.report.figures import check_formats

    fmts = check_formats(formats, "figure formats")
    _JOBS[:] = [(draw, Path(stem), fmts) for draw, stem in zip(draws, stems, strict=True)]
    try:
        workers = _workers(len(_JOBS))
        if workers <= 1:
            return [_render(i) for i in range(len(_JOBS))]
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        sequence = list(range(len(_JOBS))) if order is None else list(order)
        if sorted(sequence) != list(range(len(_JOBS))):
            raise ValueError("order must list every job index once")
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            done = dict(zip(sequence, pool.map(_render, sequence), strict=True))
        return [done[i] for i in range(len(_JOBS))]
    finally:
        _JOBS.clear()


def save_figures(figs: Sequence[Any], stems: Sequence[Path],
                 formats: Sequence[str] = ("png", "svg", "pdf")) -> list[dict[str, Path]]:
    """Save drawn figures, each as ``<stem>.<format>`` (the bytes of
    :func:`~surveykit.report.figures.save_figure`), in parallel processes where possible."""
    out = render_figures([lambda fig=fig: fig for fig in figs], stems, formats)
    return [files or {} for files in out]


def write_report(result: Any, out_dir: str | Path,
                 figure_formats: Sequence[str] | None = None) -> dict[str, Path]:
    """Write the replication report of ``result`` (a
    :class:`~surveykit.replication.result.ReplicationResult`) into ``out_dir``.

    Returns the paths written: ``"html"`` (report.html), ``"markdown"`` (report.md) and, per
    figure, ``"figures/<stem>.<ext>"`` for each of ``figure_formats`` (default
    :data:`~surveykit.report.figures.REPORT_FORMATS`, PNG and PDF; "svg" on request). PNGs are
    always written: the reports show them. Progress is shown on stderr when it is a terminal.
    """
    from tqdm import tqdm

    from surveykit.report.figures import REPORT_FORMATS, check_formats
    from surveykit.report.figures_report import number_figures, plan_figures
    from surveykit.report.html import render_html
    from surveykit.report.markdown import render_markdown

    formats = check_formats(("png", *(REPORT_FORMATS if figure_formats is None
                                      else figure_formats)), "write_report")
    out = Path(out_dir)
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    show = bool(getattr(sys.stderr, "isatty", lambda: False)())
    paths: dict[str, Path] = {}
    with tqdm(total=2, desc="report", unit="step", file=sys.stderr, disable=not show,
              leave=False) as bar:
        bar.set_postfix_str("drawing and saving figures")
        planned = plan_figures(result)
        # the two-panel weight diagnostics is among the slowest: started first
        order = sorted(range(len(planned)), key=lambda i: planned[i].section != "weighting")
        saved = render_figures([f.draw for f in planned], [fig_dir / f.stem for f in planned],
                               formats, order)
        figures = []
        for fig, files in zip(planned, saved, strict=True):
            if files is None:  # nothing to plot (an intercept-only model)
                continue
            fig.files = files
            figures.append(fig)
            for ext, path in files.items():
                paths[f"figures/{fig.stem}.{ext}"] = path
        number_figures(figures)
        bar.update(1)
        bar.set_postfix_str("writing HTML and Markdown")
        html_path = out / "report.html"
        md_path = out / "report.md"
        html_path.write_text(render_html(result, figures), encoding="utf-8", newline="\n")
        md_path.write_text(render_markdown(result, figures), encoding="utf-8", newline="\n")
        bar.update(1)
    return {"html": html_path, "markdown": md_path, **paths}
