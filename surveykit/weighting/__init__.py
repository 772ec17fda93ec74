"""Weighting: raking, post-stratification, calibration, trimming and weight diagnostics.

All functions follow R's ``survey`` package (``rake``, ``postStratify``, ``calibrate``,
``trimWeights``) and return designs whose ``vcov`` accounts for the weighting the way R's
``svyrecvar`` does (each attaches a calibration record with ``residualize``).
"""

from __future__ import annotations

from surveykit.weighting.calibrate import GregCalibration, calibrate
from surveykit.weighting.diagnostics import margin_table, weight_summary
from surveykit.weighting.poststratify import PostStratification, poststratify
from surveykit.weighting.rake import RakeResult, Raking, rake
from surveykit.weighting.targets import load_targets
from surveykit.weighting.trim import trim

__all__ = [
    "GregCalibration",
    "PostStratification",
    "RakeResult",
    "Raking",
    "calibrate",
    "load_targets",
    "margin_table",
    "poststratify",
    "rake",
    "trim",
    "weight_summary",
]
