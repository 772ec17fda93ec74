"""Is the 80 % approval real? An illustrative list experiment on approval of SCSs.

    python analyses/list_experiment_approval.py [--data FILE.csv] [--out DIR]

A worked analysis written as a methods section (issue 22). Without --data it runs on the
SYNTHETIC list experiment of ``surveykit.replica.experiments``: no list experiment on SCS approval
is published that we could replicate, so EVERY number in it is ASSUMED (J = 3 control items, a
true approval of 62 %, a direct "approve" share of 80 %, the design). The printed numbers
illustrate the methods, NOT public opinion in China. With --data the same steps run on a CSV with
the same columns (item_count, list_treat 0/1, direct_approve 0/1, region, psu, weight, urban,
age_group, college).

Design. Respondents are clustered (psu) within three regions (strata), with unequal weights:
``SurveyDesign(frame, weights="weight", strata="region", psu="psu")`` [R: ``svydesign(ids = ~psu,
strata = ~region, weights = ~weight, nest = TRUE)``]. R's ``list`` package has no design-based
variance; here every SE comes from the design.

Methods (R equivalents in brackets):

1. Counts by arm: the weighted distribution of the item count in each arm, with the floor (0)
   and ceiling (J, J + 1) cells that a list experiment cannot protect.
2. Design effects: Blair & Imai's (2012) test that adding the sensitive item did not change the
   answers to the control items, with the design's covariance [``list::ict.test``, which
   assumes simple random sampling].
3. Prevalence: the difference in weighted mean counts between the arms, overall and by urban
   residence [``svyglm(item_count ~ list_treat)``].
4. Social desirability: the same respondents' direct answer, the list estimate and their
   difference (direct minus list) from one joint design covariance [``svycontrast`` on
   ``svytotal``].
5. Who approves: Imai's (2011) maximum-likelihood regression of the sensitive item on urban
   residence, age group and college education [``list::ictreg(method = "ml")``], with design-based
   SEs from the estimating functions, and the predicted approval by age group
   [``predict.ictreg(avg = TRUE)``].
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import pandas as pd

import surveykit as sk
from surveykit._atomic import write_text
from surveykit._cells import write_human_csv
from surveykit.plot import save as save_figure  # atomic (PNG/PDF via surveykit._atomic)
from surveykit.replica.experiments import LIST_J, list_experiment_data

BANNER = "SYNTHETIC list experiment - every number ASSUMED; illustrations, not findings about China"
COVARIATES = ["urban", "age_group", "college"]


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _write(out: Path, stem: str, table: pd.DataFrame, source: str) -> None:
    t = pd.DataFrame(table).copy()
    t.insert(0, "data_source", source)
    write_human_csv(t, out / f"{stem}.csv", index=False, float_format="%.6f")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--data", help="CSV with the list experiment's columns")
    parser.add_argument("--out", default="replication", help="output folder")
    args = parser.parse_args(argv)
    if args.data is None:
        frame, synthetic = list_experiment_data(), True
    else:
        frame = pd.read_csv(args.data)
        synthetic = "data_source" in frame.columns and frame["data_source"].astype(
            str).str.contains("SYNTHETIC").any()
    source = "SYNTHETIC list experiment" if synthetic else str(args.data)
    if synthetic:
        print(f"*** {BANNER} ***")
        frame.attrs["synthetic"] = True
    design = sk.SurveyDesign(frame, weights="weight", strata="region", psu="psu", nest=True,
                             source=args.data)
    out = Path(args.out) / "list_experiment_approval"
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"*{BANNER}.*" if synthetic else "", "", f"Design: {design.describe()}", ""]

    # 1-3. counts, design effects, prevalence ---------------------------------------------------
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = sk.list_experiment(design, "item_count", "list_treat", J=LIST_J, by="urban",
                                 direct="direct_approve")
    diag = res.diagnostics
    _write(out, "count_distribution", diag, source)
    fig = sk.plot.list_counts(res, title="Item counts by list version" + (
        " (SYNTHETIC data)" if synthetic else ""))
    save_figure(fig, out / "count_distribution", formats=("png", "pdf"))
    ctrl = diag[diag["arm"] == "control"].set_index("count")["share"]
    treated = diag[diag["arm"] == "treated"].set_index("count")["share"]
    lines += [f"1. Counts. {100 * ctrl[0]:.1f} % of the control arm endorsed no item and "
              f"{100 * ctrl[LIST_J]:.1f} % all {LIST_J}; {100 * treated[LIST_J + 1]:.1f} % of "
              f"the treated arm endorsed all {LIST_J + 1} (their answer to the sensitive item "
              "is revealed)." + (" " + str(caught[0].message) + "." if caught else ""), ""]
    test = sk.list_design_test(design, "item_count", "list_treat", J=LIST_J)
    _write(out, "design_effect_test", test, source)
    lines += [f"2. Design effects. Blair-Imai test with the design's covariance: Bonferroni "
              f"p {_p(test['p_value'].iloc[0])} (small p-values would indicate that the "
              "sensitive item changed the answers to the control items).", ""]
    prev = res.prevalence
    _write(out, "prevalence", prev, source)
    p = prev.set_index("urban_label")
    lines += ["3. Prevalence of approval (difference in weighted mean counts): "
              + "; ".join(f"{g} {100 * p.loc[g, 'estimate']:.1f} % (SE "
                          f"{100 * p.loc[g, 'std_error']:.1f}, 95% CI "
                          f"{100 * p.loc[g, 'ci_low']:.1f} to {100 * p.loc[g, 'ci_high']:.1f})"
                          for g in p.index) + ".", ""]

    # 4. direct vs list -------------------------------------------------------------------------
    dr = res.direct
    _write(out, "direct_vs_list", dr, source)
    o = dr[dr["group"] == "overall"].set_index("quantity") if "group" in dr else dr[
        dr["urban"] == "overall"].set_index("quantity")
    d = o.loc["direct - list"]
    lines += [f"4. Social desirability. Asked directly, {100 * o.loc['direct', 'estimate']:.1f} % "
              f"approved; the list experiment estimates {100 * o.loc['list', 'estimate']:.1f} %. "
              f"The difference, {100 * d.estimate:.1f} percentage points (SE "
              f"{100 * d.std_error:.1f}, 95% CI {100 * d.ci_low:.1f} to {100 * d.ci_high:.1f}, "
              f"p {_p(d.p_value)}), estimates the share who say they approve but do not.", ""]

    # 5. ML regression --------------------------------------------------------------------------
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ml = sk.list_experiment(design, "item_count", "list_treat", J=LIST_J, method="ml",
                                covariates=COVARIATES, by="age_group")
    _write(out, "ml_coefficients", ml.coefficients, source)
    _write(out, "ml_prevalence_by_age", ml.prevalence, source)
    sens = ml.coefficients[ml.coefficients["item"] == "sensitive"].set_index("term")
    pa = ml.prevalence.set_index("age_group_label")
    lines += ["5. Who approves (ML, design-based SEs). Log-odds of approval: "
              + "; ".join(f"{t} {sens.loc[t, 'estimate']:.2f} (SE {sens.loc[t, 'std_error']:.2f})"
                          for t in COVARIATES)
              + ". Predicted approval by age group: "
              + "; ".join(f"{g} {100 * pa.loc[g, 'estimate']:.1f} % (SE "
                          f"{100 * pa.loc[g, 'std_error']:.1f})" for g in pa.index) + ".", ""]
    text = "\n".join(lines)
    write_text(out / "methods.md", text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
