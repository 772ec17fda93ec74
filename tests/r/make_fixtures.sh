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
# Scripts porting R survey's own tests (issue 25) are also run under survey 4.5, the version
# whose tests/ folder they port (Debian ships 4.1.1); their outputs are named after the
# version. Build 4.5 once from the CRAN sources and point SURVEY45_LIB at the library:
#   R CMD INSTALL -l /path/to/lib45 survey_4.5.tar.gz
# Scripts named fixtures45_*.R need features 4.1.1 lacks and run only there.
if [ -n "${SURVEY45_LIB:-}" ]; then
  for script in tests/r/fixtures_rtests_*.R tests/r/fixtures45_*.R; do
    [ -e "$script" ] || continue
    echo "== $script (survey 4.5)"
    R_LIBS="$SURVEY45_LIB" Rscript "$script"
  done
else
  echo "SURVEY45_LIB not set: survey 4.5 fixtures (rtests_*_4.5.csv, fixtures45_*) not remade"
fi
