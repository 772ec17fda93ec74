"""The synthetic label travels from the replica file to every estimate, table and model."""

from __future__ import annotations

import pandas as pd
import pytest

import surveykit as sk
from surveykit.provenance import SYNTHETIC_BANNER, is_synthetic


@pytest.fixture(scope="module")
def replica_frame() -> pd.DataFrame:
    return sk.harmonise(sk.read(sk.replica.path()), sk.replica.mapping_path()).frame


def test_harmonised_replica_is_marked_and_report_says_so(replica_frame):
    assert replica_frame.attrs["synthetic"] is True
    h = sk.harmonise(sk.read(sk.replica.path()), sk.replica.mapping_path())
    assert any(SYNTHETIC_BANNER in note for note in h.report.notes)


def test_estimates_and_models_from_replica_carry_the_banner(replica_frame):
    design = sk.SurveyDesign(replica_frame, weights="weight")
    assert design.is_synthetic and is_synthetic(design)
    assert sk.proportion(design, "approval").attrs["note"] == SYNTHETIC_BANNER
    assert sk.mean(design.subset(replica_frame["behaviour_module"].eq(1)),
                   "bc_index").attrs["synthetic"] is True
    assert sk.likert(design, "approval").attrs["synthetic"] is True
    fit = sk.glm(design.subset(replica_frame["behaviour_module"].eq(1)),
                 "any_change ~ C(gender)", family="binomial")
    assert SYNTHETIC_BANNER in fit.to_markdown()
    assert SYNTHETIC_BANNER in fit.to_latex()


def test_user_data_carry_no_banner(replica_frame):
    user = replica_frame.copy()
    user.attrs.clear()  # the same numbers, as a user's own (non-synthetic) file
    design = sk.SurveyDesign(user, weights="weight")
    assert not design.is_synthetic
    assert "synthetic" not in sk.proportion(design, "approval").attrs
    fit = sk.glm(design.subset(user["behaviour_module"].eq(1)), "any_change ~ C(gender)",
                 family="binomial")
    assert SYNTHETIC_BANNER not in fit.to_markdown()


def test_canonical_sav_written_from_replica_keeps_a_synthetic_file_label(tmp_path):
    h = sk.harmonise(sk.read(sk.replica.path()), sk.replica.mapping_path())
    out = h.write(tmp_path / "canonical.sav")
    raw = sk.read(out)
    assert "SYNTHETIC" in raw.file_label
    assert len(raw.file_label) <= 64


def test_mapping_synthetic_key_must_be_boolean(tmp_path):
    from surveykit.errors import SchemaError
    from surveykit.io import load_mapping

    with pytest.raises(SchemaError, match="synthetic"):
        load_mapping({"study": "x", "codebooks": ["approval"], "id": "ID",
                      "variables": {"weight": {"value": 1}}, "synthetic": "yes"})
