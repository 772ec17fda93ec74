"""The result of a replication run: the contract between the replication engine and the report.

:class:`ReplicationResult` holds, for every published table, a long comparison frame (one row per
published cell) plus the illustrative models, the weighting diagnostics and the provenance of the
run. Everything in it is deterministic, so outputs written from it are byte-identical across runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from surveykit.provenance import SYNTHETIC_BANNER  # re-exported: the one banner wording

#: Columns of a table's long comparison frame, in this order.
COMPARISON_COLUMNS: tuple[str, ...] = (
    "table_id", "row_id", "row_label", "group_id", "group_label", "stat",
    "published", "computed", "difference", "tolerance", "passed",
    "std_error", "ci_low", "ci_high", "n_unweighted", "group_n",
)


@dataclass
class ReplicationResult:
    """Every published table re-computed and compared, plus models, weights and provenance.

    ``tables[table_id]`` has the columns :data:`COMPARISON_COLUMNS`; ``passed`` is True/False for
    a replicable cell and missing (``pd.NA``) when the published cell cannot be re-computed.
    ``computed``, ``std_error``, ``ci_*`` are in the published unit (percent for percent cells).
    """

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    table_meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)
    model_meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    weighting: dict[str, pd.DataFrame] = field(default_factory=dict)
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0))
    provenance: dict[str, Any] = field(default_factory=dict)
    is_replica: bool = False
    sensitivity: Any = None  # surveykit._sensitivity.SensitivityResult when requested
    #: the HarmonisationReport of the input (None for an already canonical file or frame)
    harmonisation: Any = None
    #: every file the run wrote (sorted; empty when nothing was written)
    files: list[Any] = field(default_factory=list)

    @property
    def cells(self) -> pd.DataFrame:
        """All comparison rows of all tables, in registry order."""
        frames = [t for t in self.tables.values() if len(t)]
        if not frames:
            return pd.DataFrame(columns=list(COMPARISON_COLUMNS))
        return pd.concat(frames, ignore_index=True)

    @property
    def n_replicable(self) -> int:
        """Number of published cells that could be re-computed and compared."""
        passed = self.cells["passed"]
        return int(passed.notna().sum())

    @property
    def n_passed(self) -> int:
        """Number of replicable cells within the rounding tolerance."""
        passed = self.cells["passed"]
        return int((passed[passed.notna()].astype(bool)).sum())

    @property
    def n_failed(self) -> int:
        """Number of replicable cells outside the rounding tolerance."""
        return self.n_replicable - self.n_passed

    @property
    def ok(self) -> bool:
        """True when every replicable cell is within rounding."""
        return self.n_failed == 0

    @property
    def summary(self) -> str:
        """One line: "N of M cells within rounding", then the published cells left out and why
        (internally inconsistent with other published cells, or not computable from the data)."""
        cells = self.cells
        text = f"{self.n_passed} of {self.n_replicable} cells within rounding"
        skipped = cells[cells["passed"].isna()]
        if len(skipped):
            reason = skipped.get("reason", pd.Series("", index=skipped.index))
            reason = reason.fillna("").astype(str)
            inconsistent = int(reason.str.startswith("inconsistent").sum())
            other = len(skipped) - inconsistent
            parts = []
            if inconsistent:
                parts.append(f"{inconsistent} inconsistent with other published cells")
            if other:
                parts.append(f"{other} not computable from the data")
            text += f"; {len(skipped)} published cell(s) not compared: " + ", ".join(parts)
        return text

    @property
    def banner(self) -> str | None:
        """The synthetic-replica banner when the run used the replica, else None."""
        return SYNTHETIC_BANNER if self.is_replica else None
