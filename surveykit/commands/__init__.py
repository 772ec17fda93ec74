"""One module per `surveykit` subcommand; each exposes ``register(subparsers)``."""
