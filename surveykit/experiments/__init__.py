"""Survey experiments and list experiments on complex designs.

- :func:`experiment`: effects of treatment arms vs control (difference in weighted means or
  Lin's regression adjustment), by group with a test of equal effects;
- :func:`balance`: covariate balance across arms with an omnibus design-based test;
- :func:`list_experiment`: item-count (list) experiments, difference in means and Imai's (2011)
  lm / nls / ml regressions, with a direct question for the social-desirability bias;
- :func:`list_design_test`: Blair & Imai's (2012) test for design effects.

Every variance comes from the design (influence scores or replicate re-estimates).
"""

from __future__ import annotations

from surveykit.experiments.experiment import experiment

__all__ = ["experiment"]
from surveykit.experiments.list_experiment import list_experiment

__all__ += ["list_experiment"]
from surveykit.experiments.balance import balance  # noqa: E402

__all__ += ["balance"]
from surveykit.experiments.list_design_test import list_design_test  # noqa: E402

__all__ += ["list_design_test"]
