"""The version of surveykit, defined once (read by pyproject.toml and `surveykit --version`)."""

__version__ = "0.3.0"
