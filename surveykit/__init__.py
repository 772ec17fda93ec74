"""surveykit — design-based re-analysis of surveys on China's social credit systems.

The public API is re-exported here lazily (so ``surveykit --help`` starts fast):

    import surveykit as sk
    design = sk.SurveyDesign(df, weights="weight", strata="region")
    sk.proportion(design, "approval", by="group")

The bundled default dataset is a SYNTHETIC replica reconstructed from published tables;
results computed from it are not findings about China.
"""

from __future__ import annotations

import importlib
from typing import Any

from surveykit._version import __version__

#: public name -> module that defines it
_API: dict[str, str] = {
    # errors
    "SurveyKitError": "surveykit.errors",
    # designs
    "SurveyDesign": "surveykit.design",
    "ReplicateDesign": "surveykit.design",
    "make_replicate_design": "surveykit.replicates",
    "interaction": "surveykit.design",
    # io and dictionary
    "read": "surveykit.io",
    "harmonise": "surveykit.io",
    "load_mapping": "surveykit.io",
    "stack": "surveykit.io",
    "write_sav": "surveykit.io",
    "Codebook": "surveykit.dictionary",
    "load_codebook": "surveykit.dictionary",
    # weighting
    "rake": "surveykit.weighting",
    "poststratify": "surveykit.weighting",
    "calibrate": "surveykit.weighting",
    "trim": "surveykit.weighting",
    "weight_summary": "surveykit.weighting",
    "margin_table": "surveykit.weighting",
    # estimation
    "mean": "surveykit.estimation",
    "total": "surveykit.estimation",
    "proportion": "surveykit.estimation",
    "crosstab": "surveykit.estimation",
    "likert": "surveykit.estimation",
    "CrosstabResult": "surveykit.estimation",
    "ratio": "surveykit.estimation",
    "predict_ratio": "surveykit.estimation",
    "quantile": "surveykit.estimation",
    "var": "surveykit.estimation",
    "table": "surveykit.estimation",
    "with_replicates": "surveykit.estimation",
    # inference on any result with a covariance (R's coef/vcov/svycontrast)
    "Estimates": "surveykit.inference",
    "as_estimates": "surveykit.inference",
    "contrast": "surveykit.inference",
    "bind": "surveykit.inference",
    "Covariance": "surveykit.inference",
    "attach_covariance": "surveykit.inference",
    # models
    "glm": "surveykit.models",
    "ordinal": "surveykit.models",
    "negbin": "surveykit.models",
    "wald_test": "surveykit.models",
    "anova": "surveykit.models",
    "ttest": "surveykit.models",
    "ranktest": "surveykit.models",
    "margins": "surveykit.models",
    "regression_table": "surveykit.models",
    "pchisqsum": "surveykit.distributions",
    "multinom": "surveykit.models",
    "MultinomResult": "surveykit.models",
    # survey experiments and list experiments (issue 22)
    "experiment": "surveykit.experiments",
    "list_experiment": "surveykit.experiments",
    "balance": "surveykit.experiments",
    "list_design_test": "surveykit.experiments",
    # published tables, replica, replication
    "published": "surveykit.published",
    "replica": "surveykit.replica",
    "load_replica": "surveykit.replica",
    "load_followup": "surveykit.replica.followup",
    "stacked_studies": "surveykit.replica.followup",
    "load_registry": "surveykit.published",
    "SYNTHETIC_BANNER": "surveykit.provenance",
    # weighting sensitivity of every published table
    "sensitivity": "surveykit._sensitivity",
    "weighting_schemes": "surveykit._sensitivity",
    # presentation: figures, labels
    "plot": "surveykit.plot",
    "labels": "surveykit.labels",
    "summary_table": "surveykit._summary_table",
    # multiple imputation (Rubin's rules on every estimator and model)
    "mi_design": "surveykit.mi.api",
    "MIDesign": "surveykit.mi.api",
    "impute": "surveykit.mi.api",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'surveykit' has no attribute {name!r}")
    mod = importlib.import_module(module)
    value = mod if module.endswith("." + name) else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
