"""Survey regression models: ``glm`` (R ``svyglm``), ``ordinal`` (R ``svyolr``), ``negbin`` (NB2).

All return a :class:`~surveykit.models.results.ModelResult` with design-based covariance,
tidy tables, predictions, average marginal effects and publication tables.
"""

from surveykit.models.glm import glm
from surveykit.models.negbin import negbin
from surveykit.models.ordinal import ordinal
from surveykit.models.results import ModelResult
from surveykit.models.tables import regression_table

__all__ = ["ModelResult", "glm", "negbin", "ordinal", "regression_table"]
