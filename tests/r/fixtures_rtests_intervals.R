# Intervals (issue 25, item 6): svyciprop(method = "wilson") (survey >= 4.5 only; Debian's
# 4.1.1 has no such method, so its output file has no Wilson rows) and profile-likelihood
# confidence intervals of svyglm coefficients, confint(fit, method = "likelihood") (both
# versions). Output tests/fixtures/r/rtests_intervals_<survey version>.csv.
# The profile interval is R's own definition: MASS's profile grid (steps of zmax/5 design SEs)
# interpolated by an FMM spline, at the level rescaled for the design effect; glm fits are
# converged (epsilon = 1e-16) so that the grid is R's definition, not its stopping rule.
suppressPackageStartupMessages(library(survey))
out <- "tests/fixtures/r"
ver <- as.character(packageVersion("survey"))
f17 <- function(x) sprintf("%.17g", x)
exact <- glm.control(epsilon = 1e-16, maxit = 200)
data(api)
data(nhanes)
rows <- list()
put <- function(case, quantity, value) {
  rows[[length(rows) + 1]] <<- data.frame(survey_version = ver, case = case,
                                          quantity = quantity, value = f17(as.numeric(value)))
}
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
dnh <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE,
                 data = nhanes)
rclus1 <- as.svrepdesign(dclus1)
has_wilson <- "wilson" %in% eval(formals(svyciprop)$method)
if (has_wilson) {
  props <- list(
    clus1_schwide = list(~I(sch.wide == "Yes"), dclus1),
    clus2_awards = list(~I(awards == "Yes"), dclus2),          # two stages, FPC at both
    strat_domain_both = list(~I(both == "Yes"), subset(dstrat, stype != "E")),  # a domain
    nhanes_hichol = list(~HI_CHOL, dnh),                       # missing values
    jk1_clus1_schwide = list(~I(sch.wide == "Yes"), rclus1),   # replicate design
    clus1_rare = list(~I(api00 > 850), dclus1))                # p near 0
  for (case in names(props)) {
    pr <- props[[case]]
    for (level in c(0.95, 0.9)) {
      ci <- svyciprop(pr[[1]], pr[[2]], method = "wilson", level = level, na.rm = TRUE)
      put(case, paste0("wilson_", level), c(coef(ci), confint(ci)))
    }
  }
  by <- svyby(~I(sch.wide == "Yes"), ~stype, dclus1, svyciprop, method = "wilson",
              vartype = "ci")
  put("clus1_by_stype", "wilson_0.95", c(coef(by), by$ci_l, by$ci_u))
}
models <- list(
  logit_clus1 = list(sch.wide ~ ell + meals, dclus1, quasibinomial()),
  logit_clus1_binomial = list(sch.wide ~ ell + meals, dclus1, binomial()),
  # (gaussian models, and any model on a subset() domain, fail in R's profiling the same way:
  # "NA/NaN/Inf in 'y'"; no reference for them)
  # (R's profiling fails when the model excluded rows with missing values -- glm.fit gets
  # the NA outcomes -- so the nhanes model's design is built on the complete rows)
  probit_nhanes = list(HI_CHOL ~ agecat + RIAGENDR,
                       svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR,
                                 nest = TRUE, data = subset(nhanes, !is.na(HI_CHOL))),
                       quasibinomial(link = "probit")),
  poisson_clus2 = list(emer ~ ell + stype, dclus2, poisson()))
for (case in names(models)) {
  m <- models[[case]]
  message(case)
  des_cur <<- m[[2]]
  fam_cur <<- m[[3]]
  fit <- eval(bquote(svyglm(.(m[[1]]), design = des_cur, family = fam_cur, control = exact)))
  put(case, "coef", coef(fit))
  for (level in c(0.95, 0.8)) {
    ci <- suppressMessages(confint(fit, method = "likelihood", level = level))
    put(case, paste0("profile_", level), c(ci[, 1], ci[, 2]))
  }
  ci <- suppressMessages(confint(fit, method = "likelihood", ddf = Inf))
  put(case, "profile_ddf_inf", c(ci[, 1], ci[, 2]))
}
write.csv(do.call(rbind, rows), file.path(out, paste0("rtests_intervals_", ver, ".csv")),
          row.names = FALSE)
