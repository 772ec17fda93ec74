# R reference fixtures for margins(ordinal_fit, by="g"): predicted probability of each
# response category per group, with svypredmeans' variance (survey:::svypredmeans, written out
# for the category probabilities of svyolr, which svypredmeans itself does not take):
#   fits[i, (g, k)] = P(y_i = k | x_i with g set for everyone)
#   cond = svymean(fits, design restricted to the model's respondents)
#   V = dg' vcov(fit) dg + vcov(cond),  dg[(g, k), ] = sum_i w_i dP_ik/dtheta / sum_i w_i
# Designs: apiclus1 clustered with FPC, its JK1 replicate design and a domain (enroll > 300).
# svyolr is run to convergence (optim reltol 1e-15, ndeps 1e-6); on the JK1 design the
# replicate refits are redone with the same tight control (svyolr.svyrep.design does not pass
# control= to them). Writes tests/fixtures/r/ordinal_margins.csv.
suppressPackageStartupMessages(library(survey))
suppressPackageStartupMessages(library(MASS))
options(digits = 15)
data(api)
out <- "tests/fixtures/r"
f17 <- function(x) format(x, digits = 17)
tight_for <- function(np) list(reltol = 1e-15, maxit = 5000, ndeps = rep(1e-6, np))

apiclus1$mealcat <- cut(apiclus1$meals, c(0, 25, 50, 75, 100))
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
rclus1 <- as.svrepdesign(dclus1, type = "JK1")

margins_olr <- function(name, design, formula, byvar, replicate = FALSE) {
  vars <- all.vars(formula)
  np <- length(coef(svyolr(formula, design = design)))
  tight <- tight_for(np)
  fit <- svyolr(formula, design = design, control = tight)
  theta <- c(fit$coefficients, fit$zeta)
  V <- vcov(fit)
  if (replicate) {  # the replicate refits, converged as tightly as the full-sample fit
    mf <- model.frame(design)
    rwa <- weights(design, "analysis")
    reps <- t(apply(rwa, 2, function(w) {
      mf$.w <- w
      m <- polr(formula, data = mf, weights = .w, start = theta, Hess = FALSE, model = FALSE,
                control = tight)
      c(m$coefficients, m$zeta)
    }))
    V <- svrVar(reps, design$scale, design$rscales, mse = design$mse, coef = theta)
  }
  dat <- design$variables
  w_all <- weights(design, "sampling")
  keep <- complete.cases(dat[, vars]) & w_all > 0
  sub <- design[keep, ]
  rhs <- delete.response(terms(formula))
  groups <- levels(factor(dat[[byvar]][keep]))
  zeta <- fit$zeta
  beta <- fit$coefficients
  K <- length(zeta) + 1
  w <- w_all[keep]
  fits <- NULL
  dg <- NULL
  for (g in groups) {
    nd <- dat
    nd[[byvar]] <- factor(g, levels = levels(factor(dat[[byvar]])))
    nd <- nd[keep, ]
    X <- model.matrix(rhs, model.frame(rhs, nd, na.action = na.pass))[, -1, drop = FALSE]
    eta <- drop(X %*% beta[colnames(X)])
    cum <- cbind(0, sapply(zeta, function(z) plogis(z - eta)), 1)
    dens <- cbind(0, sapply(zeta, function(z) dlogis(z - eta)), 0)
    P <- cum[, -1] - cum[, -(K + 1)]
    fits <- cbind(fits, P)  # the model's respondents, the rows of `sub`
    for (k in 1:K) {
      gb <- -(dens[, k + 1] - dens[, k]) * X
      gz <- matrix(0, nrow(X), length(zeta))
      if (k < K) gz[, k] <- dens[, k + 1]
      if (k > 1) gz[, k - 1] <- -dens[, k]
      dg <- rbind(dg, colSums(w * cbind(gb, gz)) / sum(w))
    }
  }
  cond <- svymean(fits, sub)
  vv <- dg %*% V %*% t(dg) + attr(cond, "var")
  data.frame(case = name, group = rep(groups, each = K), level = rep(seq_len(K), length(groups)),
             estimate = f17(as.numeric(coef(cond))), se = f17(sqrt(diag(vv))),
             cov_first = f17(vv[1, ]))
}

f <- mealcat ~ avg.ed + mobility + stype
res <- rbind(
  margins_olr("clus1", dclus1, f, "stype"),
  margins_olr("jk1_clus1", rclus1, f, "stype", replicate = TRUE),
  margins_olr("clus1_domain", subset(dclus1, enroll > 300), f, "stype"),
  margins_olr("clus1_added", dclus1, mealcat ~ avg.ed + mobility + stype + sch.wide, "sch.wide")
)
write.csv(res, file.path(out, "ordinal_margins.csv"), row.names = FALSE, quote = FALSE)
