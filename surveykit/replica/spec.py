"""Published Ns and ASSUMED quantities of the synthetic replica (see data_dictionary/replica.md).

Everything here that is not a published N is an assumption made to build a plausible synthetic
data set; none of it is a finding about China.
"""

from __future__ import annotations

DEFAULT_SEED = 20180401
N_TOTAL = 2209

# ---------------------------------------------------------------------------------------------
# Participation "atoms": mutually exclusive groups with exact (published or derived) counts.
#   1,639 commercial = 1,510 commercial without pilot + 129 both;  160 pilot = 129 + 31;
#   1,581 module = 1,421 commercial-only + 160 pilot;  89 = 1,510 - 1,421 commercial-only users
#   outside the module (assumption); 539 = 2,209 - 1,639 - 31 use no SCS.
# ---------------------------------------------------------------------------------------------
ATOM_NAMES = ("both", "gov_only", "comm_module", "comm_outside", "neither")
ATOM_COUNTS = {"both": 129, "gov_only": 31, "comm_module": 1421, "comm_outside": 89,
               "neither": 539}
ATOM_GOV = {"both": 1, "gov_only": 1, "comm_module": 0, "comm_outside": 0, "neither": 0}
ATOM_COMMERCIAL = {"both": 1, "gov_only": 0, "comm_module": 1, "comm_outside": 1, "neither": 0}
ATOM_MODULE = {"both": 1, "gov_only": 1, "comm_module": 1, "comm_outside": 0, "neither": 0}

# Commercial sub-types among the 1,639 commercial users (published: 1,309 Sesame, 680 Tencent;
# ASSUMED: 450 use both, hence 859 Sesame only, 230 Tencent only, 100 only other systems).
SUBTYPES = ("sesame_tencent", "sesame", "tencent", "other")
SUBTYPE_COUNTS = {"sesame_tencent": 450, "sesame": 859, "tencent": 230, "other": 100}

# Respondents with approval codes 1 / 2 among commercial users without a pilot, by sub-type:
# 0.15 % / 0.40 % of 1,510 = 2 / 6 people, 0.09 % / 0.38 % of 1,309 Sesame users = 1 / 5,
# 0.15 % / 0.08 % of 680 Tencent users = 1 / 1 (the pilot participants have none).
APPROVAL_RARE_COUNTS = {"sesame_tencent": (1, 1), "sesame": (0, 4), "tencent": (0, 0),
                        "other": (1, 1)}

# ASSUMED weighted shares of the atoms used to back out the distribution of respondents without
# any SCS (the weights are then calibrated; these only steer the generator).
ATOM_WEIGHT_SHARE = {"both": 0.0608, "gov_only": 0.0146, "comm_module": 0.6792,
                     "comm_outside": 0.0600, "neither": 0.1854}

# ASSUMED: share of government-pilot participants living in one of the 42 pilot localities,
# and the probability for everybody else (so that 43 % live in a pilot locality and 11 % of
# those know they take part).
PILOT_LOCALITY_GOV = 100  # of the 160 pilot participants (exact count)
PILOT_LOCALITY_OTHER_P = 0.414

# ---------------------------------------------------------------------------------------------
# ASSUMED population margins of the calibration (weighted shares among respondents with a
# value). None is published except the urban share, implied by the prose (82 % urban and 68 %
# rural approval, 80 % overall => about 86 % urban).
# ---------------------------------------------------------------------------------------------
MARGINS: dict[str, dict[int, float]] = {
    "gender": {1: 0.47, 2: 0.53},
    "age_group": {1: 0.48, 2: 0.46, 3: 0.06},
    "region": {1: 0.42, 2: 0.30, 3: 0.28},
    "urban": {0: 0.165, 1: 0.835},
}

# generator probabilities (ASSUMED), before calibration
P_FEMALE = 0.47
P_AGE_GROUP = (0.48, 0.46, 0.06)
AGE_BOUNDS = ((14, 30), (31, 50), (51, 65))
P_REGION = (0.42, 0.30, 0.28)
P_URBAN_BY_REGION = (0.88, 0.81, 0.78)
# item non-response (ASSUMED; the published breakdowns by gender, education and income cannot
# all be reconciled with the totals unless some respondents lack the variable)
P_MISSING = {"gender": 0.05, "education": 0.04, "income_group": 0.06}
# education none/low/medium/high for urban (rural: shifted down)
P_EDUCATION_URBAN = (0.010, 0.10, 0.14, 0.75)
P_EDUCATION_RURAL = (0.030, 0.25, 0.25, 0.47)
P_SCS_MANAGER = (0.59, 0.09, 0.17, 0.015, 0.135)

# ---------------------------------------------------------------------------------------------
# ASSUMED relationships (coefficients of the latent scales; signs follow the hypotheses of
# Kostka 2019 / Kostka & Antoine 2020).
# ---------------------------------------------------------------------------------------------
# approval: ordered-logit latent scale (higher = more approval); within each participation group
# the published code counts are assigned by rank of this latent score.
APPROVAL_BETA = {
    "fairness": 0.55,        # per point 1..5
    "trust_central": 0.45,   # per point 1..5
    "urban": 0.95,
    "age_51_65": 0.45,
    "education": 0.20,       # per level 1..4
    "income_group": 0.18,    # per level 1..3
    "score_vs_peers": 0.15,  # per point, SCS users only
    "party_member": 0.20,
}
# behaviour items: log-propensity shifts (positive and negative items)
BEHAVIOUR_BETA = {
    "score_vs_peers": 0.22,  # per point above 3
    "fairness": 0.10,        # per point above 3
    "party_member": 0.25,
    "trust_central": 0.06,   # per point above 3
}
# ASSUMED per-respondent latent "responsiveness": one N(0, SD^2) draw per module respondent,
# added to the latent score of every behaviour stage (any change, which blocks, every item).
# People who change one behaviour tend to change others, so the index is over-dispersed given
# the covariates (weighted variance / mean of bc_index 1.84; see data_dictionary/replica.md).
# Exact counts are kept: the items are still assigned by rank within the participation group.
BEHAVIOUR_RESPONSIVENESS_SD = 1.0

# ---------------------------------------------------------------------------------------------
# Four attitude items whose only published number is one percentage each (Kostka 2019 pp. 20,
# 22; read as the share of the two top codes of an ASSUMED 5-point scale). They are assigned
# AFTER the weights, by weighted rank of an ASSUMED latent score, so that the weighted share of
# codes 4-5 equals the published number (to within one respondent's weight) without touching
# the weights or any other variable. Per item: the registry cell that gives the top-two share,
# the ASSUMED split of the remaining share over codes 1-3, the ASSUMED share of code 5 within
# codes 4-5, and the universe (None = everybody).
# ---------------------------------------------------------------------------------------------
ATTITUDE_SEED_OFFSET = 15  # own random stream: default_rng([seed, 15]); other draws unchanged
ATTITUDE_ITEMS: dict[str, dict[str, object]] = {
    "peer_score_influence": {"cell": ("prose", "score_vs_peers_influence"),
                             "bottom": (0.15, 0.35, 0.50), "top5": 0.35,
                             "universe": "score_vs_peers"},
    "mutual_mistrust": {"cell": ("prose", "mutual_mistrust"),
                        "bottom": (0.15, 0.30, 0.55), "top5": 0.40, "universe": None},
    "data_trust_central": {"cell": ("fig_5_6", "data_trust_central"),
                           "bottom": (0.15, 0.30, 0.55), "top5": 0.45, "universe": None},
    "data_trust_provincial": {"cell": ("fig_5_6", "data_trust_provincial"),
                              "bottom": (0.10, 0.30, 0.60), "top5": 0.30, "universe": None},
}
# ASSUMED latent scores (logistic noise added): the relative score matters most to those whose
# score differs from their peers'; respondents who see mutual mistrust approve more of SCSs
# (Kostka 2019, p. 20, as the secondary account reports it); trust with data follows general
# trust in the central government (provincial less so; pilot participants, who deal with local
# schemes, a little more).
ATTITUDE_BETA = {
    "peer_score_influence": {"abs_score_vs_peers": 0.6, "online_shopping": 0.15},
    "mutual_mistrust": {"approval": 0.25},
    "data_trust_central": {"trust_central": 0.7, "party_member": 0.3, "data_trust_shared": 0.5},
    "data_trust_provincial": {"trust_central": 0.4, "gov_pilot": 0.4, "data_trust_shared": 0.5},
}

# ---------------------------------------------------------------------------------------------
# Raw-file layout (questionnaire-style names).
# ---------------------------------------------------------------------------------------------
POS_ITEMS = ("pos_shopping", "pos_content", "pos_volunteer", "pos_donate", "pos_mobile_pay",
             "pos_other")
NEG_ITEMS = ("neg_shopping", "neg_content", "neg_traffic", "neg_gaming", "neg_unfriend",
             "neg_other")
ITEMS = POS_ITEMS + NEG_ITEMS

# calibration
WEIGHT_DECIMALS = 10            # weights are stored rounded to 1e-10
G_BOUNDS = (0.2, 5.0)          # logit calibration bounds on g = w / d
LP_BOUNDS = (0.22, 4.5)         # bounds of the feasibility LP (strictly inside G_BOUNDS)
