# R reference fixtures for surveykit.models, part 2 (issue 10 item 6, issue 12 model items):
# svyglm for every family and link converged to the exact solution (glm.control(epsilon=1e-16,
# maxit=200): R's deviance stopping rule otherwise stops ~1e-6 short), offsets, predict.svyglm,
# AIC/BIC.svyglm, regTermTest, anova.svyglm, svyttest, svyranktest, svypredmeans.
# Run from the repository root via tests/r/make_fixtures.sh.
suppressPackageStartupMessages({
  library(survey)
})
options(digits = 15)
out <- "tests/fixtures/r"
dir.create(out, recursive = TRUE, showWarnings = FALSE)
data(api)
data(nhanes)
exact <- glm.control(epsilon = 1e-16, maxit = 200)
f17 <- function(x) sprintf("%.17g", x)

dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
dnh <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE,
                 data = nhanes)
rclus1 <- as.svrepdesign(dclus1, type = "JK1")  # same weights as models_jk1_repweights.csv
N.pop <- nrow(apipop)
tot.api99 <- c(`(Intercept)` = N.pop, stypeH = sum(apipop$stype == "H"),
               stypeM = sum(apipop$stype == "M"), api99 = sum(apipop$api99))
cal.strat <- calibrate(dstrat, ~stype + api99, tot.api99)
designs <- list(dclus1 = dclus1, dstrat = dstrat, dnh = dnh, rclus1 = rclus1,
                cal_strat = cal.strat)

# ---- svyglm, every family and link ---------------------------------------------------------
# case, design, domain (R expression or ""), formula, family, link
glm_cases <- read.csv(text = "
case,design,domain,formula,family,link
gaussian_identity_clus1,dclus1,,api00 ~ ell + meals,gaussian,identity
gaussian_log_strat,dstrat,,api00 ~ ell + meals,gaussian,log
gaussian_inverse_strat,dstrat,,api00 ~ ell + meals,gaussian,inverse
binomial_logit_strat,dstrat,,sch.wide ~ ell + meals,binomial,logit
binomial_probit_clus1,dclus1,,sch.wide ~ ell + meals,binomial,probit
binomial_cloglog_strat,dstrat,,sch.wide ~ ell + meals,binomial,cloglog
binomial_cloglog_calstrat,cal_strat,,sch.wide ~ ell + meals,quasibinomial,cloglog
binomial_cauchit_strat,dstrat,,sch.wide ~ ell + meals,binomial,cauchit
binomial_log_nhanes,dnh,,HI_CHOL ~ agecat + RIAGENDR,binomial,log
quasibinomial_probit_nhanes,dnh,,HI_CHOL ~ factor(race) + agecat + RIAGENDR,quasibinomial,probit
poisson_log_strat,dstrat,,emer ~ meals + ell,poisson,log
poisson_identity_strat,dstrat,,enroll ~ meals + ell,poisson,identity
poisson_sqrt_clus1,dclus1,,emer ~ meals + ell,poisson,sqrt
quasipoisson_sqrt_strat,dstrat,,emer ~ meals + stype,quasipoisson,sqrt
gamma_inverse_strat,dstrat,,api00 ~ ell + meals,Gamma,inverse
gamma_log_clus1,dclus1,,api00 ~ ell + meals,Gamma,log
gamma_identity_strat,dstrat,,api00 ~ ell + meals + stype,Gamma,identity
invgauss_strat,dstrat,,api00 ~ ell + meals,inverse.gaussian,1/mu^2
cloglog_rclus1,rclus1,,sch.wide ~ ell + meals,quasibinomial,cloglog
gamma_log_rclus1,rclus1,,api00 ~ ell + meals,Gamma,log
poisson_sqrt_rclus1_domain,rclus1,stype == 'E',emer ~ meals + ell,poisson,sqrt
cloglog_strat_domain,dstrat,stype != 'H',sch.wide ~ ell + meals,quasibinomial,cloglog
gamma_log_calstrat_domain,cal_strat,stype != 'E',api00 ~ ell + meals,Gamma,log
offset_poisson_strat,dstrat,,emer ~ meals + offset(log(enroll)),poisson,log
offset_poisson_clus1,dclus1,,emer ~ meals + ell + offset(log(enroll)),quasipoisson,log
offset_poisson_rclus1,rclus1,,emer ~ meals + offset(log(enroll)),poisson,log
offset_poisson_strat_domain,dstrat,stype != 'H',emer ~ meals + offset(log(enroll)),poisson,log
offset_gaussian_rclus1_domain,rclus1,stype == 'E',api00 ~ ell + offset(api99),gaussian,identity
", stringsAsFactors = FALSE, strip.white = TRUE)

design_of <- function(name, domain) {
  d <- designs[[name]]
  if (nzchar(domain)) d <- eval(bquote(subset(d, .(str2lang(domain)))))
  d
}
fit_case <- function(i) {
  cs <- glm_cases[i, ]
  fam <- get(cs$family)(link = cs$link)
  d <- design_of(cs$design, cs$domain)
  suppressWarnings(eval(bquote(svyglm(.(as.formula(cs$formula)), design = d, family = .(fam),
                                      control = .(exact)))))
}
fits <- lapply(seq_len(nrow(glm_cases)), function(i) tryCatch(fit_case(i), error = function(e) stop(glm_cases$case[i], ": ", conditionMessage(e))))
names(fits) <- glm_cases$case
rows <- do.call(rbind, lapply(seq_along(fits), function(i) {
  f <- fits[[i]]
  data.frame(case = names(fits)[i], term = names(coef(f)), estimate = f17(coef(f)),
             std_error = f17(sqrt(diag(vcov(f)))), df_resid = f$df.residual,
             deviance = f17(deviance(f)), iter = f$iter, stringsAsFactors = FALSE)
}))
write.csv(rows, file.path(out, "models2_glm.csv"), row.names = FALSE)
write.csv(glm_cases, file.path(out, "models2_glm_cases.csv"), row.names = FALSE)
# what R's default stopping rule (epsilon 1e-8) gives for the calibrated cloglog: the issue's
# 3e-6 shortfall, kept to show the exact fit differs from R's default
default_fit <- svyglm(sch.wide ~ ell + meals, design = cal.strat,
                      family = quasibinomial(link = "cloglog"))
write.csv(data.frame(term = names(coef(default_fit)), estimate = f17(coef(default_fit))),
          file.path(out, "models2_cloglog_default_control.csv"), row.names = FALSE)
cat("models2 glm fixtures written\n")

# ---- svyolr confidence intervals: R has no confint.svyolr, so confint.default (normal) ------
tight_optim <- list(reltol = 1e-15, maxit = 5000, ndeps = rep(1e-6, 7))
dclus1m <- update(dclus1, mealcat = cut(meals, c(0, 25, 50, 75, 100)))
olr <- svyolr(mealcat ~ avg.ed + mobility + stype, design = dclus1m, control = tight_optim)
ci <- confint(olr, level = 0.9)
write.csv(data.frame(term = rownames(ci), estimate = f17(coef(olr)),
                     std_error = f17(sqrt(diag(vcov(olr)))), ci_low = f17(ci[, 1]),
                     ci_high = f17(ci[, 2])),
          file.path(out, "models2_olr_confint.csv"), row.names = FALSE)
cat("models2 svyolr confint written\n")
