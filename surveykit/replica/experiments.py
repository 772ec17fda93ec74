"""Two SYNTHETIC experiments to learn the experiment estimators on (data_dictionary/experiments.md).

1. ``information_experiment()``: a survey experiment MODELLED ON the published summary of Xu,
   Kostka & Cao (2022, *Journal of Politics*, "Information control and public support for social
   credit systems in China"): 750 students, support for SCSs on a 0-10 scale (control mean about
   7.5), three arms (control / information on the system's repressive potential / information on
   its social-order benefits), an "informed mainly through state media" indicator; the repression
   information lowers support by about 12 %, more among the less informed. Those are the only
   published numbers it follows (as summarised in surveykit's issue 22; the paper itself is not in
   the sources we could check). Everything else - the clustering in 15 universities, the weights,
   the size of the social-order effect, the covariates, how the effect splits by media use - is
   ASSUMED.
2. ``list_experiment_data()``: an ILLUSTRATIVE list experiment on SCS approval with a direct
   question. No list experiment on SCS approval is published that we could replicate: every
   number (J = 3 control items, true approval 62 %, direct "approve" 80 %, the design) is
   ASSUMED.

Both are generated deterministically from fixed seeds, carry ``attrs["synthetic"] = True`` and a
``data_source`` column saying SYNTHETIC, and must never be described as findings about China.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

__all__ = ["INFO_SEED", "LIST_SEED", "information_experiment", "list_experiment_data"]

INFO_SEED = 20220701
LIST_SEED = 20230315
DATA_SOURCE = "SYNTHETIC experiment data - illustrative, not findings about China"

# ---- published (issue 22's summary of Xu, Kostka & Cao 2022) ---------------------------------
INFO_N = 750                    # students
CONTROL_MEAN = 7.5              # support, 0-10, "about 7.5" (read as the control mean)
LATENT_SHIFT = -0.07            # ASSUMED: offsets the rounding/clipping of the 0-10 scale
REPRESSION_EFFECT = -0.12       # "lowered support by about 12 %" (relative to control)
# ---- ASSUMED --------------------------------------------------------------------------------
N_UNIVERSITIES = 15             # 50 students in each, sampled as clusters in 3 regions
SOCIAL_ORDER_EFFECT = +0.03     # relative effect of the social-order information
STATE_MEDIA_SHARE = 0.45        # informed mainly through state media
# the repression effect among state-media (less informed) vs other students, chosen so that
# the sample-average effect is the published -12 %
REPRESSION_BY_MEDIA = {1: -0.18, 0: -0.07}
NOISE_SD = 1.6


def _labels(frame: pd.DataFrame, values: dict, variables: dict) -> pd.DataFrame:
    frame.attrs["value_labels"] = values
    frame.attrs["variable_labels"] = variables
    frame.attrs["synthetic"] = True
    return frame


def information_experiment(seed: int = INFO_SEED) -> pd.DataFrame:
    """The SYNTHETIC information experiment (750 rows; see the module docstring)."""
    rng = np.random.default_rng(seed)
    n = INFO_N
    uni = np.repeat(np.arange(1, N_UNIVERSITIES + 1), n // N_UNIVERSITIES)
    region = (uni - 1) % 3 + 1
    # block randomisation within university: 1 control, 2 repression, 3 social order
    arm = np.concatenate([rng.permutation(np.resize([1, 2, 3], n // N_UNIVERSITIES))
                          for _ in range(N_UNIVERSITIES)])
    uni_effect = rng.normal(0, 0.35, N_UNIVERSITIES)[uni - 1]
    state_media = (rng.random(n) < special.expit(special.logit(STATE_MEDIA_SHARE)
                                                   + 0.4 * (region - 2))).astype(int)
    female = (rng.random(n) < 0.52).astype(int)
    age = rng.integers(18, 26, n)
    trust = np.clip(np.round(rng.normal(3.6 + 0.3 * state_media, 0.9, n)), 1, 5).astype(int)
    base = (CONTROL_MEAN + LATENT_SHIFT + 0.35 * (trust - 3.6)
            + 0.25 * (state_media - STATE_MEDIA_SHARE))
    rel = np.where(arm == 2, np.where(state_media == 1, REPRESSION_BY_MEDIA[1],
                                      REPRESSION_BY_MEDIA[0]),
                   np.where(arm == 3, SOCIAL_ORDER_EFFECT, 0.0))
    latent = base * (1 + rel) + uni_effect + rng.normal(0, NOISE_SD, n)
    support = np.clip(np.round(latent), 0, 10).astype(int)
    # weights: universities sampled with unequal probabilities (ASSUMED enrolment sizes)
    enrol = rng.uniform(8_000, 40_000, N_UNIVERSITIES)[uni - 1]
    weight = enrol / enrol.mean()
    weight = weight / weight.mean()
    frame = pd.DataFrame({
        "resp_id": np.arange(1, n + 1), "university": uni, "region": region,
        "weight": weight, "arm": arm, "support": support, "state_media": state_media,
        "female": female, "age": age, "trust_central": trust,
        "data_source": DATA_SOURCE})
    return _labels(frame, {
        "arm": {1: "control", 2: "repression information", 3: "social-order information"},
        "state_media": {0: "other sources", 1: "mainly state media"},
        "region": {1: "East", 2: "Central", 3: "West"},
        "female": {0: "male", 1: "female"},
        "trust_central": {1: "none", 2: "little", 3: "some", 4: "much", 5: "complete"},
    }, {"support": "Support for the social credit system (0-10)",
        "arm": "Information treatment (randomised)",
        "state_media": "Informed about SCSs mainly through state media",
        "university": "University (cluster)", "weight": "Survey weight (SYNTHETIC)"})


# ---- list experiment: everything ASSUMED ------------------------------------------------------
LIST_N = 2000
LIST_J = 3
TRUE_APPROVAL = 0.62            # the sensitive item: "I approve of the social credit system"
DIRECT_APPROVAL = 0.80          # direct question (the 2018 survey's 80 % approve)
CONTROL_ITEM_P = (0.55, 0.35, 0.70)  # three control items' endorsement rates


def list_experiment_data(seed: int = LIST_SEED) -> pd.DataFrame:
    """The SYNTHETIC list experiment on SCS approval (2,000 rows; see the module docstring)."""
    rng = np.random.default_rng(seed)
    n = LIST_N
    region = rng.choice([1, 2, 3], n, p=[0.45, 0.32, 0.23])
    psu = region * 100 + rng.integers(1, 11, n)          # 10 provinces-like clusters per region
    urban = (rng.random(n) < np.array([0.8, 0.65, 0.55])[region - 1]).astype(int)
    age_group = rng.choice([1, 2, 3], n, p=[0.45, 0.40, 0.15])
    college = (rng.random(n) < 0.25 + 0.2 * urban).astype(int)
    treat = (rng.random(n) < 0.5).astype(int)
    # true (private) approval: higher among older and rural respondents (ASSUMED)
    eta = (special.logit(TRUE_APPROVAL) + 0.35 * (age_group - 1.7) - 0.4 * (urban - 0.7)
           - 0.3 * (college - 0.37))
    approve = (rng.random(n) < special.expit(eta)).astype(int)
    ctrl = sum((rng.random(n) < p).astype(int) for p in CONTROL_ITEM_P)
    count = ctrl + treat * approve
    # direct question: true approvers say yes; some non-approvers also say yes (social
    # desirability), enough for an ASSUMED 80 % direct share
    p_yes_if_not = (DIRECT_APPROVAL - TRUE_APPROVAL) / (1 - TRUE_APPROVAL)
    direct = np.where(approve == 1, 1, (rng.random(n) < p_yes_if_not).astype(int))
    weight = np.exp(rng.normal(0, 0.35, n)) * np.where(urban == 1, 0.9, 1.25)
    weight = weight / weight.mean()
    frame = pd.DataFrame({
        "resp_id": np.arange(1, n + 1), "region": region, "psu": psu, "weight": weight,
        "urban": urban, "age_group": age_group, "college": college, "list_treat": treat,
        "item_count": count, "direct_approve": direct, "data_source": DATA_SOURCE})
    return _labels(frame, {
        "list_treat": {0: "control list (3 items)", 1: "list with 'I approve of the SCS'"},
        "region": {1: "East", 2: "Central", 3: "West"},
        "urban": {0: "rural", 1: "urban"},
        "age_group": {1: "14-30", 2: "31-50", 3: "51-65"},
        "college": {0: "no college degree", 1: "college degree"},
        "direct_approve": {0: "does not approve", 1: "approves"},
    }, {"item_count": "Number of list items that apply (0-4)",
        "list_treat": "List version (randomised)",
        "direct_approve": "Direct question: approves of the social credit system",
        "psu": "Sampling cluster", "weight": "Survey weight (SYNTHETIC)"})
