# R reference fixtures for surveykit.multinom (baseline-category multinomial logit on a design).
# Run from the repository root via tests/r/make_fixtures.sh; needs R with 'survey' and 'nnet'.
#
# svyVGAM (svy_vglm(family = multinomial)) is not installable here, so the reference follows its
# recipe with base R tools: point estimates from nnet::multinom with the sampling weights, run to
# convergence (reltol 1e-14, maxit 1000); the linearisation covariance is svyrecvar of the
# influence functions U H^{-1} (U the n x (K-1)p weighted scores, H the analytic Hessian of the
# weighted log-likelihood, checked against optimHess: the numerical one is off by ~1e-3), which is what svy_vglm computes
# through vcov(svytotal(inffuns, design)). Replicate designs: nnet::multinom refitted with each
# replicate's weights, combined by svrVar (svy_vglm.svyrep.design does the same with vglm).
# Baseline category = first level (nnet's choice; VGAM's default is the last).
suppressPackageStartupMessages({
  library(survey)
  library(nnet)
})
options(digits = 15)
out <- "tests/fixtures/r"
dir.create(out, recursive = TRUE, showWarnings = FALSE)
data(api)
data(nhanes)

# weighted multinomial log-likelihood, its n x (K-1)p score contributions and its Hessian,
# parameters ordered outcome level by outcome level (all terms of level 2, then level 3, ...)
# as nnet's coef(fit)
mlogit_parts <- function(X, Y, w) {
  p <- ncol(X); M <- ncol(Y) - 1
  probs <- function(par) {
    eta <- cbind(0, X %*% matrix(par, p, M))
    eta <- eta - apply(eta, 1, max)
    e <- exp(eta)
    e / rowSums(e)
  }
  list(
    loglik = function(par) sum(w * log(rowSums(Y * probs(par)))),
    scores = function(par) {
      R <- (Y - probs(par))[, -1, drop = FALSE]
      do.call(cbind, lapply(seq_len(M), function(k) X * (w * R[, k])))
    },
    hessian = function(par) {
      Q <- probs(par)[, -1, drop = FALSE]
      H <- matrix(0, p * M, p * M)
      for (j in seq_len(M)) for (k in seq_len(M)) {
        v <- w * Q[, j] * ((j == k) - Q[, k])
        H[(j - 1) * p + 1:p, (k - 1) * p + 1:p] <- -crossprod(X, X * v)
      }
      H
    }
  )
}

# nnet's BFGS stops ~1e-5 short of the maximum on small samples even with reltol 1e-14: polish
# with Newton steps on the analytic score and Hessian (the nnet estimate is kept for comparison)
polish <- function(parts, par) {
  for (i in 1:20) {
    step <- solve(parts$hessian(par), colSums(parts$scores(par)))
    par <- par - step
    if (max(abs(step)) < 1e-13 * (1 + max(abs(par)))) break
  }
  par
}

fit_multinom <- function(formula, data, w) {
  data$.w <- w
  multinom(formula, data = data, weights = .w, reltol = 1e-14, maxit = 1000, trace = FALSE,
           model = TRUE)
}

# one CSV per model: outcome, term, estimate (nnet polished by Newton), std_error, design df, n,
# and nnet's own estimate
write_multinom <- function(name, fit, est, V, design_df, n, extra = list()) {
  cf <- coef(fit)
  if (is.null(dim(cf))) cf <- matrix(cf, nrow = 1, dimnames = list(fit$lev[2], names(cf)))
  df <- data.frame(outcome = rep(rownames(cf), each = ncol(cf)),
                   term = rep(colnames(cf), times = nrow(cf)),
                   estimate = sprintf("%.17g", est), std_error = sprintf("%.17g", sqrt(diag(V))),
                   design_df = design_df, n = n, stringsAsFactors = FALSE)
  for (k in names(extra)) df[[k]] <- sprintf("%.17g", extra[[k]])
  write.csv(df, file.path(out, paste0("multinom_", name, ".csv")), row.names = FALSE)
}

# linearisation: nnet fit on the domain's complete rows, sandwich through svyrecvar
lin_fixture <- function(name, formula, design, domain = rep(TRUE, nrow(design$variables)),
                        newdata = NULL) {
  dat <- design$variables
  w <- weights(design)
  mf <- model.frame(formula, dat[domain & w > 0, , drop = FALSE], na.action = na.omit)
  rows <- as.integer(rownames(mf))
  fit <- fit_multinom(formula, dat[rows, , drop = FALSE], w[rows])
  X <- model.matrix(fit)
  yf <- factor(model.response(mf), levels = fit$lev)
  Y <- model.matrix(~ yf - 1)
  parts <- mlogit_parts(X, Y, w[rows])
  nnet_par <- as.vector(t(coef(fit)))
  par <- polish(parts, nnet_par)
  H <- parts$hessian(par)
  Hnum <- optimHess(par, parts$loglik, function(q) colSums(parts$scores(q)))
  stopifnot(max(abs(Hnum - H)) < 1e-3 * max(abs(H)))  # the analytic Hessian, checked numerically
  infl <- matrix(0, nrow(dat), length(par))
  infl[rows, ] <- parts$scores(par) %*% solve(-H)
  V <- svyrecvar(infl, design$cluster, design$strata, design$fpc, postStrata = design$postStrata)
  if (!is.null(newdata)) {  # predicted probabilities and delta-method SEs (numerical gradient)
    Xn <- model.matrix(delete.response(terms(fit)), newdata)
    prob <- function(q) {
      e <- exp(cbind(0, Xn %*% matrix(q, ncol(X))))
      as.vector(t(e / rowSums(e)))
    }
    G <- sapply(seq_along(par), function(j) {
      h <- 1e-6 * max(1, abs(par[j])); u <- par; l <- par; u[j] <- u[j] + h; l[j] <- l[j] - h
      (prob(u) - prob(l)) / (2 * h)
    })
    write.csv(data.frame(row = rep(seq_len(nrow(Xn)) - 1, each = length(fit$lev)),
                         level = rep(fit$lev, nrow(Xn)), estimate = sprintf("%.17g", prob(par)),
                         std_error = sprintf("%.17g", sqrt(diag(G %*% V %*% t(G))))),
              file.path(out, paste0("multinom_", name, "_predict.csv")), row.names = FALSE)
  }
  write_multinom(name, fit, par, V, degf(subset(design, domain)), length(rows),
                 extra = list(nnet_estimate = nnet_par,
                              max_abs_score = rep(max(abs(colSums(parts$scores(par)))),
                                                  length(par))))
}

dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dnh <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE,
                 data = nhanes)

# stratified multistage (NHANES), covariate missing for some rows (HI_CHOL), 4 outcome levels
lin_fixture("race_nhanes", factor(race) ~ agecat + RIAGENDR + HI_CHOL, dnh)
# cluster sample with FPC, string outcome, 3 levels
lin_fixture("stype_apiclus1", stype ~ ell + meals + mobility, dclus1,
            newdata = data.frame(ell = c(10, 40), meals = c(20, 80), mobility = c(15, 5)))
# a domain (R's subset: rows outside keep their PSU structure, weight zero)
lin_fixture("stype_apiclus1_domain", stype ~ ell + meals + mobility, dclus1,
            domain = apiclus1$both == "Yes")

# replicate (JK1) design: refit per replicate (weights exported by fixtures_models.R:
# models_jk1_repweights.csv / models_jk1_scale.csv)
rep_fixture <- function(name, formula, rdesign, domain = rep(TRUE, nrow(rdesign$variables))) {
  dat <- rdesign$variables
  w <- weights(rdesign, "sampling") * domain
  rw <- weights(rdesign, "analysis") * domain
  keep <- w > 0
  fit <- fit_multinom(formula, dat[keep, , drop = FALSE], w[keep])
  X <- model.matrix(fit)
  Y <- model.matrix(~ yf - 1, data.frame(yf = factor(model.response(model.frame(fit)),
                                                       levels = fit$lev)))
  nnet_theta <- as.vector(t(coef(fit)))
  theta <- polish(mlogit_parts(X, Y, w[keep]), nnet_theta)
  thetas <- t(apply(rw, 2, function(wr) {
    start <- as.vector(t(coef(fit_multinom(formula, dat[keep, , drop = FALSE], wr[keep]))))
    polish(mlogit_parts(X, Y, wr[keep]), start)
  }))
  V <- svrVar(thetas, rdesign$scale, rdesign$rscales, mse = rdesign$mse, coef = theta)
  write_multinom(name, fit, theta, V, degf(rdesign), sum(keep),
                 extra = list(nnet_estimate = nnet_theta))
}
rclus1 <- as.svrepdesign(dclus1, type = "JK1")
rep_fixture("jk1_stype_apiclus1", stype ~ ell + meals + mobility, rclus1)
rep_fixture("jk1_stype_apiclus1_domain", stype ~ ell + meals + mobility, rclus1,
            domain = apiclus1$both == "Yes")
cat("multinom fixtures written\n")
