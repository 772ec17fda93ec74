# Design effects (issue 25, item 2): R survey's own tests deff.R (deff = TRUE vs
# deff = "replace", on its own 10-firm data, written out here as rtests_deff_kigyo.csv) and
# defftest.R (svyglm(..., deff = TRUE) / deff(model)), plus harder designs: a two-stage sample
# with FPC, a stratified domain, nhanes (no FPC), a JK1 replicate design and svyby groups.
# Output tests/fixtures/r/rtests_deff_<survey version>.csv (4.1.1 and 4.5 agree here).
suppressPackageStartupMessages(library(survey))
out <- "tests/fixtures/r"
ver <- as.character(packageVersion("survey"))
f17 <- function(x) sprintf("%.17g", x)
exact <- glm.control(epsilon = 1e-16, maxit = 200)
data(api)
data(nhanes)
kigyo <- data.frame(obs = 1:10, uriage = c(15, 143, 21, 51, 337, 50, 274, 145, 15, 86),
                    srs.w = 100, pps.w = c(20, 200, 11, 25, 550, 30, 250, 100, 10, 55))
write.csv(kigyo, file.path(out, "rtests_deff_kigyo.csv"), row.names = FALSE)
rows <- list()
put <- function(case, quantity, value) {
  rows[[length(rows) + 1]] <<- data.frame(survey_version = ver, case = case,
                                          quantity = quantity, value = f17(as.numeric(value)))
}
dd <- function(x) { d <- deff(x); if (is.matrix(d)) diag(d) else d }
designs <- list(
  kigyo_srs = svydesign(ids = ~1, weights = ~srs.w, data = kigyo),
  kigyo_pps = svydesign(ids = ~1, weights = ~pps.w, data = kigyo),
  clus1 = svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc),
  clus2 = svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2),
  strat_domain = subset(svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat,
                                  fpc = ~fpc), stype != "E"),
  nhanes = svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE,
                     data = nhanes),
  jk1_clus1 = as.svrepdesign(svydesign(id = ~dnum, weights = ~pw, data = apiclus1,
                                       fpc = ~fpc)))
vars <- list(kigyo_srs = ~uriage, kigyo_pps = ~uriage, clus1 = ~api00 + enroll,
             clus2 = ~api00 + ell, strat_domain = ~api00 + meals, nhanes = ~HI_CHOL,
             jk1_clus1 = ~api00 + enroll)
for (case in names(designs)) {
  d <- designs[[case]]
  for (type in c("TRUE", "replace")) {
    de <- if (type == "TRUE") TRUE else "replace"
    put(case, paste0("mean_", type), dd(svymean(vars[[case]], d, deff = de, na.rm = TRUE)))
    put(case, paste0("total_", type), dd(svytotal(vars[[case]], d, deff = de, na.rm = TRUE)))
  }
}
# factor means (proportions) and svyby
for (type in c("TRUE", "replace")) {
  de <- if (type == "TRUE") TRUE else "replace"
  put("clus1", paste0("prop_stype_", type), dd(svymean(~stype, designs$clus1, deff = de)))
  b <- svyby(~api00, ~stype, designs$clus2, svymean, deff = de)
  put("clus2", paste0("by_stype_mean_", type), b$DEff.api00)
}
# the R test defftest.R and harder models
mods <- list(
  lm_clus1 = list(api99 ~ enroll + api.stu, designs$clus1, gaussian()),
  logit_strat_domain = list(I(sch.wide == "Yes") ~ ell + meals, designs$strat_domain,
                            quasibinomial()),
  logit_nhanes = list(HI_CHOL ~ agecat + RIAGENDR, designs$nhanes, binomial()),
  poisson_clus2 = list(emer ~ ell + stype, designs$clus2, poisson()))
for (case in names(mods)) {
  m <- mods[[case]]
  fit <- svyglm(m[[1]], design = m[[2]], family = m[[3]], deff = TRUE, control = exact)
  put(case, "model_deff", dd(fit))
  put(case, "coef", coef(fit))
}
write.csv(do.call(rbind, rows), file.path(out, paste0("rtests_deff_", ver, ".csv")),
          row.names = FALSE)
