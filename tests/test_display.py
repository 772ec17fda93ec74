"""Notebook display: short reprs (<= 20 lines) and HTML views that say what matters."""

from __future__ import annotations

import surveykit as sk


def test_short_reprs_and_html_views():
    raw = sk.read(sk.replica.path())
    h = sk.harmonise(raw, sk.replica.mapping_path())
    d = sk.SurveyDesign(h.frame, weights="weight")
    ct = sk.crosstab(d, "approval", "urban")
    fit = sk.glm(d, "urban ~ age", family="binomial")
    objects = [raw, h, h.report, d, d.replicate("jk1", replicates=None), ct, fit]
    for obj in objects:
        text = repr(obj)
        assert len(text.splitlines()) <= 20, type(obj)
        assert len(text) < 2500, type(obj)
        assert "<" in obj._repr_html_(), type(obj)
    assert sk.SYNTHETIC_BANNER in repr(d) and sk.SYNTHETIC_BANNER in d._repr_html_()
    assert sk.SYNTHETIC_BANNER in repr(h) and sk.SYNTHETIC_BANNER in fit._repr_html_()
    # the cross-table shows its test and labelled column percentages (approval within urban)
    assert f"{ct.test['F']:.3f}" in repr(ct) and "strongly approve" in repr(ct)
    assert "Column percentages" in ct._repr_html_() and "Column percentages" in repr(ct)
    # the model's HTML shows labelled terms and N
    assert f"N = {fit.nobs:,}" in fit._repr_html_() and "Age in years" in fit._repr_html_()
    assert "2,209 rows" in repr(raw)


def test_design_descriptions_count_in_the_right_number():
    """"1 stratum", "1 PSU", plurals otherwise (was "1 strata"; a replicate design has at
    least 2 replicates)."""
    import numpy as np
    import pandas as pd

    one = pd.DataFrame({"w": [2.0, 3.0], "psu": [1, 1], "h": [1, 1]})
    d1 = sk.SurveyDesign(one, weights="w")
    assert "(1 stratum, independent sampling)" in d1.describe()
    assert "1 strata" not in repr(d1) and "2 rows x 3 columns" in repr(d1)
    d2 = sk.SurveyDesign(pd.DataFrame({"w": [1.0, 1, 1, 1], "h": [1, 1, 2, 2],
                                       "psu": [1, 2, 3, 4]}), weights="w", strata="h")
    assert d2.describe().startswith("Stratified design (2 strata, independent sampling)")
    # (one PSU without strata is an error, as R's svydesign; with strata and nest it is not)
    d3 = sk.SurveyDesign(pd.DataFrame({"w": [1.0, 1, 1], "psu": [1, 1, 1], "h": [1, 1, 1]}),
                         weights="w", psu="psu", strata="h", nest=True, lonely_psu="certainty")
    assert "(1 stratum, 1 PSU)" in d3.describe() and "of 3 rows" in d3.describe()
    rep2 = sk.ReplicateDesign(pd.DataFrame({"w": [1.0, 1.0], "r1": [1.0, 0.0],
                                            "r2": [0.0, 2.0]}), weights="w",
                              repweights=["r1", "r2"], type="JK1")
    assert "2 replicates," in rep2.describe() and "of 2 rows in" in rep2.describe()
    assert np.isfinite(rep2.scale)
    dom = d2.subset(np.array([True, False, False, False]))
    assert "n = 1 of 4 rows" in dom.describe()


def test_crosstab_display_shows_the_intervals_it_has():
    """A cross-table made with CIs (the default) shows each percentage with its interval, as
    the table holds them; ci=False shows the percentages alone."""
    d = sk.SurveyDesign(sk.load_replica(), weights="weight")
    ct = sk.crosstab(d, "approval", "urban", level=0.9)
    row = ct.table.iloc[0]
    cell = (f"{100 * row['estimate']:.1f} [{100 * row['ci_low']:.1f}, "
            f"{100 * row['ci_high']:.1f}]")
    assert cell in repr(ct) and cell in ct._repr_html_()
    assert "90\u00a0% confidence intervals in brackets" in repr(ct)
    plain = sk.crosstab(d, "approval", "urban", ci=False)
    assert "[" not in repr(plain).split("\n", 3)[3] and "confidence" not in repr(plain)
    assert f"{100 * row['estimate']:.1f}" in repr(plain)
