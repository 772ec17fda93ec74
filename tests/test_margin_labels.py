"""The weighting margins speak the data's labels: the replication margin table, the report's
margin table and the weight-diagnostics figure read "Age group: 14–30", never
"age_group: 14-30" (issue: results in the user's language)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

import surveykit as sk
from surveykit import labels
from surveykit.replica import calibration_margins
from surveykit.replication.pipeline import build_design, margin_shares
from surveykit.report.figures import weight_diagnostics
from surveykit.report.markdown import margins_table


@pytest.fixture(scope="module")
def replica() -> pd.DataFrame:
    return sk.load_replica()


def _ticks(fig) -> list[str]:
    ax = fig.axes[1]  # the right panel: sample vs weighted vs target
    return [t.get_text() for t in ax.get_yticklabels()]


def test_margin_shares_carry_variable_and_value_labels(replica: pd.DataFrame) -> None:
    table = margin_shares(build_design(replica), calibration_margins())
    age = table[table["variable"] == "age_group"]
    assert set(age["variable_label"]) == {"Age group"}
    assert list(age["label"]) == ["14–30", "31–50", "51–65"]  # en dash, as printed elsewhere
    assert list(age["category"]) == [1, 2, 3]  # codes kept
    urban = table[table["variable"] == "urban"]
    assert set(urban["variable_label"]) == {"Urban residence"}
    # the data's own labels win over the canonical codebook's
    frame = replica.copy()
    labels.attach(frame, {"urban": {0: "countryside", 1: "city"}}, {"urban": "Lives in a city"})
    own = margin_shares(build_design(frame), {"urban": {0: 0.2, 1: 0.8}})
    assert list(own["label"]) == ["countryside", "city"]
    assert set(own["variable_label"]) == {"Lives in a city"}
    # a variable nobody labelled: its name and codes
    frame["band"] = (frame["age"] > 40).astype(int)
    plain = margin_shares(build_design(frame), {"band": {0: 0.5, 1: 0.5}})
    assert list(plain["variable_label"]) == ["band", "band"]
    assert list(plain["label"]) == ["0", "1"]


def test_report_margin_table_and_figure_use_the_labels(replica: pd.DataFrame) -> None:
    design = build_design(replica)
    table = margin_shares(design, calibration_margins())
    header, rows = margins_table(table)
    assert header[:2] == ["Variable", "Category"]
    assert rows[0][:2] == ["Age group", "14–30"]
    assert all("_" not in r[0] for r in rows)
    fig = weight_diagnostics(np.asarray(design.weights), table, replica=True)
    ticks = _ticks(fig)
    assert ticks[:3] == ["Age group: 14–30", "Age group: 31–50", "Age group: 51–65"]
    assert "Urban residence: urban" in ticks
    # a long label goes onto two lines at the colon, the level kept whole
    assert "Region (NBS economic belt):\nCentral" in ticks
    assert not any("age_group" in t or "14-30" in t for t in ticks)


def test_public_weights_plot_labels_a_plain_margin_table(replica: pd.DataFrame) -> None:
    """sk.plot.weights(design, sk.margin_table(...)): the margin table has codes only; the
    figure takes the labels from the design."""
    design = build_design(replica)
    margins = {"age_group": {1: 0.5, 2: 0.4, 3: 0.1}}
    table = sk.margin_table(design, design, margins)
    assert "label" not in table.columns  # codes only
    fig = sk.plot.weights(design, table)
    assert _ticks(fig) == ["Age group: 14–30", "Age group: 31–50", "Age group: 51–65"]
