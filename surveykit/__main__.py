"""``python -m surveykit``: the command line without the console script (same as `surveykit`)."""

import sys

from surveykit.cli import main

sys.exit(main())
