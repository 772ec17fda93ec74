#!/usr/bin/env bash
# Regenerate every R reference fixture under tests/fixtures/r/ (needs Rscript + survey + MASS;
# fixtures_mi.R also mitools and mitml, which mice depends on).
#   apt-get update && apt-get install -y r-base-core r-cran-survey r-cran-mass
# Run from the repository root. The Python tests read the committed outputs and never need R.
set -euo pipefail
cd "$(dirname "$0")/../.."
Rscript tests/r/export_data.R
for script in tests/r/fixtures_*.R; do
  echo "== $script"
  Rscript "$script"
done
