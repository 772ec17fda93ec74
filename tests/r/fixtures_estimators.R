# Reference values for surveykit.inference (svycontrast) and the estimators quantile, ratio,
# var, table and vcov=TRUE by-domain results (svyby(covmat=TRUE)).
# Run from the repository root (tests/r/make_fixtures.sh); needs R with 'survey' (4.1.1 here).
# Writes tests/fixtures/r/estimators_*.csv; the Python tests only read these files.
suppressPackageStartupMessages(library(survey))
options(digits = 15, survey.lonely.psu = "fail")
out <- "tests/fixtures/r"
dir.create(out, recursive = TRUE, showWarnings = FALSE)
data(api)

rows <- list()
add <- function(case, stat, name, estimate, se = NA, ci_low = NA, ci_high = NA, extra = NA) {
  rows[[length(rows) + 1]] <<- data.frame(
    case = case, stat = stat, name = as.character(name), estimate = as.numeric(estimate),
    se = as.numeric(se), ci_low = as.numeric(ci_low), ci_high = as.numeric(ci_high),
    extra = as.character(extra), stringsAsFactors = FALSE)
}
# a whole covariance matrix, one row per cell "row|col"
add_vcov <- function(case, v) {
  nm <- outer(rownames(v), colnames(v), paste, sep = "|")
  add(case, "vcov", as.vector(nm), as.vector(v))
}
add_contrast <- function(case, s) {
  ci <- confint(s)
  add(case, "contrast", names(coef(s)), coef(s), SE(s), ci[, 1], ci[, 2])
  add_vcov(paste0(case, "_contrast"), vcov(s))
}

dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
jk1 <- as.svrepdesign(dclus1, type = "JK1")

## ---- svycontrast on a svyglm ---------------------------------------------------------------
m <- svyglm(api00 ~ ell + meals + stype, design = dstrat)
add_contrast("glm_dstrat", svycontrast(m, list(
  "E-H" = c("stypeH" = -1), "ell-meals" = c(ell = 1, meals = -1),
  "M-H" = c("stypeM" = 1, "stypeH" = -1))))
add_contrast("glm_dstrat_nl", svycontrast(m, quote(ell / meals)))

write.csv(do.call(rbind, rows), file.path(out, "estimators_results.csv"), row.names = FALSE)
