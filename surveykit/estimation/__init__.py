"""surveykit.estimation (in progress)."""
