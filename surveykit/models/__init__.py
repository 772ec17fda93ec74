"""surveykit.models (in progress)."""
