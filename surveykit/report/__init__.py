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

def _save_pickled(data: bytes, stem: Path, formats: tuple[str, ...]) -> dict[str, Path]:
    """Save a pickled figure in every format (what a worker process does)."""
    import pickle

    from surveykit.report.figures import save_figure

    return save_figure(pickle.loads(data), stem, formats)


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


class _Saver:
    """Saves figures (drawn in this process) in every format: by forked worker processes, one
    figure at a time each, when there are several cores - the figure is sent pickled, which
    gives the same bytes -, else here and at once. :meth:`result` waits for one figure."""

    def __init__(self, n_jobs: int) -> None:
        self.pool: Any = None
        self.pending: dict[Any, Any] = {}
        if _workers(n_jobs) > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            _prewarm()
            self.pool = ProcessPoolExecutor(_workers(n_jobs),
                                            mp_context=multiprocessing.get_context("fork"))

    def submit(self, key: Any, fig: Any, stem: Path, formats: tuple[str, ...]) -> None:
        """Save ``fig`` (None: nothing to save) as ``stem.<format>`` under ``key``."""
        from surveykit.report.figures import save_figure

        if fig is None:
            self.pending[key] = None
            return
        if self.pool is not None:
            import pickle

            try:
                data = pickle.dumps(fig)
            except (pickle.PicklingError, AttributeError, TypeError):  # e.g. a lambda in it
                data = None
            if data is not None:
                self.pending[key] = self.pool.submit(_save_pickled, data, stem, formats)
                return
        self.pending[key] = save_figure(fig, stem, formats)

    def result(self, key: Any) -> dict[str, Path] | None:
        got = self.pending[key]
        return got.result() if hasattr(got, "result") else got

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


def render_figures(draws: Sequence[Callable[[], Any]], stems: Sequence[Path],
                   formats: Sequence[str], order: Sequence[int] | None = None
                   ) -> list[dict[str, Path] | None]:
    """Draw each figure (``draws[i]()``; None = nothing to plot) and save it as
    ``<stems[i]>.<format>``; returns ``{format: path}`` per figure (None when not drawn).

    Saving is most of the time of ``surveykit replicate`` (a 300 dpi PNG and a PDF with
    embedded TrueType subsets per figure) and figures are independent: on a machine with
    several cores they are saved by forked worker processes (:class:`_Saver`), in the order
    ``order`` (job indices, slowest first, so that no long job is left for the end);
    ``SURVEYKIT_JOBS=1`` does everything in this process. Files are byte-identical whatever
    the number of processes; results are in the order of ``draws``.
    """
    from surveykit.report.figures import check_formats

    fmts = check_formats(formats, "figure formats")
    sequence = list(range(len(draws))) if order is None else list(order)
    if sorted(sequence) != list(range(len(draws))):
        raise ValueError("order must list every job index once")
    saver = _Saver(len(draws))
    try:
        for i in sequence:
            saver.submit(i, draws[i](), Path(stems[i]), fmts)
        return [saver.result(i) for i in range(len(draws))]
    finally:
        saver.close()


def save_figures(figs: Sequence[Any], stems: Sequence[Path],
                 formats: Sequence[str] = ("png", "svg", "pdf")) -> list[dict[str, Path]]:
    """Save drawn figures, each as ``<stem>.<format>`` (the bytes of
    :func:`~surveykit.report.figures.save_figure`), in parallel processes where possible."""
    out = render_figures([lambda fig=fig: fig for fig in figs], stems, formats)
    return [files or {} for files in out]


class ReportRun:
    """The report of one replication, written in two steps so that saving figures overlaps
    the rest of the run: :meth:`start` draws the figures whose data are already computed
    (published tables, weighting) and hands them to worker processes; the caller goes on (fits
    the models, writes the tables); :meth:`finish` draws the rest (the models' forest plots),
    waits for all, and writes report.html and report.md. :meth:`close` stops the workers."""

    def __init__(self, result: Any, out_dir: str | Path,
                 figure_formats: Sequence[str] | None = None) -> None:
        from surveykit.report.figures import REPORT_FORMATS, check_formats

        self.result = result
        self.out = Path(out_dir)
        self.formats = check_formats(("png", *(REPORT_FORMATS if figure_formats is None
                                               else figure_formats)), "write_report")
        self.fig_dir = self.out / "figures"
        self.fig_dir.mkdir(parents=True, exist_ok=True)
        self._saver: _Saver | None = None
        self._started: set[str] = set()

    def _submit(self, figures: list[Any]) -> None:
        if self._saver is None:
            self._saver = _Saver(len(figures) + len(getattr(self.result, "models", {}) or {}))
        # the two-panel weight diagnostics is among the slowest: started first
        for fig in sorted(figures, key=lambda f: f.section != "weighting"):
            self._saver.submit(fig.stem, fig.draw(), self.fig_dir / fig.stem, self.formats)
            self._started.add(fig.stem)

    def start(self, sections: Sequence[str] = ("tables", "weighting")) -> None:
        """Draw the figures of ``sections`` (of what the result holds now) and start saving."""
        from surveykit.report.figures_report import plan_figures

        self._submit([f for f in plan_figures(self.result) if f.section in sections])

    def finish(self) -> dict[str, Path]:
        """Draw the figures not started, collect all, write the HTML and Markdown report;
        returns the paths written (as :func:`write_report`)."""
        from tqdm import tqdm

        from surveykit.report.figures_report import number_figures, plan_figures
        from surveykit.report.html import render_html
        from surveykit.report.markdown import render_markdown

        show = bool(getattr(sys.stderr, "isatty", lambda: False)())
        paths: dict[str, Path] = {}
        with tqdm(total=2, desc="report", unit="step", file=sys.stderr, disable=not show,
                  leave=False) as bar:
            bar.set_postfix_str("drawing and saving figures")
            planned = plan_figures(self.result)
            self._submit([f for f in planned if f.stem not in self._started])
            assert self._saver is not None
            figures = []
            for fig in planned:
                got = self._saver.result(fig.stem)
                if got is None:  # nothing to plot (an intercept-only model)
                    continue
                fig.files = got
                figures.append(fig)
                for ext, path in got.items():
                    paths[f"figures/{fig.stem}.{ext}"] = path
            self.close()
            number_figures(figures)
            bar.update(1)
            bar.set_postfix_str("writing HTML and Markdown")
            html_path = self.out / "report.html"
            md_path = self.out / "report.md"
            html_path.write_text(render_html(self.result, figures), encoding="utf-8",
                                 newline="\n")
            md_path.write_text(render_markdown(self.result, figures), encoding="utf-8",
                               newline="\n")
            bar.update(1)
        return {"html": html_path, "markdown": md_path, **paths}

    def close(self) -> None:
        """Stop the worker processes (idempotent)."""
        if self._saver is not None:
            self._saver.close()


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
