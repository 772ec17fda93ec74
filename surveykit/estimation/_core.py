"""Compatibility module: the estimators' shared machinery now lives in small modules.

- :mod:`surveykit.estimation._input` — design check, columns, missing rule, empty-domain rule;
- :mod:`surveykit.estimation._groups` — ``by`` groups (``make_groups``, ``Groups``);
- :mod:`surveykit.estimation._result` — the one result builder (``tidy_result``);
- :mod:`surveykit.variance` — the ratio-of-totals statistic and every variance
  (``estimate_by``, ``estimate_domains``, ``DomainEstimate``, replicate helpers).

The names are re-exported here for the modules and tests that import them from this one.
"""

from __future__ import annotations

from surveykit.estimation._groups import (  # noqa: F401
    Groups,
    _groups_from_codes,
    make_groups,
    warn_empty_groups,
)
from surveykit.estimation._input import (  # noqa: F401
    _MAX_RANGE,
    PROPORTION_COLUMNS,
    RESULT_COLUMNS,
    Design,
    as_list,
    categorical_column,
    check_design,
    get_column,
    indicators,
    numeric_column,
    require_finite,
    require_nonempty,
    small_integer_codes,
)
from surveykit.variance.replication import (  # noqa: F401
    _BLOCK_CELLS,
    column_rank,
    replicate_cov,
    replicate_df,
    replicate_totals,
)
from surveykit.variance.replication import progress_bar as _progress  # noqa: F401
from surveykit.variance.totals import (  # noqa: F401
    _AGG_CELLS,
    ByEstimates,
    DomainEstimate,
    _deff,
    _empty,
    _srs_variance,
    estimate_by,
    estimate_domains,
)
