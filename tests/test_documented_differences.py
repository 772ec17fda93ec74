"""README's "Deliberate differences from R": every example's numbers, both sides, checked.

Each bullet of the list names an example as ``Example (`case`)`` followed by its numbers, each
in bold after the side it belongs to (``surveykit``, ``R 4.1.1``, ``R 4.5`` or
``R 4.1.1 and 4.5``; a bold value belongs to the side named last): ``surveykit **0.2423**``,
``R 4.1.1 **error**``, ``R 4.1.1 and 4.5 **[0.0293, 0.1434]**``. This module

- recomputes surveykit's side of every example (:data:`CASES`),
- reads R's side from ``tests/fixtures/r/rtests_differences_<version>.csv``, made by
  ``tests/r/fixtures_rtests_differences.R`` under survey 4.1.1 and 4.5,
- and parses the README, so that every bold number equals the computed one to the precision
  written, in the order written, and no example, side or number is missing or extra.

A bold value is a number (thousands separated by commas), ``NaN``, ``NA`` (R's missing value),
``error`` (surveykit raises a :class:`SurveyKitError`; R stops with an error) or a list of
numbers in brackets (``[low, high]``).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import R_FIXTURES, read_r_data

import surveykit as sk

README = Path(__file__).resolve().parents[1] / "README.md"
VERSIONS = ("4.1.1", "4.5")
ERROR = "error"  # an outcome: R stopped / surveykit raised a SurveyKitError


# --------------------------------------------------------------------------- R's side
def _r_table(version: str) -> pd.DataFrame:
    return pd.read_csv(R_FIXTURES / f"rtests_differences_{version}.csv", dtype=str,
                       keep_default_na=False).set_index(["case", "quantity"])


R_TABLES = {v: _r_table(v) for v in VERSIONS}


def r_value(version: str, case: str, quantity: str, index: int | slice | None = None) -> object:
    """R's number(s) for (case, quantity) under a survey version: a float, an array, ERROR
    (R stopped) or None (R's NA)."""
    row = R_TABLES[version].loc[(case, quantity)]
    if row["text"].startswith("error:"):
        return ERROR
    vals = [None if v == "NA" else float(v) for v in row["value"].split()]
    out = vals if index is None else vals[index]
    return out[0] if isinstance(out, list) and len(out) == 1 else out


def r_text(version: str, case: str, quantity: str) -> str:
    return R_TABLES[version].loc[(case, quantity)]["text"]


def both(case: str, quantity: str, index: int | slice | None = None) -> dict[str, list]:
    """{"R 4.1.1": [value], "R 4.5": [value]}: one example value per version."""
    return {f"R {v}": [r_value(v, case, quantity, index)] for v in VERSIONS}


# --------------------------------------------------------------------------- surveykit's side
def outcome(fn: Callable[[], object]) -> object:
    """fn()'s value, or ERROR when it raises a SurveyKitError (warnings silenced)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()
    except sk.SurveyKitError:
        return ERROR


@pytest.fixture(scope="module")
def data() -> dict[str, object]:
    c1 = read_r_data("apiclus1")
    c1 = c1.assign(log_enroll=np.log(c1["enroll"]), high=c1["stype"].eq("H").astype(int),
                   d413=c1["dnum"].eq(413).astype(int), below=c1["api00"].lt(2000).astype(int))
    st = read_r_data("apistrat")
    pop = read_r_data("apipop")
    dclus1 = sk.SurveyDesign(c1, weights="pw", psu="dnum", fpc="fpc")
    dstrat = sk.SurveyDesign(st, weights="pw", strata="stype", fpc="fpc")
    cal = sk.calibrate(dstrat, "~stype + api99",
                       {"Intercept": len(pop), "stype[T.H]": int(pop["stype"].eq("H").sum()),
                        "stype[T.M]": int(pop["stype"].eq("M").sum()),
                        "api99": float(pop["api99"].sum())})
    return {"c1": c1, "st": st, "dclus1": dclus1, "dstrat": dstrat, "jk1": dclus1.replicate("jk1"),
            "cal": cal, "srs": read_r_data("apisrs"), "nhanes": read_r_data("nhanes"),
            "c2": read_r_data("apiclus2")}


def _row(df: pd.DataFrame, cols: list[str], i: int = 0) -> list[float]:
    return [float(v) for v in df[cols].to_numpy()[i]]


POP_STYPE = {"E": 4421, "H": 755, "M": 1018}


def case_deff_small_weights(d):
    srs = d["srs"].assign(w=d["srs"]["pw"] / 20)
    got = sk.mean(sk.SurveyDesign(srs, weights="w"), "api00")["deff"].item()
    return {"surveykit": [got], **both("deff_small_weights", "deff_TRUE")}


def case_term_names(d):
    fit = sk.glm(d["dstrat"], "api00 ~ stype")
    assert list(fit.params.index) == ["Intercept", "stype[T.H]", "stype[T.M]"]
    r = {v: r_text(v, "term_names", "coef").split() for v in VERSIONS}
    assert r["4.1.1"] == r["4.5"] == ["(Intercept)", "stypeH", "stypeM"]
    return {"surveykit": [float(fit.params["stype[T.H]"])], **both("term_names", "coef", 1)}


def case_glm_stopping_rule(d):
    fit = sk.glm(d["cal"], "sch.wide ~ ell + meals", family="quasibinomial", link="cloglog")
    exact = r_value("4.5", "glm_stopping_rule", "meals_exact")
    assert isinstance(exact, float)
    np.testing.assert_allclose(fit.params["meals"], exact, rtol=1e-8)  # R run to convergence
    return {"surveykit": [float(fit.params["meals"])], **both("glm_stopping_rule", "meals_default")}


def _offset_model(d):
    return sk.glm(d["dclus1"], "emer ~ meals + ell", family="quasipoisson", offset="log_enroll")


def case_predict_offset(d):
    fit = _offset_model(d)
    got = fit.predict(d["c1"].iloc[:1], type="link", frame=False).item()
    without = fit.predict(d["c1"].iloc[:1], type="link", offset=False, frame=False).item()
    r = both("predict_offset", "link", 0)
    np.testing.assert_allclose(without, r["R 4.5"], rtol=1e-8)  # offset=False is R's
    return {"surveykit": [got], **r}


def case_predict_se_replicates(d):
    fit = sk.glm(d["jk1"], "api00 ~ ell")
    se = fit.predict(d["c1"].iloc[:3], se=True, frame=True)["std_error"].to_numpy()
    for v in VERSIONS:  # R's attr(, "var") has every row's; SE() returns the first only
        np.testing.assert_allclose(se, r_value(v, "predict_se_replicates", "sqrt_var"), rtol=1e-6)
    return {"surveykit": [list(se)], **both("predict_se_replicates", "SE")}


def case_margins_offset(d):
    m = sk.margins(_offset_model(d), by="C(stype)").set_index("stype")["estimate"]
    names = r_text("4.5", "margins_offset", "predmeans").split()
    r = {f"R {v}": dict(zip(names, r_value(v, "margins_offset", "predmeans"), strict=True))
         for v in VERSIONS}
    return {"surveykit": [float(m["E"])], **{k: [v["E"]] for k, v in r.items()}}


def case_ranktest_replicates(d):
    got = sk.ranktest(d["jk1"], "ell", "stype").iloc[0]
    return {"surveykit": [float(got["statistic"])], **both("ranktest_replicates", "chisq_p", 0)}


def case_aic_gaussian(d):
    lin = sk.glm(d["dclus1"], "api00 ~ ell").aic()["AIC"]
    rep = sk.glm(d["jk1"], "api00 ~ ell").aic()["AIC"]
    out = {"surveykit": [float(lin), float(rep)]}
    for v in VERSIONS:
        out[f"R {v}"] = [r_value(v, "aic_gaussian", "AIC"),
                         r_value(v, "aic_gaussian_replicates", "AIC")]
    return out


def case_contrast_replicates(d):
    m = sk.mean(d["jk1"], "log_enroll", by="stype", vcov=True)

    def f(c):
        return np.exp(c["E"] - c["H"])

    auto = sk.contrast(m, f)["std_error"].item()
    delta = sk.contrast(m, f, method="delta")["std_error"].item()
    lin = sk.contrast(m, {"E": 1, "M": -1})["std_error"].item()
    out = {"surveykit": [auto, delta, lin]}
    for v in VERSIONS:
        out[f"R {v}"] = [r_value(v, "contrast_replicates", "se_replicates"),
                         r_value(v, "contrast_replicates", "se_default"),
                         r_value(v, "contrast_replicates", "linear_with_replicates")]
    return out


def case_calibrate_linear_negative(d):
    got = outcome(lambda: sk.calibrate(d["dclus1"], "~api99", {"Intercept": 6194, "api99": 2.5e6}))
    return {"surveykit": [got], **both("calibrate_linear_negative", "min_weight")}


def case_calibrate_aggregate_negative(d):
    got = outcome(lambda: sk.calibrate(d["dclus1"], "~enroll",
                                       {"Intercept": 6194, "enroll": 3811472}, aggregate_stage=1))
    out = {"surveykit": [got]}
    for v in VERSIONS:
        out[f"R {v}"] = [r_value(v, "calibrate_aggregate_negative", "min_g"),
                         *r_value(v, "calibrate_aggregate_negative", "total_api_stu")]
    return out


def case_domain_lonely_average(d):
    st = d["st"]
    one_e = st["stype"].ne("E").to_numpy().copy()
    one_e[int(np.flatnonzero(st["stype"].eq("E"))[0])] = True
    des = sk.SurveyDesign(st, weights="pw", strata="stype", fpc="fpc", lonely_psu="average",
                          adjust_domain_lonely=True)
    got = outcome(lambda: sk.mean(des.subset(one_e), "api00", by="stype"))
    return {"surveykit": [got], **both("domain_lonely_average", "se_by_stype", 0)}


def case_trim_strict(d):
    w = sk.trim(d["dstrat"], lower=20, upper=32, max_iter=200).weights
    h = float(pd.Series(w).groupby(d["st"]["stype"].to_numpy()).mean()["H"])
    out = {"surveykit": [h, float(w.sum())]}
    for v in VERSIONS:
        out[f"R {v}"] = [r_value(v, "trim_strict", "weights_by_stype", 1),
                         r_value(v, "trim_strict", "sum_weights")]
    return out


def case_lonely_adjust(d):
    nh = d["nhanes"]
    nh = nh[~(nh["SDMVSTRA"].isin([76, 80]) & nh["SDMVPSU"].eq(2))]
    des = sk.SurveyDesign(nh, weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU", nest=True,
                          lonely_psu="adjust")
    got = outcome(lambda: sk.total(des, "HI_CHOL")["std_error"].item())
    return {"surveykit": [got], **both("lonely_adjust", "total_HI_CHOL", 1)}


def case_proportion_p1(d):
    out = {"surveykit": [], "R 4.1.1": [], "R 4.5": []}
    for ci in ("logit", "beta", "wilson"):
        got = sk.proportion(d["dclus1"], "below", ci=ci)
        assert got["estimate"].item() == 1.0
        out["surveykit"].append(_row(got, ["ci_low", "ci_high"]))
        for v in VERSIONS:
            out[f"R {v}"].append(r_value(v, "proportion_p1", f"ci_{ci}"))
    return out


def case_wilson(d):
    got = sk.proportion(d["dclus1"], "high", ci="wilson")
    return {"surveykit": [_row(got, ["ci_low", "ci_high"], 1)], **both("wilson", "ci")}


def case_likelihood_gaussian(d):
    st = d["st"].assign(api_100=d["st"]["api00"] / 100, api_30=d["st"]["api00"] / 30)
    des = sk.SurveyDesign(st, weights="pw", strata="stype", fpc="fpc")
    out = {"surveykit": []}
    for y, k in (("api_100", 100), ("api_30", 30)):
        ci = sk.glm(des, f"{y} ~ ell").confint(method="likelihood", parm=["ell"])
        out["surveykit"].append([k * ci["ci_low"].item(), k * ci["ci_high"].item()])
    out["surveykit"].append(outcome(lambda: sk.glm(d["dstrat"], "api00 ~ ell")
                                    .confint(method="likelihood")))
    for v in VERSIONS:
        out[f"R {v}"] = [[k * x for x in r_value(v, "likelihood_gaussian", f"ci_ell_{k}")]
                         for k in (100, 30)] + [r_value(v, "likelihood_gaussian", "ci_ell")]
    return out


def case_asin_clamp(d):
    got = sk.proportion(d["dclus1"], "d413", ci="asin")
    return {"surveykit": [_row(got, ["ci_low", "ci_high"], 1)], **both("asin_clamp", "ci")}


def case_lincom(d):
    for v in VERSIONS:  # R's fixtures were made with the saddlepoint approximation
        assert r_value(v, "lincom", "compquadform_installed") == 0
    got = sk.crosstab(d["dclus1"], "stype", "sch.wide", statistic="lincom").test.p_value
    return {"surveykit": [float(got)], **both("lincom", "p")}


def case_likelihood_replicates(d):
    got = outcome(lambda: sk.proportion(d["jk1"], "high", ci="likelihood"))
    return {"surveykit": [got], **both("likelihood_replicates", "ci")}


def case_logit_replicate_zero(d):
    with pytest.warns(UserWarning, match="1 replicate"):  # the replicate without district 413
        got = sk.proportion(d["jk1"], "d413", ci="logit")
    return {"surveykit": [_row(got, ["ci_low", "ci_high"], 1)],
            **both("logit_replicate_zero", "ci", slice(2, 4))}


def case_empty_domain(d):
    got = outcome(lambda: sk.mean(d["dclus1"].subset(d["c1"]["api00"] > 1000), "api00"))
    return {"surveykit": [got], **both("empty_domain", "mean")}


def case_rake_mixed_totals(d):
    got = outcome(lambda: sk.rake(d["dclus1"], {"stype": POP_STYPE,
                                                "sch.wide": {"No": 1200, "Yes": 4800}}))
    return {"surveykit": [got], **both("rake_mixed_totals", "sum_weights")}


def case_rake_stopping_rule(d):
    r = sk.rake(d["dclus1"], {"stype": POP_STYPE, "sch.wide": {"No": 1194, "Yes": 5000}})
    got = float(r.weights[d["c1"]["stype"].eq("E").to_numpy()].sum())
    return {"surveykit": [got], **both("rake_stopping_rule", "stype_E_total")}


def case_rake_replicates(d):
    r = sk.rake(d["jk1"], {"stype": POP_STYPE, "sch.wide": {"No": 1194, "Yes": 5000}})
    e = r.design.repweights[d["c1"]["stype"].eq("E").to_numpy()].sum(axis=0)
    return {"surveykit": [float(np.max(np.abs(e - 4421)))], **both("rake_replicates", "max_miss_E")}


def case_trim_infeasible(d):
    assert r_text("4.1.1", "trim_infeasible", "max_weight") == ""  # 4.1.1 says nothing
    assert r_text("4.5", "trim_infeasible", "max_weight") == "warning: trimming failed"
    got = outcome(lambda: sk.trim(d["dclus1"], upper=30))
    return {"surveykit": [got], **both("trim_infeasible", "max_weight", 1)}


def case_trim_replicates(d):
    rep = sk.SurveyDesign(d["st"], weights="pw", strata="stype", fpc="fpc").replicate("jkn")
    t = sk.trim(rep, upper=40)
    out = {"surveykit": [float(t.weights.max()), float(t.repweights.min())]}
    for v in VERSIONS:
        out[f"R {v}"] = [r_value(v, "trim_replicates", "max_full_sample_weight"),
                         r_value(v, "trim_replicates", "min_replicate_weight")]
    return out


def case_poststratify_replicate_empty_cell(d):
    c1 = d["c1"].assign(cell=np.where(d["c1"]["dnum"].eq(413), "x", "y"))
    rep = sk.SurveyDesign(c1, weights="pw", psu="dnum", fpc="fpc").replicate("jk1")
    got = outcome(lambda: sk.poststratify(rep, "cell", {"x": 20, "y": 6174}))
    return {"surveykit": [got], **both("poststratify_replicate_empty_cell", "mean_api00")}


def case_replicate_weighted_design(d):
    raked = sk.rake(d["dclus1"], {"stype": POP_STYPE,
                                  "sch.wide": {"No": 1194, "Yes": 5000}}).design
    got = outcome(lambda: raked.replicate("jk1"))
    lin = sk.mean(raked, "api00")["std_error"].item()
    out = {"surveykit": [got, lin]}
    for v in VERSIONS:
        out[f"R {v}"] = [r_value(v, "replicate_weighted_design", "se_mean_api00"),
                         r_value(v, "replicate_weighted_design", "se_mean_api00_linearised")]
    return out


def case_fpc_varies(d):
    st = d["st"].assign(fpc2=d["st"]["fpc"] + np.arange(1, len(d["st"]) + 1) % 2)
    got = outcome(lambda: sk.SurveyDesign(st, weights="pw", strata="stype", fpc="fpc2"))
    return {"surveykit": [got], **both("fpc_varies", "se_mean_api00")}


def case_average_zero_weight_stratum(d):
    st = pd.concat([d["st"], d["st"].iloc[[0]]], ignore_index=True)
    st.loc[len(st) - 1, ["stype", "pw"]] = ["Z", 0.0]
    des = sk.SurveyDesign(st, weights="pw", strata="stype", lonely_psu="average")
    got = outcome(lambda: sk.mean(des, "api00")["std_error"].item())
    return {"surveykit": [got], **both("average_zero_weight_stratum", "se_mean_api00")}


def case_brr_scale(d):
    st = d["st"].assign(half=np.arange(1, len(d["st"]) + 1) % 2 + 1)
    brr = sk.SurveyDesign(st, weights="pw", strata="stype", psu="half", nest=True).replicate("brr")
    got = outcome(lambda: sk.ReplicateDesign(st, weights="pw", repweights=brr.repweights,
                                             type="BRR", scale=0.5))
    default = sk.mean(brr, "api00")["std_error"].item()
    np.testing.assert_allclose(default, r_value("4.5", "brr_scale", "se_mean_api00_default"),
                               rtol=1e-6)
    return {"surveykit": [got], **both("brr_scale", "se_mean_api00")}


def case_multistage_adjust(d):
    c2 = d["c2"]
    c2 = c2[~(c2["dnum"].eq(83) & c2["dnum"].duplicated())]
    des = sk.SurveyDesign(c2, psu=["dnum", "snum"], fpc=["fpc1", "fpc2"], lonely_psu="adjust")
    got = outcome(lambda: sk.total(des, "enroll")["std_error"].item())
    return {"surveykit": [got], **both("multistage_adjust", "se_total_enroll", 1)}


def case_quantile_replicates(d):
    got = sk.quantile(d["jk1"], "api00", 0.5, ci="beta")
    return {"surveykit": [_row(got, ["ci_low", "ci_high"])],
            **both("quantile_replicates", "ci_beta")}


def case_lrt_missing(d):
    nh = d["nhanes"].assign(race1=d["nhanes"]["race"].eq(1).astype(int))
    des = sk.SurveyDesign(nh, weights="WTMEC2YR", strata="SDMVSTRA", psu="SDMVPSU", nest=True)
    fit = sk.glm(des, "race1 ~ HI_CHOL + agecat + RIAGENDR", family="quasibinomial")
    got = sk.wald_test(fit, "HI_CHOL", method="LRT")
    out = {"surveykit": [float(got["statistic"].item())]}
    for v in VERSIONS:
        out[f"R {v}"] = [r_value(v, "lrt_missing", "chisq_full"),
                         r_value(v, "lrt_missing", "chisq_complete")]
    # same statistic on the complete rows, and R's p on them
    np.testing.assert_allclose(got["p_value"].item(),
                               r_value("4.5", "lrt_missing", "p_full_complete", 1), rtol=1e-6)
    return out


def case_lrt_calibrated_domain(d):
    fit = sk.glm(d["cal"].subset(d["st"]["stype"] != "E"), "api00 ~ ell + meals + mobility",
                 family="Gamma", link="log")
    got = sk.wald_test(fit, ["meals", "mobility"], method="LRT")
    np.testing.assert_allclose(got["p_value"].item(),
                               r_value("4.5", "lrt_calibrated_domain", "chisq_p", 1), rtol=1e-6)
    return {"surveykit": [float(got["statistic"].item())],
            **both("lrt_calibrated_domain", "chisq_p", 0)}


def case_ordinal_normal(d):
    from conftest import with_mealcat

    des = sk.SurveyDesign(with_mealcat(d["c1"]), weights="pw", psu="dnum", fpc="fpc")
    t = sk.ordinal(des, "mealcat ~ avg.ed + mobility + stype").tidy(conf_level=0.9)
    t = t.set_index("term")
    return {"surveykit": [[float(t.loc["avg.ed", "ci_low"]), float(t.loc["avg.ed", "ci_high"])]],
            **both("ordinal_normal", "ci_avg_ed")}


def _quantile20(d):
    q20 = pd.read_csv(R_FIXTURES / "rtests_more_quantile_20.csv")
    return q20, sk.SurveyDesign(q20)


def case_quantile_hf4_low(d):
    q20, des = _quantile20(d)
    got = sk.quantile(des, "x", 0.01, qrule="hf4")["estimate"].item()
    assert got == q20["x"].min()  # the smallest value, as R's oldsvyquantile
    return {"surveykit": [got], **{f"R {v}": [r_value(v, "quantile_hf4_low", q)
                                              for q in ("q01", "old_q01")] for v in VERSIONS}}


def case_quantile_math_low(d):
    _, des = _quantile20(d)
    return {"surveykit": [sk.quantile(des, "y", 0.01)["estimate"].item()],
            **both("quantile_math_low", "q01")}


def case_quantile_score_nosign(d):
    _, des = _quantile20(d)
    with pytest.warns(UserWarning, match="does not change sign"):
        got = sk.quantile(des, "y", 0.01, ci="score")
    return {"surveykit": [_row(got, ["ci_low", "ci_high"])],
            **both("quantile_score_nosign", "ci")}


def case_var_missing(d):
    mt = pd.read_csv(R_FIXTURES / "rtests_more_mtcars.csv")
    mt.loc[0, "mpg"] = np.nan
    got = sk.var(sk.SurveyDesign(mt), "mpg")["estimate"].item()
    sub = sk.var(sk.SurveyDesign(mt.dropna(subset=["mpg"])), "mpg")["estimate"].item()
    np.testing.assert_allclose(got, sub, rtol=1e-12)  # = the complete-row subset
    return {"surveykit": [got], **both("var_missing", "na_rm")}


def case_likelihood_glm_replicates(d):
    c1 = d["c1"].assign(sch_yes=d["c1"]["sch.wide"].eq("Yes").astype(int))
    rep = sk.SurveyDesign(c1, weights="pw", psu="dnum", fpc="fpc").replicate("jk1")
    ci = sk.glm(rep, "sch_yes ~ ell", family="quasibinomial").confint(method="likelihood",
                                                                        parm=["ell"])
    return {"surveykit": [_row(ci, ["ci_low", "ci_high"])],
            **both("likelihood_glm_replicates", "ci_ell")}


def case_olr_default(d):
    from conftest import with_mealcat

    des = sk.SurveyDesign(with_mealcat(d["c1"]), weights="pw", psu="dnum", fpc="fpc")
    t = sk.ordinal(des, "mealcat ~ avg.ed + mobility + stype").tidy().set_index("term")
    se = float(t.loc["avg.ed", "std_error"])
    np.testing.assert_allclose(se, r_value("4.5", "olr_default", "se_avg_ed_tight"), rtol=1e-6)
    return {"surveykit": [se], **both("olr_default", "se_avg_ed")}


def case_degf_replicates(d):
    jk = d["jk1"]
    rep = sk.ReplicateDesign(d["c1"], weights="pw", repweights=jk.repweights, type="JK1",
                             scale=jk.scale, rscales=jk.rscales, degf=10)
    return {"surveykit": [rep.degf], **both("degf_replicates", "degf")}


def case_list_prevalence(d):
    race = pd.read_csv(R_FIXTURES / "data" / "list_race.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the control arm's ceiling/floor notes
        res = sk.list_experiment(sk.SurveyDesign(race, weights="w"), "y", "treat", J=3,
                                 method="lm", covariates=["south", "age", "male", "college"],
                                 se="model")
    return {"surveykit": [float(res.prevalence["estimate"].iloc[0])],
            **both("list_prevalence", "avg")}


#: examples where surveykit's outcome is R's: the bullet documents a convention (names, normal
#: quantiles, R's profile likelihood) or a refusal whose message differs (R's is unrelated)
AGREES = {"term_names", "ordinal_normal", "likelihood_gaussian",
          "poststratify_replicate_empty_cell"}

CASES: dict[str, Callable[[dict], dict[str, list]]] = {
    name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}


# --------------------------------------------------------------------------- the README
#: a side label (surveykit, R 4.1.1, R 4.5, R 4.1.1 and 4.5) or a bold value
TOKEN = re.compile(r"\b(surveykit|R 4\.1\.1 and 4\.5|R 4\.1\.1|R 4\.5)\b|\*\*([^*]+)\*\*")
TAG = re.compile(r"Example \(`(\w+)`\)")


def readme_bullets() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index("Deliberate differences from R")
    block = text[start:].split("\n", 1)[1]
    end = re.search(r"\n(?:\n(?!- |  )|## )", block)  # as docs/hooks/site.py
    block = block[: end.start() if end else len(block)]
    return [re.sub(r"\s+", " ", b) for b in re.split(r"\n(?=- )", block.strip())]


def readme_examples() -> dict[str, dict[str, list[str]]]:
    """{case: {side: [bold values in order]}} from the README's list."""
    out: dict[str, dict[str, list[str]]] = {}
    for bullet in readme_bullets():
        parts = TAG.split(bullet)
        assert "**" not in parts[0], f"bold value outside an Example: {parts[0][:80]}"
        for case, body in zip(parts[1::2], parts[2::2], strict=True):
            assert case not in out, f"Example {case} appears twice"
            sides: dict[str, list[str]] = {}
            current: list[str] = []
            for label, value in TOKEN.findall(body):
                if label:  # a bold value belongs to the side(s) named last
                    current = (["R 4.1.1", "R 4.5"] if label == "R 4.1.1 and 4.5" else [label])
                    continue
                assert current, f"{case}: bold value {value!r} before any side is named"
                for side in current:
                    sides.setdefault(side, []).append(value.strip())
            out[case] = sides
    return out


def _number(s: str) -> tuple[float, float]:
    """A written number and half a unit of its last digit."""
    s = s.replace(",", "").replace("\u2212", "-")
    mant, _, exp = s.lower().partition("e")
    decimals = len(mant.partition(".")[2])
    return float(s), 0.5 * 10.0 ** (-decimals + (int(exp) if exp else 0))


def matches(written: str, truth: object) -> bool:
    """Does a README value (as written) state ``truth`` to its printed precision?"""
    if isinstance(truth, (list, tuple, np.ndarray)):
        if not (written.startswith("[") and written.endswith("]")):
            return False
        parts = written[1:-1].split(", ")
        return len(parts) == len(truth) and all(
            matches(p, t) for p, t in zip(parts, truth, strict=True))
    if truth is ERROR or written == ERROR:
        return truth is ERROR and written == ERROR
    if truth is None or written == "NA":
        return truth is None and written == "NA"
    if written == "NaN":
        return isinstance(truth, float) and math.isnan(truth)
    try:
        value, half = _number(written)
    except ValueError:
        return False
    t = float(truth)  # type: ignore[arg-type]
    return not math.isnan(t) and abs(t - value) <= half * (1 + 1e-9) + 1e-12 * abs(value)


def test_every_bullet_has_an_example():
    """Each difference states an example with both numbers (or says R has no counterpart)."""
    bullets = readme_bullets()
    assert len(bullets) >= 30
    missing = [b[:70] for b in bullets if not TAG.search(b) and "no R counterpart" not in b]
    assert not missing, missing


def test_readme_examples_are_the_checked_cases():
    assert set(readme_examples()) == set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_readme_numbers(data, case):
    """surveykit's side recomputed, R's side from both versions' fixtures, and the README's
    bold numbers equal to them (same count, same order, to the digits written)."""
    truth = CASES[case](data)
    written = readme_examples()[case]
    # every example states surveykit's side and both R versions' (R 4.1.1 and 4.5 when equal)
    assert set(written) == set(truth) == {"surveykit", "R 4.1.1", "R 4.5"}, (case, set(written))
    for side, values in written.items():
        want = truth[side]
        assert len(values) == len(want), f"{case}, {side}: README {values} vs {want}"
        for w, t in zip(values, want, strict=True):
            assert matches(w, t), f"{case}, {side}: README says {w}, computed {t}"
    # every example shows a difference: surveykit's numbers are not R's in some version
    differs = [not _same(truth["surveykit"], truth[f"R {v}"]) for v in VERSIONS]
    assert any(differs) != (case in AGREES), case


def _same(a: object, b: object) -> bool:
    seq = (list, tuple, np.ndarray)
    if isinstance(a, seq) or isinstance(b, seq):
        return (isinstance(a, seq) and isinstance(b, seq) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b, strict=True)))
    if a is ERROR or b is ERROR or a is None or b is None:
        return a is b
    return bool(np.isclose(float(a), float(b), rtol=1e-6, atol=0, equal_nan=True))


def test_number_matching_is_strict():
    """The README check itself: digits, lists, errors and NaN/NA must match exactly."""
    assert matches("0.2423", 0.24229907680199161)
    assert not matches("0.2424", 0.24229907680199161)
    assert matches("3,242,857", 3242856.79799)
    assert not matches("3,242,856", 3242856.79799)
    assert matches("1.1e-17", 1.0791686899412909e-17)
    assert matches("[0.0293, 0.1434]", [0.029319, 0.143429])
    assert not matches("[0.0293, 0.1434]", [0.029319])
    assert matches("error", ERROR) and not matches("error", 1.0) and not matches("1", ERROR)
    assert matches("NaN", float("nan")) and not matches("NaN", None) and matches("NA", None)
