# R reference fixtures for the inference polish (run from the repository root via
# tests/r/make_fixtures.sh; needs R with 'survey' and 'MASS').
#  1. svycontrast on an svyglm: an svystat whose confint uses NORMAL quantiles (not the
#     model's residual df), so surveykit's contrast() default matches it.
#  2. regTermTest(method = "LRT") on an svyolr (the only svyolr information criterion R has:
#     there is no logLik/AIC/BIC/anova method for svyolr in survey 4.1.1).
#     R's svyolr reports the deviance on weights divided by their mean but keeps the Hessian
#     on the raw weights, and regTermTest takes V0 = solve(Hessian): its lambdas are
#     mean(weight) times the design effects, so the p-value is right only when the weights
#     average 1. We record both: R on the given weights and R on the same design with the
#     weights divided by their mean (where R's two scales agree).
#     R's own regTermTest refit cannot take control = list(ndeps = ...) (the smaller model has
#     fewer parameters), and optim's default ndeps = 1e-3 makes the Hessian a coarse finite
#     difference; so the LRT is recomputed here exactly as regTermTest does, with both fits
#     converged tightly and the Hessian from ndeps = 1e-6, and checked against regTermTest.
suppressPackageStartupMessages({
  library(survey)
  library(MASS)
})
options(digits = 15)
out <- "tests/fixtures/r"
dir.create(out, recursive = TRUE, showWarnings = FALSE)
data(api)
f17 <- function(x) sprintf("%.17g", x)
exact <- glm.control(epsilon = 1e-16, maxit = 200)

dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)

## ---- 1. svycontrast on svyglm ---------------------------------------------------------------
m <- svyglm(api00 ~ ell + meals + stype, design = dclus1, control = exact)
cons <- list(ell_minus_meals = c(ell = 1, meals = -1),
             H_minus_M = c(stypeH = 1, stypeM = -1))
rows <- lapply(names(cons), function(nm) {
  cc <- svycontrast(m, cons[[nm]])
  stopifnot(inherits(cc, "svystat"))
  ci <- confint(cc)              # confint.default: normal quantiles
  ci_t <- confint(cc, df = m$df.residual)
  data.frame(contrast = nm, estimate = f17(coef(cc)), std_error = f17(SE(cc)),
             ci_low = f17(ci[1, 1]), ci_high = f17(ci[1, 2]),
             ci_low_t = f17(ci_t[1, 1]), ci_high_t = f17(ci_t[1, 2]),
             df_resid = m$df.residual)
})
write.csv(do.call(rbind, rows), file.path(out, "polish_svycontrast_glm.csv"), row.names = FALSE)

## ---- 2. regTermTest(method = "LRT") on svyolr --------------------------------------------------
rescaled <- function(d, formula) {  # the same design, weights / their mean over the rows used
  used <- complete.cases(model.frame(d)[, all.vars(as.formula(formula))])
  d$prob <- d$prob * mean(weights(d)[used])
  d
}
olr_lrt <- function(case, design, formula, drop, method) {
  design <- update(design, mealcat = cut(meals, c(0, 25, 50, 75, 100)))
  one <- function(des, scale_label) {
    # regTermTest and model.matrix re-evaluate the fit's call: keep its objects global
    des_cur <<- des
    full_f <<- as.formula(formula)
    small_f <<- update(full_f, as.formula(paste(". ~ . -", drop)))
    np <- function(f) {
      mf <- model.frame(f, model.frame(des))
      ncol(model.matrix(f, mf)) - 1 + nlevels(mf[[1]]) - 1
    }
    full <- svyolr(full_f, design = des_cur, method = method,
                   control = list(reltol = 1e-15, maxit = 5000, ndeps = rep(1e-6, np(full_f))))
    small <- svyolr(small_f, design = des_cur, method = method,
                    control = list(reltol = 1e-15, maxit = 5000,
                                   ndeps = rep(1e-6, np(small_f))))
    index <- which(!(names(coef(full)) %in% names(coef(small))))
    V <- vcov(full)[index, index]
    V0 <- solve(full$Hessian)[index, index]
    lambda <- sort(Re(eigen(solve(V0) %*% V, only.values = TRUE)$values), decreasing = TRUE)
    chisq <- deviance(small) - deviance(full)
    p <- pFsum(chisq, rep(1, length(lambda)), lambda, ddf = full$df.residual,
               method = "saddlepoint", lower.tail = FALSE)
    # R's own regTermTest (coarser optim Hessian) agrees to the precision of that Hessian
    full_r <- svyolr(full_f, design = des_cur, method = method,
                     control = list(reltol = 1e-15, maxit = 5000))
    rt <- regTermTest(full_r, as.formula(paste("~", drop)), method = "LRT")
    stopifnot(abs(rt$chisq - chisq) < 1e-6 * abs(chisq),
              max(abs(sort(rt$lambda, decreasing = TRUE) - lambda) / lambda) < 1e-3,
              abs(rt$p - p) < 1e-3)
    data.frame(case = case, weights = scale_label, term = drop, chisq = f17(chisq),
               df = length(index), ddf = full$df.residual, p_value = f17(p),
               lambda1 = f17(lambda[1]), lambda2 = f17(if (length(lambda) > 1) lambda[2] else NA),
               mean_weight = f17(mean(weights(des)[complete.cases(
                 model.frame(des)[, all.vars(full_f)])])), deviance = f17(deviance(full)))
  }
  rbind(one(design, "given"), one(rescaled(design, formula), "mean1"))
}
lrt <- rbind(
  olr_lrt("clus1_logit_stype", dclus1, "mealcat ~ avg.ed + mobility + stype", "stype", "logistic"),
  olr_lrt("clus1_probit_mobility", dclus1, "mealcat ~ avg.ed + mobility + stype", "mobility",
          "probit"),
  olr_lrt("strat_logit_stype", dstrat, "mealcat ~ avg.ed + mobility + stype", "stype", "logistic")
)
write.csv(lrt, file.path(out, "polish_svyolr_lrt.csv"), row.names = FALSE)

# what R survey 4.1.1 lacks for svyolr (surveykit raises a typed error naming the alternative)
o <- svyolr(mealcat ~ avg.ed, design = update(dclus1, mealcat = cut(meals, c(0, 25, 50, 75, 100))))
for (f in c("logLik", "AIC", "BIC", "anova")) {
  stopifnot(inherits(try(get(f)(o), silent = TRUE), "try-error"))
}
cat("polish fixtures written\n")
