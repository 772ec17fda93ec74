"""The replica as raw data arrive: questionnaire-style SPSS file (Q-numbers, labels, user-missing).

``to_raw`` turns the canonical frame into the raw layout below; ``write_sav`` writes it with
pyreadstat (row compression) and then pins the header's creation date/time so that the same
seed gives a byte-identical file (pyreadstat stamps the current time otherwise).
``data_dictionary/mappings/replica.yaml`` maps the raw layout back to the canonical variables.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyreadstat

from surveykit._atomic import atomic_path
from surveykit.errors import InputFileError
from surveykit.provenance import REPLICA_WEIGHT_COLUMN
from surveykit.replica import spec

FILE_LABEL = "SYNTHETIC replica - not the original survey data"
WEIGHT_COLUMN = REPLICA_WEIGHT_COLUMN  # the raw .sav weight column (the provenance fingerprint)
NOTE = ("SYNTHETIC replica built by surveykit from the published tables of Kostka (2019) and "
        "Kostka & Antoine (2020). It is NOT the original survey data; results computed from it "
        "are not findings about China. Seed {seed}. See data_dictionary/replica.md.")
#: fixed SPSS header timestamp (the survey's field start), so rebuilt files are byte-identical
HEADER_DATE = b"01 Apr 18"
HEADER_TIME = b"00:00:00"
_DATE_OFFSET = 92   # $FL2 header: rec_type 4 + product 60 + 5 int32 + bias 8
_TIME_OFFSET = 101

NOT_ASKED = -9
REFUSED = -2
YES_NO = {1: "yes", 2: "no"}

# raw name, canonical name, variable label, value labels, raw -> canonical recode (None = same)
_LAYOUT: list[tuple[str, str, str, dict[int, str] | None, dict[int, int] | None]] = [
    ("RESPID", "resp_id", "Respondent ID", None, None),
    ("WEIGHT", "weight", "Survey weight (SYNTHETIC, calibrated to published tables)", None, None),
    ("S1", "gender", "S1 Gender", {1: "male", 2: "female", REFUSED: "refused"}, {1: 2, 2: 1}),
    ("S2", "age", "S2 Age in years", None, None),
    ("S3", "province", "S3 Province of residence (GB/T 2260 code)", None, None),
    ("S4", "urban", "S4 Do you live in a city/town or in the countryside?",
     {1: "city or town", 2: "countryside"}, {1: 1, 2: 0}),
    ("S5", "education", "S5 Highest level of education",
     {1: "no formal education", 2: "primary or junior high school",
      3: "senior high or vocational school", 4: "college or university", REFUSED: "refused"},
     None),
    ("S6", "income_group", "S6 Monthly income (RMB)",
     {1: "less than 1,000", 2: "1,000-4,000", 3: "more than 4,000", REFUSED: "refused"}, None),
    ("Q1", "sesame", "Q1 Do you use Sesame (Zhima) Credit?", YES_NO, {1: 1, 2: 0}),
    ("Q2", "tencent", "Q2 Do you use Tencent Credit?", YES_NO, {1: 1, 2: 0}),
    ("Q3", "commercial", "Q3 Do you use at least one commercial social credit system?", YES_NO,
     {1: 1, 2: 0}),
    ("Q4", "gov_pilot", "Q4 Do you take part in a social credit system of your local government?",
     YES_NO, {1: 1, 2: 0}),
    ("PILOT", "pilot_locality", "Lives in one of the 42 pilot localities (coded from residence)",
     {0: "no", 1: "yes"}, None),
    ("Q5", "approval", "Q5 How much do you approve or disapprove of social credit systems?",
     {1: "strongly disapprove", 2: "somewhat disapprove", 3: "neither approve nor disapprove",
      4: "somewhat approve", 5: "strongly approve"}, None),
    ("Q6", "scs_manager", "Q6 Who should manage a nationwide social credit system?",
     {1: "central government", 2: "local government", 3: "private companies with government",
      4: "private companies alone", 5: "other / don't know"}, None),
    ("Q7", "internet_hours", "Q7 Hours online per day", None, None),
    ("Q8", "online_shopping", "Q8 How often do you shop online?",
     {1: "never", 2: "less than monthly", 3: "monthly", 4: "weekly", 5: "daily"}, None),
    ("Q9", "trust_central", "Q9 How much do you trust the central government?",
     {1: "no trust at all", 2: "little trust", 3: "some trust", 4: "much trust",
      5: "complete trust"}, None),
    ("Q10", "party_member", "Q10 Are you a member of the Chinese Communist Party?", YES_NO,
     {1: 1, 2: 0}),
    ("Q11", "fairness", "Q11 How fair is the way social credit scores are given?",
     {1: "very unfair", 2: "somewhat unfair", 3: "neither", 4: "somewhat fair", 5: "very fair"},
     None),
    ("Q12", "score_vs_peers", "Q12 Compared with family and friends, your score is ...",
     {1: "much lower", 2: "somewhat lower", 3: "about the same", 4: "somewhat higher",
      5: "much higher", NOT_ASKED: "not asked"}, None),
    ("Q13", "peer_score_influence",
     "Q13 How much has your score compared with family and friends influenced your view of SCSs?",
     {1: "not at all", 2: "a little", 3: "somewhat", 4: "strongly", 5: "very strongly",
      NOT_ASKED: "not asked"}, None),
    ("Q14", "mutual_mistrust", "Q14 There is mutual mistrust between citizens in China",
     {1: "strongly disagree", 2: "somewhat disagree", 3: "neither agree nor disagree",
      4: "somewhat agree", 5: "strongly agree"}, None),
    ("Q15_1", "data_trust_central",
     "Q15_1 Trust to use your personal data responsibly: the central government",
     {1: "no trust at all", 2: "little trust", 3: "some trust", 4: "much trust",
      5: "complete trust"}, None),
    ("Q15_2", "data_trust_provincial",
     "Q15_2 Trust to use your personal data responsibly: provincial governments",
     {1: "no trust at all", 2: "little trust", 3: "some trust", 4: "much trust",
      5: "complete trust"}, None),
    ("MODULE", "behaviour_module", "Answered the behaviour module (SCS participants)",
     {0: "no", 1: "yes"}, None),
]
_ITEM_LABELS = {
    "pos_shopping": "Changed my shopping behavior",
    "pos_content": "Shared different content online",
    "pos_volunteer": "Volunteered (e.g., in my local community)",
    "pos_donate": "Donated money",
    "pos_mobile_pay": "Used a mobile payment app for daily transactions",
    "pos_other": "Other",
    "neg_shopping": "Changed my shopping behavior",
    "neg_content": "Shared different content online",
    "neg_traffic": "Adhered to traffic regulations",
    "neg_gaming": "Reduced my time playing online games",
    "neg_unfriend": "Unfriended people on social media",
    "neg_other": "Other",
}
_ITEM_VALUES = {0: "not selected", 1: "selected", NOT_ASKED: "not asked"}
for _k, _item in enumerate(spec.ITEMS):
    _block, _num = ("B1", _k + 1) if _k < 6 else ("B2", _k - 5)
    _stem = ("B1 Changed behaviour to positively influence the score: " if _k < 6
             else "B2 Suppressed behaviour to avoid a negative influence: ")
    _LAYOUT.append((f"{_block}_{_num}", _item, _stem + _ITEM_LABELS[_item], _ITEM_VALUES, None))

#: raw column -> canonical variable
RAW_TO_CANONICAL = {raw: canon for raw, canon, *_ in _LAYOUT}


def _province_codes() -> dict[str, int]:
    from surveykit.replica.generate import _provinces

    prov = _provinces()
    return dict(zip(prov["province"], prov["gb"].astype(int), strict=True))


def to_raw(canonical: pd.DataFrame) -> pd.DataFrame:
    """Raw questionnaire layout of a canonical replica frame (missing -> user-missing codes)."""
    out = {}
    gb = _province_codes()
    module = canonical["behaviour_module"].to_numpy() == 1
    for raw, canon, _label, _values, recode in _LAYOUT:
        col = canonical[canon]
        if canon == "resp_id":
            out[raw] = col.to_numpy(dtype=np.int64).astype(float)
            continue
        if canon == "province":
            out[raw] = col.map(gb).to_numpy(dtype=float)
            continue
        x = col.to_numpy(dtype=float)
        if recode:
            inverse = {v: k for k, v in recode.items()}
            y = np.full(len(x), np.nan)
            for c_val, r_val in inverse.items():  # a handful of codes
                y[x == c_val] = r_val
        else:
            y = x.copy()
        if canon in spec.ITEMS:
            y[~module] = NOT_ASKED
        elif canon in ("score_vs_peers", "peer_score_influence"):
            y[np.isnan(x)] = NOT_ASKED
        elif canon in ("gender", "education", "income_group"):
            y[np.isnan(x)] = REFUSED
        if np.isnan(y).any():
            raise InputFileError("replica raw column would contain system-missing values",
                                 column=raw, values=np.flatnonzero(np.isnan(y)).tolist())
        out[raw] = y
    return pd.DataFrame(out)


def write_sav(raw: pd.DataFrame, path: str | Path, seed: int) -> Path:
    """Write the raw replica to ``path`` (row-compressed .sav) with a fixed header timestamp."""
    path = Path(path)
    labels = {raw_name: label for raw_name, _c, label, _v, _r in _LAYOUT}
    values: dict[str, dict[Any, str]] = {r: v for r, _c, _l, v, _r in _LAYOUT if v}
    missing: dict[str, list[Any]] = {}
    for raw_name, _c, _l, v, _r in _LAYOUT:
        codes = [k for k in (v or {}) if k < 0]
        if codes:
            missing[raw_name] = codes
    formats = {c: "F8.0" for c in raw.columns}
    formats["WEIGHT"] = "F12.8"
    formats["Q7"] = "F5.1"
    with atomic_path(path) as tmp:  # pinned before it is moved into place
        pyreadstat.write_sav(
            raw, str(tmp), file_label=FILE_LABEL, column_labels=labels,
            row_compress=True, note=textwrap.wrap(NOTE.format(seed=seed), 80),
            variable_value_labels=values, missing_ranges=missing, variable_format=formats,
        )
        pin_timestamp(tmp)
    return path


def pin_timestamp(path: Path) -> None:
    """Overwrite the creation date/time in the SPSS header with fixed values."""
    with open(path, "r+b") as fh:
        head = fh.read(_TIME_OFFSET + 8)
        if head[:4] != b"$FL2":
            raise InputFileError("not an SPSS .sav file (no $FL2 header)", file=str(path))
        fh.seek(_DATE_OFFSET)
        fh.write(HEADER_DATE)
        fh.seek(_TIME_OFFSET)
        fh.write(HEADER_TIME)
