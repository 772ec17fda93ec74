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


def write_report(result: Any, out_dir: str | Path) -> dict[str, Path]:
    """Write the replication report of ``result`` (a
    :class:`~surveykit.replication.result.ReplicationResult`) into ``out_dir``.

    Returns the paths written: ``"html"`` (report.html), ``"markdown"`` (report.md) and, per
    figure, ``"figures/<stem>.<ext>"`` for ext in png, svg, pdf. Progress is shown on stderr
    when it is a terminal.
    """
    from tqdm import tqdm

    from surveykit.report.figures import save_figure
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
        for fig in tqdm(figures, desc="saving figures", unit="fig", file=sys.stderr,
                        disable=not show, leave=False):
            fig.files = save_figure(fig.figure, fig_dir / fig.stem)
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
