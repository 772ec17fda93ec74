# R reference fixtures for surveykit.experiment (survey experiments on complex designs).
# Run from the repository root via tests/r/make_fixtures.sh; needs R with 'survey' and 'estimatr'.
#
# Effects of each arm vs control = svyglm(y ~ treat) coefficients (by=: svyglm(y ~ treat * g)
# with svycontrast for the effect in each group; equal effects: regTermTest(~treat:g)). Lin (2013):
# svyglm(y ~ treat * (x - xbar)) with xbar the weighted means over the rows used. Binary outcomes
# in percentage points (x 100). Designs: NHANES (stratified, clustered), apiclus1 with R's JK1
# replicate weights, and a domain of apistrat. estimatr::lm_lin / difference_in_means give
# point estimates as a cross-check.
suppressPackageStartupMessages({
  library(survey)
  library(estimatr)
})
options(digits = 15)
out <- "tests/fixtures/r"
data(api)
data(nhanes)
rows <- list()
add <- function(case, name, est, se = NA, df = NA, p = NA) {
  rows[[length(rows) + 1]] <<- data.frame(case = case, name = name, estimate = est,
                                          std_error = se, df = df, p_value = p)
}
arm_effects <- function(case, fit, arms, scale, prefix = "") {
  cf <- coef(fit); V <- vcov(fit); dfr <- fit$df.residual
  for (a in arms) {
    nm <- paste0(prefix, a)
    est <- cf[nm]; se <- sqrt(V[nm, nm])
    add(case, a, scale * est, scale * se, dfr, 2 * pt(-abs(est / se), dfr))
  }
}
by_effects <- function(case, fit, tr, arms, gname, glevels, scale) {
  dfr <- fit$df.residual
  for (g in glevels) {
    for (a in arms) {
      main <- paste0(tr, a)
      L <- setNames(rep(0, length(coef(fit))), names(coef(fit)))
      L[main] <- 1
      if (g != glevels[1]) L[paste0(main, ":", gname, g)] <- 1
      est <- sum(L * coef(fit)); se <- sqrt(drop(t(L) %*% vcov(fit) %*% L))  # svycontrast
      add(case, paste0(g, ":", a), scale * est, scale * se, dfr, 2 * pt(-abs(est / se), dfr))
    }
  }
}
centre <- function(x, w) x - sum(w * x) / sum(w)

## 1. NHANES: stratified cluster design; binary outcome (pp), 4 arms, by sex, Lin on age groups
nh <- subset(nhanes, !is.na(HI_CHOL))
nh$race <- factor(nh$race); nh$sex <- factor(nh$RIAGENDR)
for (lv in c("(19,39]", "(39,59]", "(59,Inf]")) {
  nh[[paste0("age_", make.names(lv))]] <- centre(as.numeric(nh$agecat == lv), nh$WTMEC2YR)
}
dnh <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE, data = nh)
f1 <- svyglm(HI_CHOL ~ race, dnh)
arm_effects("nhanes_diff", f1, 2:4, 100, "race")
f2 <- svyglm(HI_CHOL ~ race * sex, dnh)
by_effects("nhanes_by", f2, "race", 2:4, "sex", 1:2, 100)
rt <- regTermTest(f2, ~race:sex)
add("nhanes_by_test", "race:sex", as.numeric(rt$Ftest), NA, rt$ddf, as.numeric(rt$p))
add("nhanes_by_test", "df_num", rt$df)
agec <- grep("^age_", names(nh), value = TRUE)
f3 <- svyglm(as.formula(paste("HI_CHOL ~ race * (", paste(agec, collapse = "+"), ")")), dnh)
arm_effects("nhanes_lin", f3, 2:4, 100, "race")
ll <- lm_lin(HI_CHOL ~ race, covariates = ~agecat, data = nh, weights = WTMEC2YR)
for (a in 2:4) add("estimatr_lm_lin", a, 100 * coef(ll)[paste0("race", a)])
dm <- difference_in_means(HI_CHOL ~ race, data = subset(nh, race %in% c(1, 2)), weights = WTMEC2YR,
                          condition1 = 1, condition2 = 2)
add("estimatr_dim", 2, 100 * coef(dm))

## 2. apiclus1 with R's JK1 replicate weights; api00 by stype; by awards; Lin on meals, ell
dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
rclus1 <- as.svrepdesign(dclus1, type = "JK1")
g1 <- svyglm(api00 ~ stype, rclus1)
arm_effects("jk1_diff", g1, c("H", "M"), 1, "stype")
g2 <- svyglm(api00 ~ stype * awards, rclus1)
by_effects("jk1_by", g2, "stype", c("H", "M"), "awards", c("No", "Yes"), 1)
rt2 <- regTermTest(g2, ~stype:awards)
add("jk1_by_test", "stype:awards", as.numeric(rt2$Ftest), NA, rt2$ddf, as.numeric(rt2$p))
add("jk1_by_test", "df_num", rt2$df)
ac <- apiclus1
ac$meals_c <- centre(ac$meals, ac$pw); ac$ell_c <- centre(ac$ell, ac$pw)
rc2 <- as.svrepdesign(svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = ac), type = "JK1")
g3 <- svyglm(api00 ~ stype * (meals_c + ell_c), rc2)
arm_effects("jk1_lin", g3, c("H", "M"), 1, "stype")
# linearisation on the same cluster design, for the Lin estimator
dc2 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = ac)
g4 <- svyglm(api00 ~ stype * (meals_c + ell_c), dc2)
arm_effects("clus1_lin", g4, c("H", "M"), 1, "stype")

## 3. a domain of stratified apistrat: growth by awards, by stype, among api99 > 600
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
ds <- subset(dstrat, api99 > 600)
h1 <- svyglm(growth ~ awards, ds)
arm_effects("strat_domain_diff", h1, "Yes", 1, "awards")
h2 <- svyglm(growth ~ awards * stype, ds)
by_effects("strat_domain_by", h2, "awards", "Yes", "stype", c("E", "H", "M"), 1)
rt3 <- regTermTest(h2, ~awards:stype)
add("strat_domain_by_test", "awards:stype", as.numeric(rt3$Ftest), NA, rt3$ddf, as.numeric(rt3$p))
add("strat_domain_by_test", "df_num", rt3$df)

## 4. balance: omnibus test = regTermTest on a survey logit of the arm on the covariates
dnh_all <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE,
                     data = nhanes)
b1 <- svyglm(I(RIAGENDR == 2) ~ agecat + factor(race), dnh_all, family = quasibinomial)
bt <- regTermTest(b1, ~agecat + factor(race))
add("balance_nhanes", "omnibus", as.numeric(bt$Ftest), NA, bt$ddf, as.numeric(bt$p))
add("balance_nhanes", "df_num", bt$df)
b2 <- svyglm(I(awards == "Yes") ~ meals + ell + stype, rclus1, family = quasibinomial)
bt2 <- regTermTest(b2, ~meals + ell + stype)
add("balance_jk1", "omnibus", as.numeric(bt2$Ftest), NA, bt2$ddf, as.numeric(bt2$p))
add("balance_jk1", "df_num", bt2$df)

res <- do.call(rbind, rows)
write.csv(res, file.path(out, "experiments_survey.csv"), row.names = FALSE)
