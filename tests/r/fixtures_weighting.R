# R reference fixtures for surveykit.weighting (rake, postStratify, calibrate, trimWeights).
# Run from the repository root via tests/r/make_fixtures.sh (needs R with 'survey').
# Writes tests/fixtures/r/weighting_weights_<data>.csv (one column of weights per case) and
# tests/fixtures/r/weighting_estimates.csv (svymean of api00 and ell after each case, with SE).
# The cases mirror example(rake), example(calibrate), example(postStratify),
# example(trimWeights); population margins/totals come from apipop. Iterative procedures are run
# to tight tolerances so weights can be compared to 1e-8. Generated with survey 4.1.1, whose
# trimWeights(strict=TRUE) lets previously trimmed weights share later redistributions (newer
# versions exclude them); surveykit.weighting.trim follows 4.1.1.
suppressPackageStartupMessages(library(survey))
options(digits = 15)
data(api)
out <- "tests/fixtures/r"
dir.create(out, recursive = TRUE, showWarnings = FALSE)

dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)

pop.types <- data.frame(stype = c("E", "H", "M"), Freq = as.vector(table(apipop$stype)))
pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = as.vector(table(apipop$sch.wide)))
pop.cells <- as.data.frame(xtabs(~stype + sch.wide, data = apipop))
N <- nrow(apipop)
tot.stype <- c(`(Intercept)` = N, stypeH = sum(apipop$stype == "H"),
               stypeM = sum(apipop$stype == "M"))
tot.api99 <- c(tot.stype, api99 = sum(apipop$api99))
tight <- 1e-13

cases <- list(
  apiclus1 = list(
    cal_linear = calibrate(dclus1, ~stype + api99, tot.api99),
    cal_linear_stype = calibrate(dclus1, ~stype, tot.stype),
    cal_logit = calibrate(dclus1, ~stype + api99, tot.api99, calfun = "logit",
                          bounds = c(0.7, 1.7), epsilon = tight, maxit = 100),
    cal_raking = calibrate(dclus1, ~stype + api99, tot.api99, calfun = "raking",
                           epsilon = tight, maxit = 100),
    cal_linear_bounded = calibrate(dclus1, ~stype + api99, tot.api99, calfun = "linear",
                                   bounds = c(0.7, 1.7), epsilon = tight, maxit = 100),
    cal_raking_margins_bounded = calibrate(dclus1, list(~stype, ~sch.wide),
                                           list(pop.types, pop.schwide), calfun = "raking",
                                           bounds = c(0.8, 1.8), epsilon = tight, maxit = 100),
    poststratify_stype = postStratify(dclus1, ~stype, pop.types),
    rake_stype_schwide = rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide),
                              control = list(maxit = 200, epsilon = tight)),
    trim_loose = trimWeights(calibrate(dclus1, ~stype, tot.stype), lower = 31, upper = 50),
    trim_strict = trimWeights(calibrate(dclus1, ~stype, tot.stype), lower = 31, upper = 50,
                              strict = TRUE),
    # continuous g-weights: one pass leaves a weight above 50, strict=TRUE trims it again
    trim_greg_loose = trimWeights(calibrate(dclus1, ~stype + api99, tot.api99),
                                  lower = 20, upper = 50),
    trim_greg_strict = trimWeights(calibrate(dclus1, ~stype + api99, tot.api99),
                                   lower = 20, upper = 50, strict = TRUE)
  ),
  apistrat = list(
    cal_linear = calibrate(dstrat, ~stype + api99, tot.api99),
    cal_logit = calibrate(dstrat, ~stype + sch.wide + api99,
                          c(tot.api99[1:3], sch.wideYes = sum(apipop$sch.wide == "Yes"),
                            tot.api99[4]),
                          calfun = "logit", bounds = c(0.6, 1.6), epsilon = tight, maxit = 100),
    poststratify_cells = postStratify(dstrat, ~stype + sch.wide, pop.cells),
    rake_stype_schwide = rake(dstrat, list(~stype, ~sch.wide), list(pop.types, pop.schwide),
                              control = list(maxit = 200, epsilon = tight)),
    trim_loose = trimWeights(dstrat, lower = 20, upper = 35),
    trim_strict = trimWeights(dstrat, lower = 18, upper = 40, strict = TRUE)
  )
)
base <- list(apiclus1 = dclus1, apistrat = dstrat)

est <- NULL
for (dn in names(cases)) {
  w <- data.frame(base = weights(base[[dn]]))
  all <- c(list(base = base[[dn]]), cases[[dn]])
  for (cn in names(cases[[dn]])) w[[cn]] <- weights(cases[[dn]][[cn]])
  for (cn in names(all)) {
    for (v in c("api00", "ell")) {
      m <- svymean(as.formula(paste0("~", v)), all[[cn]])
      est <- rbind(est, data.frame(data = dn, case = cn, variable = v,
                                   mean = format(as.numeric(coef(m)), digits = 17),
                                   se = format(as.numeric(SE(m)), digits = 17)))
    }
  }
  w[] <- lapply(w, function(x) format(x, digits = 17))
  write.csv(w, file.path(out, paste0("weighting_weights_", dn, ".csv")), row.names = FALSE,
            quote = FALSE)
}
write.csv(est, file.path(out, "weighting_estimates.csv"), row.names = FALSE, quote = FALSE)
