# R survey's own test tests/regTermTest-missing.R, extended (issue 25, item 1).
# The Rao-Scott working LRT of a term must not depend on rows the model excludes for missing
# values: the full design and the design subset to the complete rows give the same statistic.
# Run from the repository root via tests/r/make_fixtures.sh; the output file is named after
# the survey version that made it (tests/fixtures/r/rtests_lrt_<version>.csv), and the script
# is run under Debian's survey 4.1.1 and under survey 4.5 (SURVEY45_LIB, see make_fixtures.sh):
#   - 4.5 on the complete-row subset: the statistic surveykit gives for BOTH designs;
#   - 4.5 on the full design: the same p-value, but statistic and lambdas multiplied by
#     mean(weight over complete rows) / mean(weight over all rows) (1.4052 vs 1.3899 on
#     nhanes): svyglm divides the weights by their mean over every row of the design;
#   - 4.1.1 on the full design: a different number altogether (513.3, p = 2e-11 on nhanes):
#     its regTermTest refits the smaller model on the rows the dropped term had excluded.
# surveykit follows the complete-row subset (the statistic of the data actually analysed).
# Models are fitted with epsilon = 1e-16 (glm's deviance stopping rule is an R shortcut).
suppressPackageStartupMessages(library(survey))
out <- "tests/fixtures/r"
ver <- as.character(packageVersion("survey"))
f17 <- function(x) sprintf("%.17g", x)
exact <- glm.control(epsilon = 1e-16, maxit = 200)
data(api)
data(nhanes)
rows <- list()
put <- function(case, design_kind, r) {
  rows[[length(rows) + 1]] <<- data.frame(
    survey_version = ver, case = case, design = design_kind, chisq = f17(r$chisq),
    p = f17(r$p), df = r$df, ddf = r$ddf,
    lambda = paste(f17(r$lambda), collapse = " "))
}
glm_pair <- function(case, design, formula, term, family, keep) {
  # regTermTest re-evaluates the fit's call: its objects must be global
  des_a <<- subset(design, keep)
  des_b <<- design
  fam <<- family
  a <- eval(bquote(svyglm(.(formula), design = des_a, family = fam, control = exact)))
  b <- eval(bquote(svyglm(.(formula), design = des_b, family = fam, control = exact)))
  for (df in list(NULL, Inf)) {
    lab <- if (is.null(df)) "" else "_chisq"
    put(paste0(case, lab), "complete_rows", regTermTest(a, term, method = "LRT", df = df))
    put(paste0(case, lab), "full", regTermTest(b, term, method = "LRT", df = df))
  }
}
# the R test's own model and data
dnh <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE,
                 data = nhanes)
glm_pair("nhanes_race1", dnh, I(race == 1) ~ HI_CHOL + agecat + RIAGENDR, ~HI_CHOL,
         quasibinomial(), !is.na(nhanes$HI_CHOL))
# two-stage cluster sample with FPC at both stages, a covariate missing in 30 schools
dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
glm_pair("clus2_acs46", dclus2, sch.wide ~ ell + acs.46, ~acs.46, quasibinomial(),
         !is.na(apiclus2$acs.46))
# a domain (not high schools) of the stratified sample, acs.k3 missing in 3 of its schools
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
dom <- subset(dstrat, stype != "H")
glm_pair("strat_domain_acsk3", dom, api00 ~ ell + acs.k3 + meals, ~acs.k3, gaussian(),
         !is.na(dom$variables$acs.k3))
# ordinal (svyolr): avg.ed missing in 26 schools of apiclus1; weights / their mean so that
# R's two scales of svyolr agree (see fixtures_polish.R). regTermTest's refit cannot take
# ndeps (fewer parameters), so R's V0 is optim's finite-difference Hessian (ndeps 1e-3): the
# 2logLR is converged (reltol 1e-15), the lambdas and p-value only to ~1e-3
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dclus1 <- update(dclus1, mealcat = cut(meals, c(0, 25, 50, 75, 100)))
used <- !is.na(apiclus1$avg.ed)
dclus1$prob <- dclus1$prob * mean(weights(dclus1)[used])
olr_a <- subset(dclus1, used)
a <- svyolr(mealcat ~ avg.ed + mobility + stype, design = olr_a,
            control = list(reltol = 1e-15))
b <- svyolr(mealcat ~ avg.ed + mobility + stype, design = dclus1,
            control = list(reltol = 1e-15))
put("olr_clus1_stype", "complete_rows", regTermTest(a, ~stype, method = "LRT"))
put("olr_clus1_stype", "full", regTermTest(b, ~stype, method = "LRT"))
write.csv(do.call(rbind, rows), file.path(out, paste0("rtests_lrt_", ver, ".csv")),
          row.names = FALSE)
