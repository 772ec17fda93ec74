# R's side of every example in README.md's "Deliberate differences from R" list (issue 25):
# for each difference, the number (or the error, or the NaN) that R gives on the example the
# README names. Run under Debian's survey 4.1.1 and under survey 4.5 (make_fixtures.sh runs
# every fixtures_rtests_*.R under both); output tests/fixtures/r/rtests_differences_<version>.csv
# with one row per (case, quantity): `value` (numeric, NA when R gave no number) and `text`
# (R's error message, warning or term names). tests/test_documented_differences.py computes
# surveykit's side, checks R's side against this file and the README's numbers against both.
suppressPackageStartupMessages(library(survey))
out <- "tests/fixtures/r"
ver <- as.character(packageVersion("survey"))
f17 <- function(x) sprintf("%.17g", x)
exact <- glm.control(epsilon = 1e-16, maxit = 200)
data(api)
data(nhanes)
rows <- list()
put <- function(case, quantity, value, text = "") {
  value <- as.numeric(value)
  if (length(value) == 0) value <- NA_real_
  rows[[length(rows) + 1]] <<- data.frame(
    survey_version = ver, case = case, quantity = quantity,
    value = paste(ifelse(is.na(value) & !is.nan(value), "NA", f17(value)), collapse = " "),
    text = gsub("[\r\n]+", " ", text))
}
# an R call that may fail or warn: its value (NULL on error) and the first error/warning text
attempt <- function(expr) {
  warn <- character(0)
  value <- withCallingHandlers(
    tryCatch(expr, error = function(e) structure(list(msg = conditionMessage(e)),
                                                 class = "r_failed")),
    warning = function(w) { warn <<- c(warn, conditionMessage(w)); invokeRestart("muffleWarning") })
  if (inherits(value, "r_failed")) return(list(value = NULL, error = value$msg, warning = warn))
  list(value = value, error = "", warning = warn)
}
put_attempt <- function(case, quantity, a, f = identity) {
  if (is.null(a$value)) put(case, quantity, NA, paste("error:", a$error))
  else put(case, quantity, f(a$value),
           if (length(a$warning)) paste("warning:", a$warning[1]) else "")
}
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
jk1 <- as.svrepdesign(dclus1)  # JK1 apiclus1, R's default for a one-stage cluster sample

# deff: weights summing to less than twice the sample size (apisrs, pw / 20: 309.7 < 400)
srs_small <- svydesign(id = ~1, weights = ~I(pw / 20), data = apisrs)
put("deff_small_weights", "deff_TRUE", deff(svymean(~api00, srs_small, deff = TRUE)))
put("deff_small_weights", "deff_replace", deff(svymean(~api00, srs_small, deff = "replace")))

# term names (svyglm on the stratified api sample)
m_names <- svyglm(api00 ~ stype, dstrat)
put("term_names", "coef", coef(m_names), paste(names(coef(m_names)), collapse = " "))

# glm's stopping rule: R's default glm.control (deviance change 1e-8) vs run to convergence
N.pop <- nrow(apipop)
cal.strat <- calibrate(dstrat, ~stype + api99,
                       c(N.pop, sum(apipop$stype == "H"), sum(apipop$stype == "M"),
                         sum(apipop$api99)))
cl_default <- suppressWarnings(svyglm(sch.wide ~ ell + meals, cal.strat,
                                      family = quasibinomial(link = "cloglog")))
cl_exact <- suppressWarnings(svyglm(sch.wide ~ ell + meals, cal.strat,
                                    family = quasibinomial(link = "cloglog"), control = exact))
put("glm_stopping_rule", "meals_default", coef(cl_default)["meals"])
put("glm_stopping_rule", "meals_exact", coef(cl_exact)["meals"])

# predict() and the offset: quasipoisson emer ~ meals + ell + offset(log(enroll)) on apiclus1
m_off <- svyglm(emer ~ meals + ell + offset(log(enroll)), dclus1, family = quasipoisson(),
                control = exact)
nd <- apiclus1[1:3, ]
put("predict_offset", "link", predict(m_off, newdata = nd, type = "link", se.fit = FALSE))
# SE() of predictions from a replicate-design model (JK1 apiclus1, api00 ~ ell)
m_rep <- svyglm(api00 ~ ell, jk1)
p_rep <- predict(m_rep, newdata = nd)
put("predict_se_replicates", "SE", SE(p_rep))
put("predict_se_replicates", "sqrt_var", sqrt(as.numeric(attr(p_rep, "var"))))

# predictive margins and the offset: svypredmeans of the same model by school type
pm <- svypredmeans(m_off, ~stype)
put("margins_offset", "predmeans", coef(pm), paste(names(coef(pm)), collapse = " "))

# ranktest with three groups on a replicate design (JK1 apiclus1, ell by stype)
put_attempt("ranktest_replicates", "chisq_p",
            attempt(svyranktest(ell ~ stype, jk1)), function(r) c(r$parameter, r$p.value))

# AIC of a Gaussian model on a replicate design (JK1 apiclus1, api00 ~ ell)
put_attempt("aic_gaussian_replicates", "AIC", attempt(AIC(svyglm(api00 ~ ell, jk1))),
            function(a) a["AIC"])

# contrast of a nonlinear function on a replicate design (R's tests/contrast-replicates.R)
by_with <- svyby(~log(enroll), ~stype, svymean, design = jk1, covmat = TRUE,
                 return.replicates = TRUE)
by_without <- svyby(~log(enroll), ~stype, svymean, design = jk1, covmat = TRUE)
put("contrast_replicates", "se_default", SE(svycontrast(by_without, quote(exp(E - H)))))
put("contrast_replicates", "se_replicates", SE(svycontrast(by_with, quote(exp(E - H)))))
put_attempt("contrast_replicates", "linear_with_replicates",
            attempt(svycontrast(by_with, c(E = 1, M = -1))), SE)

# linear calibration that makes a weight negative (apiclus1 to a population total of api99
# far below the sample's, R's default method = "linear")
lin_neg <- calibrate(dclus1, ~api99, c(N.pop, 2.5e6))
put("calibrate_linear_negative", "min_weight", min(weights(lin_neg)))
put("calibrate_linear_negative", "mean_api00", coef(svymean(~api00, lin_neg)))
# aggregate.stage = 1: R's tests/caleg.R example (equal weights within districts)
pop_enroll <- c(`(Intercept)` = 6194, enroll = 3811472)
agg <- calibrate(dclus1, ~enroll, pop_enroll, aggregate.stage = 1)
g <- weights(agg) / weights(dclus1)
put("calibrate_aggregate_negative", "min_g", min(g))
tot <- svytotal(~api.stu, agg)
put("calibrate_aggregate_negative", "total_api_stu", c(coef(tot), SE(tot)))

# lonely PSU in a domain, "average", a by group all of whose strata are lonely (apistrat
# stratified by stype, domain keeps one elementary school: group E)
options(survey.adjust.domain.lonely = TRUE, survey.lonely.psu = "average")
first_e <- which(apistrat$stype == "E")[1]
one_e <- subset(dstrat, stype != "E" | seq_len(nrow(apistrat)) == first_e)
b <- suppressWarnings(svyby(~api00, ~stype, one_e, svymean))
put("domain_lonely_average", "se_by_stype", SE(b))
options(survey.adjust.domain.lonely = FALSE, survey.lonely.psu = "fail")

# trim, strict mode (apistrat weights 15.1 / 35.6 / 44.2 by stype, trimmed to [20, 32])
tr <- attempt(trimWeights(dstrat, lower = 20, upper = 32, strict = TRUE))
put_attempt("trim_strict", "weights_by_stype", tr,
            function(d) tapply(weights(d), apistrat$stype, mean))
put("trim_strict", "sum_weights", sum(weights(tr$value)))

# lonely PSU "adjust": nhanes with the second PSU of strata 76 and 80 removed from the data
options(survey.lonely.psu = "adjust")
nh_lonely <- subset(nhanes, !(SDMVSTRA %in% c(76, 80) & SDMVPSU == 2))
dnh_lonely <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE,
                        data = nh_lonely)
t_adj <- suppressWarnings(svytotal(~HI_CHOL, dnh_lonely, na.rm = TRUE))
put("lonely_adjust", "total_HI_CHOL", c(coef(t_adj), SE(t_adj)))
options(survey.lonely.psu = "fail")

# proportion at p = 1 (apiclus1, I(api00 < 2000): every school), every interval type
for (m in c("logit", "xlogit", "beta", "asin", "wilson")) {
  put_attempt("proportion_p1", paste0("ci_", m),
              attempt(svyciprop(~I(api00 < 2000), dclus1, method = m)),
              function(r) attr(r, "ci"))
}
# Wilson interval (apiclus1, share of high schools)
put_attempt("wilson", "ci", attempt(svyciprop(~I(stype == "H"), dclus1, method = "wilson")),
            function(r) attr(r, "ci"))
# profile likelihood CI of a Gaussian model (apistrat, api00 ~ ell)
put_attempt("likelihood_gaussian", "ci_ell",
            attempt(confint(svyglm(api00 ~ ell, dstrat), "ell", method = "likelihood")))
# ... which works on api00 / 100, and gives another interval (in api00's units) on api00 / 30:
# the level is rescaled by the naive covariance, which for a Gaussian model lacks the dispersion
st_scaled <- update(dstrat, api_100 = api00 / 100, api_30 = api00 / 30)
put("likelihood_gaussian", "ci_ell_100",
    confint(svyglm(api_100 ~ ell, st_scaled), "ell", method = "likelihood"))
put("likelihood_gaussian", "ci_ell_30",
    confint(svyglm(api_30 ~ ell, st_scaled), "ell", method = "likelihood"))
# asin interval whose lower limit passes 0 (apiclus1, share of district 413: one school)
put_attempt("asin_clamp", "ci", attempt(svyciprop(~I(dnum == 413), dclus1, method = "asin")),
            function(r) attr(r, "ci"))
# lincom: R uses CompQuadForm::davies, or the saddlepoint approximation when it is absent
put("lincom", "compquadform_installed", requireNamespace("CompQuadForm", quietly = TRUE))
put_attempt("lincom", "p", attempt(svychisq(~stype + sch.wide, dclus1, statistic = "lincom")),
            function(r) r$p.value)
# likelihood interval of a proportion on a replicate design (JK1 apiclus1, high schools)
put_attempt("likelihood_replicates", "ci",
            attempt(svyciprop(~I(stype == "H"), jk1, method = "likelihood")),
            function(r) attr(r, "ci"))
# logit interval on a replicate design where one replicate's share is 0 (JK1 apiclus1,
# share of district 413: the replicate without it has none)
put_attempt("logit_replicate_zero", "ci",
            attempt(svyciprop(~I(dnum == 413), jk1, method = "logit")),
            function(r) c(coef(r), SE(r), attr(r, "ci")))
# empty domain: the mean of a domain with no respondent (apiclus1, stype E and api00 > 1000)
put_attempt("empty_domain", "mean",
            attempt(svymean(~api00, subset(dclus1, api00 > 1000))),
            function(r) c(coef(r), SE(r)))

# raking: margins whose totals differ (stype summing to 6194, sch.wide to 6000)
pop_stype <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop_sw <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1200, 4800))
rk <- attempt(rake(dclus1, list(~stype, ~sch.wide), list(pop_stype, pop_sw)))
put_attempt("rake_mixed_totals", "sum_weights", rk, function(d) sum(weights(d)))
# raking's stopping rule: R's default control (epsilon = 1 between sweeps) leaves a margin off
pop_sw2 <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1194, 5000))
rk2 <- rake(dclus1, list(~stype, ~sch.wide), list(pop_stype, pop_sw2))
put("rake_stopping_rule", "stype_E_total",
    sum(weights(rk2)[apiclus1$stype == "E"]))
# raking a replicate design: R stops every replicate when the full sample has converged (JK1
# apiclus1 to the same margins): the largest miss of a replicate's elementary-school total
rk_rep <- rake(jk1, list(~stype, ~sch.wide), list(pop_stype, pop_sw2))
rep_e <- colSums(weights(rk_rep, "analysis")[apiclus1$stype == "E", ])
put("rake_replicates", "max_miss_E", max(abs(rep_e - 4421)))
# trim bounds that cannot hold (apiclus1, all weights 33.85, upper = 30)
put_attempt("trim_infeasible", "max_weight", attempt(trimWeights(dclus1, upper = 30)),
            function(d) c(max(weights(d)), sum(weights(d))))
# trim on a replicate design (JKn apistrat, upper = 40)
jkn <- as.svrepdesign(dstrat, type = "JKn")
trep <- trimWeights(jkn, upper = 40)
put("trim_replicates", "max_full_sample_weight", max(weights(trep, "sampling")))
put("trim_replicates", "min_replicate_weight", min(weights(trep, "analysis")))

# post-stratifying a replicate design where a replicate has no weight in a cell (JK1 apiclus1,
# cells of stype: only district 406..., see the README): high schools by comp.imp
pop_cell <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
apiclus1_h1 <- apiclus1
apiclus1_h1$cell <- ifelse(apiclus1$dnum == 413, "x", "y")
jk1_cell <- as.svrepdesign(svydesign(id = ~dnum, weights = ~pw, data = apiclus1_h1, fpc = ~fpc))
ps_cell <- attempt(postStratify(jk1_cell, ~cell, data.frame(cell = c("x", "y"),
                                                            Freq = c(20, 6174))))
put_attempt("poststratify_replicate_empty_cell", "mean_api00", ps_cell,
            function(d) { m <- svymean(~api00, d); c(coef(m), SE(m)) })

# replicates of a raked design (apiclus1 raked to stype and sch.wide)
raked <- rake(dclus1, list(~stype, ~sch.wide),
              list(pop_stype, data.frame(sch.wide = c("No", "Yes"), Freq = c(1194, 5000))))
put_attempt("replicate_weighted_design", "se_mean_api00",
            attempt(as.svrepdesign(raked)), function(d) SE(svymean(~api00, d)))
put("replicate_weighted_design", "se_mean_api00_linearised", SE(svymean(~api00, raked)))

# fpc varying within a stratum (apistrat, fpc + 0..1 alternating in each stratum)
st_fpc <- apistrat
st_fpc$fpc2 <- st_fpc$fpc + (seq_len(nrow(st_fpc)) %% 2)
put_attempt("fpc_varies", "se_mean_api00",
            attempt(svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc2, data = st_fpc)),
            function(d) SE(svymean(~api00, d)))

# lonely_psu = "average" with a stratum whose respondents all have weight 0 (apistrat plus one
# school in a fourth stratum "Z" with weight 0)
st0 <- rbind(apistrat, apistrat[1, ])
st0$stype <- as.character(st0$stype)
st0$stype[nrow(st0)] <- "Z"
st0$pw[nrow(st0)] <- 0
options(survey.lonely.psu = "average")
d0 <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = st0)
put("average_zero_weight_stratum", "se_mean_api00", SE(svymean(~api00, d0)))
put("average_zero_weight_stratum", "se_mean_api00_without",
    SE(svymean(~api00, svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat))))
options(survey.lonely.psu = "fail")

# BRR with scale = (R ignores it): apistrat with two pseudo-PSUs per stratum (alternate rows)
st2 <- apistrat
st2$half <- seq_len(nrow(st2)) %% 2 + 1
brr <- as.svrepdesign(svydesign(id = ~half, strata = ~stype, weights = ~pw, nest = TRUE,
                                data = st2), type = "BRR")
rw <- weights(brr, "replication")
brr_scaled <- svrepdesign(data = st2, repweights = rw, weights = ~pw, type = "BRR",
                          scale = 0.5, combined.weights = FALSE)
put("brr_scale", "se_mean_api00", SE(svymean(~api00, brr_scaled)))
put("brr_scale", "se_mean_api00_default", SE(svymean(~api00, brr)))

# multistage "adjust" at stage 2: apiclus2 with one of district 83's three sampled schools
# kept (fpc2 = 3 schools in the district): a lonely second-stage unit
options(survey.lonely.psu = "adjust")
c2 <- apiclus2[!(apiclus2$dnum == 83 & duplicated(apiclus2$dnum)), ]
d2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = c2)
put_attempt("multistage_adjust", "se_total_enroll",
            attempt(svytotal(~enroll, d2, na.rm = TRUE)), function(r) c(coef(r), SE(r)))
options(survey.lonely.psu = "fail")

# quantile interval types on a replicate design (JK1 apiclus1, median of api00)
put_attempt("quantile_replicates", "ci_beta",
            attempt(svyquantile(~api00, jk1, 0.5, interval.type = "beta")),
            function(r) if (is.list(r)) r$api00[1, 2:3] else attr(r, "ci"))
put_attempt("quantile_replicates", "ci_mean",
            attempt(svyquantile(~api00, jk1, 0.5, interval.type = "mean")),
            function(r) if (is.list(r)) r$api00[1, 2:3] else attr(r, "ci"))

# wald_test(method = "LRT") with rows excluded for missing values: R's tests/regTermTest-missing.R
# model on nhanes (HI_CHOL missing in some rows), on the full design and on the complete rows
nh_formula <- I(race == 1) ~ HI_CHOL + agecat + RIAGENDR
dnh <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE,
                 data = nhanes)
nh_full <<- dnh
nh_complete <<- subset(dnh, !is.na(HI_CHOL))
lrt_full <- regTermTest(svyglm(nh_formula, nh_full, family = quasibinomial(), control = exact),
                        ~HI_CHOL, method = "LRT")
lrt_complete <- regTermTest(svyglm(nh_formula, nh_complete, family = quasibinomial(),
                                   control = exact), ~HI_CHOL, method = "LRT")
put("lrt_missing", "chisq_full", lrt_full$chisq)
put("lrt_missing", "chisq_complete", lrt_complete$chisq)
put("lrt_missing", "p_full_complete", c(lrt_full$p, lrt_complete$p))
# ... and a calibrated design's domain (apistrat calibrated to stype + api99, stype != "E",
# Gamma log model, meals and mobility)
cal_dom <<- subset(cal.strat, stype != "E")
lrt_cal <- regTermTest(svyglm(api00 ~ ell + meals + mobility, cal_dom,
                              family = Gamma(link = "log"), control = exact),
                       ~meals + mobility, method = "LRT")
put("lrt_calibrated_domain", "chisq_p", c(lrt_cal$chisq, lrt_cal$p))

# AIC of a Gaussian model on the linearised design (apiclus1, api00 ~ ell): survey 4.5 changed
# extractAIC_svylm (4.1.1 divides eff.p, AIC and deltabar by the residual variance)
put("aic_gaussian", "AIC", AIC(svyglm(api00 ~ ell, dclus1))["AIC"])

# svyolr has no confint method: confint.default, normal quantiles (apiclus1, mealcat, 90 %)
dclus1m <- update(dclus1, mealcat = cut(meals, c(0, 25, 50, 75, 100)))
olr <- svyolr(mealcat ~ avg.ed + mobility + stype, design = dclus1m,
              control = list(reltol = 1e-15, maxit = 5000, ndeps = rep(1e-6, 7)))
put("ordinal_normal", "ci_avg_ed", confint(olr, level = 0.9)["avg.ed", ])

# quantiles on R's tests/quantile.R data (set.seed(42), 20 draws of exp(rnorm), written out by
# fixtures_rtests_more.R): hf4 below the smallest value's share extrapolates below the data;
# the "math" rule there (4.1.1: the second value, 4.5: the first); the score interval where
# the score test does not change sign (uniroot stops)
q20 <- read.csv(file.path(out, "rtests_more_quantile_20.csv"))
d20 <- suppressWarnings(svydesign(id = ~1, data = q20))
put_attempt("quantile_hf4_low", "q01", attempt(svyquantile(~x, d20, 0.01, qrule = "hf4",
                                                           ci = FALSE)), function(v) coef(v))
put_attempt("quantile_hf4_low", "old_q01", attempt(oldsvyquantile(~x, d20, 0.01)),
            function(v) as.numeric(v))
put_attempt("quantile_math_low", "q01", attempt(svyquantile(~y, d20, 0.01, qrule = "math",
                                                            ci = FALSE)), function(v) coef(v))
put_attempt("quantile_score_nosign", "ci", attempt(svyquantile(~y, d20, 0.01, ci = TRUE,
                                                               interval.type = "score")),
            function(v) confint(v))
# var with a missing value (R's tests/mtcars-var.R): na.rm = TRUE vs the complete-row subset
mt <- mtcars
mt$mpg[1] <- NA
dmt <- suppressWarnings(svydesign(ids = ~0, weights = NULL, data = mt))
put("var_missing", "na_rm", coef(svyvar(~mpg, dmt, na.rm = TRUE)))

# profile-likelihood interval of a replicate-design glm (JK1 apiclus1, logit sch.wide ~ ell)
jk1_sw <- update(jk1, sch_yes = as.numeric(sch.wide == "Yes"))
put_attempt("likelihood_glm_replicates", "ci_ell",
            attempt(confint(svyglm(sch_yes ~ ell, jk1_sw, family = quasibinomial()), "ell",
                            method = "likelihood")))
# svyolr with its default control: optim's stopping rule and finite-difference Hessian
olr_default <- svyolr(mealcat ~ avg.ed + mobility + stype, design = dclus1m)
put("olr_default", "se_avg_ed", SE(olr_default)["avg.ed"])
put("olr_default", "se_avg_ed_tight", SE(olr)["avg.ed"])
# a user's degf= on a replicate design (JK1 apiclus1, degf = 10)
jk1_degf <- suppressWarnings(svrepdesign(data = apiclus1, repweights = weights(jk1, "analysis"),
                                         weights = ~pw, type = "JK1", scale = jk1$scale,
                                         rscales = jk1$rscales, combined.weights = TRUE,
                                         degf = 10))
put("degf_replicates", "degf", degf(jk1_degf))

# list experiment prevalence: list::ictreg (weights = "w") + predict(avg = TRUE) averages the
# predictions without the weights (list's own race data, weights as fixtures_list.R writes them)
suppressPackageStartupMessages(library(list))
race_w <- read.csv(file.path(out, "data", "list_race.csv"))
ict <- ictreg(y ~ south + age + male + college, data = race_w, treat = "treat", J = 3,
              method = "lm", weights = "w")
put("list_prevalence", "avg", predict(ict, avg = TRUE, se.fit = TRUE)$fit)

write.csv(do.call(rbind, rows), file.path(out, paste0("rtests_differences_", ver, ".csv")),
          row.names = FALSE)
