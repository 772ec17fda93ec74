"""surveykit.weighting (in progress)."""
