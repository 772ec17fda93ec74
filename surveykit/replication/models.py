"""Illustrative survey models on the replication pipeline.

The papers' coefficient tables are NOT in the registry, so these models are illustrations of the
analyses the papers describe, fitted with the public model functions on the same design as the
tables: a survey ordered logit of ``approval`` (Kostka 2019), and a negative binomial of the
behaviour-change index ``bc_index`` and a logit of ``any_change`` within the behaviour module
(Kostka & Antoine 2020). They are printed as the papers print them: odds ratios / incidence rate
ratios with stars, standard errors in parentheses and N.
"""

from __future__ import annotations

from typing import Any

from surveykit.errors import ConvergenceError, ReplicationError
from surveykit.published import evaluate_domain

#: Sociodemographic predictors shared by every model (categories as factors; the lowest code is
#: the reference category).
SOCIODEMOGRAPHICS = ("C(age_group) + C(gender) + C(education) + C(income_group) + urban"
                     " + C(region)")

#: SCS characteristics of Kostka (2019): perceived fairness, own score relative to family and
#: friends, trust in the central government (5-point scales used as scores).
SCS_CHARACTERISTICS = "fairness + score_vs_peers + trust_central"

#: SCS type within the behaviour module: government-pilot participant (1) versus users of
#: commercial SCSs only (0). Every module participant uses at least one SCS.
SCS_TYPE = "gov_pilot"

ILLUSTRATIVE_NOTE = ("Illustrative model: the published coefficient tables are not in the "
                     "registry, so these estimates are not compared with published numbers.")

#: name -> model specification (family, formula, domain, title, outcome, note).
MODEL_SPECS: dict[str, dict[str, Any]] = {
    "approval_ordinal": {
        "family": "ordinal",
        "formula": f"approval ~ {SOCIODEMOGRAPHICS} + {SCS_CHARACTERISTICS}",
        "domain": None,
        "title": "Approval of SCSs: survey ordered logit (odds ratios)",
        "outcome": "approval",
        "note": ILLUSTRATIVE_NOTE + " Kostka (2019) models approval on sociodemographics and "
                "SCS characteristics.",
    },
    "bc_index_negbin": {
        "family": "negbin",
        "formula": f"bc_index ~ {SOCIODEMOGRAPHICS} + {SCS_TYPE}",
        "domain": "behaviour_module == 1",
        "title": "Behaviour-change index (0-12): survey negative binomial (incidence rate ratios)",
        "outcome": "bc_index",
        "note": ILLUSTRATIVE_NOTE + " Kostka & Antoine (2020); behaviour-module participants.",
    },
    "any_change_logit": {
        "family": "binomial",
        "formula": f"any_change ~ {SOCIODEMOGRAPHICS} + {SCS_TYPE}",
        "domain": "behaviour_module == 1",
        "title": "At least one behavioural change: survey logit (odds ratios)",
        "outcome": "any_change",
        "note": ILLUSTRATIVE_NOTE + " Kostka & Antoine (2020); behaviour-module participants.",
    },
}

#: model name -> file/analysis script family (approval, behaviour)
MODEL_FAMILIES: dict[str, tuple[str, ...]] = {
    "approval": ("approval_ordinal",),
    "behaviour": ("bc_index_negbin", "any_change_logit"),
}


POISSON_LIMIT_NOTE = ("The negative binomial dispersion is estimated at its boundary alpha = 0 "
                      "(no overdispersion in these data), where NB2 reduces to Poisson: the "
                      "table shows the survey Poisson fit (same log link, IRRs).")


def model_meta(name: str, model: Any = None) -> dict[str, Any]:
    """The contract's ``model_meta`` entry: title, outcome, family, note (+ formula, domain).

    With the fitted ``model``, the family is the one actually fitted (a negative binomial
    without overdispersion is fitted at its Poisson limit, and the note says so).
    """
    spec = _spec(name)
    meta = {"title": spec["title"], "outcome": spec["outcome"], "family": spec["family"],
            "note": spec["note"], "formula": spec["formula"], "domain": spec["domain"]}
    if model is not None and spec["family"] == "negbin" and getattr(model, "family",
                                                                    "negbin") != "negbin":
        meta["family"] = str(model.family)
        meta["note"] = f"{spec['note']} {POISSON_LIMIT_NOTE}"
    return meta


def _spec(name: str) -> dict[str, Any]:
    if name not in MODEL_SPECS:
        raise ReplicationError("unknown illustrative model", values=[name],
                               hint=f"models: {', '.join(MODEL_SPECS)}")
    return MODEL_SPECS[name]


def fit_model(name: str, design: Any) -> Any:
    """Fit one illustrative model of :data:`MODEL_SPECS` on ``design`` (its domain applied)."""
    import surveykit as sk

    spec = _spec(name)
    if spec["domain"]:
        design = design.subset(evaluate_domain(design.data, spec["domain"]))
    if spec["family"] == "ordinal":
        return sk.ordinal(design, spec["formula"])
    if spec["family"] == "negbin":
        try:
            return sk.negbin(design, spec["formula"])
        except ConvergenceError as exc:
            if "overdispersion" not in (exc.hint or ""):
                raise
            # the NB2 dispersion's maximum is on the boundary alpha = 0, where NB2 is Poisson:
            # fit that limit (same log link, IRRs) and say so in model_meta
            return sk.glm(design, spec["formula"], family="poisson")
    return sk.glm(design, spec["formula"], family=spec["family"])


def fit_models(design: Any, names: tuple[str, ...] | list[str] | None = None
               ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Fit the illustrative models (default: all); returns (models, model_meta)."""
    chosen = list(MODEL_SPECS) if names is None else list(names)
    models = {name: fit_model(name, design) for name in chosen}
    return models, {name: model_meta(name, models[name]) for name in chosen}
