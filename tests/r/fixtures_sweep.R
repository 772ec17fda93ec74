# R reference fixtures for the design x estimator sweep (tests/test_sweep_agreement.py):
# designs the other fixtures do not cover, built on one seeded synthetic sample, each with
# the same battery of estimators.
# Run from the repository root via tests/r/make_fixtures.sh; needs R with 'survey' (4.1.1).
# Writes tests/fixtures/r/sweep_data.csv (the sample), sweep_results.csv (long: case, stat,
# name, estimate, se, df, p) and sweep_repweights.csv (R's bootstrap and random replicate
# weights, fed to svrepdesign as user-supplied weights on both sides).
suppressPackageStartupMessages(library(survey))
options(digits = 15, survey.lonely.psu = "fail")
out <- "tests/fixtures/r"

## ---- the sample: 5 strata (2-5 PSUs), 2-3 SSUs per PSU, 2-4 units per SSU ---------------
set.seed(20261202)
nh <- c(s1 = 2, s2 = 3, s3 = 4, s4 = 5, s5 = 3)
rows <- list()
pid <- 0
for (h in names(nh)) {
  N1 <- nh[[h]] * 3 + 2
  for (j in seq_len(nh[[h]])) {
    pid <- pid + 1
    m <- sample(2:3, 1)
    N2 <- 2 * m + 1
    for (k in seq_len(m)) {
      q <- sample(2:4, 1)
      N3 <- q + sample(0:3, 1)
      for (u in seq_len(q))
        rows[[length(rows) + 1]] <- data.frame(h = h, psu = j, psu_id = pid, ssu = k, unit = u,
                                               N1 = N1, N2 = N2, N3 = N3, n1 = nh[[h]], m2 = m,
                                               m3 = q)
    }
  }
}
d <- do.call(rbind, rows)
n <- nrow(d)
d$f1 <- d$n1 / d$N1
d$f2 <- d$m2 / d$N2
d$wa <- round(d$N1 / d$n1 * d$N2 / d$m2 * runif(n, 0.7, 1.3), 4)  # weights given by the user
d$pa <- 1 / d$wa
d$w0 <- d$wa
d$w0[sample(n, 12)] <- 0
d$w0[d$psu_id == 9] <- 0                               # a whole PSU of stratum s4 at weight 0
d$hl <- ifelse(d$h == "s4" & d$psu == 1, "s4x", d$h)   # s4x: a stratum with a single PSU
d$Nsrs <- 400
psu_eff <- rnorm(max(d$psu_id), 0, 1)
d$x <- round(rgamma(n, 3, 1), 3)
d$y <- round(2 + 0.5 * d$x + as.integer(factor(d$h)) * 0.3 + psu_eff[d$psu_id] +
               rnorm(n), 4)
d$b <- rbinom(n, 1, plogis(-1 + 0.3 * d$x))
d$cat <- 1 + (d$y > 3.5) + (d$y > 5.5)
d$grp <- sample(1:2, n, replace = TRUE)
d$reg <- sample(c("a", "b", "c"), n, replace = TRUE, prob = c(0.3, 0.3, 0.4))
d$expo <- round(runif(n, 0.5, 2), 3)
d$cnt <- rpois(n, d$expo * exp(0.1 + 0.2 * d$x))
d$ord <- as.integer(cut(d$y + rnorm(n), quantile(d$y, c(0, 0.3, 0.6, 0.85, 1)) +
                          c(-100, 0, 0, 0, 100), labels = FALSE))
# the domain: stratum s1 keeps only its PSU 1 (a PSU alone in its stratum only in the domain)
d$dom <- as.integer(!(d$h == "s1" & d$psu == 2) & d$unit != 2)
# missing values: every third unit, and the whole PSU 2 of stratum s1
d$ym <- ifelse(d$unit == 3 | d$psu_id == 2, NA, d$y)
write.csv(d, file.path(out, "sweep_data.csv"), row.names = FALSE, na = "")

## ---- the estimators ------------------------------------------------------------------------
res <- list()
add <- function(case, stat, name, est, se = NA, df = NA, p = NA) {
  if (!is.numeric(est)) stop("non-numeric ", case, " ", stat, ": ", class(est))
  res[[length(res) + 1]] <<- data.frame(case = case, stat = stat, name = name,
                                        estimate = sprintf("%.15g", est),
                                        se = sprintf("%.15g", se), df = sprintf("%.15g", df),
                                        p = sprintf("%.15g", p), stringsAsFactors = FALSE)
}
tight <- glm.control(epsilon = 1e-16, maxit = 200)
# full = FALSE (most domains): the variance paths only, without deff, proportions and
# ratios by group, the F test and the two-sample t test
battery <- function(case, des, models = TRUE, full = TRUE) {
  m <- svymean(~y, des, deff = TRUE)
  add(case, "mean", "y", coef(m), SE(m))
  if (full) add(case, "deff", "y", deff(m))
  t <- svytotal(~y, des)
  add(case, "total", "y", coef(t), SE(t))
  p <- svymean(~factor(cat), des)
  add(case, "proportion", sub("factor(cat)", "", names(coef(p)), fixed = TRUE), coef(p), SE(p))
  r <- svyratio(~y, ~x, des)
  add(case, "ratio", "y/x", coef(r), SE(r))
  v <- svyvar(~y, des)
  add(case, "var", "y", coef(v), SE(v))
  q <- svyquantile(~y, des, c(0.25, 0.5), ci = TRUE)
  add(case, "quantile", c(0.25, 0.5), coef(q), SE(q))
  # survey 4.1.1's svyby(covmat=TRUE) fails on calibrated designs: no contrast reference there
  bm <- tryCatch(svyby(~y, ~grp, des, svymean, covmat = TRUE), error = function(e) NULL)
  if (is.null(bm)) {
    bm <- svyby(~y, ~grp, des, svymean)
  } else {
    ct <- svycontrast(bm, c(-1, 1))
    add(case, "contrast_grp", "2-1", coef(ct), SE(ct))
  }
  add(case, "mean_by_grp", bm$grp, coef(bm), SE(bm))
  bt <- svyby(~y, ~grp + reg, des, svytotal)
  add(case, "total_by_grp_reg", paste(bt$grp, bt$reg, sep = "."), coef(bt), SE(bt))
  add(case, "degf", "df", degf(des))
  t1 <- svyttest(y ~ 0, des)
  add(case, "ttest_one", "y", t1$estimate, t1$estimate / t1$statistic, t1$parameter, t1$p.value)
  ci <- svyciprop(~I(cat == 1), des, method = "logit")
  add(case, "ciprop_logit", c("estimate", "low", "high"), c(coef(ci), confint(ci)))
  if (!full) return(invisible())
  bp <- svyby(~factor(cat), ~reg, des, svymean)
  if (is.numeric(coef(bp)))  # (a domain lacking levels in some groups: svyby returns a list)
    add(case, "prop_by_reg", sub("factor(cat)", "", names(coef(bp)), fixed = TRUE), coef(bp),
        as.vector(as.matrix(SE(bp))))
  br <- svyby(~y, ~reg, des, svyratio, denominator = ~x)
  add(case, "ratio_by_reg", br$reg, coef(br), SE(br))
  x2 <- svychisq(~cat + reg, des)
  add(case, "chisq_F", "F", x2$statistic, NA, x2$parameter[2], x2$p.value)
  add(case, "chisq_F", "ndf", x2$parameter[1])
  tt <- svyttest(y ~ grp, des)
  add(case, "ttest", "grp", tt$estimate, tt$estimate / tt$statistic, tt$parameter, tt$p.value)
  if (!models) return(invisible())
  f1 <- svyglm(y ~ x + reg, des, control = tight)
  add(case, "glm_gaussian", names(coef(f1)), coef(f1), SE(f1), f1$df.residual)
  f2 <- svyglm(b ~ x, des, family = quasibinomial(), control = tight)
  add(case, "glm_binomial", names(coef(f2)), coef(f2), SE(f2), f2$df.residual)
  f3 <- svyglm(cnt ~ x + offset(log(expo)), des, family = quasipoisson(), control = tight)
  add(case, "glm_poisson", names(coef(f3)), coef(f3), SE(f3), f3$df.residual)
}
# every design also on the domain dom == 1 (the full battery there only where dom_models; on
# replicate designs only where models: the other fixtures cover model domains and replicate
# refits, and the tests stay fast)
rep_models <- c("jk1_clus", "jkn_lonely_adjust", "user_other", "user_boot_mse",
                "user_boot_poststrat")
# replicate designs whose domain adds nothing the other replicate domains do not check
no_dom <- c("jkn_lonely_certainty", "jkn_lonely_average", "jkn_lonely_adjust", "user_boot_mse",
            "user_other_mse", "user_jk1", "user_fay", "user_other_rscale1")
record <- function(case, des, dom_models = FALSE) {
  battery(case, des, !inherits(des, "svyrep.design") || case %in% rep_models)
  if (!case %in% no_dom)
    battery(paste0(case, "@dom"), subset(des, dom == 1), dom_models, dom_models)
}

## ---- linearisation designs -----------------------------------------------------------------
record("strat", svydesign(id = ~1, strata = ~h, weights = ~wa, data = d))
record("clus", svydesign(id = ~psu_id, weights = ~wa, data = d))
record("stratclus_nest", svydesign(id = ~psu, strata = ~h, nest = TRUE, weights = ~wa, data = d))
record("stratclus_uniq", svydesign(id = ~psu_id, strata = ~h, weights = ~wa, data = d))
record("fpc_pop", svydesign(id = ~psu_id, strata = ~h, fpc = ~N1, weights = ~wa, data = d))
record("fpc_frac", svydesign(id = ~psu_id, strata = ~h, fpc = ~f1, weights = ~wa, data = d))
record("fpc_noweights", svydesign(id = ~psu_id, strata = ~h, fpc = ~N1, data = d))
record("fpc_frac_noweights", svydesign(id = ~psu_id, strata = ~h, fpc = ~f1, data = d))
record("srs_fpc_noweights", svydesign(id = ~1, fpc = ~Nsrs, data = d))
record("probs", svydesign(id = ~psu_id, strata = ~h, probs = ~pa, data = d))
record("two_stage_fpc", svydesign(id = ~psu_id + ssu, strata = ~h, fpc = ~N1 + N2, data = d),
       dom_models = TRUE)
record("two_stage_fpc_w", svydesign(id = ~psu_id + ssu, strata = ~h, fpc = ~N1 + N2,
                                    weights = ~wa, data = d))
record("two_stage_nofpc", svydesign(id = ~psu_id + ssu, strata = ~h, weights = ~wa, data = d))
record("two_stage_nest_frac", svydesign(id = ~psu + ssu, strata = ~h, nest = TRUE,
                                        fpc = ~f1 + f2, data = d))
record("three_stage_fpc", svydesign(id = ~psu_id + ssu + unit, strata = ~h,
                                    fpc = ~N1 + N2 + N3, data = d))
record("zero_weights", svydesign(id = ~psu, strata = ~h, nest = TRUE, weights = ~w0, data = d),
       dom_models = TRUE)
# no FPC at some stages: R's population size Inf (or sampling fraction 0) there
d$Ninf <- Inf
d$fzero <- 0
record("two_stage_inf2", svydesign(id = ~psu_id + ssu, strata = ~h, fpc = ~N1 + Ninf,
                                   weights = ~wa, data = d))
record("two_stage_inf1", svydesign(id = ~psu_id + ssu, strata = ~h, fpc = ~Ninf + N2,
                                   weights = ~wa, data = d))
record("three_stage_inf3", svydesign(id = ~psu_id + ssu + unit, strata = ~h,
                                     fpc = ~N1 + N2 + Ninf, weights = ~wa, data = d))
record("two_stage_frac0", svydesign(id = ~psu + ssu, strata = ~h, nest = TRUE, fpc = ~f1 + fzero,
                                    weights = ~wa, data = d))
d$Ninf <- NULL
d$fzero <- NULL
# a certainty stratum (s1 taken whole: N = n)
d$N1c <- ifelse(d$h == "s1", d$n1, d$N1)
record("fpc_certainty", svydesign(id = ~psu_id, strata = ~h, fpc = ~N1c, weights = ~wa, data = d))
for (lp in c("remove", "certainty", "average", "adjust")) {
  options(survey.lonely.psu = lp)
  record(paste0("lonely_", lp), svydesign(id = ~psu_id, strata = ~hl, weights = ~wa, data = d))
}
# a lonely stratum whose respondents all have weight 0: R still counts it among the strata of
# lonely_psu = "average" (README: deliberate difference; surveykit counts strata with weight)
options(survey.lonely.psu = "average")
d$wz <- ifelse(d$hl == "s4x", 0, d$wa)
battery("lonely_average_zero_stratum", svydesign(id = ~psu_id, strata = ~hl, weights = ~wz,
                                                 data = d), models = FALSE)
d$wz <- NULL
options(survey.lonely.psu = "fail")

## ---- calibrated designs --------------------------------------------------------------------
base <- svydesign(id = ~psu, strata = ~h, nest = TRUE, weights = ~wa, data = d)
pop_reg <- data.frame(reg = c("a", "b", "c"), Freq = c(1200, 1500, 2100))
pop_grp <- data.frame(grp = 1:2, Freq = c(2300, 2500))
record("poststrat", postStratify(base, ~reg, pop_reg),
       dom_models = TRUE)
record("rake", rake(base, list(~reg, ~grp), list(pop_reg, pop_grp), control = list(epsilon = 1e-12,
                                                                             maxit = 100)))
record("cal_linear", calibrate(base, ~x + reg, c(`(Intercept)` = 4800, x = 14500, regb = 1500,
                                                regc = 2100)))

## ---- replicate designs built from a linearisation design -----------------------------------
record("jk1_clus", as.svrepdesign(svydesign(id = ~psu_id, weights = ~wa, data = d), type = "JK1"))
record("jkn_fpc", as.svrepdesign(svydesign(id = ~psu_id, strata = ~h, fpc = ~N1, weights = ~wa,
                                           data = d), type = "JKn"))
for (lp in c("remove", "certainty", "average", "adjust")) {
  options(survey.lonely.psu = lp)
  record(paste0("jkn_lonely_", lp),
         as.svrepdesign(svydesign(id = ~psu_id, strata = ~hl, weights = ~wa, data = d),
                        type = "JKn"))
}
options(survey.lonely.psu = "fail")
# JKn drops the replicates of a certainty stratum
record("jkn_certainty", as.svrepdesign(svydesign(id = ~psu_id, strata = ~h, fpc = ~N1c,
                                                 weights = ~wa, data = d), type = "JKn"))
# a domain inside one PSU: every JK1 replicate but one keeps it, the one without it is NaN
jk <- as.svrepdesign(svydesign(id = ~psu_id, weights = ~wa, data = d), type = "JK1")
battery("jk1_one_psu_domain", subset(jk, psu_id %in% c(4, 5)), models = FALSE)

## ---- user-supplied replicate weights (svrepdesign) -----------------------------------------
boot <- as.svrepdesign(base, type = "bootstrap", replicates = 20, compress = FALSE)
bw <- as.matrix(weights(boot, "analysis"))
rnd <- matrix(round(d$wa * runif(n * 12, 0.5, 1.5), 4), n, 12)
rw <- data.frame(bw, rnd)
names(rw) <- c(sprintf("b%02d", 1:20), sprintf("r%02d", 1:12))
write.csv(rw, file.path(out, "sweep_repweights.csv"), row.names = FALSE)
dd <- cbind(d, rw)
bcols <- sprintf("b%02d", 1:20)
rcols <- sprintf("r%02d", 1:12)
rsc <- seq(0.5, 1.6, length.out = 12)
record("user_boot", svrepdesign(data = dd, weights = ~wa, repweights = "b[0-9]+",
                                type = "bootstrap"))
record("user_boot_mse", svrepdesign(data = dd, weights = ~wa, repweights = "b[0-9]+",
                                    type = "bootstrap", mse = TRUE))
record("user_other", svrepdesign(data = dd, weights = ~wa, repweights = "r[0-9]+",
                                 type = "other", scale = 0.3, rscales = rsc), dom_models = TRUE)
record("user_other_mse", svrepdesign(data = dd, weights = ~wa, repweights = "r[0-9]+",
                                     type = "other", scale = 0.3, rscales = rsc, mse = TRUE))
record("user_jk1", suppressWarnings(svrepdesign(data = dd, weights = ~wa, repweights = "r[0-9]+",
                                                type = "JK1")))
record("user_jkn", svrepdesign(data = dd, weights = ~wa, repweights = "r[0-9]+", type = "JKn",
                               rscales = rsc))
record("user_fay", svrepdesign(data = dd, weights = ~wa, repweights = "r[0-9]+", type = "Fay",
                               rho = 0.25))
record("user_other_rscale1", svrepdesign(data = dd, weights = ~wa, repweights = "r[0-9]+",
                                         type = "other", scale = 0.3, rscales = 0.8))
ub <- svrepdesign(data = dd, weights = ~wa, repweights = "b[0-9]+", type = "bootstrap")
record("user_boot_poststrat", postStratify(ub, ~reg, pop_reg))

## ---- intervals, tests and missing values on a few of the designs ---------------------------
battery2 <- function(case, des) {
  rep <- inherits(des, "svyrep.design")
  # (svyquantile on a replicate design ignores interval.type: README, deliberate differences)
  for (it in if (rep) character(0) else c("score", "beta", "xlogit", "asin")) {
    q <- svyquantile(~y, des, 0.5, ci = TRUE, interval.type = it)
    add(case, paste0("q_", it), c("estimate", "low", "high"), c(coef(q), confint(q)))
  }
  v <- svyvar(~y + x, des)
  add(case, "var2", c("y|y", "x|y", "y|x", "x|x"), as.vector(coef(v)), as.vector(SE(v)))
  for (st in c("Chisq", "Wald", "adjWald")) {
    x2 <- svychisq(~cat + reg, des, statistic = st)
    add(case, paste0("chisq_", st), c("statistic", "p"), c(x2$statistic, x2$p.value))
  }
  for (m in c("beta", "xlogit", "asin", "mean", if (!rep) "likelihood")) {
    ci <- svyciprop(~I(cat == 1), des, method = m)
    add(case, paste0("ciprop_", m), c("estimate", "low", "high"), c(coef(ci), confint(ci)))
  }
  if (!rep) {  # by groups: the rows of weight 0 of each group count in nrow(design)
    b <- svyby(~I(cat == 1), ~reg, des, svyciprop, method = "beta", vartype = "ci")
    add(case, "ciprop_beta_by_reg", paste0(b$reg, rep(c("", ":low", ":high"), each = nrow(b))),
        c(b[, 2], b$ci_l, b$ci_u))
    b <- svyby(~y, ~reg, des, svyquantile, quantiles = 0.5, ci = TRUE, interval.type = "score",
               vartype = "ci")
    add(case, "q_score_by_reg", paste0(b$reg, rep(c("", ":low", ":high"), each = nrow(b))),
        c(b$y, b$ci_l, b$ci_u))
  }
  m <- svymean(~ym, des, na.rm = TRUE)
  add(case, "mean_na", "ym", coef(m), SE(m))
  b <- svyby(~ym, ~reg, des, svytotal, na.rm = TRUE)
  add(case, "total_na_by_reg", b$reg, coef(b), SE(b))
  g <- svyglm(ym ~ x, des, control = tight)
  add(case, "glm_na", names(coef(g)), coef(g), SE(g))
  rk <- svyranktest(y ~ grp, des)
  add(case, "rank2", c("estimate", "statistic", "p"), c(rk$estimate, rk$statistic, rk$p.value))
  if (!rep) {  # (survey 4.1.1's svyranktest fails for > 2 groups on replicate designs)
    rk <- svyranktest(y ~ reg, des)  # (R labels the chi-square "parameter")
    add(case, "rank3", c("chisq", "p"), c(rk$parameter, rk$p.value))
  }
}
b2 <- list(
  two_stage_fpc = svydesign(id = ~psu_id + ssu, strata = ~h, fpc = ~N1 + N2, data = d),
  three_stage_fpc = svydesign(id = ~psu_id + ssu + unit, strata = ~h, fpc = ~N1 + N2 + N3,
                              data = d),
  zero_weights = svydesign(id = ~psu, strata = ~h, nest = TRUE, weights = ~w0, data = d),
  probs_two_stage = svydesign(id = ~psu_id + ssu, strata = ~h, probs = ~f1 + f2, fpc = ~N1 + N2,
                              data = d),
  poststrat = postStratify(base, ~reg, pop_reg),
  user_other = svrepdesign(data = dd, weights = ~wa, repweights = "r[0-9]+", type = "other",
                           scale = 0.3, rscales = rsc),
  jkn_fpc = as.svrepdesign(svydesign(id = ~psu_id, strata = ~h, fpc = ~N1, weights = ~wa,
                                     data = d), type = "JKn"))
for (nm in names(b2)) {
  battery2(paste0(nm, "#2"), b2[[nm]])
  battery2(paste0(nm, "#2@dom"), subset(b2[[nm]], dom == 1))
}

## ---- ordinal models (svyolr to the optimum: reltol 1e-15, as fixtures_models.R) ----------
olr <- function(case, des) {
  o <- svyolr(factor(ord) ~ x, des, control = list(reltol = 1e-15, maxit = 5000))
  add(case, "olr", names(coef(o)), coef(o), SE(o))
}
olr("two_stage_fpc", svydesign(id = ~psu_id + ssu, strata = ~h, fpc = ~N1 + N2, data = d))
olr("zero_weights", svydesign(id = ~psu, strata = ~h, nest = TRUE, weights = ~w0, data = d))
olr("user_other", svrepdesign(data = dd, weights = ~wa, repweights = "r[0-9]+", type = "other",
                              scale = 0.3, rscales = rsc))
olr("two_stage_fpc@dom", subset(svydesign(id = ~psu_id + ssu, strata = ~h, fpc = ~N1 + N2,
                                          data = d), dom == 1))
olr("poststrat@dom", subset(postStratify(base, ~reg, pop_reg), dom == 1))

out_res <- do.call(rbind, res)
write.csv(out_res, file.path(out, "sweep_results.csv"), row.names = FALSE, quote = FALSE)
cat("wrote", nrow(out_res), "rows\n")
