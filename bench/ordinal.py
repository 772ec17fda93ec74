"""Benchmark: ``sk.ordinal`` vs R ``svyolr`` (default and tight reltol) on issue 14's formula.

Kept as the entry point named in issue 14; the work is done by ``bench/models.py``
(``python3 bench/models.py ordinal``), which also benchmarks ``glm`` and ``negbin``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from models import main

if __name__ == "__main__":
    sys.exit(main(["ordinal", *sys.argv[1:]]))
