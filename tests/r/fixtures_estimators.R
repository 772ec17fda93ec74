# Reference values for surveykit.inference (svycontrast) and the estimators quantile, ratio,
# var, table and vcov=TRUE by-domain results (svyby(covmat=TRUE)).
# Run from the repository root (tests/r/make_fixtures.sh); needs R with 'survey' (4.1.1 here).
# Writes tests/fixtures/r/estimators_*.csv; the Python tests only read these files.
suppressPackageStartupMessages(library(survey))
options(digits = 15, survey.lonely.psu = "fail")
out <- "tests/fixtures/r"
dir.create(out, recursive = TRUE, showWarnings = FALSE)
data(api)

rows <- list()
add <- function(case, stat, name, estimate, se = NA, ci_low = NA, ci_high = NA, extra = NA) {
  rows[[length(rows) + 1]] <<- data.frame(
    case = case, stat = stat, name = as.character(name), estimate = as.numeric(estimate),
    se = as.numeric(se), ci_low = as.numeric(ci_low), ci_high = as.numeric(ci_high),
    extra = as.character(extra), stringsAsFactors = FALSE)
}
# a whole covariance matrix, one row per cell "row|col"
add_vcov <- function(case, v) {
  nm <- outer(rownames(v), colnames(v), paste, sep = "|")
  add(case, "vcov", as.vector(nm), as.vector(v))
}
add_contrast <- function(case, s) {
  ci <- confint(s)
  add(case, "contrast", names(coef(s)), coef(s), SE(s), ci[, 1], ci[, 2])
  add_vcov(paste0(case, "_contrast"), vcov(s))
}

dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
jk1 <- as.svrepdesign(dclus1, type = "JK1")

## ---- svycontrast on a svyglm ---------------------------------------------------------------
m <- svyglm(api00 ~ ell + meals + stype, design = dstrat)
add_contrast("glm_dstrat", svycontrast(m, list(
  "E-H" = c("stypeH" = -1), "ell-meals" = c(ell = 1, meals = -1),
  "M-H" = c("stypeM" = 1, "stypeH" = -1))))
add_contrast("glm_dstrat_nl", svycontrast(m, quote(ell / meals)))

## ---- joint covariance of by-group estimates (vcov=True) ------------------------------------
# Linearisation: the joint covariance is taken from svyratio(covmat=TRUE) / svytotal on
# domain-indicator variables (cross-group covariances included); tests/r/fixtures_covmat.R
# checks the same matrices against svyby(covmat=TRUE) itself.
# Parameter names follow surveykit's rule: "group", "group:variable", "group:variable:level".
dom_cols <- function(design, vars, by, levels = NULL) {
  v <- design$variables
  groups <- sort(unique(as.character(v[[by]][weights(design, "sampling") > 0])))
  complete <- Reduce(`&`, lapply(vars, function(x) !is.na(v[[x]])))
  num <- list(); den <- list(); nm <- c()
  for (g in groups) {
    ing <- as.character(v[[by]]) == g & complete
    for (x in vars) {
      if (is.null(levels)) {
        num[[length(num) + 1]] <- ifelse(ing, v[[x]], 0)
        den[[length(den) + 1]] <- as.numeric(ing)
        nm <- c(nm, if (length(vars) > 1) paste(g, x, sep = ":") else g)
      } else for (lv in levels) {
        num[[length(num) + 1]] <- as.numeric(ing & as.character(v[[x]]) == lv)
        den[[length(den) + 1]] <- as.numeric(ing)
        nm <- c(nm, paste(g, x, lv, sep = ":"))
      }
    }
  }
  list(num = do.call(cbind, num), den = do.call(cbind, den), names = nm)
}
add_joint <- function(case, design, vars, by, kind = "mean", levels = NULL) {
  cols <- dom_cols(design, vars, by, levels)
  k <- length(cols$names)
  colnames(cols$num) <- paste0("n", seq_len(k)); colnames(cols$den) <- paste0("d", seq_len(k))
  if (kind == "total") {
    s <- svytotal(cols$num, design)
    est <- coef(s); v <- vcov(s)
  } else {
    r <- svyratio(cols$num, cols$den, design, covmat = TRUE)
    pick <- paste0("n", seq_len(k), "/d", seq_len(k))
    est <- as.vector(r$ratio)[match(pick, outer(colnames(cols$num), colnames(cols$den),
                                                 paste, sep = "/"))]
    v <- vcov(r)[pick, pick]
  }
  dimnames(v) <- list(cols$names, cols$names)
  add(case, "estimate", cols$names, est, sqrt(diag(v)))
  add_vcov(case, v)
}
add_joint("mean_by_dclus1", dclus1, "api00", "stype")
add_joint("mean2_by_dstrat", dstrat, c("api00", "api99"), "stype")
add_joint("total_by_dstrat", dstrat, "enroll", "stype", kind = "total")
add_joint("prop_by_dclus1", dclus1, "awards", "stype", levels = c("No", "Yes"))
add_joint("mean_by_domain_dstrat", subset(dstrat, meals > 30), "api00", "stype")
add_joint("listwise_by_dstrat", dstrat, c("acs.46", "api00"), "stype")
tot.api99 <- c(`(Intercept)` = nrow(apipop), stypeH = sum(apipop$stype == "H"),
               stypeM = sum(apipop$stype == "M"), api99 = sum(apipop$api99))
cal1 <- calibrate(dclus1, ~stype + api99, tot.api99)
add_joint("mean_by_cal_clus1", cal1, "api00", "sch.wide")
add_joint("prop_by_cal_clus1", cal1, "awards", "sch.wide", levels = c("No", "Yes"))
# multistage (later-stage terms: unit-level path) and its ultimate-cluster variance
dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
add_joint("mean_by_clus2", dclus2, "api00", "stype")
op <- options(survey.ultimate.cluster = TRUE)
add_joint("mean_by_clus2_uc", dclus2, "api00", "stype")
options(op)
# the svyby SEs the diagonal must reproduce
b <- svyby(~api00, ~stype, dclus1, svymean)
add("mean_by_dclus1", "svyby_se", rownames(b), coef(b), SE(b))
b <- svyby(~acs.46 + api00, ~stype, dstrat, svymean, na.rm = TRUE)
add("listwise_by_dstrat", "svyby_se", names(coef(b)), coef(b), as.vector(as.matrix(SE(b))))
# R's rule for several variables with missing values: rows missing any are dropped
s <- svymean(~acs.k3 + acs.46, dstrat, na.rm = TRUE)
add("listwise_dstrat", "estimate", names(coef(s)), coef(s), SE(s))
add_vcov("listwise_dstrat", vcov(s))
s <- svytotal(~acs.k3 + acs.46, dstrat, na.rm = TRUE)
add("listwise_total_dstrat", "estimate", names(coef(s)), coef(s), SE(s))

# Replicate designs: svyby(covmat=TRUE) is the joint replicate covariance
for (kind in c("mean", "total")) {
  f <- if (kind == "mean") svymean else svytotal
  b <- svyby(~api00, ~stype, jk1, f, covmat = TRUE)
  add(paste0(kind, "_by_jk1"), "estimate", rownames(b), coef(b), SE(b))
  add_vcov(paste0(kind, "_by_jk1"), vcov(b))
}
b <- svyby(~awards, ~stype, jk1, svymean, covmat = TRUE)
nm <- paste(rep(rownames(b), 2), "awards", rep(c("No", "Yes"), each = 3), sep = ":")
v <- vcov(b); dimnames(v) <- list(nm, nm)
add("prop_by_jk1", "estimate", nm, coef(b), as.vector(as.matrix(SE(b))))
add_vcov("prop_by_jk1", v)
b <- svyby(~api00, ~stype, jk1, svymean, covmat = TRUE)
add_contrast("jk1_contrast", svycontrast(b, list("E-H" = c(E = 1, H = -1),
                                                 "avg" = c(E = 1/3, H = 1/3, M = 1/3))))
b <- svyby(~api00, ~stype, jk1, svymean, covmat = TRUE)
add_contrast("jk1_ratio", svycontrast(b, quote(E / H)))

## ---- svyratio ------------------------------------------------------------------------------
add_ratio <- function(case, r, nm) add(case, "ratio", nm, r$ratio, sqrt(r$var))
add_ratio("ratio_dstrat", svyratio(~api00 + api99, ~enroll, dstrat),
          c("api00/enroll", "api99/enroll"))
add_ratio("ratio_dclus1", svyratio(~api00, ~enroll, dclus1), "api00/enroll")
add_ratio("ratio_jk1", svyratio(~api00, ~enroll, jk1), "api00/enroll")
add_ratio("ratio_domain", svyratio(~api00, ~enroll, subset(dstrat, meals > 30)),
          "api00/enroll")
add_ratio("ratio_na", svyratio(~acs.k3, ~enroll, dstrat, na.rm = TRUE), "acs.k3/enroll")
b <- svyby(~api00, ~stype, dclus1, svyratio, denominator = ~enroll)
add("ratio_by_dclus1", "ratio", rownames(b), coef(b), SE(b))
b <- svyby(~api00, ~stype, jk1, svyratio, denominator = ~enroll, covmat = TRUE)
add("ratio_by_jk1", "estimate", rownames(b), coef(b), SE(b))
v <- vcov(b); dimnames(v) <- list(rownames(b), rownames(b)); add_vcov("ratio_by_jk1", v)

## ---- svyvar --------------------------------------------------------------------------------
add_var <- function(case, s) {
  m <- as.matrix(coef(s))
  nm <- if (length(m) == 1) "api00:api00" else
    as.vector(outer(rownames(as.matrix(s)), colnames(as.matrix(s)), paste, sep = ":"))
  v <- as.matrix(attr(s, "var"))
  add(case, "var", nm, as.vector(unclass(s)), sqrt(diag(v)))
}
add_var("var_dstrat", svyvar(~api00, dstrat))
s <- svyvar(~api00 + api99 + enroll, dclus1)
add("var3_dclus1", "var", as.vector(t(outer(c("api00", "api99", "enroll"),
    c("api00", "api99", "enroll"), paste, sep = ":"))), as.vector(t(as.matrix(s))),
    sqrt(diag(as.matrix(attr(s, "var")))))
s <- svyvar(~api00 + api99, jk1)
add("var2_jk1", "var", c("api00:api00", "api99:api00", "api00:api99", "api99:api99"),
    as.vector(as.matrix(s)), sqrt(diag(as.matrix(attr(s, "var")))))
s <- svyvar(~api00, subset(dstrat, meals > 30))
add("var_domain", "var", "api00:api00", coef(s), SE(s))
# na.rm = TRUE: survey 4.5 counts only complete rows in n/(n-1), so it equals the subset to
# complete rows (its tests/mtcars-var.R); survey 4.1.1's na.rm = TRUE also counted the rows
# with a missing value (acs.k3: 4.1.1 1.48537; 4.5 and the subset 1.49334). The subset gives
# 4.5's number under both versions; surveykit follows 4.5.
s <- svyvar(~acs.k3, subset(dstrat, !is.na(acs.k3)))
add("var_na", "var", "acs.k3:acs.k3", coef(s), SE(s))
s <- svyvar(~api00, subset(jk1, meals > 30))
add("var_jk1_domain", "var", "api00:api00", coef(s), SE(s))

## ---- svytable (counts) and svytotal of the cell indicators (SEs) -------------------------
add_table <- function(case, design, f, Ntotal = NULL, round = FALSE) {
  t <- svytable(f, design, Ntotal = Ntotal, round = round)
  cells <- as.data.frame(t, stringsAsFactors = FALSE)
  nm <- if (ncol(cells) == 3) paste(cells[[1]], cells[[2]], sep = ".") else cells[[1]]
  add(case, "table", nm, cells$Freq)
}
add_table("table_dstrat", dstrat, ~stype + awards)
add_table("table_dclus1", dclus1, ~stype)
add_table("table_jk1", jk1, ~stype + awards)
add_table("table_domain", subset(dstrat, meals > 30), ~stype + awards)
add_table("table_ntotal", dstrat, ~stype + awards, Ntotal = 1000)
add_table("table_round", dstrat, ~stype + awards, round = TRUE)
s <- svytotal(~interaction(stype, awards), dstrat)
add("table_dstrat", "total_se", sub("interaction\\(stype, awards\\)", "", names(coef(s))),
    coef(s), SE(s))
s <- svytotal(~interaction(stype, awards), jk1)
add("table_jk1", "total_se", sub("interaction\\(stype, awards\\)", "", names(coef(s))),
    coef(s), SE(s))
s <- svymean(~interaction(stype, awards), dstrat)
add("table_ntotal", "mean_se", sub("interaction\\(stype, awards\\)", "", names(coef(s))),
    coef(s) * 1000, SE(s) * 1000)

## ---- svyquantile (survey >= 4.1: ci=TRUE, Woodruff "mean" interval, qrule "math") ---------
# survey 4.1.1's qrule_math and qrule_school test qs()$wlow == 0, so when p is below the first
# row's share of the weight (wlow < 0; e.g. a JK1 replicate whose smallest values carry more
# than 10 % of the weight) they return the second order statistic; survey 4.5 tests
# wlow <= 0 and returns the first (its tests/quantile.R, n = 20: the 0.01 quantile of y is
# 0.1 under 4.5, 0.2 under 4.1.1). surveykit follows 4.5: under an older survey the two
# rules are replaced here by 4.5's test (q_jk1_quantile's 0.1 quantile of api00 changes).
if (packageVersion("survey") < "4.2") {
  rule45 <- function(school) function(x, w, p) {
    keep <- w != 0
    q <- survey:::qs(x[keep], w[keep], p)
    if (q$wlow > 0) q$qup else if (school) (q$qlow + q$qup) / 2 else q$qlow
  }
  for (nm in c("qrule_math", "qrule_hf1"))
    assignInNamespace(nm, rule45(FALSE), "survey")
  for (nm in c("qrule_school", "qrule_hf2"))
    assignInNamespace(nm, rule45(TRUE), "survey")
}
add_q <- function(case, r, prefix = NULL) {
  for (v in names(r)) {
    m <- unclass(r)[[v]]
    nm <- paste(c(prefix, v)[seq_along(c(prefix, v))], collapse = ":")
    add(case, "quantile", paste(nm, rownames(m), sep = ":"), m[, 1], m[, 4], m[, 2], m[, 3])
  }
}
# Quantiles sit on knife edges (is the weighted CDF exactly q?), so R works here on the data
# exactly as the Python tests read them: the CSV exports (15 significant digits).
rd <- function(name) read.csv(file.path(out, "data", paste0(name, ".csv")))
apistrat_c <- rd("apistrat"); apiclus1_c <- rd("apiclus1")
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat_c, fpc = ~fpc)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1_c, fpc = ~fpc)
jk1 <- as.svrepdesign(dclus1, type = "JK1")
cal1 <- calibrate(dclus1, ~stype + api99, tot.api99)
qq <- c(0.1, 0.25, 0.5, 0.9)
for (it in c("mean", "beta", "xlogit", "asin", "score"))
  add_q(paste0("q_dstrat_", it), svyquantile(~api00 + enroll, dstrat, qq, ci = TRUE,
                                              interval.type = it))
for (qr in c("math", "school", "shahvaish", paste0("hf", 1:9)))
  add_q(paste0("q_dclus1_", qr), svyquantile(~api00 + enroll, dclus1, qq, ci = TRUE,
                                              qrule = qr))
for (it in c("mean", "quantile", "beta", "xlogit"))
  add_q(paste0("q_jk1_", it), svyquantile(~api00 + enroll, jk1, qq, ci = TRUE,
                                           interval.type = it))
# survey 4.1.1's svyquantile.svyrep.design never passes interval.type to woodruffCI, so
# "beta"/"xlogit"/"asin" silently give the "mean" interval there; surveykit computes the
# interval asked for: its reference is R's own woodruffCI called with that method.
for (it in c("beta", "xlogit", "asin")) {
  for (v in c("api00", "enroll")) {
    x <- jk1$variables[[v]]; w <- weights(jk1, "sampling")
    for (p in qq) {
      qhat <- survey:::qrule_math(x, w, p)
      ci <- survey:::woodruffCI(x, qhat, p, jk1, survey:::qrule_math, 0.05, degf(jk1),
                                method = it)
      add(paste0("q_jk1_woodruff_", it), "quantile", paste(v, p, sep = ":"), qhat,
          diff(ci) / (2 * qt(0.975, degf(jk1))), ci[1], ci[2])
    }
  }
}
add_q("q_domain", svyquantile(~api00, subset(dstrat, meals > 30), qq, ci = TRUE))
add_q("q_na", svyquantile(~acs.k3, dstrat, qq, ci = TRUE, na.rm = TRUE))
add_q("q_cal", svyquantile(~api00, cal1, qq, ci = TRUE))
for (g in c("E", "H", "M")) {
  add_q("q_by_dclus1", svyquantile(~api00, subset(dclus1, stype == g), 0.5, ci = TRUE),
        prefix = g)
  add_q("q_by_jk1", svyquantile(~api00, subset(jk1, stype == g), 0.5, ci = TRUE,
                                interval.type = "quantile"), prefix = g)
}
# joint replicate covariance of the group medians (svyby(covmat=TRUE) cannot do quantiles)
reps <- sapply(c("E", "H", "M"), function(g) {
  r <- svyquantile(~api00, subset(jk1, stype == g), 0.5, ci = TRUE,
                   interval.type = "quantile", return.replicates = TRUE)
  as.vector(r$replicates)
})
est <- sapply(c("E", "H", "M"), function(g)
  unclass(svyquantile(~api00, subset(jk1, stype == g), 0.5, ci = TRUE))[[1]][1, 1])
v <- svrVar(reps, jk1$scale, jk1$rscales, mse = jk1$mse, coef = est)
v <- matrix(v, 3, 3, dimnames = list(paste0(c("E", "H", "M"), ":0.5"),
                                      paste0(c("E", "H", "M"), ":0.5")))
add("q_by_jk1_vcov", "estimate", rownames(v), est, sqrt(diag(v)))
add_vcov("q_by_jk1_vcov", v)

write.csv(do.call(rbind, rows), file.path(out, "estimators_results.csv"), row.names = FALSE)
