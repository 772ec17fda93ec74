# R reference fixtures for surveykit.models (svyglm, svyolr, negative binomial).
# Run from the repository root via tests/r/make_fixtures.sh; needs R with 'survey' and 'MASS'.
# Every fit is converged tightly (glm epsilon 1e-12; optim reltol 1e-15) so that the
# comparison measures the estimator, not R's stopping rule.
suppressPackageStartupMessages({
  library(survey)
  library(MASS)
})
options(digits = 15)
out <- "tests/fixtures/r"
dir.create(out, recursive = TRUE, showWarnings = FALSE)
data(api)
data(nhanes)

tight <- glm.control(epsilon = 1e-13, maxit = 200)

# one CSV per model: term, estimate, std_error, plus df_resid and n (rows used) on every row
wmodel <- function(name, est, se, df_resid, n, extra = list()) {
  df <- data.frame(term = names(est), estimate = sprintf("%.17g", unname(est)),
                   std_error = sprintf("%.17g", unname(se)),
                   df_resid = df_resid, n = n, stringsAsFactors = FALSE)
  for (k in names(extra)) df[[k]] <- sprintf("%.17g", extra[[k]])
  write.csv(df, file.path(out, paste0("models_", name, ".csv")), row.names = FALSE)
}
wglm <- function(name, fit) {
  wmodel(name, coef(fit), sqrt(diag(vcov(fit))), fit$df.residual, length(fit$y))
}

dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
dnh <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE,
                 data = nhanes)

## ---- svyglm: logistic, Poisson, quasi-Poisson, Gaussian ------------------------------------
wglm("logit_nhanes", svyglm(HI_CHOL ~ factor(race) + agecat + RIAGENDR, design = dnh,
                            family = quasibinomial, control = tight))
wglm("probit_nhanes", svyglm(HI_CHOL ~ factor(race) + agecat + RIAGENDR, design = dnh,
                             family = quasibinomial(link = "probit"), control = tight))
wglm("logit_apiclus1", svyglm(sch.wide ~ ell + meals, design = dclus1,
                              family = quasibinomial, control = tight))
wglm("poisson_apiclus1", svyglm(emer ~ meals + stype, design = dclus1,
                                family = poisson, control = tight))
wglm("quasipoisson_apistrat", svyglm(ell ~ meals + mobility + stype, design = dstrat,
                                     family = quasipoisson, control = tight))
wglm("gaussian_apistrat", svyglm(api00 ~ ell + meals + mobility, design = dstrat,
                                 control = tight))
# domains (R's subset: rows outside keep their PSU structure, weight zero)
wglm("gaussian_apistrat_domain", svyglm(api00 ~ ell + meals, design = subset(dstrat, stype != "E"),
                                        control = tight))
wglm("logit_apiclus1_domain", svyglm(sch.wide ~ ell + meals, design = subset(dclus1, stype == "E"),
                                     family = quasibinomial, control = tight))
# a domain with missing covariate values (acs.k3 is NA for high schools) and a stratum absent
wglm("logit_apistrat_domain_missing", svyglm(sch.wide ~ ell + acs.k3,
                                             design = subset(dstrat, stype != "M"),
                                             family = quasibinomial, control = tight))
# calibrated designs (GREG to apipop totals; raking to stype and sch.wide margins): the sandwich
# goes through svyrecvar's calibration residuals; a calibrated domain keeps every row, so strata
# outside the domain still contribute
N.pop <- nrow(apipop)
tot.api99 <- c(`(Intercept)` = N.pop, stypeH = sum(apipop$stype == "H"),
               stypeM = sum(apipop$stype == "M"), api99 = sum(apipop$api99))
cal.clus1 <- calibrate(dclus1, ~stype + api99, tot.api99)
cal.strat <- calibrate(dstrat, ~stype + api99, tot.api99)
rake.strat <- rake(dstrat, list(~stype, ~sch.wide),
                   list(data.frame(stype = c("E", "H", "M"), Freq = as.vector(table(apipop$stype))),
                        data.frame(sch.wide = c("No", "Yes"),
                                   Freq = as.vector(table(apipop$sch.wide)))),
                   control = list(maxit = 200, epsilon = 1e-13))
wglm("cal_gaussian_apiclus1", svyglm(api00 ~ ell + meals + mobility, design = cal.clus1,
                                     control = tight))
wglm("cal_logit_apistrat", svyglm(sch.wide ~ ell + meals, design = cal.strat,
                                  family = quasibinomial, control = tight))
wglm("cal_logit_apistrat_domain", svyglm(sch.wide ~ ell + meals,
                                         design = subset(cal.strat, stype != "H"),
                                         family = quasibinomial, control = tight))
wglm("rake_logit_apistrat_domain", svyglm(sch.wide ~ ell + meals,
                                          design = subset(rake.strat, stype == "E"),
                                          family = quasibinomial, control = tight))
# (svyolr on a calibrated design fails inside survey 4.1.1's svyolr.survey.design2, so there is
# no calibrated svyolr reference)

## ---- replicate (JK1) design ----------------------------------------------------------------
rclus1 <- as.svrepdesign(dclus1, type = "JK1")
rw <- weights(rclus1, "analysis")
colnames(rw) <- paste0("rep", seq_len(ncol(rw)))
write.csv(as.data.frame(apply(rw, 2, function(v) sprintf("%.17g", v))), file.path(out, "models_jk1_repweights.csv"),
          row.names = FALSE, quote = FALSE)
# R folds the first-stage FPC into the JK1 scale; export scale and rscales with the weights
write.csv(data.frame(scale = sprintf("%.17g", rclus1$scale), rscales = sprintf("%.17g", rclus1$rscales),
                     mse = rclus1$mse, degf = degf(rclus1)),
          file.path(out, "models_jk1_scale.csv"), row.names = FALSE)
wglm("jk1_gaussian_apiclus1", svyglm(api00 ~ ell + meals + mobility, design = rclus1,
                                     control = tight))
wglm("jk1_logit_apiclus1", svyglm(sch.wide ~ ell + meals, design = rclus1,
                                  family = quasibinomial, control = tight))
wglm("jk1_logit_apiclus1_domain", svyglm(sch.wide ~ ell + meals, design = subset(rclus1, stype == "E"),
                                         family = quasibinomial, control = tight))

## ---- svyolr ----------------------------------------------------------------------------------
tight_optim <- list(reltol = 1e-15, maxit = 5000, ndeps = rep(1e-6, 7))
wolr <- function(name, fit) {
  est <- coef(fit)
  wmodel(name, est, sqrt(diag(vcov(fit))), fit$df.residual, nrow(fit$fitted.values))
}
dclus1 <- update(dclus1, mealcat = cut(meals, c(0, 25, 50, 75, 100)))
dstrat <- update(dstrat, mealcat = cut(meals, c(0, 25, 50, 75, 100)))
wolr("olr_logit_apiclus1", svyolr(mealcat ~ avg.ed + mobility + stype, design = dclus1,
                                  control = tight_optim))
wolr("olr_probit_apiclus1", svyolr(mealcat ~ avg.ed + mobility + stype, design = dclus1,
                                   method = "probit", control = tight_optim))
# apistrat has one school with meals == 0, so mealcat is NA there (excluded)
wolr("olr_logit_apistrat", svyolr(mealcat ~ avg.ed + mobility + stype, design = dstrat,
                                  control = tight_optim))

# replicate (JK1) svyolr: svyolr.svyrep.design refits polr with each replicate's weights but
# without passing control= to those fits, so we redo its loop with the same tight reltol.
rclus1 <- update(rclus1, mealcat = cut(meals, c(0, 25, 50, 75, 100)))
olr_rep <- svyolr(mealcat ~ avg.ed + mobility + stype, design = rclus1, control = tight_optim)
mf <- model.frame(rclus1)
start <- coef(olr_rep)
rwa <- weights(rclus1, "analysis")
betas <- t(apply(rwa, 2, function(w) {
  m <- MASS::polr(mealcat ~ avg.ed + mobility + stype, data = mf, weights = w, start = start,
                  Hess = FALSE, model = FALSE, control = tight_optim)
  c(m$coefficients, m$zeta)
}))
v_rep <- svrVar(betas, rclus1$scale, rclus1$rscales, mse = rclus1$mse, coef = start)
wmodel("jk1_olr_logit_apiclus1", start, sqrt(diag(v_rep)), olr_rep$df.residual,
       nrow(olr_rep$fitted.values),
       extra = list(r_svyolr_std_error = sqrt(diag(vcov(olr_rep)))))

## ---- negative binomial (NB2) -------------------------------------------------------------------
# Point estimates: MASS::glm.nb with the (scaled) design weights is the weighted pseudo-ML.
# Sandwich: scores of (beta, log theta) times the inverse observed information (numerical Hessian
# of the analytic weighted score, optimHess), passed through svyrecvar as svyglm does.
nb_fixture <- function(name, formula, design, dat) {
  w <- weights(design)
  dat$.w <- w / mean(w)
  fit <- glm.nb(formula, data = dat, weights = .w,
                control = glm.control(epsilon = 1e-14, maxit = 500))
  X <- model.matrix(fit)
  y <- fit$y
  p <- ncol(X)
  score <- function(par) {  # n x (p+1) weighted scores of the log-likelihood
    b <- par[1:p]; th <- exp(par[p + 1])
    mu <- drop(exp(X %*% b))
    sb <- X * ((y - mu) / (1 + mu / th))
    st <- th * (digamma(y + th) - digamma(th) + log(th / (th + mu)) + 1 - (y + th) / (th + mu))
    cbind(sb, st) * w
  }
  loglik <- function(par) {
    b <- par[1:p]; th <- exp(par[p + 1])
    mu <- drop(exp(X %*% b))
    sum(w * (lgamma(y + th) - lgamma(th) - lgamma(y + 1) + th * log(th / (th + mu)) +
             y * log(mu / (th + mu))))
  }
  par <- c(coef(fit), log(fit$theta))
  # polish the joint maximum with Newton steps on the analytic score (numerical Hessian)
  for (i in 1:5) {
    H <- optimHess(par, loglik, function(q) colSums(score(q)), control = list(ndeps = rep(1e-5, p + 1)))
    par <- par - solve(H, colSums(score(par)))
  }
  H <- optimHess(par, loglik, function(q) colSums(score(q)), control = list(ndeps = rep(1e-5, p + 1)))
  infl <- score(par) %*% solve(-H)
  V <- svyrecvar(infl, design$cluster, design$strata, design$fpc, postStrata = design$postStrata)
  names(par) <- c(colnames(X), "log(theta)")
  wmodel(name, par, sqrt(diag(V)), degf(design) + 1 - p, length(y),
         extra = list(glmnb_estimate = c(coef(fit), log(fit$theta)),
                      max_abs_score = rep(max(abs(colSums(score(par)))), p + 1)))
}
nb_fixture("negbin_apistrat", emer ~ meals + stype, dstrat, apistrat)
nb_fixture("negbin_apiclus1", emer ~ meals + ell, dclus1, apiclus1)
cat("models fixtures written\n")
