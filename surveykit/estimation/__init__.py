"""Design-based estimation: means, totals, proportions, Rao–Scott crosstabs and Likert tables.

Modelled on R's ``survey`` package (``svymean``, ``svytotal``, ``svyby``, ``svyciprop``,
``svychisq``). Every function takes a :class:`~surveykit.design.SurveyDesign` (linearisation) or
a :class:`~surveykit.design.ReplicateDesign` and returns tidy pandas results.
"""

from __future__ import annotations

from surveykit.estimation.crosstab import CrosstabResult, crosstab
from surveykit.estimation.descriptive import mean, proportion, total
from surveykit.estimation.likert import likert
from surveykit.estimation.quantile import quantile
from surveykit.estimation.ratio import predict_ratio, ratio
from surveykit.estimation.replicates import with_replicates
from surveykit.estimation.table import table
from surveykit.estimation.variance import var

__all__ = ["CrosstabResult", "crosstab", "likert", "mean", "predict_ratio", "proportion",
           "quantile", "ratio", "table", "total", "var", "with_replicates"]
