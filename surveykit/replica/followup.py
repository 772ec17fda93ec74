"""A second, differently designed SYNTHETIC study, for analysing several studies at once.

It imitates the *design* of follow-up SCS surveys — approval asked as a 0–10 rating, provinces
coded by ISO 3166-2:CN letters, its own sample, weights and raw layout — and is harmonised with
``data_dictionary/mappings/followup.yaml`` onto ``data_dictionary/codebooks/studies.yaml``
(scale-harmonisation rules stated there). EVERY number in it is ASSUMED: it reproduces no
published table, and results computed from it are not findings about China or about any real
survey.

    from surveykit.replica.followup import followup_raw, load_followup, stacked_studies
    raw = followup_raw()            # raw questionnaire layout (a DataFrame), synthetic
    h = load_followup()             # harmonised (surveykit.Harmonised)
    both = stacked_studies()        # the 2018 replica + the follow-up, stacked with `study`
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from surveykit._resources import data_path

if TYPE_CHECKING:
    from surveykit.io import Harmonised

__all__ = ["FOLLOWUP_N", "FOLLOWUP_SEED", "STUDY", "followup_raw", "load_followup",
           "mapping_path", "stacked_studies"]

STUDY = "scs_followup_synthetic"
FOLLOWUP_SEED = 20190601
FOLLOWUP_N = 1500

# ISO 3166-2:CN letter codes (raw coding of this study) -> canonical pinyin names
ISO_PROVINCES = {
    "CN-BJ": "beijing", "CN-TJ": "tianjin", "CN-HE": "hebei", "CN-SX": "shanxi",
    "CN-NM": "neimenggu", "CN-LN": "liaoning", "CN-JL": "jilin", "CN-HL": "heilongjiang",
    "CN-SH": "shanghai", "CN-JS": "jiangsu", "CN-ZJ": "zhejiang", "CN-AH": "anhui",
    "CN-FJ": "fujian", "CN-JX": "jiangxi", "CN-SD": "shandong", "CN-HA": "henan",
    "CN-HB": "hubei", "CN-HN": "hunan", "CN-GD": "guangdong", "CN-GX": "guangxi",
    "CN-HI": "hainan", "CN-CQ": "chongqing", "CN-SC": "sichuan", "CN-GZ": "guizhou",
    "CN-YN": "yunnan", "CN-XZ": "xizang", "CN-SN": "shaanxi", "CN-GS": "gansu",
    "CN-QH": "qinghai", "CN-NX": "ningxia", "CN-XJ": "xinjiang",
}

# ASSUMED design of the synthetic follow-up (none of it is published or measured)
P_REGION = (0.45, 0.30, 0.25)           # East / Central / West (NBS belts) of the sample
P_URBAN_BY_REGION = (0.72, 0.62, 0.55)  # a more rural sample than the 2018 replica
P_COMMERCIAL = 0.70
# shares of the 0-10 ratings 0..10 (approve 6-10: 76 %, midpoint 12 %, disapprove 0-4: 12 %)
P_APPROVE10 = (0.02, 0.01, 0.02, 0.03, 0.04, 0.12, 0.10, 0.16, 0.20, 0.14, 0.16)
P_DONT_KNOW = 0.03
# the study's own weights: raked to ASSUMED margins of its target population (raw codes)
WEIGHT_MARGINS = {"AREA": {1: 0.60, 2: 0.40}, "SEX": {1: 0.51, 2: 0.49}}


def mapping_path() -> str:
    """Path of ``data_dictionary/mappings/followup.yaml``."""
    return str(data_path("mappings", "followup.yaml"))


def followup_raw(seed: int = FOLLOWUP_SEED, n: int = FOLLOWUP_N) -> pd.DataFrame:
    """The synthetic follow-up study in its raw layout (deterministic for a seed).

    Columns: ``ID``, ``WT`` (weights raked to the assumed margins), ``PROV`` (ISO 3166-2:CN),
    ``AREA`` (1 urban, 2 rural), ``AGE`` (16-65), ``SEX`` (1 male, 2 female), ``COMM`` (uses a
    commercial SCS, 1/0), ``APPROVE10`` (0-10, 99 don't know). ``attrs["synthetic"]`` is True.
    """
    from surveykit.replica.generate import _provinces
    from surveykit.weighting import rake

    rng = np.random.default_rng(int(seed))
    prov = _provinces()
    pinyin_to_iso = {v: k for k, v in ISO_PROVINCES.items()}
    region = 1 + rng.choice(3, size=n, p=P_REGION)
    province = np.empty(n, dtype=object)
    for r in (1, 2, 3):  # three regions
        idx = np.flatnonzero(region == r)
        names = prov.loc[prov["region"] == r, "province"].to_numpy()
        province[idx] = names[rng.integers(0, len(names), size=len(idx))]
    urban = rng.random(n) < np.asarray(P_URBAN_BY_REGION)[region - 1]
    age = rng.integers(16, 66, size=n)
    sex = np.where(rng.random(n) < 0.52, 1, 2)
    comm = (rng.random(n) < P_COMMERCIAL + 0.1 * urban - 0.07).astype(int)
    # approval: assumed latent scale (urban and commercial users approve more), cut at the
    # quantiles of the assumed 0-10 shares
    latent = 0.45 * urban + 0.35 * comm + 0.2 * (age > 50) + rng.logistic(size=n)
    cuts = np.quantile(latent, np.cumsum(P_APPROVE10)[:-1])
    approve = np.searchsorted(cuts, latent, side="right").astype(int)
    approve[rng.random(n) < P_DONT_KNOW] = 99
    raw = pd.DataFrame({
        "ID": np.arange(1, n + 1, dtype=np.int64),
        "PROV": [pinyin_to_iso[p] for p in province],
        "AREA": np.where(urban, 1, 2),
        "AGE": age,
        "SEX": sex,
        "COMM": comm,
        "APPROVE10": approve,
    })
    w = rake(raw, WEIGHT_MARGINS).weights
    raw.insert(1, "WT", np.round(w * n / w.sum(), 10))
    raw.attrs["synthetic"] = True
    raw.attrs["description"] = ("SYNTHETIC follow-up study (0-10 approval) - not data from any "
                                "real survey; results are not findings about China")
    return raw


def load_followup(seed: int = FOLLOWUP_SEED, n: int = FOLLOWUP_N) -> Harmonised:
    """A SYNTHETIC follow-up-style study harmonised onto the ``studies`` codebook.

    A second, differently designed study (approval as a 0–10 rating, ISO 3166-2:CN province
    codes, its own weights) for learning to analyse several studies at once. Not real data.

    Parameters
    ----------
    seed : int
        Seed of the deterministic generator.
    n : int
        Number of respondents.

    Returns
    -------
    Harmonised
        ``.frame`` the data, ``.report`` the harmonisation report.

    Examples
    --------
    >>> followup = sk.load_followup()
    >>> len(followup.frame)
    1500"""
    from surveykit.io import harmonise

    return harmonise(followup_raw(seed, n), mapping_path())


def stacked_studies(seed: int = FOLLOWUP_SEED, n: int = FOLLOWUP_N) -> Harmonised:
    """The bundled 2018 replica and the follow-up, harmonised and stacked (``study`` column).

    The replica is harmonised with its own mapping plus the ``studies`` codebook, which derives
    ``approval3`` from the 5-point ``approval`` by the stated rule. Both are SYNTHETIC.

    Parameters
    ----------
    seed : int
        Seed of the follow-up study's generator (see :func:`load_followup`).
    n : int
        Respondents of the follow-up study.

    Returns
    -------
    Harmonised

    Examples
    --------
    >>> stacked = sk.stacked_studies()
    >>> stacked.frame["study"].value_counts().sort_index().to_dict()
    {...}
    """
    from surveykit.io import harmonise, load_mapping, stack
    from surveykit.replica import mapping_path as replica_mapping
    from surveykit.replica import path as replica_path

    m = load_mapping(str(replica_mapping()))
    m = dataclasses.replace(m, codebooks=(*m.codebooks, "studies"))
    first = harmonise(str(replica_path()), m)
    return stack([first, load_followup(seed, n)])
