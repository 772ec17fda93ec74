# Reference values for issue 21's new shapes: svyby(svyvar) (sk.var(by=)), svyratio(separate=
# TRUE) with predict(total=) (sk.ratio(separate=True), ratio_predict), and the worked-example
# estimator of docs/ARCHITECTURE.md, the weighted geometric mean (exp of svymean(log y), SE by
# the delta method, svycontrast). Run from the repository root (tests/r/make_fixtures.sh).
# Writes tests/fixtures/r/restructure.csv; the Python tests only read it.
suppressPackageStartupMessages(library(survey))
options(digits = 15, survey.lonely.psu = "fail")
out <- "tests/fixtures/r"
data(api)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
jk1 <- as.svrepdesign(dclus1, type = "JK1")

rows <- list()
add <- function(case, name, estimate, se) {
  rows[[length(rows) + 1]] <<- data.frame(case = case, name = as.character(name),
                                          estimate = as.numeric(estimate), se = as.numeric(se))
}
# svyvar by group: linearisation and JK1
for (nm in c("dclus1", "dstrat", "jk1")) {
  d <- get(nm)
  b <- svyby(~api00, ~stype, d, svyvar)
  add(paste0("var_by_", nm), names(coef(b)), coef(b), SE(b))
}
# separate ratio estimator and its prediction of the population total (R's example)
pop <- tapply(apipop$enroll, apipop$stype, sum, na.rm = TRUE)
rs <- svyratio(~api.stu, ~enroll, dstrat, separate = TRUE)
for (h in names(rs$ratios)) {
  add("ratio_separate_dstrat", h, rs$ratios[[h]]$ratio, sqrt(rs$ratios[[h]]$var))
}
ps <- predict(rs, total = pop)
add("ratio_separate_predict_dstrat", "total", ps$total, ps$se)
rc <- svyratio(~api.stu, ~enroll, dstrat)
pc <- predict(rc, total = sum(apipop$enroll, na.rm = TRUE))
add("ratio_combined_predict_dstrat", "total", pc$total, pc$se)
# worked example: weighted geometric mean of api00 = exp(mean(log(api00))), delta-method SE
for (nm in c("dclus1", "dstrat", "jk1")) {
  d <- get(nm)
  m <- svymean(~I(log(api00)), d)
  g <- svycontrast(m, quote(exp(`I(log(api00))`)))
  add(paste0("geomean_", nm), "api00", coef(g), SE(g))
  gb <- svyby(~I(log(api00)), ~stype, d, svymean, covmat = TRUE)
  add(paste0("geomean_by_", nm), names(coef(gb)), exp(coef(gb)), exp(coef(gb)) * SE(gb))
}
write.csv(do.call(rbind, rows), file.path(out, "restructure.csv"), row.names = FALSE)
