"""Questions the published tables do not answer, asked of the 2018 SCS survey design.

    python analyses/beyond_published_tables.py [--data FILE --mapping YAML] [--out DIR]

A worked re-analysis written as a methods section (issue 12). Without --data it runs on the
bundled SYNTHETIC replica, reconstructed from published tables: every number it prints is an
illustration of the methods, NOT a finding about China. With --data/--mapping the same steps
run on a harmonised copy of the original microdata.

Design. Kostka (2019) publishes weighted results only; the replica carries one weight per
respondent and no strata or clusters, so the design is ``SurveyDesign(frame, weights="weight")``
(R: ``svydesign(ids = ~1, weights = ~weight)``) and every standard error below is the
with-replacement linearisation (or, for the models, sandwich) SE of that design; t tests use
its degrees of freedom. Missing answers are excluded as domains and counted, never dropped
silently.

Questions and methods (R equivalents in brackets):

1. Is approval of SCSs higher in the West than in the East? Mean approval (1-5) by region
   with the joint covariance of the regional means [``svyby(~approval, ~region, svymean,
   covmat=TRUE)``], then the West - East difference with its SE [``svycontrast``].
2. What is the median daily internet use? Weighted median of hours online per day with a
   Woodruff confidence interval [``svyquantile(~internet_hours, 0.5, ci=TRUE)``].
3. Do the three education dummies matter jointly in the approval model? Survey ordered logit
   of approval on age group, gender, education, income, urban residence, region, trust in the
   central government and perceived fairness [``svyolr``]; Wald F test that all education
   coefficients are zero [``regTermTest``].
4. What is the predicted probability that an urban graduate "strongly approves"? From the
   ordered logit: category probabilities with delta-method SEs for an urban respondent with
   high education, other covariates at their reference level or weighted median
   [``predict(..., se.fit=TRUE)``]; and a predictive margin that averages over everyone else's
   characteristics, from a logit of "strongly approve" with urban = 1 and education = high set
   for all [``svypredmeans``].
5. Who prefers the central government as manager of a national SCS? Baseline-category
   multinomial logit of the manager item with "central government" as the baseline
   [``svy_vglm(family = multinomial)``]: relative-risk ratios of each other option against it,
   a joint Wald test of each predictor across the equations, and predicted probabilities of
   choosing the central government for contrasting profiles. "Private companies alone" (32 of
   2,209 respondents) is merged with "private companies with government": 32 cases cannot
   carry 14 coefficients (none of them lacks education, so the fit separates; surveykit
   refuses it with a typed error rather than report diverging estimates).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import surveykit as sk
from surveykit._atomic import write_text
from surveykit._cells import write_human_csv
from surveykit.replication import build_design, load_data
from surveykit.replication.scripts import analysis_args, announce

REGIONS = {1: "East", 2: "Central", 3: "West"}
# "private companies alone" (32 respondents in 2,209) joins "with government": 32 cases cannot
# carry 14 coefficients (no respondent without education chose it: separation)
MANAGERS = {1: "central government", 2: "local government", 3: "private companies",
            4: "private companies", 5: "other / don't know"}
EDUCATION = {1: "none", 2: "low", 3: "medium", 4: "high"}
COVARIATES = ("C(age_group) + C(gender) + C(education) + C(income_group) + urban + C(region)"
              " + trust_central + fairness")


def _fmt(v: float, d: int = 3) -> str:
    return f"{v:.{d}f}"


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _write(out: Path, stem: str, table: pd.DataFrame, source: str) -> None:
    t = pd.DataFrame(table).copy()
    t.insert(0, "data_source", source)
    write_human_csv(t, out / f"{stem}.csv", index=False, float_format="%.6f")


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """Readable labels for region and the manager item (a Categorical keeps the code order)."""
    frame = frame.copy()
    frame["region_name"] = pd.Categorical(frame["region"].map(REGIONS),
                                          categories=list(REGIONS.values()))
    frame["manager"] = pd.Categorical(frame["scs_manager"].map(MANAGERS),
                                      categories=list(dict.fromkeys(MANAGERS.values())))
    frame["strongly_approve"] = (frame["approval"] == 5).astype(float).where(
        frame["approval"].notna())
    return frame


def regional_difference(design: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    means = sk.mean(design, "approval", by="region_name", vcov=True)
    diff = sk.contrast(means, {"West": 1.0, "East": -1.0})
    return means, diff


def profile(design: Any, **values: Any) -> pd.DataFrame:
    """One respondent: the given values, other covariates at the reference level (factors) or
    the weighted median (trust, fairness)."""
    data = design.data
    w = np.asarray(design.weights, dtype=float)
    row: dict[str, Any] = {"age_group": 1.0, "gender": 1.0, "income_group": 2.0,
                           "region": 1.0, "urban": 0.0, "education": 1.0}
    for col in ("trust_central", "fairness"):
        x = data[col].to_numpy(dtype=float)
        ok = np.isfinite(x)
        order = np.argsort(x[ok])
        cum = np.cumsum(w[ok][order]) / w[ok].sum()
        row[col] = float(x[ok][order][np.searchsorted(cum, 0.5)])
    row.update(values)
    return pd.DataFrame([row])


def main(argv: list[str] | None = None) -> int:
    args = analysis_args(__doc__, argv)  # --data FILE --mapping YAML --out DIR
    frame, provenance = load_data(args.data, args.mapping)  # read + harmonise
    banner = announce(provenance)
    source = "synthetic replica" if banner else str(provenance.get("input_file"))
    design = build_design(prepare(frame), source=provenance["input_file"])
    out = Path(args.out) / "beyond_published_tables"
    out.mkdir(parents=True, exist_ok=True)
    lines: list[str] = [f"*{banner}: illustrations of the methods, not findings about China.*"
                        if banner else "", "", f"Design: {design.describe()}", ""]

    # 1. West vs East --------------------------------------------------------------------------
    means, diff = regional_difference(design)
    _write(out, "approval_by_region", means, source)
    _write(out, "approval_west_minus_east", diff, source)
    m = means.set_index("region_name")["estimate"]
    d = diff.iloc[0]
    lines += ["1. Approval by region. Mean approval (1-5) was "
              + ", ".join(f"{r} {_fmt(m[r], 2)}" for r in REGIONS.values())
              + f"; the West - East difference was {_fmt(d.estimate)} (SE {_fmt(d.std_error)}, "
              f"95% CI {_fmt(d.ci_low)} to {_fmt(d.ci_high)}, p {_p(d.p_value)}).", ""]

    # 2. median internet use -------------------------------------------------------------------
    med = sk.quantile(design, "internet_hours", q=[0.5])
    _write(out, "internet_hours_median", med, source)
    r = med.iloc[0]
    lines += [f"2. Internet use. The weighted median was {_fmt(r.estimate, 1)} hours online per "
              f"day (95% CI {_fmt(r.ci_low, 1)} to {_fmt(r.ci_high, 1)}; "
              f"{int(r.n_missing)} missing).", ""]

    # 3. education jointly in the ordered logit ------------------------------------------------
    olr = sk.ordinal(design, f"approval ~ {COVARIATES}")
    wt = sk.wald_test(olr, "C(education)").iloc[0]
    _write(out, "approval_ordinal", olr.tidy(exponentiate=True), source)
    _write(out, "approval_ordinal_education_wald", sk.wald_test(olr, "C(education)"), source)
    lines += [f"3. Education. In the survey ordered logit of approval (N = {olr.nobs}; "
              f"{olr.n_missing} excluded for missing covariates) the three education dummies "
              f"were jointly {'' if wt.p_value < 0.05 else 'not '}significant: Wald "
              f"F({int(wt.df)}, {int(wt.ddf)}) = {_fmt(wt.statistic, 2)}, p {_p(wt.p_value)}.", ""]

    # 4. urban graduate strongly approving -----------------------------------------------------
    grad = profile(design, urban=1.0, education=4.0)
    pr = olr.predict(grad, type="prob", se=True)
    _write(out, "urban_graduate_category_probabilities", pr, source)
    top = pr[pr["level"].astype(float) == 5.0].iloc[0]  # "strongly approve"
    logit = sk.glm(design, f"strongly_approve ~ {COVARIATES}", family="quasibinomial")
    marg = sk.margins(logit, at={"urban": 1.0, "education": 4.0})
    _write(out, "urban_graduate_strongly_approve_margin", marg, source)
    mg = marg.iloc[0]
    lines += ["4. Urban graduates. For an urban respondent with high education (other covariates "
              "at the reference level, trust and fairness at the weighted median "
              f"{_fmt(grad.trust_central[0], 0)} and {_fmt(grad.fairness[0], 0)}) the ordered "
              f"logit predicts P(strongly approve) = {_fmt(top.estimate)} (SE "
              f"{_fmt(top.std_error)}, 95% CI {_fmt(top.ci_low)} to {_fmt(top.ci_high)}). "
              "Averaged over everyone's other characteristics with urban residence and high "
              f"education set for all, the predictive margin from a logit of strongly approving "
              f"is {_fmt(mg.estimate)} (95% CI {_fmt(mg.ci_low)} to {_fmt(mg.ci_high)}).", ""]

    # 5. who prefers the central government ----------------------------------------------------
    mn = sk.multinom(design, f"manager ~ {COVARIATES}", base="central government")
    rrr = mn.tidy(exponentiate=True)
    _write(out, "manager_multinom_rrr", rrr, source)
    write_text(out / "manager_multinom_rrr.md", mn.to_markdown())
    tests = pd.concat([sk.wald_test(mn, t) for t in
                       ("C(age_group)", "C(gender)", "C(education)", "C(income_group)", "urban",
                        "C(region)", "trust_central", "fairness")], ignore_index=True)
    _write(out, "manager_multinom_wald", tests, source)
    profiles = pd.concat([profile(design, trust_central=5.0, urban=1.0, education=4.0),
                          profile(design, trust_central=2.0, urban=1.0, education=4.0)],
                         ignore_index=True)
    probs = mn.predict(profiles, type="prob")
    _write(out, "manager_profiles", pd.concat([profiles, probs], axis=1), source)
    pred = mn.predict(profiles, type="prob", se=True)  # joint vcov in attrs: contrast works
    gap = sk.contrast(pred, {"0:central government": 1.0, "1:central government": -1.0})
    central = pred[pred["outcome_label"] == "central government"].reset_index(drop=True)
    _write(out, "manager_profiles_central_se", central, source)
    _write(out, "manager_trust_gap", gap, source)
    signif = tests[tests["p_value"] < 0.05]
    trust_rrr = rrr[rrr["term"] == "trust_central"].set_index("outcome")["estimate"]
    lines += [f"5. Preferred manager of a national SCS (N = {mn.nobs}; {mn.n_missing} excluded). "
              "Predictors jointly associated with the choice (Wald tests across the three "
              "equations, p < 0.05): "
              + (", ".join(f"{t} (p {_p(p)})" for t, p in zip(signif["terms"], signif["p_value"],
                                                                 strict=True)) or "none")
              + ". Per point of trust in the central government the relative risk of naming "
              "each alternative rather than the central government was "
              + ", ".join(f"{o} {_fmt(v, 2)}" for o, v in trust_rrr.items())
              + ". Predicted probability of choosing the central government for an urban "
              f"graduate: {_fmt(central.estimate[0])} (95% CI {_fmt(central.ci_low[0])} to "
              f"{_fmt(central.ci_high[0])}) with complete trust (5) vs "
              f"{_fmt(central.estimate[1])} ({_fmt(central.ci_low[1])} to "
              f"{_fmt(central.ci_high[1])}) with low trust (2); difference "
              f"{_fmt(gap.estimate[0])} (SE {_fmt(gap.std_error[0])}).", ""]

    text = "\n".join(lines)
    write_text(out / "methods.md", "# Beyond the published tables\n\n" + text + "\n")
    print(text)
    print(mn.to_markdown())
    print(f"wrote {len(list(out.glob('*')))} files to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
