"""Respondent-level generator of the synthetic replica (canonical variables, no weights yet).

Deterministic given the seed: every random draw comes from one ``numpy.random.default_rng``
stream, in a fixed order. Exact published counts are imposed by *rank assignment*: within each
participation group, respondents are ordered by an assumed latent score and the published
(or derived) number of respondents gets each code. Everything is vectorised over respondents;
the only Python loops run over groups, codes and items.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from surveykit._resources import data_path
from surveykit._yaml import read_yaml
from surveykit.errors import ReplicationError
from surveykit.replica import spec

_APPROVAL_COLUMNS = ("total", "sesame", "tencent", "commercial", "commercial_no_gov",
                     "government", "government_only")


# -- small vectorised helpers ----------------------------------------------------------------
def exact_counts(p: np.ndarray, n: int) -> np.ndarray:
    """Integer counts summing to ``n`` closest to ``p * n`` (largest-remainder rounding)."""
    p = np.clip(np.asarray(p, dtype=float), 0.0, None)
    p = np.where(p < 1e-9, 0.0, p)
    p = p / p.sum()
    raw = p * n
    base = np.floor(raw).astype(int)
    short = n - int(base.sum())
    if short > 0:
        order = np.argsort(-(raw - base), kind="stable")[:short]
        base[order] += 1
    return base


def rank_assign(groups: np.ndarray, score: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Code index 0..K-1 per respondent: within group g the lowest ``counts[g, 0]`` scores get 0,
    the next ``counts[g, 1]`` get 1, and so on (``counts`` rows must sum to the group sizes)."""
    groups = np.asarray(groups, dtype=np.intp)
    sizes = np.bincount(groups, minlength=counts.shape[0])
    if not np.array_equal(sizes, counts.sum(axis=1)):
        raise ReplicationError("rank_assign: counts do not add up to the group sizes",
                               values=list(zip(sizes.tolist(), counts.sum(axis=1).tolist(),
                                               strict=True)))
    order = np.lexsort((score, groups))
    g_sorted = groups[order]
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = np.arange(len(groups)) - first[g_sorted]
    cum = np.cumsum(counts, axis=1)
    code_sorted = (rank[:, None] >= cum[g_sorted]).sum(axis=1)
    out = np.empty(len(groups), dtype=np.intp)
    out[order] = code_sorted
    return out


def _cut(latent: np.ndarray, shares: tuple[float, ...]) -> np.ndarray:
    """Ordinal codes 1..K by cutting a latent score at its sample quantiles of ``shares``."""
    qs = np.cumsum(shares)[:-1]
    cuts = np.quantile(latent, qs)
    return 1 + np.searchsorted(cuts, latent, side="right")


def _gumbel(rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
    return rng.gumbel(size=size)


def _provinces() -> pd.DataFrame:

    table = read_yaml(data_path("provinces.yaml"), "provinces file")
    codes = {"east": 1, "central": 2, "west": 3}
    rows = [(k, int(v["gb"]), codes[v["region"]]) for k, v in table.items()]
    return pd.DataFrame(rows, columns=["province", "gb", "region"]).sort_values("gb",
                                                                               kind="stable")


def _registry_values(registry: pd.DataFrame, table: str, rows: list[str],
                     group: str) -> np.ndarray:
    sub = registry[(registry["table_id"] == table) & (registry["group_id"] == group)]
    vals = sub.set_index("row_id")["value"]
    return np.array([vals[r] for r in rows], dtype=float) / 100.0


# -- the generator ---------------------------------------------------------------------------
def generate(seed: int, registry: pd.DataFrame) -> pd.DataFrame:
    """Canonical respondent frame (codes as float, NaN = missing) without weights."""
    rng = np.random.default_rng(seed)
    n = spec.N_TOTAL
    df = pd.DataFrame({"resp_id": np.arange(1, n + 1, dtype=np.int64)})

    # participation atoms and commercial sub-types (exact counts, random order)
    atom_codes = np.repeat(np.arange(len(spec.ATOM_NAMES)),
                           [spec.ATOM_COUNTS[a] for a in spec.ATOM_NAMES])
    atom = rng.permutation(atom_codes)
    names = np.array(spec.ATOM_NAMES)[atom]
    df["commercial"] = np.array([spec.ATOM_COMMERCIAL[a] for a in spec.ATOM_NAMES])[atom]
    df["gov_pilot"] = np.array([spec.ATOM_GOV[a] for a in spec.ATOM_NAMES])[atom]
    df["behaviour_module"] = np.array([spec.ATOM_MODULE[a] for a in spec.ATOM_NAMES])[atom]
    comm = df["commercial"].to_numpy() == 1
    sub_codes = np.repeat(np.arange(len(spec.SUBTYPES)),
                          [spec.SUBTYPE_COUNTS[s] for s in spec.SUBTYPES])
    subtype = np.full(n, -1)
    subtype[comm] = rng.permutation(sub_codes)
    df["sesame"] = np.isin(subtype, [0, 1]).astype(int)
    df["tencent"] = np.isin(subtype, [0, 2]).astype(int)

    _sociodemographics(df, rng)
    _attitudes(df, rng, comm | (df["gov_pilot"].to_numpy() == 1))

    # pilot locality: exactly PILOT_LOCALITY_GOV of the pilot participants, others at random
    gov = df["gov_pilot"].to_numpy() == 1
    loc = rng.random(n) < spec.PILOT_LOCALITY_OTHER_P
    gov_idx = np.flatnonzero(gov)
    loc[gov_idx] = False
    loc[rng.permutation(gov_idx)[: spec.PILOT_LOCALITY_GOV]] = True
    df["pilot_locality"] = loc.astype(int)

    _scs_manager(df, rng)
    _approval(df, rng, names, subtype, registry)
    _behaviour(df, rng, names, subtype, registry)
    # keep ints as float codes (canonical convention), ids as int
    for c in df.columns:
        if c not in ("resp_id", "province"):
            df[c] = df[c].astype(float)
    df["_atom"] = names
    df["_subtype"] = np.where(subtype >= 0, np.array((*spec.SUBTYPES, "none"))[subtype], "none")
    return df


def _sociodemographics(df: pd.DataFrame, rng: np.random.Generator) -> None:
    n = len(df)
    age_group = 1 + rng.choice(3, size=n, p=spec.P_AGE_GROUP)
    lo = np.array([b[0] for b in spec.AGE_BOUNDS])[age_group - 1]
    hi = np.array([b[1] for b in spec.AGE_BOUNDS])[age_group - 1]
    df["age"] = rng.integers(lo, hi + 1)
    df["age_group"] = age_group
    gender = np.where(rng.random(n) < spec.P_FEMALE, 1.0, 2.0)
    gender[rng.random(n) < spec.P_MISSING["gender"]] = np.nan
    df["gender"] = gender
    region = 1 + rng.choice(3, size=n, p=spec.P_REGION)
    prov = _provinces()
    province = np.empty(n, dtype=object)
    for r in (1, 2, 3):  # loop over the three regions only
        idx = np.flatnonzero(region == r)
        choices = prov.loc[prov["region"] == r, "province"].to_numpy()
        province[idx] = choices[rng.integers(0, len(choices), size=len(idx))]
    df["province"] = province
    df["region"] = region
    urban = (rng.random(n) < np.array(spec.P_URBAN_BY_REGION)[region - 1]).astype(int)
    df["urban"] = urban
    u = rng.random(n)
    cum_u = np.cumsum(spec.P_EDUCATION_URBAN)
    cum_r = np.cumsum(spec.P_EDUCATION_RURAL)
    edu = 1 + np.where(urban == 1, np.searchsorted(cum_u, u * cum_u[-1], side="right"),
                       np.searchsorted(cum_r, u * cum_r[-1], side="right")).astype(float)
    edu = np.minimum(edu, 4)
    edu[rng.random(n) < spec.P_MISSING["education"]] = np.nan
    df["education"] = edu
    # income rises with education and age (students at the bottom)
    lat = (0.55 * (np.nan_to_num(edu, nan=3.0) - 3) + 0.5 * (age_group == 2)
           - 0.6 * (age_group == 1) * (df["age"].to_numpy() < 23) + rng.logistic(size=n))
    inc = _cut(lat, (0.30, 0.45, 0.25)).astype(float)
    inc[rng.random(n) < spec.P_MISSING["income_group"]] = np.nan
    df["income_group"] = inc


def _attitudes(df: pd.DataFrame, rng: np.random.Generator, user: np.ndarray) -> None:
    n = len(df)
    age_group = df["age_group"].to_numpy()
    edu = np.nan_to_num(df["education"].to_numpy(), nan=3.0)
    inc = np.nan_to_num(df["income_group"].to_numpy(), nan=2.0)
    hours = rng.gamma(4.0, 1.1, size=n) + 1.0 * (age_group == 1) - 0.8 * (age_group == 3)
    df["internet_hours"] = np.round(np.clip(hours, 0.5, 16.0) * 2) / 2
    shop = (0.6 * df["commercial"].to_numpy() + 0.3 * (age_group == 1) + 0.25 * (inc - 2)
            + rng.logistic(size=n))
    df["online_shopping"] = _cut(shop, (0.03, 0.12, 0.30, 0.40, 0.15))
    p_party = 1 / (1 + np.exp(-(-2.4 + 0.35 * (edu == 4) + 0.5 * (age_group >= 2))))
    party = (rng.random(n) < p_party).astype(int)
    df["party_member"] = party
    trust = _cut(0.9 * party + rng.normal(size=n), (0.03, 0.07, 0.20, 0.40, 0.30))
    df["trust_central"] = trust
    fair = _cut(0.5 * (trust - 3) + 0.3 * user + rng.normal(size=n),
                (0.04, 0.10, 0.26, 0.40, 0.20))
    df["fairness"] = fair
    peers = _cut(0.2 * (df["online_shopping"].to_numpy() - 3) + rng.normal(size=n),
                 (0.05, 0.15, 0.45, 0.25, 0.10)).astype(float)
    peers[~user] = np.nan  # asked of SCS users only
    df["score_vs_peers"] = peers


def _scs_manager(df: pd.DataFrame, rng: np.random.Generator) -> None:
    n = len(df)
    trust = df["trust_central"].to_numpy()
    trust = trust - trust.mean()
    logits = np.log(np.array(spec.P_SCS_MANAGER))[None, :].repeat(n, axis=0)
    logits[:, 0] += 0.35 * trust
    logits[:, 2] -= 0.25 * trust
    logits[:, 3] -= 0.25 * trust
    df["scs_manager"] = 1 + np.argmax(logits + _gumbel(rng, (n, 5)), axis=1)


def _approval(df: pd.DataFrame, rng: np.random.Generator, atom: np.ndarray,
              subtype: np.ndarray, registry: pd.DataFrame) -> None:
    """Approval codes: published group distributions, ordered by an assumed latent scale."""
    rows = [f"approval_{k}" for k in range(1, 6)]
    col = {c: _registry_values(registry, "fig_5_4", rows, c) for c in _APPROVAL_COLUMNS}
    n_go = spec.ATOM_COUNTS["gov_only"]
    n_gov = spec.ATOM_COUNTS["both"] + n_go
    p_both = np.clip((n_gov * col["government"] - n_go * col["government_only"])
                     / spec.ATOM_COUNTS["both"], 0, None)
    p_both /= p_both.sum()
    # commercial users without pilot, by sub-type: match the Sesame, Tencent and no-pilot columns
    cwog = np.isin(atom, ["comm_module", "comm_outside"])
    both = atom == "both"
    nc = np.array([np.sum(cwog & (subtype == s)) for s in range(4)], dtype=float)
    nb = np.array([np.sum(both & (subtype == s)) for s in range(4)], dtype=float)
    p_sub = _subtype_distributions(nc, nb, p_both, col)
    w = spec.ATOM_WEIGHT_SHARE
    w_comm = w["both"] + w["comm_module"] + w["comm_outside"]
    p_neither = (col["total"] - w_comm * col["commercial"] - w["gov_only"] * col["government_only"])
    p_neither = np.clip(p_neither / w["neither"], 0, None)
    p_neither /= p_neither.sum()

    # approval groups: 0 both, 1 gov_only, 2..5 no-pilot commercial by sub-type, 6 neither
    grp = np.full(len(df), 6)
    grp[both] = 0
    grp[atom == "gov_only"] = 1
    grp[cwog] = 2 + subtype[cwog]
    dists = [p_both, col["government_only"], *p_sub, p_neither]
    sizes = np.bincount(grp, minlength=7)
    counts = np.vstack([exact_counts(p, s) for p, s in zip(dists, sizes, strict=True)])
    # the rare codes 1-2 of commercial users without pilot are a handful of people: fix them so
    # Sesame, Tencent and all no-pilot users get the published counts whatever the seed
    for k, sub in enumerate(spec.SUBTYPES):
        row = counts[2 + k]
        row[:2] = spec.APPROVAL_RARE_COUNTS[sub]
        row[4] = sizes[2 + k] - row[:4].sum()
    b = spec.APPROVAL_BETA
    peers = np.nan_to_num(df["score_vs_peers"].to_numpy() - 3, nan=0.0)
    latent = (b["fairness"] * df["fairness"].to_numpy() + b["trust_central"] * df["trust_central"]
              + b["urban"] * df["urban"] + b["age_51_65"] * (df["age_group"] == 3)
              + b["education"] * np.nan_to_num(df["education"].to_numpy(), nan=3.0)
              + b["income_group"] * np.nan_to_num(df["income_group"].to_numpy(), nan=2.0)
              + b["score_vs_peers"] * peers + b["party_member"] * df["party_member"]
              ).to_numpy(dtype=float) + rng.logistic(size=len(df))
    df["approval"] = 1 + rank_assign(grp, latent, counts)


def _subtype_distributions(nc: np.ndarray, nb: np.ndarray, p_both: np.ndarray,
                           col: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Approval distributions of the four sub-types among no-pilot commercial users.

    Bounded least squares: the Sesame, Tencent and no-pilot columns exactly (heavy weight),
    sums to one, and a small ridge towards the no-pilot column.
    """
    from scipy.optimize import lsq_linear

    k = 5
    ses, ten = [0, 1], [0, 2]
    rows, rhs = [], []
    big = 100.0
    for code in range(k):
        for members, target in ((ses, col["sesame"]), (ten, col["tencent"]),
                                ([0, 1, 2, 3], col["commercial_no_gov"])):
            a = np.zeros(4 * k)
            for s in members:
                a[s * k + code] = nc[s]
            both_part = sum(nb[s] for s in members) * p_both[code] if target is not col[
                "commercial_no_gov"] else 0.0
            size = sum(nc[s] + (nb[s] if target is not col["commercial_no_gov"] else 0)
                       for s in members)
            rows.append(big * a / size)
            rhs.append(big * (target[code] - both_part / size))
    for s in range(4):
        a = np.zeros(4 * k)
        a[s * k:(s + 1) * k] = big
        rows.append(a)
        rhs.append(big)
    for s in range(4):
        for code in range(k):
            a = np.zeros(4 * k)
            a[s * k + code] = 0.3
            rows.append(a)
            rhs.append(0.3 * col["commercial_no_gov"][code])
    res = lsq_linear(np.array(rows), np.array(rhs), bounds=(0.0, 1.0), method="bvls")
    return [res.x[s * k:(s + 1) * k] for s in range(4)]


# behaviour -----------------------------------------------------------------------------------
_POS_ROWS = list(spec.POS_ITEMS)
_NEG_ROWS = list(spec.NEG_ITEMS)

# Figure 5.10 groups (published category order) of each sociodemographic variable
_GROUP_VARS = {"region": ("region_east", "region_central", "region_west"),
               "income_group": ("income_low", "income_mid", "income_high"),
               "age_group": ("age_14_30", "age_31_50", "age_51_65"),
               "urban": ("rural", "urban"),
               "education": ("edu_none", "edu_low", "edu_medium", "edu_high"),
               "gender": ("female", "male")}


def _fit_dimensions(df: pd.DataFrame, idx: np.ndarray, subtype_code: np.ndarray,
                    registry: pd.DataFrame) -> tuple[list[np.ndarray], dict[str, list[np.ndarray]]]:
    """Level codes (-1 = not in any level) of the module respondents for each Figure 5.10
    variable plus the Figure 5.8 sub-types, and per level the published no-change share and
    mean positive / negative item counts (pos = (bc + dir) / 2, neg = (bc - dir) / 2)."""
    t = registry[registry["table_id"] == "fig_5_10"].pivot(index="group_id", columns="row_id",
                                                            values="value")
    f58 = registry[registry["table_id"] == "fig_5_8"].pivot(index="group_id", columns="row_id",
                                                             values="value")
    codes, targets = [], {"no": [], "pos": [], "neg": []}
    for var, groups in _GROUP_VARS.items():  # six variables
        x = df[var].to_numpy()[idx]
        levels = [0, 1] if var == "urban" else list(range(1, len(groups) + 1))
        c = np.full(len(idx), -1)
        for k, lev in enumerate(levels):
            c[x == lev] = k
        codes.append(c)
        sub = t.loc[list(groups)]
        targets["no"].append(sub["change_no"].to_numpy() / 100)
        targets["pos"].append(((sub["bc_index"] + sub["bc_direction"]) / 2).to_numpy())
        targets["neg"].append(((sub["bc_index"] - sub["bc_direction"]) / 2).to_numpy())
    codes.append(subtype_code)
    sub = f58.loc[["zhima_only", "tencent_only"]]
    targets["no"].append(sub["change_no"].to_numpy() / 100)
    targets["pos"].append(((sub["bc_index"] + sub["bc_direction"]) / 2).to_numpy())
    targets["neg"].append(((sub["bc_index"] - sub["bc_direction"]) / 2).to_numpy())
    return codes, targets


def _fit(codes: list[np.ndarray], targets: list[np.ndarray], assign: Any, link: str,
         iters: int = 40, rate: float = 0.3) -> np.ndarray:
    """Iteratively shift per-level offsets so the assigned outcome's level means approach the
    targets (a raking of propensities; exact group counts are kept by ``assign``)."""
    shifts = [np.zeros(len(tg)) for tg in targets]

    def f(v: np.ndarray) -> np.ndarray:
        v = np.clip(v, 1e-3, None if link == "log" else 1 - 1e-3)
        return np.log(v) if link == "log" else np.log(v / (1 - v))

    def total_offset() -> np.ndarray:
        offset = np.zeros(len(codes[0]))
        for c, sh in zip(codes, shifts, strict=True):
            offset += np.where(c >= 0, sh[np.maximum(c, 0)], 0.0)
        return offset

    for _ in range(iters):  # iterations x variables x levels, never respondents
        for c, sh, tg in zip(codes, shifts, targets, strict=True):
            out = assign(total_offset())
            for k in range(len(tg)):
                m = c == k
                if m.any():
                    sh[k] += rate * (f(tg[k]) - f(out[m].mean()))
    offset = total_offset()
    return assign(offset)


def responsiveness_stretch(sd: float) -> float:
    """SD of Gumbel noise plus a N(0, sd^2) responsiveness over the SD of Gumbel noise alone."""
    gumbel_var = np.pi**2 / 6
    return float(np.sqrt((gumbel_var + sd**2) / gumbel_var))


def _behaviour(df: pd.DataFrame, rng: np.random.Generator, atom: np.ndarray,
               subtype: np.ndarray, registry: pd.DataFrame) -> None:
    n = len(df)
    module = df["behaviour_module"].to_numpy() == 1
    groups = ("comm_module", "both", "gov_only")
    grp = np.full(n, -1)
    for g, name in enumerate(groups):
        grp[atom == name] = g
    n_g = np.array([spec.ATOM_COUNTS[g] for g in groups])
    n_gov = spec.ATOM_COUNTS["both"] + spec.ATOM_COUNTS["gov_only"]

    def shares(rows: list[str], table: str = "fig_5_9") -> np.ndarray:
        co = _registry_values(registry, table, rows, "commercial_only")
        gv = _registry_values(registry, table, rows, "government")
        go = _registry_values(registry, table, rows, "government_only")
        bo = (n_gov * gv - n_g[2] * go) / n_g[1]
        return np.clip(np.vstack([co, bo, go]), 0.0, 1.0)

    item_p = shares(_POS_ROWS + _NEG_ROWS)                   # 3 x 12
    anyp = shares(["any_positive"])[:, 0]
    anyn = shares(["any_negative"])[:, 0]
    yes = shares(["change_yes"], "fig_5_8")[:, 0]
    yes = np.maximum(yes, np.maximum(anyp, anyn))
    combos = np.column_stack([1 - yes, yes - anyp, yes - anyn, anyp + anyn - yes])
    combo_counts = np.vstack([exact_counts(np.clip(c, 0, 1), m)
                              for c, m in zip(combos, n_g, strict=True)])
    item_counts = [np.vstack([exact_counts(np.array([1 - item_p[k, j], item_p[k, j]]), n_g[k])
                              for k in range(3)]) for j in range(12)]

    idx = np.flatnonzero(module)
    g = grp[idx]
    sub_code = np.full(len(idx), -1)
    in_cm = atom[idx] == "comm_module"
    sub_code[in_cm & (subtype[idx] == 1)] = 0   # Zhima (Sesame) only
    sub_code[in_cm & (subtype[idx] == 2)] = 1   # Tencent only
    codes, targets = _fit_dimensions(df, idx, sub_code, registry)

    beta = spec.BEHAVIOUR_BETA
    # the responsiveness adds latent noise; the covariate effects (stated on the scale of the
    # Gumbel noise alone) are stretched by the ratio of latent SDs so their effect on the
    # counts stays about what it was without it
    stretch = responsiveness_stretch(spec.BEHAVIOUR_RESPONSIVENESS_SD)
    peers = np.nan_to_num(df["score_vs_peers"].to_numpy() - 3, nan=0.0)
    common = stretch * (beta["score_vs_peers"] * peers
                        + beta["fairness"] * (df["fairness"].to_numpy() - 3)
                        + beta["party_member"] * df["party_member"].to_numpy()
                        + beta["trust_central"] * (df["trust_central"].to_numpy() - 3))[idx]
    # all random draws up front, in a fixed order
    noise_none = _gumbel(rng, len(idx))
    noise_combo = _gumbel(rng, len(idx))
    noise_mid = _gumbel(rng, len(idx))
    noise_items = _gumbel(rng, (len(idx), 12))
    # assumed latent responsiveness shared by every stage and item of a respondent (drawn last
    # so the draws above are those of a build without it): induces over-dispersion of bc_index
    resp = rng.normal(scale=spec.BEHAVIOUR_RESPONSIVENESS_SD, size=len(idx))
    extra = np.zeros((len(idx), 12))
    extra[:, spec.ITEMS.index("neg_gaming")] = (stretch * 0.6
                                                * (df["age_group"].to_numpy()[idx] == 1))
    extra[:, spec.ITEMS.index("pos_volunteer")] = (stretch * 0.6
                                                   * (df["party_member"].to_numpy()[idx] == 1))

    none_counts = np.column_stack([combo_counts[:, 0], n_g - combo_counts[:, 0]])
    none = _fit(codes, targets["no"],
                lambda off: (rank_assign(g, -(off - 0.5 * common) + resp + noise_none,
                                         none_counts)
                             == 0).astype(float), link="logit", iters=100) == 1
    # (any positive, any negative) among changers: 1 negative only, 2 positive only, 3 both
    combo = np.zeros(len(idx), dtype=int)
    r_idx = np.flatnonzero(~none)
    combo[r_idx] = 1 + rank_assign(g[r_idx], common[r_idx] + resp[r_idx] + noise_combo[r_idx],
                                   combo_counts[:, 1:])
    m_idx = np.flatnonzero(combo >= 2)
    combo[m_idx] = 2 + rank_assign(g[m_idx], common[m_idx] + resp[m_idx] + noise_mid[m_idx],
                                   combo_counts[:, 2:])
    any_pos = np.isin(combo, [2, 3])
    any_neg = np.isin(combo, [1, 3])

    items = np.zeros((len(idx), 12), dtype=bool)
    for block, eligible, key in ((list(range(6)), any_pos, "pos"),
                                 (list(range(6, 12)), any_neg, "neg")):
        def assign(off: np.ndarray, block: list[int] = block,
                   eligible: np.ndarray = eligible) -> np.ndarray:
            eta = common + resp + off
            for j in block:
                score = np.where(eligible, eta + extra[:, j] + noise_items[:, j], -np.inf)
                items[:, j] = rank_assign(g, score, item_counts[j]) == 1
            _repair(items, block, eligible, g, eta)
            return items[:, block].sum(axis=1).astype(float)

        _fit(codes, targets[key], assign, link="log")
        if (items[:, block] & ~eligible[:, None]).any():
            raise ReplicationError("behaviour item counts exceed the 'at least one' counts")
    block_items = np.full((n, 12), np.nan)
    block_items[idx, :] = items
    for j, name in enumerate(spec.ITEMS):
        df[name] = block_items[:, j]
    pos = block_items[:, :6]
    neg = block_items[:, 6:]
    df["any_positive"] = np.where(module, (np.nan_to_num(pos).sum(1) > 0).astype(float), np.nan)
    df["any_negative"] = np.where(module, (np.nan_to_num(neg).sum(1) > 0).astype(float), np.nan)
    df["any_change"] = np.where(module, (np.nan_to_num(block_items).sum(1) > 0).astype(float),
                                np.nan)
    df["bc_index"] = pos.sum(1) + neg.sum(1)
    df["bc_direction"] = pos.sum(1) - neg.sum(1)


def _repair(items: np.ndarray, cols: list[int], eligible: np.ndarray, g: np.ndarray,
            eta: np.ndarray) -> None:
    """Give every eligible respondent with no item of the block one item, keeping item counts:
    the item moves from a donor (same group, >= 2 items, lowest propensity)."""
    for _ in range(10):
        total = items[:, cols].sum(axis=1)
        zero = eligible & (total == 0)
        if not zero.any():
            return
        order_cols = sorted(cols, key=lambda j: -items[:, j].sum())
        for grp in np.unique(g[zero]):  # at most 3 groups
            for j in order_cols:  # 6 items
                total = items[:, cols].sum(axis=1)
                z = np.flatnonzero(eligible & (total == 0) & (g == grp))
                if not len(z):
                    break
                donors = np.flatnonzero(items[:, j] & (total >= 2) & (g == grp))
                donors = donors[np.argsort(eta[donors], kind="stable")]
                k = min(len(z), len(donors))
                items[donors[:k], j] = False
                items[z[:k], j] = True
    if (eligible & (items[:, cols].sum(axis=1) == 0)).any():
        raise ReplicationError("could not give every 'at least one' respondent an item")


# attitude items assigned after weighting ------------------------------------------------------
def weighted_rank_codes(score: np.ndarray, w: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Codes 1..K by weighted rank: ordered by ``score``, respondents fill the codes so that the
    weighted share of code k is ``shares[k-1]`` to within half of one respondent's weight.

    Each respondent takes the code whose cumulative-share interval contains the middle of its
    own slice of the cumulative weight (stable order, so ties keep the row order).
    """
    order = np.argsort(score, kind="stable")
    ws = np.asarray(w, dtype=float)[order]
    total = ws.sum()
    mid = (np.cumsum(ws) - ws / 2) / total
    cuts = np.cumsum(np.asarray(shares, dtype=float))[:-1]
    out = np.empty(len(score), dtype=float)
    out[order] = 1 + np.searchsorted(cuts, mid, side="right")
    return out


def attitude_items(frame: pd.DataFrame, w: np.ndarray, registry: pd.DataFrame,
                   seed: int) -> pd.DataFrame:
    """``frame`` with the four attitude items of ``spec.ATTITUDE_ITEMS`` added.

    Drawn from their own random stream (``default_rng([seed, ATTITUDE_SEED_OFFSET])``), so the
    other variables and the weights are those of a build without them. The weighted share of
    codes 4-5 is the registry's published value (see the spec for the assumed scales).
    """
    rng = np.random.default_rng([int(seed), spec.ATTITUDE_SEED_OFFSET])
    n = len(frame)
    out = frame.copy()
    noise = {var: rng.logistic(size=n) for var in spec.ATTITUDE_ITEMS}  # fixed order
    shared = rng.logistic(size=n)
    cov = {
        "abs_score_vs_peers": np.abs(np.nan_to_num(frame["score_vs_peers"].to_numpy() - 3.0)),
        "online_shopping": frame["online_shopping"].to_numpy(dtype=float) - 3.0,
        "approval": frame["approval"].to_numpy(dtype=float) - 3.0,
        "trust_central": frame["trust_central"].to_numpy(dtype=float) - 3.0,
        "party_member": frame["party_member"].to_numpy(dtype=float),
        "gov_pilot": frame["gov_pilot"].to_numpy(dtype=float),
        "data_trust_shared": shared,  # the two data-trust items share a component
    }
    for var, item in spec.ATTITUDE_ITEMS.items():  # four items
        table, row = item["cell"]  # type: ignore[misc]
        cell = registry[(registry["table_id"] == table) & (registry["row_id"] == row)]
        if len(cell) != 1:
            raise ReplicationError("registry cell of a replica attitude item not found",
                                   column=var, values=[f"{table}/{row}"])
        top = float(cell["value"].iloc[0]) / 100.0
        bottom = np.asarray(item["bottom"], dtype=float)
        top5 = float(item["top5"])  # type: ignore[arg-type]
        shares = np.concatenate([(1 - top) * bottom / bottom.sum(),
                                 [top * (1 - top5), top * top5]])
        beta = spec.ATTITUDE_BETA[var]
        latent = noise[var].copy()
        for name, b in beta.items():
            latent += b * cov[name]
        universe = (np.ones(n, dtype=bool) if item["universe"] is None
                    else frame[str(item["universe"])].notna().to_numpy())
        codes = np.full(n, np.nan)
        codes[universe] = weighted_rank_codes(latent[universe], w[universe], shares)
        out[var] = codes
    return out
