"""One TestResult shape for every test: crosstab(...).test, wald_test, anova, ttest, ranktest
(statistic on its reference's scale, df, ddf = inf for chi-square, p_value, method)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import R_FIXTURES

from surveykit.estimation import crosstab
from surveykit.models import glm
from surveykit.models.ttest import ranktest, ttest
from surveykit.models.wald import anova, wald_test
from surveykit.testresult import METHODS, TestResult, as_test_result

TESTS = pd.read_csv(R_FIXTURES / "crosstab_tests.csv")


@pytest.mark.parametrize("statistic", ["F", "Chisq", "Wald", "adjWald", "saddlepoint"])
def test_crosstab_test_is_a_test_result_matching_svychisq(dclus1, statistic):
    r = TESTS[(TESTS["design"] == "clus1") & (TESTS["statistic"] == statistic)]
    assert len(r) == 1, "R fixture row"
    r = r.iloc[0]
    t = crosstab(dclus1, r["row"], r["col"], statistic=statistic).test
    assert isinstance(t, TestResult) and t.method in METHODS
    assert t.p_value == pytest.approx(r["p_value"], rel=1e-4)
    if statistic in ("F", "Wald", "adjWald"):
        assert t.method == "F"
        assert (t.statistic, t.df, t.ddf) == pytest.approx((r["value"], r["df1"], r["df2"]),
                                                           rel=1e-6)
    elif statistic == "Chisq":  # X^2 / mean design effect on chi-square(k)
        assert t.method == "Chisq" and t.ddf == math.inf
        assert t.extras["chisq"] == pytest.approx(r["value"], rel=1e-6)
        from scipy import stats

        assert stats.chi2.sf(t.statistic, t.df) == pytest.approx(t.p_value, rel=1e-12)
    else:
        assert t.method == "F-sum" and t.statistic == pytest.approx(r["value"], rel=1e-6)
        assert len(t.extras["eigenvalues"]) == t.df


def test_crosstab_old_dict_keys_warn_but_still_answer(dclus1):
    t = crosstab(dclus1, "stype", "awards").test
    with pytest.warns(DeprecationWarning):
        assert t["F"] == t.statistic
    with pytest.warns(DeprecationWarning):
        assert (t["df1"], t["df2"]) == (t.df, t.ddf)
    with pytest.warns(DeprecationWarning):
        assert t["statistic"] == "F"  # the old key held the option's name


def test_wald_and_anova_rows_name_their_reference(dclus1):
    m = glm(dclus1, "api00 ~ ell + C(stype)")
    f = wald_test(m, "C(stype)")
    c = wald_test(m, "C(stype)", df=math.inf)
    assert f["method"].iloc[0] == "F" and c["method"].iloc[0] == "Chisq"
    tf, tc = as_test_result(f), as_test_result(c)
    assert tc.ddf == math.inf and tc.statistic == pytest.approx(tf.statistic * tf.df, rel=1e-12)
    a = anova(m)
    assert set(a["method"]) == {"F-sum"}  # LRT: weighted sum of chi-squares, F version
    assert len(as_test_result(a)) == 2
    ac = anova(m, test="Chisq")
    assert set(ac["method"]) == {"chisq-sum"} and all(r.ddf == math.inf
                                                      for r in as_test_result(ac))


def test_ttest_and_ranktest_give_test_results(dclus1):
    t = as_test_result(ttest(dclus1, "api00", "comp.imp"))
    assert t.method == "t" and t.ddf == math.inf
    from scipy import stats

    assert t.p_value == pytest.approx(2 * stats.t.sf(abs(t.statistic), t.df), rel=1e-10)
    k = ranktest(dclus1, "enroll", "stype")
    r = as_test_result(k)
    assert r.method == "F" and r.extras["chisq"] == k["statistic"].iloc[0]
    assert r.statistic == pytest.approx(k["statistic"].iloc[0] / 2, rel=1e-12)
    assert r.p_value == pytest.approx(stats.f.sf(r.statistic, r.df, r.ddf), rel=1e-10)
    with pytest.raises(TypeError):
        as_test_result(np.zeros(2))
