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

# ---- predict, AIC/BIC, regTermTest, anova: one stratified/clustered, one replicate, one domain
# long format: case, quantity, name, value
long <- list()
put <- function(case, quantity, name, value) {
  long[[length(long) + 1]] <<- data.frame(case = case, quantity = quantity, name = name,
                                          value = f17(unname(value)), stringsAsFactors = FALSE)
}
# the calls must be re-evaluable by update() (regTermTest's LRT, AIC): design is a global
fitg <- function(formula, family) {
  suppressWarnings(eval(bquote(svyglm(.(formula), design = design, family = .(family),
                                      control = .(exact))), envir = globalenv()))
}
newdat <- data.frame(ell = c(5, 30, 60), meals = c(10, 50, 90), mobility = c(5, 15, 30),
                     stype = factor(c("E", "H", "M"), levels = c("E", "H", "M")),
                     enroll = c(300, 600, 1200))
tcases <- list(
  list(case = "logit_clus1", design = dclus1, family = quasibinomial(),
       big = sch.wide ~ ell + meals + stype, small = sch.wide ~ ell, terms = c("meals", "stype")),
  list(case = "logit_rclus1", design = rclus1, family = quasibinomial(),
       big = sch.wide ~ ell + meals + stype, small = sch.wide ~ ell, terms = c("meals", "stype")),
  list(case = "logit_strat_domain", design = subset(dstrat, stype != "H"),
       family = quasibinomial(), big = sch.wide ~ ell + meals + mobility, small = sch.wide ~ ell,
       terms = c("meals", "mobility")),
  list(case = "probit_nhanes", design = dnh, family = quasibinomial(link = "probit"),
       big = HI_CHOL ~ factor(race) + agecat + RIAGENDR, small = HI_CHOL ~ RIAGENDR,
       terms = c("factor(race)", "agecat")),
  list(case = "lm_clus1", design = dclus1, family = gaussian(),
       big = api00 ~ ell + meals + stype, small = api00 ~ ell, terms = c("meals", "stype")),
  list(case = "lm_rclus1", design = rclus1, family = gaussian(),
       big = api00 ~ ell + meals + stype, small = api00 ~ ell, terms = c("meals", "stype")),
  list(case = "lm_strat_domain", design = subset(dstrat, stype != "H"), family = gaussian(),
       big = api00 ~ ell + meals + mobility, small = api00 ~ ell, terms = c("meals", "mobility")),
  list(case = "poisson_offset_strat", design = dstrat, family = poisson(),
       big = emer ~ ell + meals + stype + offset(log(enroll)), small = emer ~ ell + offset(log(enroll)),
       terms = c("meals", "stype")),
  list(case = "gamma_cal_domain", design = subset(cal.strat, stype != "E"),
       family = Gamma(link = "log"), big = api00 ~ ell + meals + mobility, small = api00 ~ ell,
       terms = c("meals", "mobility"))
)
for (tc in tcases) {
  design <- tc$design
  big <- fitg(tc$big, tc$family)
  small <- fitg(tc$small, tc$family)
  case <- tc$case
  put(case, "deviance_big", "", deviance(big))
  put(case, "deviance_small", "", deviance(small))
  # predictions (not for the nhanes model, whose variables are not in newdat)
  if (case != "probit_nhanes") {
    for (type in c("link", "response")) {
      p <- predict(big, newdata = newdat, type = type, se.fit = TRUE)
      put(case, paste0("predict_", type), seq_along(coef(p)), coef(p))
      # (SE() of a replicate-design prediction returns the first row's SE for every row in
      # survey 4.1.1 -- attr(p, "var") is a vector there -- so take the variances directly)
      v <- attr(p, "var")
      put(case, paste0("predict_", type, "_se"), seq_along(coef(p)),
          sqrt(if (is.matrix(v)) diag(v) else v))
    }
  }
  # (survey 4.1.1's AIC for a Gaussian svyglm on a replicate design fails inside
  # extractAIC_svylm: coef() of svyvar's replicate result; no reference for that case)
  a <- tryCatch(AIC(big), error = function(e) NULL)
  if (!is.null(a)) {
    put(case, "aic", names(a), a)
    a2 <- AIC(small)
    put(case, "aic_small", names(a2), a2)
  }
  b <- BIC(small, maximal = big)
  put(case, "bic_small", names(b), b)
  b <- BIC(big, maximal = big)
  put(case, "bic_big", names(b), b)
  for (method in c("Wald", "LRT")) {
    for (ddf in c("default", "Inf")) {
      df <- if (ddf == "Inf") Inf else NULL
      r <- regTermTest(big, tc$terms, method = method, df = df)
      q <- paste0("regtermtest_", method, "_", ddf)
      stat <- if (method == "LRT") r$chisq else if (is.null(r$Ftest)) r$chisq else r$Ftest
      put(case, q, c("statistic", "p", "df", "ddf"),
          c(stat, r$p, r$df, if (is.null(r$ddf)) Inf else r$ddf))
      if (method == "LRT") put(case, paste0(q, "_lambda"), seq_along(r$lambda), r$lambda)
    }
    one <- regTermTest(big, tc$terms[1], method = method)
    put(case, paste0("regtermtest1_", method), c("statistic", "p"),
        c(if (method == "LRT") one$chisq else one$Ftest, one$p))
  }
  # sequential anova of one model (R's oneanova.svyglm): each term given the ones before it
  for (method in c("LRT", "Wald")) {
    sq <- anova(big, method = method)
    put(case, paste0("seqanova_", method),
        rep(c("statistic", "p"), length(sq)),
        unlist(lapply(sq, function(r) c(if (method == "LRT") r$chisq else r$Ftest, r$p))))
  }
  for (method in c("LRT", "Wald")) {
    for (test in c("F", "Chisq")) {
      r <- anova(small, big, method = method, test = test)
      stat <- if (method == "LRT") r$chisq else if (is.null(r$Ftest)) r$chisq else r$Ftest
      put(case, paste0("anova_", method, "_", test), c("statistic", "p"), c(stat, r$p))
    }
  }
}
write.csv(do.call(rbind, long), file.path(out, "models2_tests.csv"), row.names = FALSE)
write.csv(newdat, file.path(out, "models2_newdata.csv"), row.names = FALSE)
cat("models2 tests fixtures written\n")

# ---- svyolr: category probabilities at new data with delta-method SEs (no R function does
# this; computed here from R's coefficients and vcov by central differences), regTermTest
probs_at <- function(par, X) {  # par = (beta, zeta); P(Y = k) for each row (rows x K)
  p <- ncol(X)
  eta <- drop(X %*% par[1:p])
  cum <- plogis(outer(-eta, par[-(1:p)], "+"))
  cbind(cum, 1) - cbind(0, cum)
}
nd <- data.frame(avg.ed = c(2.5, 3.5), mobility = c(10, 20),
                 stype = factor(c("E", "H"), levels = c("E", "H", "M")))
Xo <- model.matrix(~ avg.ed + mobility + stype, nd)[, -1]
par <- c(coef(olr))
pr <- c(t(probs_at(par, Xo)))  # row-major: row 1 levels 1..K, then row 2
G <- sapply(seq_along(par), function(j) {
  h <- 1e-6 * max(1, abs(par[j])); e <- replace(numeric(length(par)), j, h)
  (c(t(probs_at(par + e, Xo))) - c(t(probs_at(par - e, Xo)))) / (2 * h)
})
se <- sqrt(diag(G %*% vcov(olr) %*% t(G)))
write.csv(data.frame(estimate = f17(pr), std_error = f17(se)),
          file.path(out, "models2_olr_predict.csv"), row.names = FALSE)
rt <- regTermTest(olr, ~stype)
rt2 <- regTermTest(olr, c("avg.ed", "stype"), df = Inf)
write.csv(data.frame(test = c("stype_F", "avg.ed+stype_chisq"), statistic = f17(c(rt$Ftest, rt2$chisq)),
                     df = c(rt$df, rt2$df), ddf = c(rt$ddf, Inf), p = f17(c(rt$p, rt2$p))),
          file.path(out, "models2_olr_regtermtest.csv"), row.names = FALSE)
cat("models2 svyolr predictions and term tests written\n")

# ---- svyttest, svyranktest, svypredmeans ------------------------------------------------------
# (designs as globals so that update() inside svypredmeans finds them)
long <- list()
ht_cases <- list(
  list(case = "ttest_clus1", design = dclus1, f = api00 ~ comp.imp),
  list(case = "ttest_rclus1", design = rclus1, f = api00 ~ comp.imp),
  list(case = "ttest_strat_domain", design = subset(dstrat, stype != "H"), f = api00 ~ sch.wide),
  list(case = "ttest_nhanes", design = dnh, f = HI_CHOL ~ RIAGENDR),
  list(case = "ttest1_clus1", design = dclus1, f = growth ~ 0),
  list(case = "ttest1_rclus1", design = rclus1, f = growth ~ 0)
)
for (tc in ht_cases) {
  r <- svyttest(tc$f, tc$design)
  put(tc$case, "ttest", c("estimate", "statistic", "df", "p", "ci_low", "ci_high"),
      c(r$estimate, r$statistic, r$parameter, r$p.value, r$conf.int))
}
rank_cases <- list(
  list(case = "rank_clus1", design = dclus1, f = enroll ~ comp.imp),
  list(case = "rank_rclus1", design = rclus1, f = enroll ~ comp.imp),
  list(case = "rank_strat_domain", design = subset(dstrat, stype != "H"), f = enroll ~ sch.wide),
  list(case = "krank_clus1", design = dclus1, f = enroll ~ stype),
  list(case = "krank_strat_domain", design = subset(dstrat, sch.wide == "Yes"), f = enroll ~ stype),
  list(case = "krank_rclus1", design = rclus1, f = enroll ~ stype)
)
for (tc in rank_cases) {
  for (test in c("wilcoxon", "vanderWaerden", "median", "KruskalWallis")) {
    r <- tryCatch(svyranktest(tc$f, tc$design, test = test), error = function(e) NULL)
    if (is.null(r)) next
    if (is.null(r$ddf)) {
      put(tc$case, paste0("rank_", test), c("estimate", "statistic", "df", "p"),
          c(r$estimate, r$statistic, r$parameter, r$p.value))
    } else {  # K groups: R stores the chi-square in $parameter and its df in $statistic
      put(tc$case, paste0("rank_", test), c("chisq", "ndf", "ddf", "p"),
          c(r$parameter, r$statistic, r$ddf, r$p.value))
    }
  }
}
# predictive margins: svypredmeans(adjustmodel, ~group); and, with no R function for it, the
# same computation with other variables fixed (at=), written out from svypredmeans' code
at_margins <- function(model, design, var, value) {
  mf <- model.frame(design)
  mf[[var]] <- value
  w <- weights(design, "sampling")
  mu <- predict(model, newdata = mf, type = "response", se.fit = FALSE)
  eta <- predict(model, newdata = mf, type = "link", se.fit = FALSE)
  mm <- model.matrix(terms(model), mf)
  dg <- colSums(w * model$family$mu.eta(eta) * mm) / sum(w)
  cond <- svymean(matrix(coef(mu), ncol = 1), design)
  c(coef(cond), sqrt(drop(t(dg) %*% vcov(model) %*% dg) + attr(cond, "var")))
}
pm_cases <- list(
  list(case = "pm_lm_clus1", design = dclus1, f = api00 ~ ell + meals, fam = gaussian(),
       g = ~stype, at = c("meals", 50)),
  list(case = "pm_logit_clus1", design = dclus1, f = sch.wide ~ ell + meals,
       fam = quasibinomial(), g = ~stype, at = c("meals", 50)),
  list(case = "pm_logit_rclus1", design = rclus1, f = sch.wide ~ ell + meals,
       fam = quasibinomial(), g = ~stype, at = c("meals", 50)),
  list(case = "pm_poisson_strat_domain", design = subset(dstrat, sch.wide == "Yes"),
       f = emer ~ ell + meals, fam = poisson(), g = ~stype, at = c("ell", 20)),
  list(case = "pm_logit_nhanes", design = dnh, f = HI_CHOL ~ agecat + RIAGENDR,
       fam = quasibinomial(), g = ~factor(race), at = c("RIAGENDR", 2))
)
for (tc in pm_cases) {
  design <- tc$design
  m <- fitg(tc$f, tc$fam)
  pm <- svypredmeans(m, tc$g)
  lv <- names(coef(pm))
  o <- order(lv)
  put(tc$case, "predmeans", lv[o], coef(pm)[o])
  put(tc$case, "predmeans_se", lv[o], SE(pm)[o])
  # at=: the adjustment model with the grouping variable added, one variable fixed, no by
  gvar <- all.vars(tc$g)
  mg <- eval(bquote(update(m, . ~ . + .(tc$g[[2]]))))
  at <- at_margins(mg, m$survey.design, tc$at[1], as.numeric(tc$at[2]))
  put(tc$case, "at_margin", c("estimate", "std_error"), at)
}
write.csv(do.call(rbind, long), file.path(out, "models2_htests.csv"), row.names = FALSE)
cat("models2 svyttest/svyranktest/svypredmeans written\n")
