"""surveykit.io (in progress)."""
