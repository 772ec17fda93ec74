"""surveykit.report (in progress)."""
