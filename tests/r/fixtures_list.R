# R reference fixtures for surveykit.list_experiment (list / item-count experiments).
# Run from the repository root via tests/r/make_fixtures.sh. Needs R `list` (9.2.x), which is not
# packaged for Debian: bring the public repositories cran/list and cran/gamlss.dist, then
#   apt-get install r-cran-sandwich r-cran-vgam r-cran-magic r-cran-quadprog r-cran-corpcor \
#     r-cran-mvtnorm r-cran-coda r-cran-arm
#   R CMD INSTALL gamlss.dist; R CMD INSTALL list
#
# Model-based fits: list::ictreg (lm: vcovHC; nls: two-step; ml: constrained, EM) with and without
# weights on list's own `race` data (Imai 2011), and predict(avg = TRUE, se.fit = TRUE).
# "Run to convergence": ictreg's EM stops at a log-likelihood change of 1e-8 (coefficients still
# move in the 4th digit), so ML uses ictreg with that constant set to 1e-15; nls is refitted with
# base nls() at tol 1e-8 (its numerical floor here) from ictreg's estimates (same two steps, same formulas).
# Design-based SEs (design: states as PSUs within south/non-south strata, weights w): lm from
# svyglm; nls and ml from the fitted model's estimating-function contributions (numerical per-row
# derivatives of R's own objective functions) times the inverse Jacobian, by svytotal (svyrecvar);
# replicate designs (JKn) for difference and lm by svyglm.
suppressPackageStartupMessages({
  library(survey)
  library(list)
})
options(digits = 15)
out <- "tests/fixtures/r"
data(race)
race$w <- 0.5 + (seq_len(nrow(race)) %% 7) / 4
race$state <- as.character(race$state)
write.csv(race, file.path(out, "data", "list_race.csv"), row.names = FALSE)
rows <- list()
add <- function(case, name, est, se = NA) {
  rows[[length(rows) + 1]] <<- data.frame(case = case, name = name, estimate = unname(est),
                                          std_error = unname(se))
}
src <- gsub("10^(-8)", "10^(-15)", deparse(list::ictreg), fixed = TRUE)
ict_conv <- eval(parse(text = src)); environment(ict_conv) <- asNamespace("list")
fm <- y ~ south + age + male + college
X <- model.matrix(fm, race); p <- ncol(X); J <- 3
logistic <- function(e) 1 / (1 + exp(-e))

# nls refitted to convergence: the same two steps as ictreg (control items, then sensitive item)
nls_conv <- function(d, wt, start_c, start_t) {
  Xc <- model.matrix(fm, d[d$treat == 0, ]); Xt <- model.matrix(fm, d[d$treat == 1, ])
  yc <- d$y[d$treat == 0]; yt <- d$y[d$treat == 1]
  f0 <- nls(yc / J ~ logistic(Xc %*% b), start = list(b = unname(start_c)), weights = wt[d$treat == 0],
            control = nls.control(tol = 1e-8, maxiter = 1000, minFactor = 1e-12))
  gam <- coef(f0); ys <- yt - J * logistic(Xt %*% gam)
  f1 <- nls(ys ~ logistic(Xt %*% b), start = list(b = unname(start_t)), weights = wt[d$treat == 1],
            control = nls.control(tol = 1e-8, maxiter = 1000, minFactor = 1e-12))
  c(coef(f1), gam)
}
# per-row estimating functions of the three methods, parameters (delta, gamma)
psi_ml <- function(par, d, wt) {  # numerical per-row scores of ictreg's log-likelihood
  ll_i <- function(par) {
    Xd <- model.matrix(fm, d); g <- logistic(Xd %*% par[1:p]); h <- logistic(Xd %*% par[(p + 1):(2 * p)])
    y <- d$y; t <- d$treat
    l <- ifelse(t == 0, dbinom(y, J, h, log = TRUE),
         ifelse(y == 0, log(1 - g) + dbinom(0, J, h, log = TRUE),
         ifelse(y == J + 1, log(g) + dbinom(J, J, h, log = TRUE),
                log(g * dbinom(pmax(y - 1, 0), J, h) + (1 - g) * dbinom(pmin(y, J), J, h)))))
    wt * l
  }
  sapply(seq_along(par), function(k) { e <- rep(0, length(par)); e[k] <- 1e-5
    (ll_i(par + e) - ll_i(par - e)) / 2e-5 })
}
psi_nls <- function(par, d, wt) {
  obj_i <- function(par) {
    Xd <- model.matrix(fm, d); g <- logistic(Xd %*% par[1:p]); h <- logistic(Xd %*% par[(p + 1):(2 * p)])
    t <- d$treat
    # step 1 objective for gamma (control rows), step 2 for delta (treated rows, gamma fixed)
    cbind(-wt * (1 - t) * (d$y / J - h)^2 / 2, -wt * t * (d$y - J * h - g)^2 / 2)
  }
  sapply(seq_along(par), function(k) { e <- rep(0, length(par)); e[k] <- 1e-5
    col <- if (k <= p) 2 else 1  # delta from step 2, gamma from step 1
    (obj_i(par + e)[, col] - obj_i(par - e)[, col]) / 2e-5 })
}
# the two-step Jacobian: gamma's step-1 equations do not depend on delta; delta's step-2 equations
# depend on both (numerical derivative of the column sums)
jac <- function(psi, par, d, wt) {
  sapply(seq_along(par), function(k) { e <- rep(0, length(par)); e[k] <- 1e-5
    (colSums(psi(par + e, d, wt)) - colSums(psi(par - e, d, wt))) / 2e-5 })
}
prev_parts <- function(par, d, method) {
  Xd <- model.matrix(fm, d); eta <- drop(Xd %*% par[1:p])
  if (method == "lm") list(g = eta, grad = Xd) else {
    g <- logistic(eta); list(g = g, grad = g * (1 - g) * Xd) }
}
design_ref <- function(case, par, psi, d, des, method, groups) {
  wt <- weights(des)
  A <- jac(psi, par, d, wt)
  inf <- -psi(par, d, wt) %*% t(solve(A))
  pp <- prev_parts(par, d, method)
  cols <- inf
  for (gname in names(groups)) {
    m <- groups[[gname]]; W <- sum(wt * m); P <- sum(wt * m * pp$g) / W
    gp <- colSums(wt * m * pp$grad) / W
    cols <- cbind(cols, wt * m * (pp$g - P) / W + inf[, 1:p] %*% gp)
  }
  cols <- cols / wt  # svytotal weights the variables itself
  colnames(cols) <- paste0("v", seq_len(ncol(cols)))
  dd <- update(des, .dummy = 0)
  for (k in seq_len(ncol(cols))) dd$variables[[paste0("v", k)]] <- cols[, k]
  V <- vcov(svytotal(as.formula(paste("~", paste(colnames(cols), collapse = "+"))), dd))
  se <- sqrt(diag(V))
  nm <- c(paste0("sensitive:", colnames(X)), paste0("control:", colnames(X)))
  for (k in seq_along(nm)) add(case, nm[k], par[k], se[k])
  for (j in seq_along(groups)) {
    m <- groups[[j]]; P <- sum(wt * m * pp$g) / sum(wt * m)
    add(case, paste0("prevalence:", names(groups)[j]), P, se[2 * p + j])
  }
}
groups <- list(overall = rep(1, nrow(race)), "0" = as.numeric(race$male == 0),
               "1" = as.numeric(race$male == 1))

for (weighted in c(FALSE, TRUE)) {
  tag <- if (weighted) "weighted" else "unweighted"
  wt <- if (weighted) race$w else rep(1, nrow(race))
  fits <- list(
    lm = if (weighted) ictreg(fm, data = race, treat = "treat", J = J, method = "lm", weights = "w")
         else ictreg(fm, data = race, treat = "treat", J = J, method = "lm"),
    # weighted nls: ictreg stops with "singular gradient" in its start-value glm/nls on these
    # data, so only the unweighted fit is a reference (the design-based nls below is weighted)
    nls = if (weighted) NULL else ictreg(fm, data = race, treat = "treat", J = J, method = "nls"),
    ml = if (weighted) ict_conv(fm, data = race, treat = "treat", J = J, method = "ml", weights = "w",
                                maxIter = 100000)
         else ict_conv(fm, data = race, treat = "treat", J = J, method = "ml", maxIter = 100000))
  for (m in names(fits)) {
    f <- fits[[m]]
    if (is.null(f)) next
    case <- paste0("race_", m, "_", tag)
    par_t <- f$par.treat; par_c <- f$par.control
    if (m == "nls") {
      conv <- nls_conv(race, wt, f$par.control, f$par.treat)
      add(paste0(case, "_ictreg"), paste0("sensitive:", names(par_t)), par_t)
      par_t <- conv[1:p]; par_c <- conv[(p + 1):(2 * p)]
    }
    add(case, paste0("sensitive:", names(f$par.treat)), par_t, f$se.treat)
    add(case, paste0("control:", names(f$par.control)), par_c, f$se.control)
    pr <- predict(f, avg = TRUE, se.fit = TRUE)
    add(case, "prevalence:overall", pr$fit, pr$se.fit)
  }
}

## design-based: states (PSUs) within south / non-south strata, weights w
des <- svydesign(id = ~state, strata = ~south, weights = ~w, nest = TRUE, data = race)
# difference in means: svyglm(y ~ treat), by male: svyglm(y ~ treat * male)
d1 <- svyglm(y ~ treat, des)
add("race_design_difference", "prevalence:overall", coef(d1)["treat"], SE(d1)["treat"])
d2 <- svyglm(y ~ treat * male, des)
add("race_design_difference", "prevalence:0", coef(d2)["treat"], SE(d2)["treat"])
L <- c(0, 1, 0, 1); est <- sum(L * coef(d2)); se <- sqrt(drop(t(L) %*% vcov(d2) %*% L))
add("race_design_difference", "prevalence:1", est, se)
# lm: svyglm with the treatment interactions (delta = treat + treat:x, gamma = main effects)
d3 <- svyglm(y ~ (south + age + male + college) * treat, des)
cf <- coef(d3); V <- vcov(d3)
nmx <- c("(Intercept)", "south", "age", "male", "college")
tn <- c("treat", paste0("south:treat"), "age:treat", "male:treat", "college:treat")
for (k in 1:5) add("race_design_lm", paste0("sensitive:", nmx[k]), cf[tn[k]], sqrt(V[tn[k], tn[k]]))
for (k in 1:5) add("race_design_lm", paste0("control:", nmx[k]), cf[nmx[k]], sqrt(V[nmx[k], nmx[k]]))
f_nls <- ictreg(fm, data = race, treat = "treat", J = J, method = "nls")
# weighted nls diverges on these data (sensitive-item coefficients grow without bound), so the
# design-based nls reference uses the same clusters and strata with equal weights
des1 <- svydesign(id = ~state, strata = ~south, nest = TRUE, data = race)
conv_nls <- nls_conv(race, rep(1, nrow(race)), f_nls$par.control, f_nls$par.treat)
design_ref("race_design_nls", conv_nls, psi_nls, race, des1, "nls", groups)
par_ml <- c(fits$ml$par.treat, fits$ml$par.control)
design_ref("race_design_ml", par_ml, psi_ml, race, des, "ml", groups)

## replicate design (JKn over states): difference and lm by svyglm
rdes <- as.svrepdesign(des, type = "JKn")
r1 <- svyglm(y ~ treat, rdes)
add("race_jkn_difference", "prevalence:overall", coef(r1)["treat"], SE(r1)["treat"])
r3 <- svyglm(y ~ (south + age + male + college) * treat, rdes)
cf <- coef(r3); V <- vcov(r3)
for (k in 1:5) add("race_jkn_lm", paste0("sensitive:", nmx[k]), cf[tn[k]], sqrt(V[tn[k], tn[k]]))
for (k in 1:5) add("race_jkn_lm", paste0("control:", nmx[k]), cf[nmx[k]], sqrt(V[nmx[k], nmx[k]]))
rw <- weights(rdes, "analysis")
# (nls refits on the JKn replicates: some replicates' treated-arm nls has a singular gradient
# in R, so there is no replicate nls reference)
write.csv(as.data.frame(apply(rw, 2, function(v) sprintf("%.17g", v))),
          file.path(out, "list_race_jkn_repweights.csv"), row.names = FALSE)
write.csv(data.frame(scale = rdes$scale, rscales = rdes$rscales, mse = rdes$mse),
          file.path(out, "list_race_jkn_scale.csv"), row.names = FALSE)

res <- do.call(rbind, rows)
write.csv(res, file.path(out, "list_race.csv"), row.names = FALSE)
