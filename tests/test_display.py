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
    # the cross-table shows its test and labelled row percentages
    assert f"{ct.test['F']:.3f}" in repr(ct) and "strongly approve" in repr(ct)
    assert "Row percentages" in ct._repr_html_()
    # the model's HTML shows labelled terms and N
    assert f"N = {fit.nobs:,}" in fit._repr_html_() and "Age in years" in fit._repr_html_()
    assert "2,209 rows" in repr(raw)
