# Models on replicate designs carry their replicate estimates (issue 25): R survey's own test
# tests/svycontrast.R -- svyglm on as.svrepdesign(apiclus2 two-stage design) (JK1 over the
# first-stage PSUs dnum), svycontrast of c(ell=1, meals=0) and c(0,1,0,0) with and without
# return.replicates=TRUE -- extended with nonlinear contrasts (ratio and product of
# coefficients), where the SE from the replicates differs from the delta method's, a logit
# svyglm on a domain of a stratified JKn design, and an ordinal model (svyolr) on JK1.
# Output tests/fixtures/r/rtests_models_<survey version>.csv (run under survey 4.1.1 and 4.5,
# see make_fixtures.sh). Long format: case, quantity, value; vectors are written element by
# element in R's order (replicate matrices row by row: replicate 1's coefficients first).
# glm fits run to convergence (epsilon = 1e-16), the full-sample fit and, through svyglm's
# control=, every replicate refit; polr refits use optim's reltol 1e-15 (svyolr.svyrep.design
# does not pass control= to its replicate refits, so the loop is redone here, as in
# fixtures_models.R).
# Versions: survey 4.1.1 and 4.5 give the same numbers for every quantity both compute (the
# test in tests/test_r_survey_models.py checks they agree); 4.1.1 fails on the R test itself,
# every linear svycontrast of a replicate-design svyglm (see below).
suppressPackageStartupMessages({
  library(survey)
  library(MASS)
})
out <- "tests/fixtures/r"
ver <- as.character(packageVersion("survey"))
f17 <- function(x) sprintf("%.17g", x)
exact <- glm.control(epsilon = 1e-16, maxit = 200)
data(api)
rows <- list()
put <- function(case, quantity, value) {
  rows[[length(rows) + 1]] <<- data.frame(survey_version = ver, case = case,
                                          quantity = quantity, value = f17(as.numeric(value)))
}
put_stat <- function(case, quantity, s) {
  put(case, quantity, coef(s))
  put(case, paste0(quantity, "_se"), sqrt(diag(as.matrix(vcov(s)))))
}

## ---- the R test: svycontrast.R -----------------------------------------------------------
dclus2 <- svydesign(id = ~dnum + snum, weights = ~pw, data = apiclus2)
rclus2 <- as.svrepdesign(dclus2)
case <- "jk1_clus2"
put(case, "scale", rclus2$scale)
put(case, "rscales", rclus2$rscales)
model <- svyglm(formula = api00 ~ ell + meals + mobility, design = rclus2, control = exact)
model2 <- svyglm(formula = api00 ~ ell + meals + mobility, design = rclus2,
                 return.replicates = TRUE, control = exact)
stopifnot(all.equal(coef(model), coef(model2)), all.equal(vcov(model), vcov(model2)))
put(case, "coef", coef(model))
put(case, "coef_se", SE(model))
put(case, "replicates", t(model2$replicates))   # replicate by replicate
put(case, "df_resid", model$df.residual)
# survey 4.1.1 fails on every LINEAR svycontrast of a replicate-design svyglm, with or
# without return.replicates ("requires numeric/complex matrix/vector arguments", "non-
# conformable arguments": svycontrast.svrepstat's linear branch; the R test was added in 4.2-1
# with the fix), so its file records linear_works = 0 and lacks the linear contrasts; 4.5
# gives them. (Nonlinear contrasts work in both versions.)
lin_try <- function(expr) tryCatch(expr, error = function(e) NULL)
a <- lin_try(svycontrast(model, c(ell = 1, meals = 0)))
b <- lin_try(svycontrast(model, c(0, 1, 0, 0)))
a2 <- lin_try(svycontrast(model2, c(ell = 1, meals = 0)))
b2 <- lin_try(svycontrast(model2, c(0, 1, 0, 0)))
works <- !is.null(a) && !is.null(b) && !is.null(a2) && !is.null(b2)
put(case, "linear_works", works)
if (works) {
  stopifnot(all.equal(coef(a), coef(b)), !is.list(b), !is.null(b2$replicates),
            all.equal(coef(a), coef(a2)), all.equal(as.numeric(vcov(a)), as.numeric(vcov(a2))))
  put_stat(case, "ell", a)
  put_stat(case, "ell_return_replicates", a2)
  put(case, "ell_contrast_replicates", b2$replicates)
}
# nonlinear: with the replicates (svrVar of the ratio on every replicate) and without (delta)
r_with <- svycontrast(model2, quote(ell / meals))
r_without <- svycontrast(model, quote(ell / meals))
put(case, "ratio_ell_meals", coef(r_with))
put(case, "ratio_ell_meals_se_replicates", sqrt(as.numeric(vcov(r_with))))
put(case, "ratio_ell_meals_se_delta", sqrt(as.numeric(vcov(r_without))))
two <- svycontrast(model2, list(ratio = quote(ell / meals), prod = quote(ell * mobility)))
put(case, "two", coef(two))
put(case, "two_vcov_replicates", as.matrix(vcov(two)))
two_d <- svycontrast(model, list(ratio = quote(ell / meals), prod = quote(ell * mobility)))
put(case, "two_vcov_delta", as.matrix(vcov(two_d)))

## ---- logit svyglm on a domain of a stratified JKn design -----------------------------------
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
rstrat <- subset(as.svrepdesign(dstrat, type = "JKn"), api99 < 750)
case <- "jkn_strat_domain_logit"
m <- svyglm(sch.wide ~ ell + meals + mobility, design = rstrat, family = quasibinomial,
            return.replicates = TRUE, control = exact)
m0 <- svyglm(sch.wide ~ ell + meals + mobility, design = rstrat, family = quasibinomial,
             control = exact)
put(case, "coef", coef(m))
put(case, "coef_se", SE(m))
put(case, "replicates", t(m$replicates))
put(case, "df_resid", m$df.residual)
# the odds ratio of 10 points of meals, and the probability of sch.wide at a covariate profile
nl <- list(or_meals10 = quote(exp(10 * meals)),
           p_profile = quote(1 / (1 + exp(-(`(Intercept)` + 20 * ell + 50 * meals +
                                              10 * mobility)))))
put(case, "nonlinear", coef(svycontrast(m, nl)))
put(case, "nonlinear_vcov_replicates", as.matrix(vcov(svycontrast(m, nl))))
put(case, "nonlinear_vcov_delta", as.matrix(vcov(svycontrast(m0, nl))))
lin <- lin_try(svycontrast(m, c(ell = 1, meals = -1)))  # NULL in 4.1.1 (see above)
if (!is.null(lin)) put_stat(case, "ell_minus_meals", lin)
# predictions carry the replicates too (predict.svrepglm: return.replicates defaults to TRUE
# when the fit has them), so svycontrast of a ratio of predicted probabilities uses them; the
# delta reference needs the full covariance of the predictions (vcov=TRUE) of the fit without
nd <- data.frame(ell = c(10, 40), meals = c(20, 80), mobility = c(5, 20))
p_rep <- predict(m, newdata = nd, type = "response")
stopifnot(!is.null(p_rep$replicates))
p_del <- predict(m0, newdata = nd, type = "response", vcov = TRUE)
put(case, "predict", coef(p_del))
put(case, "predict_vcov", as.matrix(vcov(p_del)))
put(case, "predict_replicates", t(p_rep$replicates))
pr_rep <- svycontrast(p_rep, quote(`1` / `2`))
pr_del <- svycontrast(p_del, quote(`1` / `2`))
put(case, "predict_ratio", coef(pr_rep))
put(case, "predict_ratio_se_replicates", sqrt(as.numeric(vcov(pr_rep))))
put(case, "predict_ratio_se_delta", sqrt(as.numeric(vcov(pr_del))))

## ---- svyolr on JK1 (apiclus1) -------------------------------------------------------------
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
rclus1 <- update(as.svrepdesign(dclus1, type = "JK1"),
                 mealcat = cut(meals, c(0, 25, 50, 75, 100)))
case <- "jk1_clus1_olr"
tight_optim <- list(reltol = 1e-15, maxit = 5000, ndeps = rep(1e-6, 7))
olr <- svyolr(mealcat ~ avg.ed + mobility + stype, design = rclus1, control = tight_optim,
              return.replicates = TRUE)
stopifnot(!is.null(olr$replicates))  # both versions keep them (svyolr(return.replicates=TRUE))
mf <- model.frame(rclus1)
start <- c(olr$coefficients, olr$zeta)
betas <- t(apply(weights(rclus1, "analysis"), 2, function(w) {
  fit <- MASS::polr(mealcat ~ avg.ed + mobility + stype, data = mf, weights = w,
                    start = start, Hess = FALSE, model = FALSE, control = tight_optim)
  c(fit$coefficients, fit$zeta)
}))
v_rep <- svrVar(betas, rclus1$scale, rclus1$rscales, mse = rclus1$mse, coef = start)
put(case, "coef", start)
put(case, "coef_se", sqrt(diag(v_rep)))
put(case, "replicates", t(betas))
# R's svycontrast.svyolr always takes the delta method (it ignores replicates); the replicate
# SE is svrVar of the function on every replicate, as svycontrast does for svrepglm
nl <- list(or_avg_ed = quote(exp(avg.ed)),
           p_low = quote(1 / (1 + exp(-(`(0,25]|(25,50]` - 3 * avg.ed - 15 * mobility)))))
f <- function(b) sapply(nl, function(e) eval(e, as.list(b)))
value <- f(start)
reps <- t(apply(betas, 1, f))
put(case, "nonlinear", value)
put(case, "nonlinear_vcov_replicates",
    svrVar(reps, rclus1$scale, rclus1$rscales, mse = rclus1$mse, coef = value))
s <- start
attr(s, "var") <- v_rep
attr(s, "statistic") <- "coef"
class(s) <- "svystat"
put(case, "nonlinear_vcov_delta", as.matrix(vcov(svycontrast(s, nl))))

## ---- the R test confintrep.R: profile-likelihood intervals on replicate designs ------------
# confint(svyglm on a replicate design, method = "likelihood"): MASS's profile of the working
# deviance, the level rescaled by the design effect (replicate variance / naive variance), the
# dispersion summary.svrepglm's sum(w r^2) / sum(w) of the Pearson residuals. survey 4.1.1
# returns NA limits here (the R test's own check, "NA in confint", fails), so its file
# records likelihood_works = 0 and lacks the likelihood limits; 4.5 gives them.
# (For a gaussian svyglm both versions fail inside the profile, "NA/NaN/Inf in 'y'": the
# naive variance there leaves out the dispersion, the rescaled level is ~0 and the profile
# step infinite; so the cases are logistic, as R's test.)
dclus2f <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
rclus2f <- suppressWarnings(as.svrepdesign(dclus2f))  # FPCs after the first stage dropped
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
ci_cases <- list(
  clus2_compimp = list(I(comp.imp == "Yes") ~ 1, dclus2f),        # the R test, linearisation
  jk1_clus2_compimp = list(I(comp.imp == "Yes") ~ 1, rclus2f),    # the R test, replicates
  jk1_clus1_schwide = list(sch.wide ~ ell + meals, as.svrepdesign(dclus1, type = "JK1")),
  jkn_strat_domain_logit = list(sch.wide ~ ell + meals + mobility, rstrat))
for (case in names(ci_cases)) {
  cc <- ci_cases[[case]]
  fit <- svyglm(cc[[1]], design = cc[[2]], family = quasibinomial, control = exact)
  put(case, "ci_coef", coef(fit))
  put(case, "ci_coef_se", SE(fit))
  put(case, "ci_wald", t(confint(fit)))     # coefficient by coefficient: lower, upper
  for (level in c(0.95, 0.9)) {
    ci <- tryCatch(confint(fit, method = "likelihood", level = level),
                   error = function(e) NA)
    works <- !anyNA(ci)
    put(case, paste0("likelihood_works_", level), works)
    if (works) put(case, paste0("ci_likelihood_", level), t(matrix(ci, ncol = 2)))
  }
}
# the R test's withReplicates: a total and its log, with confint (normal quantiles)
repstats <- withReplicates(rclus2f, function(weights, data) {
  tot <- sum(data[["meals"]] * weights)
  c(tot, log(tot))
})
put("jk1_clus2_compimp", "with_replicates", coef(repstats))
put("jk1_clus2_compimp", "with_replicates_se", SE(repstats))
# (survey 4.1.1's confint of a withReplicates result is empty: its file records
# with_replicates_ci_works = 0)
ci <- confint(repstats, level = 0.95)
put("jk1_clus2_compimp", "with_replicates_ci_works", length(ci) == 4)
if (length(ci) == 4) put("jk1_clus2_compimp", "with_replicates_ci", t(ci))

write.csv(do.call(rbind, rows), file.path(out, paste0("rtests_models_", ver, ".csv")),
          row.names = FALSE)
