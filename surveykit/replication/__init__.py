"""surveykit.replication (in progress)."""
