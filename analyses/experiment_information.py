"""Does information about repression lower support for social credit systems? A survey experiment.

    python analyses/experiment_information.py [--data FILE.csv] [--out DIR]

A worked analysis written as a methods section (issue 22). Without --data it runs on the
SYNTHETIC information experiment of ``surveykit.replica.experiments`` - modelled on the published
summary of Xu, Kostka & Cao (2022, Journal of Politics): 750 students, support for SCSs on a
0-10 scale, control / repression-information / social-order-information arms. Every number it
prints is an illustration of the methods, NOT a finding about China. With --data the same steps
run on a CSV with the same columns (support, arm 1/2/3, state_media, university, region,
weight, female, age, trust_central).

Design. Students are clustered in universities (the PSUs), universities sampled within three
regions (strata), with unequal weights: ``SurveyDesign(frame, weights="weight",
strata="region", psu="university")`` [R: ``svydesign(ids = ~university, strata = ~region,
weights = ~weight)``]. Every standard error is the design's linearisation SE; t tests use the
residual degrees of freedom of ``svyglm`` (design df + 1 - coefficients).

Methods (R equivalents in brackets):

1. Balance. Weighted means and shares of the pre-treatment covariates in each arm, standardised
   differences from control, and an omnibus test that the covariates do not predict the arm
   (survey multinomial logit, joint Wald F) [``svy_vglm`` + ``regTermTest``].
2. Average effects. Difference in weighted mean support between each information arm and the
   control arm with Holm-adjusted p-values across the two arms [``svyglm(support ~ arm)``];
   Lin's (2013) covariate-adjusted estimate with gender, age and trust in the central
   government centred at their weighted means [``svyglm(support ~ arm * (x - xbar))``,
   ``estimatr::lm_lin``].
3. Heterogeneity. The effects among students informed mainly through state media and among the
   others, and a design-based F test that the effects are equal
   [``regTermTest(svyglm(support ~ arm * state_media), ~arm:state_media)``].
4. The published summary. The control-group mean and the relative effect of the repression
   information against the registered published numbers
   (``data_dictionary/published_experiments/xu_kostka_cao_2022.yaml``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import surveykit as sk
from surveykit._atomic import write_text
from surveykit._cells import write_human_csv
from surveykit.experiments.experiment import effects_frame
from surveykit.plot import save as save_figure  # atomic (PNG/PDF via surveykit._atomic)
from surveykit.published import load_registry, within_tolerance
from surveykit.replica.experiments import information_experiment

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "data_dictionary" / "published_experiments"
BANNER = "SYNTHETIC experiment data - illustrations of the methods, not findings about China"
COVARIATES = ["female", "age", "trust_central"]


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def load(path: str | None) -> tuple[pd.DataFrame, bool]:
    if path is None:
        return information_experiment(), True
    frame = sk.read(path) if not path.endswith(".csv") else pd.read_csv(path)
    synthetic = bool(frame.attrs.get("synthetic")) or (
        "data_source" in frame.columns and frame["data_source"].astype(str).str.contains(
            "SYNTHETIC").any())
    return frame, synthetic


def _write(out: Path, stem: str, table: pd.DataFrame, source: str) -> None:
    t = pd.DataFrame(table).copy()
    t.insert(0, "data_source", source)
    write_human_csv(t, out / f"{stem}.csv", index=False, float_format="%.6f")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--data", help="CSV with the experiment's columns (default: synthetic)")
    parser.add_argument("--out", default="replication", help="output folder")
    args = parser.parse_args(argv)
    frame, synthetic = load(args.data)
    source = "SYNTHETIC information experiment" if synthetic else str(args.data)
    if synthetic:
        print(f"*** {BANNER} ***")
        frame.attrs["synthetic"] = True
    design = sk.SurveyDesign(frame, weights="weight", strata="region", psu="university",
                             source=args.data)
    out = Path(args.out) / "experiment_information"
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"*{BANNER}.*" if synthetic else "", "", f"Design: {design.describe()}", ""]

    # 1. balance -------------------------------------------------------------------------------
    bal = sk.balance(design, "arm", ["female", "age", "trust_central", "state_media"])
    _write(out, "balance", bal, source)
    t = bal.attrs["omnibus_test"]
    worst = bal["std_diff"].abs().max()
    lines += [f"1. Balance. The largest standardised difference from control was {worst:.3f}; "
              f"the covariates did not jointly predict the arm ({t['model']}, F({t['df']:.0f}, "
              f"{t['ddf']:.0f}) = {t['statistic']:.2f}, p {_p(t['p_value'])}).", ""]

    # 2. average effects -----------------------------------------------------------------------
    diff = sk.experiment(design, "support", "arm", adjust="holm")
    lin = sk.experiment(design, "support", "arm", covariates=COVARIATES, estimator="lin")
    _write(out, "effects_difference", diff, source)
    _write(out, "effects_lin", lin, source)
    rep, soc = diff.iloc[0], diff.iloc[1]
    lines += [f"2. Average effects. Mean support in the control arm was {rep.mean_control:.2f} "
              f"(0-10). The repression information changed it by {rep.estimate:.2f} points "
              f"(SE {rep.std_error:.2f}, 95% CI {rep.ci_low:.2f} to {rep.ci_high:.2f}, "
              f"t({rep.df:.0f}), Holm-adjusted p {_p(rep.p_adjusted)}), the social-order "
              f"information by {soc.estimate:.2f} (SE {soc.std_error:.2f}, adjusted p "
              f"{_p(soc.p_adjusted)}). Adjusting for {', '.join(COVARIATES)} (Lin 2013) gave "
              f"{lin.iloc[0].estimate:.2f} (SE {lin.iloc[0].std_error:.2f}) and "
              f"{lin.iloc[1].estimate:.2f} (SE {lin.iloc[1].std_error:.2f}).", ""]
    c = sk.contrast(diff, {diff.iloc[0].arm_label: 1, diff.iloc[1].arm_label: -1})
    lines += [f"   The two information arms differed by {c['estimate'].iloc[0]:.2f} points "
              f"(SE {c['std_error'].iloc[0]:.2f}; joint covariance of the effects).", ""]

    # 3. heterogeneity -------------------------------------------------------------------------
    het = sk.experiment(design, "support", "arm", by="state_media")
    _write(out, "effects_by_state_media", het, source)
    eq = het.attrs["equal_effects_test"]
    r = het[het["arm"] == 2].set_index("state_media_label")
    lines += ["3. Heterogeneity. The repression information changed support by "
              + "; ".join(f"{g}: {r.loc[g, 'estimate']:.2f} (SE {r.loc[g, 'std_error']:.2f})"
                          for g in r.index)
              + f". Equal effects across media groups: F({eq['df']}, {eq['ddf']:.0f}) = "
              f"{eq['statistic']:.2f}, p {_p(eq['p_value'])}.", ""]
    title = "Effects of information on support (0-10), by main news source"
    fig = sk.plot.estimates(effects_frame(het),
                            title=f"{title} (SYNTHETIC data)" if synthetic else title,
                            xlabel="Difference from control (points, design-based 95 % CI)")
    save_figure(fig, out / "effects_by_state_media", formats=("png", "pdf"))

    # 4. published summary ---------------------------------------------------------------------
    cells = load_registry(REGISTRY).cells()
    mean_cell = cells[cells["row_id"] == "support_mean"].iloc[0]
    eff_cell = cells[cells["row_id"] == "repression_effect_pct"].iloc[0]
    rel = 100 * rep.estimate / rep.mean_control
    comp = pd.DataFrame([
        {"cell": "control mean support (0-10)", "published": mean_cell.value,
         "computed": rep.mean_control, "tolerance": mean_cell.tolerance,
         "passed": bool(within_tolerance(rep.mean_control, mean_cell.value,
                                         mean_cell.tolerance))},
        {"cell": "repression effect, % of control mean", "published": eff_cell.value,
         "computed": rel, "tolerance": eff_cell.tolerance,
         "passed": bool(within_tolerance(rel, eff_cell.value, eff_cell.tolerance))}])
    _write(out, "published_comparison", comp, source)
    lines += ["4. Against the published summary (Xu, Kostka & Cao 2022, as summarised in issue "
              "22; not verified against the paper): " + "; ".join(
                  f"{r.cell} {r.computed:.2f} vs {r.published:g} "
                  f"({'within' if r.passed else 'outside'} +-{r.tolerance:g})"
                  for r in comp.itertuples()) + ".", ""]
    text = "\n".join(lines)
    write_text(out / "methods.md", text + "\n")
    print(text)
    return 0 if np.isfinite(rep.estimate) else 1


if __name__ == "__main__":
    sys.exit(main())
