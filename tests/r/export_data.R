# Export R survey's example data sets (api, nhanes) as CSV for the Python tests.
# Run from the repository root via tests/r/make_fixtures.sh; needs R with the 'survey' package.
suppressPackageStartupMessages(library(survey))
out <- "tests/fixtures/r/data"
dir.create(out, recursive = TRUE, showWarnings = FALSE)
data(api)
data(nhanes)
wcsv <- function(df, name) {
  # factors as their labels; 15 significant digits keep weights exact to ~1e-15
  write.csv(df, file.path(out, name), row.names = FALSE, na = "")
}
wcsv(apistrat, "apistrat.csv")
wcsv(apiclus1, "apiclus1.csv")
wcsv(apiclus2, "apiclus2.csv")
# apipop is large; keep the columns population totals are built from
wcsv(apipop[, c("cds", "stype", "sch.wide", "comp.imp", "both", "awards", "api99", "api00",
                "enroll", "meals", "ell", "mobility", "avg.ed")], "apipop.csv")
wcsv(nhanes, "nhanes.csv")
