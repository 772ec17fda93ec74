"""Survey regression models: ``glm`` (R ``svyglm``), ``ordinal`` (R ``svyolr``), ``negbin`` (NB2),
``multinom`` (R ``svyVGAM::svy_vglm(family=multinomial)``).

All return a :class:`~surveykit.models.results.ModelResult` with design-based covariance,
tidy tables, predictions (with delta-method SEs), information criteria, average marginal
effects and publication tables; ``wald_test`` (R ``regTermTest``) and ``anova`` (R
``anova.svyglm``) test terms; ``ttest``/``ranktest`` (R ``svyttest``/``svyranktest``) and
``margins`` (R ``svypredmeans``) are built on ``glm``.
"""

from surveykit.models.glm import glm
from surveykit.models.margins import margins
from surveykit.models.multinom import MultinomResult, multinom
from surveykit.models.negbin import negbin
from surveykit.models.ordinal import ordinal
from surveykit.models.results import ModelResult
from surveykit.models.tables import regression_table
from surveykit.models.ttest import ranktest, ttest
from surveykit.models.wald import anova, wald_test

__all__ = ["ModelResult", "MultinomResult", "anova", "glm", "margins", "multinom", "negbin",
           "ordinal", "ranktest", "regression_table", "ttest", "wald_test"]
