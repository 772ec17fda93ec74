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

__all__ = ["ReportRun", "render_figures", "save_figures", "write_report"]

#: The jobs of :func:`render_figures` (module state, read by forked worker processes).
_JOBS: list[tuple[Callable[[], Any], Path, tuple[str, ...]]] = []


def _render(index: int) -> dict[str, Path] | None:
    """Draw job ``index`` and save it in every format (in a worker process or here)."""
    from surveykit.report.figures import save_figure

    draw, stem, formats = _JOBS[index]
    fig = draw()
    return None if fig is None else save_figure(fig, stem, formats)


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: end this worker when its parent ends. A forked worker inherits
    the other workers' queue pipes, so it never sees end-of-file when the parent is killed
    (``kill -9``); without this it would sleep forever."""
    import os
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="surveykit-parent-watch").start()


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


def _prewarm() -> None:
    """Import the PNG/PDF writers and load the fonts here, before the workers are forked, so
    that each worker does not do it again (~0.3 s of CPU per worker)."""
    import fontTools.subset  # noqa: F401  (the PDF font subsetter)
    import matplotlib.backends.backend_agg
    import matplotlib.backends.backend_pdf  # noqa: F401
    from matplotlib import font_manager

    from surveykit.report.figures import RC

    for weight in ("normal", "bold"):
        prop = font_manager.FontProperties(family=RC["font.family"], weight=weight)
        font_manager.get_font(font_manager.findfont(prop))


class _Batch:
    """Figure jobs being drawn and saved: forked workers start on them at construction (when
    there are several cores), :meth:`results` collects ``{format: path}`` per job in job order.

    Worker processes are forked (all at the first submission) and read the jobs from
    :data:`_JOBS`, so each batch's jobs are in place before it forks; later batches may replace
    them. Without workers the jobs run here, in :meth:`results`."""

    def __init__(self, jobs: list[tuple[Callable[[], Any], Path, tuple[str, ...]]],
                 order: Sequence[int] | None = None) -> None:
        self.jobs = jobs
        self.pool: Any = None
        self.futures: dict[int, Any] | None = None
        sequence = list(range(len(jobs))) if order is None else list(order)
        if sorted(sequence) != list(range(len(jobs))):
            raise ValueError("order must list every job index once")
        workers = _workers(len(jobs))
        if workers > 1:
            import multiprocessing
            import os
            from concurrent.futures import ProcessPoolExecutor

            _JOBS[:] = jobs
            _prewarm()
            self.pool = ProcessPoolExecutor(workers,
                                            mp_context=multiprocessing.get_context("fork"),
                                            initializer=_exit_with_parent,
                                            initargs=(os.getpid(),))
            self.futures = {i: self.pool.submit(_render, i) for i in sequence}

    def results(self) -> list[dict[str, Path] | None]:
        try:
            if self.futures is None:
                _JOBS[:] = self.jobs
                return [_render(i) for i in range(len(self.jobs))]
            return [self.futures[i].result() for i in range(len(self.jobs))]
        finally:
            self.close()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
        _JOBS.clear()


def render_figures(draws: Sequence[Callable[[], Any]], stems: Sequence[Path],
                   formats: Sequence[str]) -> list[dict[str, Path] | None]:
    """Draw each figure (``draws[i]()``; None = nothing to plot) and save it as
    ``<stems[i]>.<format>``; returns ``{format: path}`` per figure (None when not drawn).

    Drawing and saving is most of the time of ``surveykit replicate`` (a 300 dpi PNG and a PDF
    with embedded TrueType subsets per figure), and figures are independent: on a machine with
    several cores they are drawn by forked worker processes, one figure at a time each
    (``SURVEYKIT_JOBS=1`` draws everything in this process). Files are byte-identical whatever
    the number of processes; results are in the order of ``draws``.
    """
    from surveykit.report.figures import check_formats

    fmts = check_formats(formats, "figure formats")
    jobs = [(draw, Path(stem), fmts) for draw, stem in zip(draws, stems, strict=True)]
    return _Batch(jobs).results()


def save_figures(figs: Sequence[Any], stems: Sequence[Path],
                 formats: Sequence[str] | None = None) -> list[dict[str, Path]]:
    """Save drawn figures, each as ``<stem>.<format>`` (the bytes of
    :func:`~surveykit.report.figures.save_figure`; default formats as it: PNG, SVG, PDF), in
    parallel processes where possible."""
    from surveykit.report.figures import FORMATS

    out = render_figures([lambda fig=fig: fig for fig in figs], stems,
                         FORMATS if formats is None else formats)
    return [files or {} for files in out]


class ReportRun:
    """The report of one replication, written in two steps so that drawing overlaps the rest
    of the run: :meth:`start` sends the figures whose data are already computed (published
    tables, weighting) to worker processes; the caller goes on (fits the models, writes the
    tables); :meth:`finish` draws the rest (the models' forest plots), waits for all, and writes
    report.html and report.md. :meth:`close` stops the workers (after an error)."""

    def __init__(self, result: Any, out_dir: str | Path,
                 figure_formats: Sequence[str] | None = None) -> None:
        from surveykit.report.figures import REPORT_FORMATS, check_formats

        self.result = result
        self.out = Path(out_dir)
        self.formats = check_formats(("png", *(REPORT_FORMATS if figure_formats is None
                                               else figure_formats)), "write_report")
        self.fig_dir = self.out / "figures"
        self.fig_dir.mkdir(parents=True, exist_ok=True)
        self._started: set[str] = set()
        # (figures, their batch): the early ones (if started), then the rest
        self._batches: list[tuple[list[Any], _Batch]] = []

    def _jobs(self, planned: list[Any]) -> list[tuple[Callable[[], Any], Path, tuple[str, ...]]]:
        return [(f.draw, self.fig_dir / f.stem, self.formats) for f in planned]

    def start(self, sections: Sequence[str] = ("tables", "weighting")) -> None:
        """Start drawing the figures of ``sections`` (of what the result holds now)."""
        from surveykit.report.figures_report import plan_figures

        early = [f for f in plan_figures(self.result) if f.section in sections]
        # the two-panel weight diagnostics is among the slowest: started first
        order = sorted(range(len(early)), key=lambda i: early[i].section != "weighting")
        self._started = {f.stem for f in early}
        self._batches.append((early, _Batch(self._jobs(early), order)))

    def finish(self) -> dict[str, Path]:
        """Draw the figures not started, collect all, write the HTML and Markdown report;
        returns the paths written (as :func:`write_report`)."""
        from tqdm import tqdm

        from surveykit._atomic import write_text
        from surveykit.report.figures_report import number_figures, plan_figures
        from surveykit.report.html import render_html
        from surveykit.report.markdown import render_markdown

        show = bool(getattr(sys.stderr, "isatty", lambda: False)())
        paths: dict[str, Path] = {}
        with tqdm(total=2, desc="report", unit="step", file=sys.stderr, disable=not show,
                  leave=False) as bar:
            bar.set_postfix_str("drawing and saving figures")
            planned = plan_figures(self.result)
            rest = [f for f in planned if f.stem not in self._started]
            self._batches.append((rest, _Batch(self._jobs(rest))))  # forked now: sees models
            files: dict[str, dict[str, Path] | None] = {}
            for group, batch in self._batches:
                files.update(zip([f.stem for f in group], batch.results(), strict=True))
            figures = []
            for fig in planned:
                got = files.get(fig.stem)
                if got is None:  # nothing to plot (an intercept-only model)
                    continue
                fig.files = got
                figures.append(fig)
                for ext, path in got.items():
                    paths[f"figures/{fig.stem}.{ext}"] = path
            number_figures(figures)
            bar.update(1)
            bar.set_postfix_str("writing HTML and Markdown")
            html_path = self.out / "report.html"
            md_path = self.out / "report.md"
            write_text(html_path, render_html(self.result, figures))
            write_text(md_path, render_markdown(self.result, figures))
            bar.update(1)
        return {"html": html_path, "markdown": md_path, **paths}

    def close(self) -> None:
        """Stop any worker still drawing, of either batch (idempotent)."""
        for _, batch in self._batches:
            batch.close()


def write_report(result: Any, out_dir: str | Path,
                 figure_formats: Sequence[str] | None = None) -> dict[str, Path]:
    """Write the replication report of ``result`` (a
    :class:`~surveykit.replication.result.ReplicationResult`) into ``out_dir``.

    Returns the paths written: ``"html"`` (report.html), ``"markdown"`` (report.md) and, per
    figure, ``"figures/<stem>.<ext>"`` for each of ``figure_formats`` (default
    :data:`~surveykit.report.figures.REPORT_FORMATS`, PNG and PDF; "svg" on request). PNGs are
    always written: the reports show them. Progress is shown on stderr when it is a terminal.
    """
    run = ReportRun(result, out_dir, figure_formats)
    try:
        return run.finish()
    finally:
        run.close()
