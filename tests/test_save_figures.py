"""save_figures: figures saved by worker processes (as `surveykit replicate` does), layout once —
the same bytes as one save_figure per figure, whatever the number of processes."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from surveykit.report import save_figures
from surveykit.report.figures import save_figure


def _figures() -> list:
    figs = []
    for k in range(3):
        fig, ax = plt.subplots(1, 2, figsize=(6, 3), layout="constrained")
        ax[0].plot(range(10), [i * (k + 1) for i in range(10)])
        ax[1].barh(["a long category label", "b"], [3, k + 1])
        fig.suptitle(f"Figure {k}: a title long enough to matter for the layout")
        figs.append(fig)
    return figs


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_save_figures_matches_save_figure(tmp_path: Path, monkeypatch, jobs: str) -> None:
    monkeypatch.setenv("SURVEYKIT_JOBS", jobs)
    one = [save_figure(f, tmp_path / "one" / f"f{i}") for i, f in enumerate(_figures())]
    figs = _figures()
    many = save_figures(figs, [tmp_path / "many" / f"f{i}" for i in range(len(figs))])
    for a, b in zip(one, many, strict=True):
        assert set(a) == set(b) == {"png", "svg", "pdf"}
        assert a["png"].read_bytes() == b["png"].read_bytes()  # layout at the PNG's 300 dpi
        for fmt in ("svg", "pdf"):
            assert b[fmt].stat().st_size > 1000
    # deterministic across process counts
    monkeypatch.setenv("SURVEYKIT_JOBS", "1" if jobs == "2" else "2")
    figs = _figures()
    again = save_figures(figs, [tmp_path / "again" / f"f{i}" for i in range(len(figs))])
    for a, b in zip(many, again, strict=True):
        for fmt in ("png", "svg", "pdf"):
            assert a[fmt].read_bytes() == b[fmt].read_bytes(), fmt
    plt.close("all")


def _embedded_fonts(pdf: bytes) -> list:
    """The TrueType fonts embedded in a PDF (every FlateDecode stream that parses as one)."""
    import io
    import re
    import zlib

    from fontTools.ttLib import TTFont

    fonts = []
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            fonts.append(TTFont(io.BytesIO(zlib.decompress(m.group(1)))))
        except Exception:
            continue
    return fonts


def test_pdf_embeds_truetype_subsets_without_layout_tables(tmp_path: Path) -> None:
    fig = _figures()[0]
    engine = fig.get_layout_engine()
    files = save_figure(fig, tmp_path / "f", formats=("pdf",))
    assert fig.get_layout_engine() is engine  # the caller's figure keeps its layout engine
    fonts = _embedded_fonts(files["pdf"].read_bytes())
    assert fonts, "no TrueType font embedded"
    for font in fonts:
        assert {"glyf", "loca", "cmap", "hmtx"} <= set(font.keys())
        assert not {"GSUB", "GPOS", "GDEF"} & set(font.keys())
        assert 0 < len(font.getGlyphOrder()) < 200  # a subset, not the whole font
    plt.close("all")
