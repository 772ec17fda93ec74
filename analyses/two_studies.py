"""Two SCS studies at once: the 2018 survey design and a 0-10 follow-up design, stacked.

Worked example of harmonising, stacking and analysing several studies (issue 15 item 3):

    python analyses/two_studies.py [--out DIR] [--seed N] [--n N]

BOTH studies are SYNTHETIC: the bundled replica of the 2018 survey (5-point approval) and a
synthetic follow-up-style study (approval as a 0-10 rating, ISO province codes, its own
weights; surveykit/replica/followup.py). Nothing here is a finding about China. Steps:

1. harmonise each study onto data_dictionary/codebooks/studies.yaml, whose stated rules map
   both approval scales to approval3 (5-point 1-2/3/4-5 and 0-10 0-4/5/6-10 -> disapprove /
   neutral / approve);
2. stack them (surveykit.stack; `study` column, variables a study lacks are "not collected");
3. one design with study as a stratum: SurveyDesign(frame, weights="weight", strata="study");
4. approval3 and the region composition by study, the difference in approval between the
   studies (surveykit.contrast; estimates in different strata are independent) and a logit of
   approval on study, urban residence and region (surveykit.glm).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import surveykit as sk
from surveykit._atomic import write_text
from surveykit._cells import NEUTRALISED_NOTE, write_human_csv
from surveykit.replica.followup import FOLLOWUP_N, FOLLOWUP_SEED, STUDY, stacked_studies

BANNER = ("SYNTHETIC studies - the 2018 replica and a synthetic 0-10 follow-up; not survey "
          "data, not findings about China")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--out", default="replication", help="output folder")
    p.add_argument("--seed", type=int, default=FOLLOWUP_SEED, help="seed of the follow-up")
    p.add_argument("--n", type=int, default=FOLLOWUP_N, help="respondents of the follow-up")
    args = p.parse_args(argv)
    print(f"*** {BANNER} ***")

    stacked = stacked_studies(args.seed, args.n)                       # harmonise + stack
    frame = stacked.frame
    frame["approve"] = (frame["approval3"] == 3).astype(float).where(frame["approval3"].notna())
    design = sk.SurveyDesign(frame, weights="weight", strata="study",  # study = stratum
                             source="stacked synthetic studies")

    by_study = sk.proportion(design, "approval3", by="study")
    region = sk.proportion(design, "region", by="study")
    approve = sk.mean(design, "approve", by="study")
    # estimates of different strata are independent: the joint covariance is diagonal
    names = [str(s) for s in approve["study"]]
    est = sk.Estimates(names=names, coef=approve["estimate"].to_numpy(dtype=float),
                       vcov=np.diag(approve["std_error"].to_numpy(dtype=float) ** 2),
                       df=float(design.df))
    first = next(s for s in names if s != STUDY)
    diff = sk.contrast(est, {STUDY: 1.0, first: -1.0})
    model = sk.glm(design, "approve ~ C(study) + urban + C(region)", family="quasibinomial")

    out = Path(args.out) / "two_studies"
    out.mkdir(parents=True, exist_ok=True)
    tables = {"approval3_by_study": by_study, "region_by_study": region,
              "approve_difference": diff, "approve_logit": model.tidy()}
    for stem, table in tables.items():
        t = pd.DataFrame(table).copy()
        t.insert(0, "data_source", "synthetic studies")
        write_human_csv(t, out / f"{stem}.csv", index=False, float_format="%.6f")
        side = {"file": f"{stem}.csv", "synthetic": True, "banner": BANNER,
                "text_cells": NEUTRALISED_NOTE,
                "design": "SurveyDesign(weights='weight', strata='study')",
                "studies": sorted(set(names)),
                "harmonisation": "data_dictionary/codebooks/studies.yaml (approval3 rules)"}
        write_text(out / f"{stem}.json", json.dumps(side, indent=2) + "\n")

    for study, n in frame["study"].value_counts(sort=False).items():
        print(f"study {study}: {n} respondents (synthetic)")
    show = by_study[["study", "level", "estimate", "std_error", "n_unweighted", "n_missing"]]
    print(show.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    print(f"approve ({STUDY} - {first}): {diff['estimate'].iloc[0]:+.4f} "
          f"(SE {diff['std_error'].iloc[0]:.4f})")
    print(f"design: {len(frame)} respondents in {frame['study'].nunique()} strata (studies); "
          f"wrote {', '.join(sorted(p.name for p in out.glob('*.csv')))} to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
