"""surveykit.models against R survey (svyglm, svyolr) and MASS::glm.nb + svyrecvar fixtures.

Fixtures come from tests/r/fixtures_models.R (committed CSVs); R fits are converged tightly
there. Estimates are compared to 1e-6 relative, standard errors to 1e-4 relative.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import MEALCAT_LEVELS, r_jk1_design, with_mealcat
from scipy import special, stats

from surveykit.design import SurveyDesign
from surveykit.errors import ConvergenceError, ModelError, SurveyKitError
from surveykit.models import glm, negbin, ordinal, regression_table

R_FIXTURES = Path(__file__).parent / "fixtures" / "r"


def _norm(term: str) -> str:
    """Make R and patsy term names comparable: factor(race)2 ~ C(race)[T.2], stypeH ~ stype[T.H]."""
    t = term.replace("factor(", "").replace("C(", "").replace("[T.", "")
    t = t.replace("log(theta)", "logalpha").replace("log(alpha)", "logalpha")
    return re.sub(r"[^A-Za-z0-9.|]", "", t)


def _fixture(name: str) -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / f"models_{name}.csv")


def _compare(name: str, params: pd.Series, se: np.ndarray, *, df_resid: int | None = None,
             nobs: int | None = None, sign: np.ndarray | None = None) -> None:
    ref = _fixture(name)
    assert [_norm(t) for t in params.index] == [_norm(t) for t in ref["term"]]
    est = params.to_numpy() * (1 if sign is None else sign)
    np.testing.assert_allclose(est, ref["estimate"], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(se, ref["std_error"], rtol=1e-4)
    if df_resid is not None:
        assert df_resid == ref["df_resid"].iloc[0]
    if nobs is not None:
        assert nobs == ref["n"].iloc[0]


@pytest.fixture(scope="module")
def dclus1(apiclus1):
    return SurveyDesign(with_mealcat(apiclus1), weights="pw", psu="dnum", fpc="fpc")


@pytest.fixture(scope="module")
def dstrat(apistrat):
    return SurveyDesign(with_mealcat(apistrat), weights="pw", strata="stype", fpc="fpc")


@pytest.fixture(scope="module")
def rclus1(apiclus1):
    return r_jk1_design(with_mealcat(apiclus1))


# --------------------------------------------------------------------------------------- svyglm
GLM_CASES = [
    ("logit_nhanes", "dnh", "HI_CHOL ~ factor(race) + agecat + RIAGENDR", "quasibinomial", None,
     None),
    ("probit_nhanes", "dnh", "HI_CHOL ~ factor(race) + agecat + RIAGENDR", "binomial", "probit",
     None),
    ("logit_apiclus1", "dclus1", "sch.wide ~ ell + meals", "binomial", None, None),
    ("poisson_apiclus1", "dclus1", "emer ~ meals + stype", "poisson", None, None),
    ("quasipoisson_apistrat", "dstrat", "ell ~ meals + mobility + stype", "quasipoisson", None,
     None),
    ("gaussian_apistrat", "dstrat", "api00 ~ ell + meals + mobility", "gaussian", None, None),
    ("gaussian_apistrat_domain", "dstrat", "api00 ~ ell + meals", "gaussian", None,
     "stype != 'E'"),
    ("logit_apiclus1_domain", "dclus1", "sch.wide ~ ell + meals", "binomial", None,
     "stype == 'E'"),
    ("jk1_gaussian_apiclus1", "rclus1", "api00 ~ ell + meals + mobility", "gaussian", None, None),
    ("jk1_logit_apiclus1", "rclus1", "sch.wide ~ ell + meals", "quasibinomial", None, None),
    ("jk1_logit_apiclus1_domain", "rclus1", "sch.wide ~ ell + meals", "binomial", None,
     "stype == 'E'"),
    # a domain with missing covariates (acs.k3 of high schools) and a stratum absent
    ("logit_apistrat_domain_missing", "dstrat", "sch.wide ~ ell + acs.k3", "quasibinomial", None,
     "stype != 'M'"),
    # calibrated designs: sandwich through the calibration residuals; a calibrated domain keeps
    # the strata outside it (their residualised scores are not zero)
    ("cal_gaussian_apiclus1", "cal_clus1", "api00 ~ ell + meals + mobility", "gaussian", None,
     None),
    ("cal_logit_apistrat", "cal_strat", "sch.wide ~ ell + meals", "quasibinomial", None, None),
    ("cal_logit_apistrat_domain", "cal_strat", "sch.wide ~ ell + meals", "quasibinomial", None,
     "stype != 'H'"),
    ("rake_logit_apistrat_domain", "rake_strat", "sch.wide ~ ell + meals", "quasibinomial", None,
     "stype == 'E'"),
]


def _pop_totals(apipop: pd.DataFrame) -> dict[str, float]:
    """R's tot.api99 in tests/r/fixtures_models.R, keyed by patsy's column names."""
    types = apipop["stype"].value_counts()
    return {"Intercept": len(apipop), "stype[T.H]": types["H"], "stype[T.M]": types["M"],
            "api99": float(apipop["api99"].sum())}


@pytest.fixture(scope="module")
def cal_clus1(dclus1, apipop):
    from surveykit.weighting import calibrate

    return calibrate(dclus1, "~stype + api99", _pop_totals(apipop))


@pytest.fixture(scope="module")
def cal_strat(dstrat, apipop):
    from surveykit.weighting import calibrate

    return calibrate(dstrat, "~stype + api99", _pop_totals(apipop))


@pytest.fixture(scope="module")
def rake_strat(dstrat, apipop):
    from surveykit.weighting import rake

    margins = {"stype": apipop["stype"].value_counts().to_dict(),
               "sch.wide": apipop["sch.wide"].value_counts().to_dict()}
    return rake(dstrat, margins, tol=1e-13, max_iter=500).design


@pytest.mark.parametrize(("name", "design", "formula", "family", "link", "domain"), GLM_CASES,
                         ids=[c[0] for c in GLM_CASES])
def test_glm_matches_r_svyglm(request, name, design, formula, family, link, domain):
    d = request.getfixturevalue(design)
    if domain is not None:
        d = d.subset(domain)
    res = glm(d, formula, family=family, link=link)
    if domain is not None and getattr(d, "calibrations", ()):
        # R's subset of a calibrated design keeps every row with zero weight, so its
        # length(fit$y) is the whole sample; surveykit counts the domain's respondents
        assert _fixture(name)["n"].iloc[0] == d.n_total
        assert res.nobs == d.n
        _compare(name, res.params, res.std_errors.to_numpy(), df_resid=res.df_resid)
        return
    _compare(name, res.params, res.std_errors.to_numpy(), df_resid=res.df_resid, nobs=res.nobs)


def test_glm_counts_missing_outcome_rows(dnh, nhanes):
    res = glm(dnh, "HI_CHOL ~ factor(race) + agecat + RIAGENDR", family="binomial")
    assert res.n_missing == int(nhanes["HI_CHOL"].isna().sum()) == 745
    assert res.nobs + res.n_missing == len(nhanes)
    assert "745" in res.summary()


def test_quasi_family_equals_base_family(dstrat):
    a = glm(dstrat, "ell ~ meals + stype", family="poisson")
    b = glm(dstrat, "ell ~ meals + stype", family="quasipoisson")
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)
    np.testing.assert_allclose(a.vcov, b.vcov, rtol=1e-10)


def test_tidy_uses_t_with_residual_df(dclus1):
    res = glm(dclus1, "sch.wide ~ ell + meals", family="binomial")
    ref = _fixture("logit_apiclus1")
    t = res.tidy(conf_level=0.9)
    q = stats.t.ppf(0.95, ref["df_resid"].iloc[0])  # R confint.svyglm: qt with df.residual
    np.testing.assert_allclose(t["ci_low"], ref["estimate"] - q * ref["std_error"], rtol=1e-4)
    pv = 2 * stats.t.sf(np.abs(ref["estimate"] / ref["std_error"]), ref["df_resid"].iloc[0])
    np.testing.assert_allclose(t["p_value"], pv, rtol=1e-3)
    e = res.tidy(exponentiate=True)
    np.testing.assert_allclose(e["estimate"], np.exp(ref["estimate"]), rtol=1e-6)
    np.testing.assert_allclose(e["std_error"], np.exp(ref["estimate"]) * ref["std_error"],
                               rtol=1e-4)
    assert list(t.columns) == ["term", "label", "estimate", "std_error", "statistic", "p_value",
                               "ci_low", "ci_high", "kind"]


def test_glm_predict_and_binary_ame(dclus1):
    res = glm(dclus1, "sch.wide ~ ell + meals", family="binomial")
    new = pd.DataFrame({"ell": [10.0, 40.0], "meals": [20.0, 80.0]})
    b = res.params.to_numpy()
    eta = b[0] + b[1] * new["ell"] + b[2] * new["meals"]
    np.testing.assert_allclose(res.predict(new, type="link"), eta, rtol=1e-12)
    np.testing.assert_allclose(res.predict(new, type="prob"), special.expit(eta), rtol=1e-12)
    ame = res.marginal_effects().set_index("term")
    # hand formula for a linear logit term: weighted mean of p(1-p) * beta_ell
    used = res.frame.rows
    w = dclus1.weights[used]
    p = special.expit(res.frame.X @ b)
    expected = np.sum(w * p * (1 - p)) / w.sum() * b[1]
    np.testing.assert_allclose(ame.loc["ell", "estimate"], expected, rtol=1e-7)

    # delta-method SE by an independent numerical gradient of the AME in the coefficients
    def ame_of(beta):
        pp = special.expit(res.frame.X @ beta)
        return np.sum(w * pp * (1 - pp)) / w.sum() * beta[1]

    grad = np.array([(ame_of(b + 1e-6 * e) - ame_of(b - 1e-6 * e)) / 2e-6 for e in np.eye(3)])
    se = np.sqrt(grad @ res.vcov.to_numpy() @ grad)
    np.testing.assert_allclose(ame.loc["ell", "std_error"], se, rtol=1e-5)


# ------------------------------------------------------------------------------------- svyolr
OLR_CASES = [
    ("olr_logit_apiclus1", "dclus1", "logit"),
    ("olr_probit_apiclus1", "dclus1", "probit"),
    ("olr_logit_apistrat", "dstrat", "logit"),
    ("jk1_olr_logit_apiclus1", "rclus1", "logit"),
]


@pytest.mark.parametrize(("name", "design", "link"), OLR_CASES, ids=[c[0] for c in OLR_CASES])
def test_ordinal_matches_r_svyolr(request, name, design, link):
    d = request.getfixturevalue(design)
    res = ordinal(d, "mealcat ~ avg.ed + mobility + stype", link=link)
    _compare(name, res.params, res.std_errors.to_numpy(), df_resid=res.df_resid, nobs=res.nobs)
    assert list(res.params.index[-3:]) == ["(0,25]|(25,50]", "(25,50]|(50,75]",
                                           "(50,75]|(75,100]"]


def test_ordinal_missing_counted(dstrat, dclus1, apiclus1):
    # apistrat: one school has meals == 0, outside every mealcat interval (R: NA, excluded)
    assert ordinal(dstrat, "mealcat ~ avg.ed + mobility + stype").n_missing == 1
    res = ordinal(dclus1, "mealcat ~ avg.ed + mobility + stype")
    miss = apiclus1[["avg.ed", "mobility", "stype"]].isna().any(axis=1) | (apiclus1.meals == 0)
    assert res.n_missing == int(miss.sum()) == 183 - 157


def test_ordinal_numeric_codes_equal_categorical(dclus1):
    data = dclus1.data.copy()
    data["mealcode"] = data["mealcat"].cat.codes.replace(-1, np.nan) + 1
    d = SurveyDesign(data, weights="pw", psu="dnum", fpc="fpc")
    a = ordinal(d, "mealcode ~ avg.ed + mobility + stype")
    b = ordinal(dclus1, "mealcat ~ avg.ed + mobility + stype")
    np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), rtol=1e-10)
    assert list(a.params.index[-3:]) == ["1|2", "2|3", "3|4"]


def test_ordinal_predict_and_ame(dclus1):
    res = ordinal(dclus1, "mealcat ~ avg.ed + mobility + stype")
    new = pd.DataFrame({"avg.ed": [2.5, 3.5], "mobility": [10.0, 20.0], "stype": ["E", "H"]})
    probs = res.predict(new, type="prob")
    b = res.params
    eta = (b["avg.ed"] * new["avg.ed"] + b["mobility"] * new["mobility"]
           + b["stype[T.H]"] * (new["stype"] == "H")).to_numpy()
    cum = special.expit(b.iloc[-3:].to_numpy()[None, :] - eta[:, None])
    np.testing.assert_allclose(probs.to_numpy()[:, 0], cum[:, 0], rtol=1e-12)
    np.testing.assert_allclose(probs.to_numpy()[:, 3], 1 - cum[:, 2], rtol=1e-12)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)
    ame = res.marginal_effects()
    h = ame[ame.term == "stype[H]"].set_index("outcome")
    # independent: weighted mean of predicted probabilities with every school set to H vs E
    data, w = res.frame.data, dclus1.weights[res.frame.rows]
    pH = res.predict(data.assign(stype="H"), type="prob").to_numpy()
    pE = res.predict(data.assign(stype="E"), type="prob").to_numpy()
    expected = (w @ (pH - pE)) / w.sum()
    np.testing.assert_allclose(h.loc[MEALCAT_LEVELS, "estimate"], expected, rtol=1e-9)
    assert abs(h["estimate"].sum()) < 1e-12  # changes in category probabilities sum to zero
    assert (h["std_error"] > 0).all()


# ------------------------------------------------------------------------------------- negbin
NB_CASES = [("negbin_apistrat", "dstrat", "emer ~ meals + stype"),
            ("negbin_apiclus1", "dclus1", "emer ~ meals + ell")]


@pytest.mark.parametrize(("name", "design", "formula"), NB_CASES, ids=[c[0] for c in NB_CASES])
def test_negbin_matches_glm_nb_and_svyrecvar_sandwich(request, name, design, formula):
    res = negbin(request.getfixturevalue(design), formula)
    full = res.extra["full_vcov"]
    params = pd.concat([res.params, pd.Series({"log(alpha)": res.extra["log_alpha"]})])
    sign = np.r_[np.ones(len(res.params)), -1.0]  # R reports log(theta) = -log(alpha)
    _compare(name, params, np.sqrt(np.diag(full)), df_resid=res.df_resid, nobs=res.nobs, sign=sign)
    ref = _fixture(name)  # MASS::glm.nb's own estimates (before R's Newton polish)
    np.testing.assert_allclose(params.to_numpy() * sign, ref["glmnb_estimate"], rtol=1e-6)
    np.testing.assert_allclose(res.std_errors, np.sqrt(np.diag(full))[:-1], rtol=1e-14)


def test_negbin_table_reports_dispersion_alpha_with_se(dstrat):
    res = negbin(dstrat, "emer ~ meals + stype")
    alpha, se = res.extra["alpha"], res.extra["alpha_se"]
    assert se == pytest.approx(alpha * res.extra["log_alpha_se"])  # delta method from log(alpha)
    assert f"| Dispersion alpha (SE) | {alpha:.3f} ({se:.3f}) |" in res.to_markdown()
    assert "Dispersion alpha" not in glm(dstrat, "emer ~ meals", family="poisson").to_markdown()


def test_negbin_without_overdispersion_fails_clearly(dstrat):
    data = dstrat.data.assign(flat=np.tile([2, 3], 100))
    d = SurveyDesign(data, weights="pw", strata="stype", fpc="fpc")
    with pytest.raises(ConvergenceError, match="gradient norm"):
        negbin(d, "flat ~ meals")


# ----------------------------------------------------------------------------- errors, tables
def test_collinear_columns_are_named(dstrat):
    data = dstrat.data.assign(ell2=dstrat.data["ell"] * 2 + 1)
    d = SurveyDesign(data, weights="pw", strata="stype", fpc="fpc")
    with pytest.raises(ModelError, match="rank deficient") as err:
        glm(d, "api00 ~ ell + meals + ell2")
    assert {"ell", "ell2", "Intercept"} <= set(err.value.values)
    with pytest.raises(ModelError, match="rank deficient"):
        ordinal(SurveyDesign(with_mealcat(data), weights="pw"), "mealcat ~ ell + ell2")


def test_empty_outcome_category_is_named(dclus1):
    data = dclus1.data.copy()
    data["mealcat"] = data["mealcat"].cat.add_categories(["(100,Inf]"])
    d = SurveyDesign(data, weights="pw", psu="dnum", fpc="fpc")
    with pytest.raises(ModelError, match="empty") as err:
        ordinal(d, "mealcat ~ avg.ed")
    assert err.value.values == ["(100,Inf]"]


def test_unordered_or_binary_ordinal_outcome_rejected(dclus1):
    with pytest.raises(ModelError, match="ordered"):
        ordinal(dclus1, "stype ~ meals")
    with pytest.raises(ModelError, match="empty") as err:  # domain without two categories
        ordinal(dclus1.subset(dclus1.data["meals"] <= 50), "mealcat ~ avg.ed")
    assert err.value.values == ["(50,75]", "(75,100]"]
    with pytest.raises(ModelError, match="at least 3"):
        ordinal(dclus1, "I((meals > 50) * 1.0) ~ avg.ed")


def test_separation_detected():
    rng = np.random.default_rng(7)
    x = rng.normal(size=200)
    df = pd.DataFrame({"x": x, "y": (x > 0).astype(float), "w": rng.uniform(1, 2, 200)})
    with pytest.raises(ModelError, match="separation"):
        glm(SurveyDesign(df, weights="w"), "y ~ x", family="binomial")


def test_bad_inputs_raise_surveykit_errors(dclus1):
    with pytest.raises(SurveyKitError):
        glm(dclus1, "api00 ~ nosuchcolumn")
    with pytest.raises(ModelError, match="family"):
        glm(dclus1, "api00 ~ ell", family="tweedie")
    with pytest.raises(ModelError, match="Poisson"):
        glm(dclus1, "growth ~ ell", family="poisson")


def test_publication_tables(dclus1):
    res = glm(dclus1, "sch.wide ~ ell + meals", family="binomial")
    t = res.tidy(exponentiate=True)
    md = res.to_markdown()
    assert "OR" in md and f"| N | {res.nobs} |" in md
    for row in t.itertuples():
        n_stars = 3 if row.p_value < 0.001 else 2 if row.p_value < 0.01 else (
            1 if row.p_value < 0.05 else 0)
        cell = f"| {row.term} | {row.estimate:.3f}{'*' * n_stars} |"
        assert cell in md
        assert f"({row.std_error:.3f})" in md
    tex = res.to_latex()
    assert tex.startswith(r"\begin{tabular}") and f"N & {res.nobs}" in tex
    both = str(regression_table([res, glm(dclus1, "sch.wide ~ ell", family="binomial")]))
    assert next(x for x in both.splitlines() if x.startswith("| Term")).count("OR") == 2


def test_ordinal_numeric_ame_hand_formula(dclus1):
    res = ordinal(dclus1, "mealcat ~ avg.ed + mobility + stype")
    ame = res.marginal_effects()
    assert list(dict.fromkeys(ame["term"])) == ["avg.ed", "mobility", "stype[H]", "stype[M]"]
    b = res.params.to_numpy()
    eta = res.frame.X @ b[:4]
    w = dclus1.weights[res.frame.rows]
    u = np.column_stack([np.full_like(eta, -np.inf), b[4:][None, :] - eta[:, None],
                         np.full_like(eta, np.inf)])
    dens = stats.logistic.pdf(u)
    # d P(Y=k) / d avg.ed = -beta * (f(a_k - eta) - f(a_(k-1) - eta)), averaged with the weights
    expected = -b[0] * (w @ (dens[:, 1:] - dens[:, :-1])) / w.sum()
    got = ame[ame.term == "avg.ed"]["estimate"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-7)


def test_ordinal_separation_detected():
    rng = np.random.default_rng(3)
    x = rng.normal(size=300)
    df = pd.DataFrame({"x": x, "z": rng.normal(size=300), "y": np.digitize(x, [-0.5, 0.5]) + 1,
                       "w": rng.uniform(1, 2, 300)})
    with pytest.raises(ModelError, match="separation"):
        ordinal(SurveyDesign(df, weights="w"), "y ~ x + z")
