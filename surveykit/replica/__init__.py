"""surveykit.replica (in progress)."""
