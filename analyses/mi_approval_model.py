"""Approval of SCSs: complete-case vs multiply imputed survey ordered logit, side by side.

    python analyses/mi_approval_model.py [--data FILE --mapping YAML] [--out DIR] [--m 20]

ILLUSTRATIVE: the papers' coefficient tables are not in the published-table registry. Without
--data it uses the bundled SYNTHETIC replica (not the original survey data): the numbers are not
findings about China. The covariates missing because the respondent refused (income, education,
gender) are imputed m times by chained equations with predictive mean matching
(``sk.impute``: design weights among the predictors); values "not asked" (the SCS questions put
to users only) are structural and stay missing, so those respondents are excluded in both
columns. The imputed fits are combined by Rubin's rules (Barnard–Rubin df, FMI per term).
Writes <out>/mi/approval_cc_vs_mi.csv (+ .json sidecar) and .md, the imputation report and
its figure.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import surveykit as sk
from surveykit import replica
from surveykit.mi.io import atomic_write_figure, atomic_write_text
from surveykit.replication import build_design
from surveykit.replication.models import MODEL_SPECS
from surveykit.replication.pipeline import load_harmonised
from surveykit.replication.scripts import announce

FORMULA = MODEL_SPECS["approval_ordinal"]["formula"]


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--data", help="data file (default: the bundled synthetic replica)")
    p.add_argument("--mapping", help="harmonisation mapping YAML for --data")
    p.add_argument("--out", default="replication", help="output folder")
    p.add_argument("--m", type=int, default=20, help="number of imputations (default 20)")
    p.add_argument("--iterations", type=int, default=10, help="MICE cycles per chain")
    p.add_argument("--seed", type=int, default=20240, help="seed of the imputation chains")
    return p.parse_args(argv)


def side_by_side(cc: object, mi_fit: object) -> pd.DataFrame:
    """One row per term: complete-case and multiply imputed odds ratios (SE), FMI."""
    a, b = cc.tidy(exponentiate=True), mi_fit.tidy(exponentiate=True)  # type: ignore[attr-defined]
    out = pd.DataFrame({"term": a["term"], "label": a["label"],
                        "cc_estimate": a["estimate"], "cc_std_error": a["std_error"],
                        "cc_p_value": a["p_value"],
                        "mi_estimate": b["estimate"], "mi_std_error": b["std_error"],
                        "mi_p_value": b["p_value"], "mi_df": b["df"], "mi_fmi": b["fmi"]})
    return out


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    if args.data is None:  # the bundled SYNTHETIC replica and its mapping
        data, mapping = replica.path(), replica.mapping_path()
    else:
        data, mapping = Path(args.data), args.mapping
    # harmonised here (not only inside load_harmonised) to keep each value's missing reason
    h = sk.harmonise(str(data), str(mapping)) if mapping is not None else None
    frame, provenance, _ = load_harmonised(h.frame if h is not None else data)
    provenance["input_file"] = Path(data).name
    banner = announce(provenance)
    design = build_design(frame, source=provenance["input_file"])
    reasons = h.missing if h is not None else None
    model_vars = [v for v in ("income_group", "education", "gender", "age_group", "urban",
                              "region", "fairness", "score_vs_peers", "trust_central")
                  if v in frame.columns]
    why = reasons if reasons is not None else {}
    to_impute = [v for v in model_vars if v in why and any(
        r is not None and str(r).lower() != "not asked" for r in why[v].dropna())]
    if not to_impute:
        print("no model covariate is missing for a reason to impute; nothing to do")
        return 0
    # the imputation model carries the analysis model's complete variables, outcome included
    # (leaving them out would bias the imputed covariates' coefficients towards zero)
    predictors = [v for v in ["approval", *model_vars] if v not in to_impute
                  and v in frame.columns and frame[v].notna().all()]
    cc = sk.ordinal(design, FORMULA)
    mi = sk.impute(design, to_impute, m=args.m, seed=args.seed, iterations=args.iterations,
                   reasons=reasons, predictors=predictors)
    fit = sk.ordinal(mi, FORMULA)
    table = side_by_side(cc, fit)
    out = Path(args.out) / "mi"
    out.mkdir(parents=True, exist_ok=True)
    head = (f"Approval of SCSs, survey ordered logit (odds ratios): complete cases "
            f"(N = {cc.nobs:,}, excluded {cc.n_missing:,}) vs {mi.label} (N = {fit.nobs:,}, "
            f"excluded {fit.n_missing:,}: 'not asked' values are not imputed)")
    lines = [f"# {head}", ""]
    if banner:
        lines += [f"**{banner}: not findings about China.**", ""]
    lines += ["| Term | Complete cases OR (SE) | Multiply imputed OR (SE) | FMI |",
              "|---|---:|---:|---:|"]
    for r in table.itertuples(index=False):
        lines.append(f"| {str(r.label).replace('|', '/')} | {r.cc_estimate:.3f} "
                     f"({r.cc_std_error:.3f}) | {r.mi_estimate:.3f} ({r.mi_std_error:.3f}) | "
                     f"{r.mi_fmi:.3f} |")
    lines += ["", "Cut-points are on the logit scale (not exponentiated). Multiply imputed: "
              "Rubin's rules, Barnard–Rubin df, FMI = (riv + 2/(df + 3)) / (riv + 1). "
              f"Imputed: {', '.join(to_impute)} (reasons other than 'not asked')."]
    md = "\n".join(lines) + "\n"
    csv = table.assign(data_source="synthetic replica" if banner else provenance["input_file"])
    atomic_write_text(out / "approval_cc_vs_mi.csv", csv.to_csv(index=False,
                                                                lineterminator="\n"))
    atomic_write_text(out / "approval_cc_vs_mi.json", json.dumps({
        "title": head, "synthetic": bool(banner), "banner": banner, "m": mi.m,
        "imputed": to_impute, "settings": {k: v for k, v in mi.report.settings.items()},
        "provenance": {k: str(v) for k, v in provenance.items()}}, indent=2,
        ensure_ascii=False) + "\n")
    atomic_write_text(out / "approval_cc_vs_mi.md", md)
    atomic_write_text(out / "imputation_report.md", mi.report.to_markdown())
    fig = mi.report.plot()
    atomic_write_figure(fig, out / "imputation_report.png")
    print(md)
    print(mi.report.to_markdown())
    print(f"largest FMI: {np.nanmax(table['mi_fmi']):.3f}; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
