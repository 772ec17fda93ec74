# Reference values for surveykit.estimation, surveykit.replicates and SurveyDesign.vcov.
# Run from the repository root (tests/r/make_fixtures.sh); needs R with 'survey'.
# Writes tests/fixtures/r/estimation_*.csv; the Python tests only read these files.
suppressPackageStartupMessages(library(survey))
options(digits = 15, survey.lonely.psu = "fail")
out <- "tests/fixtures/r"
dir.create(out, recursive = TRUE, showWarnings = FALSE)
data(api)
data(nhanes)

rows <- list()
add <- function(design, stat, variable, estimate, se = NA, deff = NA, by = NA, level = NA,
                ci_low = NA, ci_high = NA, extra = NA) {
  rows[[length(rows) + 1]] <<- data.frame(
    design = design, stat = stat, by = as.character(by), variable = variable,
    level = as.character(level), estimate = as.numeric(estimate), se = as.numeric(se),
    deff = as.numeric(deff), ci_low = as.numeric(ci_low), ci_high = as.numeric(ci_high),
    extra = as.character(extra), stringsAsFactors = FALSE)
}
# one svystat / svrepstat with several coefficients
add_stat <- function(design, stat, s, variables = names(coef(s)), levels = NA, by = NA) {
  d <- if (is.null(attr(s, "deff"))) rep(NA, length(coef(s))) else diag(as.matrix(attr(s, "deff")))
  add(design, stat, variables, coef(s), SE(s), d, by = by, level = levels)
}
add_by <- function(design, stat, b, variable) {
  cf <- coef(b); se <- SE(b)
  d <- tryCatch(deff(b), error = function(e) rep(NA, length(cf)))
  add(design, stat, variable, cf, se, d, by = names(cf))
}
add_ciprop <- function(design, stat, s, variable, by = NA) {
  ci <- confint(s)
  add(design, stat, variable, coef(s), sqrt(vcov(s)), by = by, ci_low = ci[1], ci_high = ci[2])
}
## ---- apistrat: stratified with fpc --------------------------------------------------------
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
add_stat("dstrat", "mean", svymean(~api00 + api99, dstrat, deff = TRUE))
add_stat("dstrat", "mean", svymean(~acs.k3, dstrat, na.rm = TRUE, deff = TRUE))
add_stat("dstrat", "total", svytotal(~enroll, dstrat, deff = TRUE))
add_stat("dstrat", "prop", svymean(~awards, dstrat, deff = TRUE), "awards", c("No", "Yes"))
add_by("dstrat", "mean_by_stype", svyby(~api00, ~stype, dstrat, svymean, deff = TRUE), "api00")
add_by("dstrat", "total_by_stype", svyby(~enroll, ~stype, dstrat, svytotal, deff = TRUE), "enroll")
for (m in c("logit", "beta", "mean", "xlogit")) {
  add_ciprop("dstrat", paste0("ciprop_", m),
             svyciprop(~I(awards == "Yes"), dstrat, method = m), "awards")
  b <- svyby(~I(sch.wide == "Yes"), ~stype, dstrat, svyciprop, method = m, vartype = c("se", "ci"))
  add("dstrat", paste0("ciprop_by_", m), "sch.wide", coef(b), SE(b), by = rownames(b),
      ci_low = b[["ci_l"]], ci_high = b[["ci_u"]])
}
t <- svychisq(~sch.wide + stype, dstrat, statistic = "F")
add("dstrat", "chisq_F", "sch.wide+stype", t$statistic, extra = paste(
  format(t$parameter[1], digits = 17), format(t$parameter[2], digits = 17),
  format(t$p.value, digits = 17),
  format(chisq.test(svytable(~sch.wide + stype, dstrat, Ntotal = nrow(apistrat)),
                    correct = FALSE)$statistic, digits = 17)))
add_stat("dstrat", "cells", svymean(~interaction(sch.wide, stype), dstrat), "sch.wide+stype",
         levels = levels(interaction(apistrat$sch.wide, apistrat$stype)))
t <- svychisq(~awards + stype, subset(dstrat, api00 > 600), statistic = "F")
add("dstrat_api00gt600", "chisq_F", "awards+stype", t$statistic, extra = paste(
  format(t$parameter[1], digits = 17), format(t$parameter[2], digits = 17),
  format(t$p.value, digits = 17), NA))

## ---- apiclus1: one-stage cluster sample with fpc -----------------------------------------
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
add_stat("dclus1", "mean", svymean(~api00 + enroll, dclus1, deff = TRUE))
add_stat("dclus1", "total", svytotal(~enroll, dclus1, deff = TRUE))
add_stat("dclus1", "prop", svymean(~stype, dclus1, deff = TRUE), "stype", c("E", "H", "M"))
add_by("dclus1", "mean_by_stype", svyby(~api00, ~stype, dclus1, svymean, deff = TRUE), "api00")
add_by("dclus1", "mean_by_stype_awards",
       svyby(~api00, ~stype + awards, dclus1, svymean, deff = TRUE), "api00")
for (m in c("logit", "beta")) {
  add_ciprop("dclus1", paste0("ciprop_", m),
             svyciprop(~I(awards == "Yes"), dclus1, method = m), "awards")
  b <- svyby(~I(awards == "Yes"), ~stype, dclus1, svyciprop, method = m, vartype = c("se", "ci"))
  add("dclus1", paste0("ciprop_by_", m), "awards", coef(b), SE(b), by = rownames(b),
      ci_low = b[["ci_l"]], ci_high = b[["ci_u"]])
}
t <- svychisq(~sch.wide + stype, dclus1, statistic = "F")
add("dclus1", "chisq_F", "sch.wide+stype", t$statistic, extra = paste(
  format(t$parameter[1], digits = 17), format(t$parameter[2], digits = 17),
  format(t$p.value, digits = 17),
  format(chisq.test(svytable(~sch.wide + stype, dclus1, Ntotal = nrow(apiclus1)),
                    correct = FALSE)$statistic, digits = 17)))

## ---- replicate designs from apiclus1 ------------------------------------------------------
wrep <- function(design, name) {
  w <- weights(design, "analysis")
  colnames(w) <- paste0("rep", seq_len(ncol(w)))
  write.csv(w, file.path(out, paste0("estimation_", name, "_weights.csv")), row.names = FALSE)
  add(name, "meta", "scale", design$scale, extra = paste(format(design$rscales, digits = 17),
                                                         collapse = " "))
  add(name, "meta", "degf", degf(design))
}
rep_stats <- function(design, name) {
  add_stat(name, "mean", svymean(~api00 + enroll, design))
  add_stat(name, "mean_deff", svymean(~api00, design, deff = TRUE))
  add_stat(name, "total_deff", svytotal(~enroll, design, deff = TRUE))
  add_stat(name, "total", svytotal(~enroll, design))
  add_by(name, "mean_by_stype", svyby(~api00, ~stype, design, svymean), "api00")
  for (m in c("logit", "beta", "xlogit")) {
    add_ciprop(name, paste0("ciprop_", m),
               svyciprop(~I(awards == "Yes"), design, method = m), "awards")
  }
  t <- svychisq(~sch.wide + stype, design, statistic = "F")
  add(name, "chisq_F", "sch.wide+stype", t$statistic, extra = paste(
    format(t$parameter[1], digits = 17), format(t$parameter[2], digits = 17),
    format(t$p.value, digits = 17), NA))
}
rclus1 <- as.svrepdesign(dclus1, type = "JK1")  # scale uses the fpc: f (n-1)/n
wrep(rclus1, "jk1_clus1")
rep_stats(rclus1, "jk1_clus1")
set.seed(20240501)
bclus1 <- as.svrepdesign(dclus1, type = "bootstrap", replicates = 50)
wrep(bclus1, "boot_clus1")
rep_stats(bclus1, "boot_clus1")
# stratified jackknife on apistrat (rscales f_h (n_h-1)/n_h)
rstrat <- as.svrepdesign(dstrat, type = "JKn")
wrep(rstrat, "jkn_strat")
add_stat("jkn_strat", "mean", svymean(~api00, rstrat))
add_stat("jkn_strat", "total", svytotal(~enroll, rstrat))

## ---- nhanes: strata + PSU, nest = TRUE -----------------------------------------------------
dnh <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE,
                 data = nhanes)
add_stat("nhanes", "mean", svymean(~HI_CHOL, dnh, na.rm = TRUE, deff = TRUE))
add_stat("nhanes", "total", svytotal(~HI_CHOL, dnh, na.rm = TRUE, deff = TRUE))
add_by("nhanes", "mean_by_race", svyby(~HI_CHOL, ~race, dnh, svymean, na.rm = TRUE, deff = TRUE),
       "HI_CHOL")
add_stat("nhanes", "prop", svymean(~factor(agecat), dnh, deff = TRUE), "agecat",
         levels(factor(nhanes$agecat)))
t <- svychisq(~agecat + race, dnh, statistic = "F")
add("nhanes", "chisq_F", "agecat+race", t$statistic, extra = paste(
  format(t$parameter[1], digits = 17), format(t$parameter[2], digits = 17),
  format(t$p.value, digits = 17),
  format(chisq.test(svytable(~agecat + race, dnh, Ntotal = nrow(nhanes)),
                    correct = FALSE)$statistic, digits = 17)))
# BRR and Fay on nhanes without PSU 3 (the one stratum with 3 PSUs), so every stratum has 2:
# totals are exact for any Hadamard matrix of full orthogonal balance
dnh2 <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE,
                  data = nhanes[nhanes$SDMVPSU != 3, ])
bnh <- as.svrepdesign(dnh2, type = "BRR")
add_stat("brr_nhanes", "total", svytotal(~HI_CHOL, bnh, na.rm = TRUE))
add_stat("brr_nhanes", "total", svytotal(~WTMEC2YR, bnh))
add("brr_nhanes", "meta", "n_replicates", ncol(weights(bnh, "analysis")))
fnh <- as.svrepdesign(dnh2, type = "Fay", fay.rho = 0.3)
add_stat("fay_nhanes", "total", svytotal(~HI_CHOL, fnh, na.rm = TRUE))

## ---- lonely PSU policies: nhanes without PSU 2 of stratum 83 ------------------------------
lon <- nhanes[!(nhanes$SDMVSTRA == 83 & nhanes$SDMVPSU == 2), ]
for (pol in c("remove", "adjust", "average", "certainty")) {
  options(survey.lonely.psu = pol)
  dl <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE, data = lon)
  add_stat(paste0("lonely_", pol), "mean", svymean(~HI_CHOL, dl, na.rm = TRUE))
  add_stat(paste0("lonely_", pol), "total", svytotal(~RIAGENDR, dl))
  # a domain that leaves out some strata: R counts only the strata present in the domain
  add_stat(paste0("lonely_", pol), "domain_mean", svymean(~RIAGENDR, subset(dl, SDMVSTRA <= 86)))
}
options(survey.lonely.psu = "fail")

## ---- missing values: svyciprop's df and n count the rows with a missing value -------------
# R's svyciprop takes degf(design) and nrow(design) before svymean/svyglm drop the NAs; svyby
# hands it each group's rows. acs.k3 is missing for every high school (a whole apistrat stratum).
dstrat <- update(dstrat, k3big = acs.k3 > 20)
dclus1 <- update(dclus1, k3big = acs.k3 > 20)
for (m in c("logit", "beta", "mean", "xlogit")) {
  add_ciprop("dstrat", paste0("ciprop_na_", m),
             svyciprop(~I(k3big), dstrat, method = m, na.rm = TRUE), "k3big")
}
for (m in c("logit", "beta", "mean")) {
  b <- svyby(~I(k3big), ~awards, dclus1, svyciprop, method = m, na.rm = TRUE,
             vartype = c("se", "ci"))
  add("dclus1", paste0("ciprop_by_na_", m), "k3big", coef(b), SE(b), by = rownames(b),
      ci_low = b[["ci_l"]], ci_high = b[["ci_u"]])
  b <- svyby(~I(HI_CHOL == 1), ~race, dnh, svyciprop, method = m, na.rm = TRUE,
             vartype = c("se", "ci"))
  add("nhanes", paste0("ciprop_by_na_", m), "HI_CHOL", coef(b), SE(b), by = rownames(b),
      ci_low = b[["ci_l"]], ci_high = b[["ci_u"]])
}
# svychisq counts the rows and PSUs of the design before dropping NAs (nu, Ntotal)
t <- svychisq(~k3big + awards, dstrat, statistic = "F")
add("dstrat", "chisq_F", "k3big+awards", t$statistic, extra = paste(
  format(t$parameter[1], digits = 17), format(t$parameter[2], digits = 17),
  format(t$p.value, digits = 17),
  format(chisq.test(svytable(~k3big + awards, dstrat, Ntotal = nrow(apistrat)),
                    correct = FALSE)$statistic, digits = 17)))
t <- svychisq(~k3big + sch.wide, subset(dclus1, stype != "M"), statistic = "F")
add("dclus1_notM", "chisq_F", "k3big+sch.wide", t$statistic, extra = paste(
  format(t$parameter[1], digits = 17), format(t$parameter[2], digits = 17),
  format(t$p.value, digits = 17), NA))

## ---- calibrated designs: domains keep every row (zero weight) -----------------------------
# so strata outside a domain still carry calibration residuals, nrow(design) is the full sample
# for svyciprop's beta interval, and svychisq's nu is the full design's
N.pop <- nrow(apipop)
tot.api99 <- c(`(Intercept)` = N.pop, stypeH = sum(apipop$stype == "H"),
               stypeM = sum(apipop$stype == "M"), api99 = sum(apipop$api99))
pop.types <- data.frame(stype = c("E", "H", "M"), Freq = as.vector(table(apipop$stype)))
pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = as.vector(table(apipop$sch.wide)))
cal <- list(
  cal_strat = calibrate(dstrat, ~stype + api99, tot.api99),
  rake_strat = rake(dstrat, list(~stype, ~sch.wide), list(pop.types, pop.schwide),
                    control = list(maxit = 200, epsilon = 1e-13)),
  cal_clus1 = calibrate(dclus1, ~stype + api99, tot.api99)
)
for (nm in names(cal)) {
  d <- cal[[nm]]
  add_stat(nm, "prop", svymean(~awards, d), "awards", c("No", "Yes"))
  b <- svyby(~awards, ~stype, d, svymean)  # SE(b): one column per level, groups within
  add(nm, "prop_by_stype", "awards", coef(b), unlist(SE(b)), by = names(coef(b)))
  add_by(nm, "mean_by_both", svyby(~api00, ~both, d, svymean), "api00")
  for (m in c("logit", "beta", "mean")) {
    b <- svyby(~I(awards == "Yes"), ~stype, d, svyciprop, method = m, vartype = c("se", "ci"))
    add(nm, paste0("ciprop_by_", m), "awards", coef(b), SE(b), by = rownames(b),
        ci_low = b[["ci_l"]], ci_high = b[["ci_u"]])
  }
  b <- svyby(~I(k3big), ~awards, d, svyciprop, method = "beta", na.rm = TRUE,
             vartype = c("se", "ci"))
  add(nm, "ciprop_by_na_beta", "k3big", coef(b), SE(b), by = rownames(b),
      ci_low = b[["ci_l"]], ci_high = b[["ci_u"]])
  add_ciprop(nm, "ciprop_domain_beta",
             svyciprop(~I(sch.wide == "Yes"), subset(d, stype != "H"), method = "beta"),
             "sch.wide")
  t <- svychisq(~awards + sch.wide, subset(d, stype != "H"), statistic = "F")
  add(nm, "chisq_F_domain", "awards+sch.wide", t$statistic, extra = paste(
    format(t$parameter[1], digits = 17), format(t$parameter[2], digits = 17),
    format(t$p.value, digits = 17), NA))
}

## ---- replicate designs: proportions by group ----------------------------------------------
# covmat = TRUE: without it survey 4.1.1's svyby on replicate designs returns the se columns of a
# multi-level statistic in a scrambled order (SE(E:No) != SE(E:Yes) for a binary variable)
rclus1 <- update(rclus1, k3big = acs.k3 > 20)
bclus1 <- update(bclus1, k3big = acs.k3 > 20)
rstrat <- update(rstrat, k3big = acs.k3 > 20)
for (nm in c("jk1_clus1", "boot_clus1", "jkn_strat")) {
  d <- switch(nm, jk1_clus1 = rclus1, boot_clus1 = bclus1, jkn_strat = rstrat)
  b <- svyby(~awards, ~stype, d, svymean)  # SE(b): one column per level, groups within
  add(nm, "prop_by_stype", "awards", coef(b), unlist(SE(b)), by = names(coef(b)))
  for (m in c("beta", "mean", if (nm != "boot_clus1") "logit")) {
    b <- svyby(~I(k3big), ~sch.wide, d, svyciprop, method = m, na.rm = TRUE,
               vartype = c("se", "ci"))
    add(nm, paste0("ciprop_by_na_", m), "k3big", coef(b), SE(b), by = rownames(b),
        ci_low = b[["ci_l"]], ci_high = b[["ci_u"]])
  }
  t <- svychisq(~k3big + awards, d, statistic = "F")
  add(nm, "chisq_F", "k3big+awards", t$statistic, extra = paste(
    format(t$parameter[1], digits = 17), format(t$parameter[2], digits = 17),
    format(t$p.value, digits = 17), NA))
}

res <- do.call(rbind, rows)
write.csv(res, file.path(out, "estimation_results.csv"), row.names = FALSE, na = "")
cat("wrote", nrow(res), "reference values\n")
