"""The replication report: sections, embedded images, banner, highlights, determinism.

The result is hand-made to the ReplicationResult contract (published values of Figures 5.4 and
5.10 of the seed text; computed = published + a known offset; one cell deliberately out of
tolerance), with a stand-in model exposing ``tidy``/``nobs``/``link`` like surveykit's models.
"""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from surveykit.errors import ValidationError
from surveykit.replication.result import COMPARISON_COLUMNS, SYNTHETIC_BANNER, ReplicationResult
from surveykit.report import ReportRun, write_report
from surveykit.report.markdown import SECTIONS, cell_decimals, fmt_number

APPROVAL_GROUPS = [("total", "Total", 2209), ("sesame", "Users of Sesame Credit", 1309),
                   ("government_only", "Citizens part of governmental pilot without using "
                    "commercial pilots", 31)]
APPROVAL = [[0.60, 0.09, 0.00], [0.75, 0.38, 0.00], [18.65, 10.61, 34.36],
            [31.11, 31.86, 17.37], [48.89, 57.06, 48.27]]
SOCIO = [("total", "All SCS participants: Total (average)", 3.5, 0.5),
         ("region_west", "Region: West", 3.5, 0.4), ("male", "Gender: Male", 3.8, 0.5)]
SHA = hashlib.sha256(b"replica").hexdigest()
FAIL_VALUE = 49.1234  # computed for approval_5 / total: 0.2334 away from the published 48.89


def frame(table_id: str, cells: list[tuple], decimals: int) -> pd.DataFrame:
    """cells: (row_id, row_label, group_id, group_label, group_n, stat, published, computed)."""
    tol = 0.5 * 10.0**-decimals
    rows = []
    for rid, rlab, gid, glab, n, stat, pub, comp in cells:
        se = 1.0 if stat == "percent" else 0.1
        diff = None if comp is None else comp - pub
        rows.append({"table_id": table_id, "row_id": rid, "row_label": rlab, "group_id": gid,
                     "group_label": glab, "stat": stat, "published": pub,
                     "computed": np.nan if comp is None else comp,
                     "difference": np.nan if diff is None else diff, "tolerance": tol,
                     "passed": pd.NA if diff is None else abs(diff) <= tol,
                     "std_error": se,
                     "ci_low": np.nan if comp is None else comp - 1.96 * se,
                     "ci_high": np.nan if comp is None else comp + 1.96 * se,
                     "n_unweighted": 100, "group_n": n})
    out = pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
    out["passed"] = out["passed"].astype("boolean")
    return out


class StandInModel:
    """Shaped like surveykit.models.ModelResult: tidy(exponentiate), nobs, link, family."""

    link = "logit"
    family = "binomial"
    nobs = 1581

    def tidy(self, exponentiate: bool = False) -> pd.DataFrame:
        b = np.array([-1.0, 0.25, -0.4])
        se = np.array([0.2, 0.1, 0.15])
        out = pd.DataFrame({"term": ["(Intercept)", "urban", "gender[T.2]"], "estimate": b,
                            "std_error": se, "statistic": b / se,
                            "p_value": [1e-6, 0.0124, 0.0077],
                            "ci_low": b - 1.96 * se, "ci_high": b + 1.96 * se})
        if exponentiate:
            e = np.exp(b)
            out = out.assign(estimate=e, std_error=e * se, ci_low=np.exp(b - 1.96 * se),
                             ci_high=np.exp(b + 1.96 * se))
        return out


def make_result(is_replica: bool = True, full: bool = True) -> ReplicationResult:
    cells = []
    for i in range(5):
        for j, (g, label, n) in enumerate(APPROVAL_GROUPS):
            pub = APPROVAL[i][j]
            comp = FAIL_VALUE if (i, j) == (4, 0) else pub + 0.001
            cells.append((f"approval_{i + 1}", f"{i + 1} = code {i + 1}", g, label, n,
                          "percent", pub, comp))
    tables = {"fig_5_4": frame("fig_5_4", cells, 2)}
    meta = {"fig_5_4": {"title": "Comparison of approval rates between different groups",
                        "source": {"page": "Kostka (2019), p. 13"}, "unit": "percent",
                        "decimals": 2, "note": "Column percentages."}}
    models, model_meta, weights, weighting = {}, {}, np.zeros(0), {}
    if full:
        socio = []
        for g, label, idx, _ in SOCIO:
            socio.append(("bc_index", "Mean of behavioral change index (0 to 12)", g, label,
                          None, "mean", idx, idx + 0.01))
        for g, label, _, direction in SOCIO:
            comp = None if g == "male" else direction - 0.02  # one cell not replicable
            socio.append(("bc_direction", "Mean of directional index (-6 to 6)", g, label,
                          None, "mean", direction, comp))
        tables["fig_5_10"] = frame("fig_5_10", socio, 1)
        tables["prose"] = frame("prose", [("commercial_any", "use a commercial SCS", "total",
                                           "Total", 2209, "percent", 80.0, 80.2)], 0)
        meta["fig_5_10"] = {"title": "Behavioural change and sociodemographics",
                            "source": "Kostka and Antoine (2020), p. 15", "decimals": 1}
        meta["prose"] = {"title": "Numbers stated in the text", "source": "Kostka (2019)",
                         "decimals": 0}
        models = {"any_change_logit": StandInModel()}
        model_meta = {"any_change_logit": {"title": "Logit of any behavioural change",
                                           "outcome": "any_change", "family": "binomial",
                                           "note": "Illustrative model."}}
        weights = np.repeat([0.5, 1.0, 2.0], [40, 40, 20])
        weighting = {
            "summary": pd.Series({"n": 100.0, "sum": 100.0, "deff_kish": 1.36}),
            "margins": pd.DataFrame({"variable": ["gender", "gender"],
                                     "category": ["female", "male"],
                                     "unweighted_share": [0.45, 0.55],
                                     "weighted_share": [0.49, 0.51],
                                     "target_share": [0.49, 0.51]}),
        }
    provenance = {"package_version": "0.1.0", "input_file": "/data/surveykit_replica.sav",
                  "input_sha256": SHA, "mapping": "replica.yaml", "codebook_version": "2018.1",
                  "seed": 20180401, "date": "2026-01-01", "is_replica": is_replica}
    return ReplicationResult(tables=tables, table_meta=meta, models=models,
                             model_meta=model_meta, weighting=weighting, weights=weights,
                             provenance=provenance, is_replica=is_replica)


class Collector(HTMLParser):
    """Ids, links, images, tag names and rows (with classes) of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.images: list[dict[str, str]] = []
        self.tags: list[str] = []
        self.fail_rows: list[list[tuple[str, str]]] = []
        self._row: list[tuple[str, str]] | None = None
        self._cell: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        if "id" in a:
            self.ids.append(a["id"])
        if "href" in a:
            self.hrefs.append(a["href"])
        if tag == "img":
            self.images.append(a)
        if tag == "tr" and "fail" in a.get("class", "").split():
            self._row = []
        if tag == "td" and self._row is not None:
            self._cell, self._text = a.get("class", ""), []

    def handle_data(self, data):
        if self._cell is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row.append((self._cell, "".join(self._text)))
            self._cell = None
        if tag == "tr" and self._row is not None:
            self.fail_rows.append(self._row)
            self._row = None


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The full report written twice into two directories."""
    result = make_result()
    first = write_report(result, tmp_path_factory.mktemp("run1"))
    second = write_report(result, tmp_path_factory.mktemp("run2"))
    return result, first, second


def parse(path) -> Collector:
    parser = Collector()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_outputs_are_byte_identical_across_runs(written):
    _, first, second = written
    assert set(first) == set(second)
    assert {"html", "markdown"} <= set(first)
    for key, path in first.items():
        assert path.exists(), key
        assert path.read_bytes() == second[key].read_bytes(), key


def test_returned_paths_and_figure_files(written):
    _, paths, _ = written
    out = paths["html"].parent
    assert paths["html"] == out / "report.html" and paths["markdown"] == out / "report.md"
    stems = {"fig_5_4", "fig_5_10", "model_any_change_logit", "weights"}
    expected = {f"figures/{s}.{ext}" for s in stems for ext in ("png", "pdf")}  # the default
    assert set(paths) - {"html", "markdown"} == expected
    for key in expected:
        assert paths[key] == out / key
    assert not list((out / "figures").glob("*.svg"))


def test_figure_formats_on_request_png_always(tmp_path):
    paths = write_report(make_result(), tmp_path, figure_formats=["svg"])
    exts = {key.rsplit(".", 1)[1] for key in paths if key.startswith("figures/")}
    assert exts == {"png", "svg"}  # the report shows the PNGs, so they are always written
    assert paths["figures/weights.svg"].read_text("utf-8").lstrip().startswith("<?xml")
    with pytest.raises(ValidationError, match="unsupported figure format"):
        write_report(make_result(), tmp_path / "bad", figure_formats=["png", "tiff"])


def test_html_has_every_section_toc_and_no_external_resources(written):
    _, paths, _ = written
    doc = parse(paths["html"])
    for anchor, _ in SECTIONS:
        assert anchor in doc.ids
        assert f"#{anchor}" in doc.hrefs
    assert {"table-fig_5_4", "table-fig_5_10", "table-prose", "model-any_change_logit"} <= set(
        doc.ids)
    assert "script" not in doc.tags and "link" not in doc.tags
    assert all(h.startswith("#") for h in doc.hrefs)
    text = paths["html"].read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text
    assert "<style>" in text and "tr.fail" in text  # CSS inline
    for value in (SHA, "2018.1", "20180401", "2026-01-01", "0.1.0", "surveykit_replica.sav"):
        assert value in text


def test_html_embeds_every_figure_as_png(written):
    _, paths, _ = written
    doc = parse(paths["html"])
    out = paths["html"].parent
    embedded = {}
    for img in doc.images:
        prefix = "data:image/png;base64,"
        assert img["src"].startswith(prefix)
        embedded[img["data-figure"]] = base64.b64decode(img["src"][len(prefix):])
        assert img["alt"]
    assert set(embedded) == {"fig_5_4", "fig_5_10", "model_any_change_logit", "weights"}
    for stem, data in embedded.items():
        assert data == (out / "figures" / f"{stem}.png").read_bytes()


def test_out_of_tolerance_cell_is_highlighted(written):
    result, paths, _ = written
    assert result.n_failed == 1
    doc = parse(paths["html"])
    (row,) = doc.fail_rows
    cells = dict((cls, text) for cls, text in row)
    # published 48.89 (2 decimals); computed shown with one more decimal
    assert row[0][1] == "5 = code 5" and row[1][1] == "Total"
    assert cells["num out-of-tolerance"] == "49.123"
    assert "out of tolerance" in cells["status-fail"]
    md = paths["markdown"].read_text(encoding="utf-8")
    marked = [ln for ln in md.splitlines() if ln.startswith("|") and "✗ **OUT**" in ln]
    assert len(marked) == 1
    assert "| 48.89 | **49.123** | 0.233 | ±0.005 |" in marked[0]
    # the not-replicable cell is shown as such, not as a failure
    assert md.count("| – |") >= 1
    assert "Table `fig_5_10`: 5 of 5 cells within rounding, 1 not replicable" in md


def test_markdown_sections_images_and_banner(written):
    result, paths, _ = written
    md = paths["markdown"].read_text(encoding="utf-8")
    lines = md.splitlines()
    assert lines[0] == "# surveykit replication report"
    assert SYNTHETIC_BANNER in lines[2]  # at the top, right after the title
    for anchor, heading in SECTIONS:
        assert f'<a id="{anchor}"></a>' in md
        assert f"## {heading}" in md
        assert f"- [{heading}](#{anchor})" in md
    out = paths["markdown"].parent
    images = [ln for ln in lines if ln.startswith("![")]
    assert len(images) == 4
    for ln in images:
        rel = ln[ln.index("](") + 2: -1]
        assert rel.startswith("figures/") and (out / rel).exists()
    assert result.summary in md
    # model table: odds ratios exp(0.25) = 1.284, p 0.0124 -> 0.012
    assert "| Urban residence (urban vs rural) | 1.284 | 0.128 | 1.055 – 1.562 | 0.012 |" in md
    assert "odds ratios with 95 % CI" in md
    assert f"| Input SHA-256 | {SHA} |" in md


def test_banner_only_for_the_replica(tmp_path, capsys):
    real = write_report(make_result(is_replica=False, full=False), tmp_path / "real")
    replica = write_report(make_result(is_replica=True, full=False), tmp_path / "replica")
    assert SYNTHETIC_BANNER not in real["html"].read_text(encoding="utf-8")
    assert SYNTHETIC_BANNER not in real["markdown"].read_text(encoding="utf-8")
    assert "synthetic-banner" not in parse(real["html"]).ids
    assert SYNTHETIC_BANNER in replica["html"].read_text(encoding="utf-8")
    assert "synthetic-banner" in parse(replica["html"]).ids
    # the figure files carry the banner too (SVG text is drawn as paths: compare bytes)
    assert real["figures/fig_5_4.png"].read_bytes() != replica["figures/fig_5_4.png"].read_bytes()
    # no model / weights: the sections are still present and say so
    md = real["markdown"].read_text(encoding="utf-8")
    assert "_No models were fitted._" in md
    assert "_No calibration margins (the weights were used as supplied)._" in md
    # no progress bar when stderr is not a terminal
    assert capsys.readouterr().err == ""


def test_number_helpers():
    assert cell_decimals(0.005, 9) == 2
    assert cell_decimals(0.05, 9) == 1
    assert cell_decimals(0.5, 9) == 0
    assert cell_decimals(0.0, 3) == 3  # bounds have zero tolerance: table default
    assert fmt_number(-0.0004, 3) == "0.000"
    assert fmt_number(float("nan"), 2) == "–"
    assert fmt_number(48.895, 1) == "48.9"


class InterceptOnlyCounts(StandInModel):
    """A log-link count model with nothing but an intercept."""

    link = "log"
    family = "negbin"

    def tidy(self, exponentiate: bool = False) -> pd.DataFrame:
        return super().tidy(exponentiate).iloc[:1]


def test_model_measures_and_intercept_only_model(tmp_path):
    from surveykit.report.figures_report import model_measure

    assert model_measure(StandInModel()) == (True, "Odds ratio")
    assert model_measure(InterceptOnlyCounts()) == (True, "Incidence-rate ratio")
    gaussian = type("Gaussian", (), {"link": "identity"})()
    assert model_measure(gaussian) == (False, "Coefficient")
    result = make_result(full=False)
    result.models = {"bc_negbin": InterceptOnlyCounts()}
    result.model_meta = {"bc_negbin": {"title": "Index: negative binomial"}}
    paths = write_report(result, tmp_path)
    assert not any(key.startswith("figures/model_") for key in paths)
    md = paths["markdown"].read_text(encoding="utf-8")
    assert "incidence-rate ratios with 95 % CI" in md
    assert "_No forest plot: the model has no coefficients besides intercepts/thresholds._" in md
    # exp(-1) = 0.368 for the intercept
    assert "| (Intercept) | 0.368 |" in md


def test_report_run_started_early_writes_the_same_files(tmp_path, monkeypatch):
    """ReportRun.start() draws the tables' and weighting figures while the caller adds the
    models; finish() then gives the bytes of one write_report on the finished result, with
    worker processes or without."""
    full = make_result()
    reference = write_report(full, tmp_path / "ref")
    for jobs in ("2", "1"):
        monkeypatch.setenv("SURVEYKIT_JOBS", jobs)
        partial = make_result()
        models, meta = dict(partial.models), dict(partial.model_meta)
        partial.models.clear()
        partial.model_meta.clear()
        run = ReportRun(partial, tmp_path / f"early{jobs}")
        run.start()
        partial.models.update(models)  # fitted while the first figures are drawn
        partial.model_meta.update(meta)
        try:
            paths = run.finish()
        finally:
            run.close()
        assert set(paths) == set(reference)
        for key, path in reference.items():
            assert paths[key].read_bytes() == path.read_bytes(), (jobs, key)


def test_contents_list_the_sensitivity_section_only_when_present():
    """`surveykit replicate --sensitivity` adds a "Weighting sensitivity" section: the contents
    of both reports link to it then (after the weighting diagnostics), and not otherwise."""
    from surveykit._sensitivity import sensitivity
    from surveykit.replication import build_design, load_data
    from surveykit.report.html import render_html
    from surveykit.report.markdown import render_markdown

    plain = make_result(full=False)
    for text in (render_markdown(plain, []), render_html(plain, [])):
        assert "#sensitivity" not in text and "Weighting sensitivity" not in text
    frame, provenance = load_data()
    with_sens = make_result(full=False)
    with_sens.sensitivity = sensitivity(build_design(frame, source=provenance["input_file"]),
                                        tables=["fig_5_4"])
    md = render_markdown(with_sens, [])
    toc = md.split("## Contents\n")[1].strip().split("\n\n")[0].splitlines()
    assert toc[4:6] == ["- [Weighting diagnostics](#weighting)",
                        "- [Weighting sensitivity](#sensitivity)"]
    assert '<a id="sensitivity"></a>' in md and "## Weighting sensitivity" in md
    html_text = render_html(with_sens, [])
    doc = Collector()
    doc.feed(html_text)
    assert "#sensitivity" in doc.hrefs and "sensitivity" in doc.ids
    nav = html_text.split('<nav class="toc"')[1].split("</nav>")[0]
    assert nav.index("#weighting") < nav.index("#sensitivity") < nav.index("#harmonisation")
