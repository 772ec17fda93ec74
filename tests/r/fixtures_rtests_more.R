# The last R survey tests/ scripts ported in issue 25: svyolr-rake-subset.R, mtcars-var.R,
# kalton.R, toy_example_for_postStratify.R, svyby_bug.R, svyby-strings.R, check.R, fpc.R
# (example(fpc)), quantile.R, degf-svrepdesign.R and degf-subset.R. The data the scripts make
# with R's own data sets or R's RNG are written out here (rtests_more_<name>.csv) so the Python twins use the same rows.
# Output tests/fixtures/r/rtests_more_<survey version>.csv (long: script, case, quantity,
# term, value; value "error" where that version of survey fails).
# Versions: survey 4.1.1 fails where these R tests were written against its bugs -- svyolr on
# the raked design ("fails in 4.1" says the R test), svyby(svyvar) with groups of one car, and
# svyby(covmat = TRUE) with missing values, svyby of a character variable without factor
# levels common to the groups (not 2 x 23), svyvar(na.rm = TRUE) unequal to the subset's --
# and survey 4.5 gives the numbers ("error" rows in the 4.1.1 file). Where both run they agree; surveykit follows 4.5.
suppressPackageStartupMessages(library(survey))
out <- "tests/fixtures/r"
ver <- as.character(packageVersion("survey"))
f17 <- function(x) sprintf("%.17g", x)
rows <- list()
put <- function(script, case, quantity, value, term = NULL) {
  value <- as.numeric(value)
  if (is.null(term)) term <- if (length(value) == 1) "" else as.character(seq_along(value))
  rows[[length(rows) + 1]] <<- data.frame(survey_version = ver, script = script, case = case,
                                          quantity = quantity, term = term,
                                          value = f17(value))
}
put_error <- function(script, case, quantity) {
  rows[[length(rows) + 1]] <<- data.frame(survey_version = ver, script = script, case = case,
                                          quantity = quantity, term = "", value = "error")
}
wdata <- function(df, name) {
  write.csv(df, file.path(out, paste0("rtests_more_", name, ".csv")), row.names = FALSE,
            na = "")
}
data(api)
data(fpc)
exact <- glm.control(epsilon = 1e-16, maxit = 200)

## ---- svyolr-rake-subset.R ---------------------------------------------------------------
# svyolr's SEs come from optim's finite-difference Hessian: tight reltol and small ndeps so R
# runs to convergence (as tests/r/fixtures_models.R)
tight_optim <- list(reltol = 1e-15, maxit = 5000, ndeps = rep(1e-6, 7))
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dclus1 <- update(dclus1, mealcat = cut(meals, c(0, 25, 50, 75, 100)))
pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
dclus1r <- rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide),
                control = list(maxit = 100, epsilon = 1e-12, verbose = FALSE))
put("svyolr-rake-subset", "raked", "weight", weights(dclus1r))
olr <- function(case, d) {
  fit <- tryCatch(svyolr(mealcat ~ avg.ed + mobility + stype, design = d,
                         control = tight_optim), error = function(e) NULL)
  if (is.null(fit)) {
    put_error("svyolr-rake-subset", case, "coef")
    return(invisible())
  }
  put("svyolr-rake-subset", case, "coef", c(fit$coefficients, fit$zeta))
  put("svyolr-rake-subset", case, "se", sqrt(diag(vcov(fit))))
  put("svyolr-rake-subset", case, "n", nrow(fit$fitted.values))
}
olr("plain", dclus1)
olr("raked", dclus1r)
olr("raked_subset", subset(dclus1r, !is.na(avg.ed)))

## ---- mtcars-var.R -------------------------------------------------------------------------
input <- mtcars
input$model <- rownames(mtcars)
wdata(input, "mtcars")
input$carb <- factor(input$carb)
design <- svydesign(ids = ~0, weights = NULL, data = input)
# survey 4.1.1 fails on the groups of one car ("subscript out of bounds"); 4.5 gives NA there
b <- tryCatch(svyby(~mpg, ~carb, design, svyvar), error = function(e) NULL)
if (is.null(b)) put_error("mtcars-var", "by_carb", "estimate") else {
  put("mtcars-var", "by_carb", "estimate", coef(b), term = levels(input$carb))
  put("mtcars-var", "by_carb", "se", SE(b), term = levels(input$carb))
}
input$mpg[1] <- NA
design <- svydesign(ids = ~0, weights = NULL, data = input)
v1 <- svyvar(~mpg, design, na.rm = TRUE)
v2 <- svyvar(~mpg, subset(design, !is.na(mpg)))
# survey 4.5: equal (the R test's check); survey 4.1.1: na.rm = TRUE gives 37.4674 (SE 8.9888),
# the subset 37.5065 (SE 8.9982)
put("mtcars-var", "na_rm", "estimate", coef(v1))
put("mtcars-var", "na_rm", "se", SE(v1))
put("mtcars-var", "subset", "estimate", coef(v2))
put("mtcars-var", "subset", "se", SE(v2))

## ---- kalton.R -----------------------------------------------------------------------------
ab <- expand.grid(a = factor(1:4), b = factor(1:3))
kaltonsample <- ab[rep(1:12, c(20, 50, 100, 30, 40, 140, 50, 100, 40, 310, 50, 70)), ]
kaltonpop <- ab[rep(1:12, c(80, 60, 170, 55, 40, 150, 60, 165, 55, 340, 200, 125)), ]
kaltonsample$y <- as.numeric(kaltonsample$a) * as.numeric(kaltonsample$b)
wdata(kaltonsample, "kaltonsample")
wdata(kaltonpop, "kaltonpop")
jointpop <- colSums(model.matrix(~a * b, kaltonpop))
marginalpop <- colSums(model.matrix(~a + b, kaltonpop))
gregpop <- colSums(model.matrix(~as.numeric(a) + as.numeric(b), kaltonpop))
dkalton <- svydesign(id = ~1, data = kaltonsample)
# the R test rakes with epsilon = 1e-4; run to convergence here
kdesigns <- list(
  ps = postStratify(dkalton, ~a + b, xtabs(~a + b, kaltonpop)),
  rake = rake(dkalton, list(~a, ~b), list(xtabs(~a, kaltonpop), xtabs(~b, kaltonpop)),
              control = list(epsilon = 1e-13, maxit = 1000)),
  calps = calibrate(dkalton, ~a * b, jointpop),
  calrake = calibrate(dkalton, ~a + b, marginalpop, calfun = "raking", epsilon = 1e-13),
  linear = calibrate(dkalton, ~a + b, marginalpop),
  trunclinear = calibrate(dkalton, ~a + b, marginalpop, bounds = c(0.5, 2.2),
                          epsilon = 1e-13, maxit = 1000),
  logit = calibrate(dkalton, ~a + b, marginalpop, bounds = c(0.5, 2.2), calfun = "logit",
                    epsilon = 1e-13, maxit = 1000),
  greg = calibrate(dkalton, ~as.numeric(a) + as.numeric(b), gregpop))
cells <- xtabs(~a + b, kaltonsample)
for (case in names(kdesigns)) {
  d <- kdesigns[[case]]
  tab <- svytable(~a + b, d) / cells  # the mean g-weight of each cell (R's tables A-G)
  put("kalton", case, "cell_ratio", as.vector(tab),
      term = paste0(rep(levels(ab$a), 3), ":", rep(levels(ab$b), each = 4)))
  t <- svytotal(~y, d)
  put("kalton", case, "total_y", coef(t))
  put("kalton", case, "total_y_se", SE(t))
}

## ---- toy_example_for_postStratify.R ------------------------------------------------------
toy <- data.frame(id = 1:10, dummy = 1, class = c(rep("A", 5), rep("B", 5)),
                  responded = c(rep(TRUE, 8), FALSE, FALSE), weight = rep(100, 10))
toy_repweights <- matrix(rep(1000 / 9, 100), nrow = 10)
diag(toy_repweights) <- rep(0, 10)
set.seed(20261206)  # the R test scrambles the rows unseeded; fixed here and written out
toy_repweights <- toy_repweights[sample(1:10, size = 10), ]
colnames(toy_repweights) <- paste0("rep", 1:10)
wdata(cbind(toy, toy_repweights), "toy")
toy_design <- svrepdesign(variables = toy[, 1:4], weights = toy$weight,
                          repweights = toy_repweights, type = "JK1", scale = 0.9)
poptotals <- as.data.frame(svyby(~dummy, ~class, toy_design, svytotal))
poptotals$Freq <- poptotals$dummy
poptotals$dummy <- NULL
poptotals$se <- NULL
adjusted <- postStratify(design = subset(toy_design, responded), strata = ~class,
                         population = poptotals)
tb <- svyby(~dummy, ~class, adjusted, svytotal)
put("toy_example_for_postStratify", "adjusted", "total", coef(tb), term = c("A", "B"))
put("toy_example_for_postStratify", "adjusted", "total_se", SE(tb), term = c("A", "B"))
stopifnot(all.equal(colSums(toy_design$repweights), colSums(adjusted$repweights)))
put("toy_example_for_postStratify", "adjusted", "repweight_colsums",
    colSums(weights(adjusted, "analysis")))
put("toy_example_for_postStratify", "adjusted", "weight", weights(adjusted, "sampling"))
m <- svymean(~id, adjusted)
put("toy_example_for_postStratify", "adjusted", "mean_id", coef(m))
put("toy_example_for_postStratify", "adjusted", "mean_id_se", SE(m))

## ---- svyby_bug.R ---------------------------------------------------------------------------
set.seed(123)
na_rows <- sample.int(nrow(apiclus1), 5)
a_na <- apiclus1
a_na$api99[na_rows] <- NA
wdata(data.frame(row = na_rows), "svyby_bug_na_rows")
dclus1.na <- svydesign(id = ~dnum, weights = ~pw, data = a_na, fpc = ~fpc)
types <- c("E", "H", "M")
for (s in types) {  # subset with na.rm = FALSE: NA where the domain has a missing value
  m <- svymean(~api99, subset(dclus1.na, stype == s), na.rm = FALSE)
  put("svyby_bug", "subset_keepna", "estimate", coef(m), term = s)
  m <- svymean(~api99, subset(dclus1.na, stype == s), na.rm = TRUE)
  put("svyby_bug", "subset_narm", "estimate", coef(m), term = s)
  put("svyby_bug", "subset_narm", "se", SE(m), term = s)
}
b <- tryCatch(svyby(~api99, ~stype, dclus1.na, svymean), error = function(e) NULL)
if (is.null(b)) put_error("svyby_bug", "by_keepna", "estimate") else
  put("svyby_bug", "by_keepna", "estimate", coef(b), term = types)
byc <- function(case, expr) {
  # survey 4.1.1 fails with covmat = TRUE when a group has missing values (the bug the R test
  # was written for: "subscript out of bounds"); 4.5 gives the numbers
  b <- tryCatch(expr, error = function(e) NULL)
  if (is.null(b)) {
    put_error("svyby_bug", case, "estimate")
    return(invisible())
  }
  put("svyby_bug", case, "estimate", coef(b), term = types)
  put("svyby_bug", case, "se", SE(b), term = types)
  v <- vcov(b)
  put("svyby_bug", case, "vcov", as.vector(v),
      term = paste0(rep(types, 3), ":", rep(types, each = 3)))
}
byc("mean_covmat", svyby(~api99, ~stype, dclus1.na, svymean, na.rm = TRUE, covmat = TRUE))
byc("total_covmat", svyby(~api99, ~stype, dclus1.na, svytotal, na.rm = TRUE, covmat = TRUE))
byc("ratio_covmat", svyby(~api99, ~stype, dclus1.na, svyratio, na.rm = TRUE,
                          denominator = ~api00, covmat = TRUE))
ff <- function(f, d, ..., na.rm = TRUE) svyglm(f, d, ..., control = exact)
byc("glm_covmat", svyby(api99 ~ 1, ~stype, dclus1.na, ff, na.rm = TRUE, covmat = TRUE))

## ---- svyby-strings.R -----------------------------------------------------------------------
des <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
est0 <- svyby(design = des, formula = ~cname, by = ~both, FUN = svymean, keep.var = TRUE,
              stringsAsFactors = TRUE)
cn <- sort(unique(apiclus1$cname))
if (isTRUE(all(dim(est0) == c(2, 23)))) {  # the R test's check: 4.5 yes, 4.1.1 no
  est_m <- as.matrix(est0[, paste0("cname", cn)])   # groups x counties
  se_m <- as.matrix(est0[, paste0("se.cname", cn)])
  terms <- paste0(rep(as.character(est0$both), 11), ":", rep(cn, each = 2))
  put("svyby-strings", "cname_by_both", "estimate", as.vector(est_m), term = terms)
  put("svyby-strings", "cname_by_both", "se", as.vector(se_m), term = terms)
} else {
  put_error("svyby-strings", "cname_by_both", "estimate")
}

## ---- check.R and fpc.R (example(fpc)) ----------------------------------------------------
wdata(fpc, "fpc")
fpc_designs <- list(
  # check.R, in its order
  check01 = svydesign(weights = ~weight, ids = ~psuid, strata = ~stratid, variables = ~x,
                      data = fpc, nest = TRUE),
  check02 = svydesign(weights = ~weight, ids = ~0, strata = ~stratid, variables = ~x,
                      data = fpc, nest = TRUE),
  check03 = svydesign(weights = 1, ids = ~0, strata = ~stratid, variables = ~x, data = fpc,
                      nest = TRUE),
  check04 = svydesign(ids = ~0, strata = ~stratid, variables = ~x, data = fpc, nest = TRUE),
  check05 = svydesign(ids = ~0, strata = ~stratid, prob = ~I(1 / weight), variables = ~x,
                      data = fpc, nest = TRUE),
  check06 = svydesign(ids = ~psuid, strata = ~stratid, variables = ~x, data = fpc,
                      nest = TRUE),
  check07 = svydesign(ids = ~psuid, variables = ~x, data = fpc, nest = TRUE),
  check08 = svydesign(ids = ~psuid, weights = ~weight, variables = ~x, data = fpc,
                      nest = TRUE),
  check09 = svydesign(ids = ~stratid + psuid, weights = ~weight, variables = ~x, data = fpc),
  check10 = svydesign(ids = ~stratid + psuid, variables = ~x, data = fpc),
  check11 = svydesign(weights = fpc$weight, ids = fpc$psuid, strata = fpc$stratid,
                      variables = fpc[, "x", drop = FALSE], nest = TRUE),
  check12 = svydesign(weights = fpc$weight, ids = fpc$psuid, strata = fpc$stratid,
                      variables = fpc[, 4:6], nest = TRUE),
  check13 = svydesign(weights = fpc$weight, ids = fpc$psuid, variables = fpc[, 4:6],
                      fpc = rep(27, 8)),
  check14 = svydesign(weights = fpc$weight, ids = fpc$psuid, strata = fpc$stratid,
                      nest = TRUE, variables = fpc[, 4:6], fpc = fpc$Nh),
  # example(fpc), in its order
  fpc01 = svydesign(weights = ~weight, ids = ~psuid, strata = ~stratid, variables = ~x,
                    data = fpc, nest = TRUE),
  fpc02 = svydesign(weights = ~weight, ids = ~psuid, strata = ~stratid, fpc = ~Nh,
                    variables = ~x, data = fpc, nest = TRUE),
  fpc03 = svydesign(prob = ~I(1 / weight), ids = ~psuid, strata = ~stratid, fpc = ~Nh,
                    variables = ~x, data = fpc, nest = TRUE),
  fpc04 = svydesign(weights = ~weight, ids = ~psuid, strata = ~stratid, fpc = ~I(nh / Nh),
                    variables = ~x, data = fpc, nest = TRUE),
  fpc05 = svydesign(weights = ~weight, ids = ~interaction(stratid, psuid), strata = ~stratid,
                    fpc = ~I(nh / Nh), variables = ~x, data = fpc),
  fpc06 = svydesign(ids = ~psuid, strata = ~stratid, fpc = ~Nh, variables = ~x, data = fpc,
                    nest = TRUE),
  fpc07 = svydesign(ids = ~psuid, strata = ~stratid, fpc = ~I(nh / Nh), variables = ~x,
                    data = fpc, nest = TRUE))
for (case in names(fpc_designs)) {
  m <- suppressWarnings(svymean(~x, fpc_designs[[case]]))
  put(if (startsWith(case, "check")) "check" else "fpc", case, "estimate", coef(m))
  put(if (startsWith(case, "check")) "check" else "fpc", case, "se", SE(m))
}

## ---- quantile.R ---------------------------------------------------------------------------
# R's oldsvyquantile (deprecated since survey 4.1) with ties = "discrete" is the new
# svyquantile with qrule = "hf4" (checked here, estimates and SEs: n = 1000, SRS design),
# except below the smallest value's share of the weight (n = 20, p = 0.01), where 4.5's hf4
# extrapolates below the data (-0.0537 for positive values) and oldsvyquantile gives the
# smallest value (0.0535, as surveykit); ties = "rounded" has no counterpart in the new
# svyquantile (not ported).
qs <- c(0.01, 0.1, 0.5, 0.9, 0.99)
set.seed(42)
for (n in c(1000, 20)) {
  df <- data.frame(x = exp(rnorm(n)))
  df$y <- round(df$x, 1)
  wdata(df, paste0("quantile_", n))
  ddf <- svydesign(id = ~1, data = df)
  rdf <- as.svrepdesign(ddf)
  for (dname in c("ddf", "rdf")) {
    d <- if (dname == "ddf") ddf else rdf
    for (dfv in list(NULL, Inf)) {
      tag <- paste0("n", n, "_", dname, if (is.null(dfv)) "" else "_dfInf")
      old <- suppressWarnings(oldsvyquantile(~x, d, qs, ci = TRUE, df = dfv))
      new <- svyquantile(~x, d, qs, ci = TRUE, qrule = "hf4", df = dfv)
      put("quantile", tag, "old_estimate", coef(old), term = qs)
      put("quantile", tag, "old_se", SE(old), term = qs)
      put("quantile", tag, "x_hf4_estimate", coef(new), term = qs)
      put("quantile", tag, "x_hf4_se", SE(new), term = qs)
      ci <- confint(new)
      put("quantile", tag, "x_hf4_ci_low", ci[, 1], term = qs)
      put("quantile", tag, "x_hf4_ci_high", ci[, 2], term = qs)
      # the rounded variable y, whose ties are what the R test is about, with the new rules
      for (rule in c("math", "school", "hf7")) {
        it <- if (dname == "ddf") "beta" else "mean"
        ny <- svyquantile(~y, d, qs, ci = TRUE, qrule = rule, df = dfv, interval.type = it)
        put("quantile", tag, paste0("y_", rule, "_estimate"), coef(ny), term = qs)
        put("quantile", tag, paste0("y_", rule, "_se"), SE(ny), term = qs)
      }
    }
  }
}

## ---- degf-svrepdesign.R and degf-subset.R --------------------------------------------------
# A user's degf= on svrepdesign, kept by subset: survey 4.5; 4.1.1 ignores degf= (3 and the
# subset's rank 2 whatever is given) and does not warn for degf > replicates.
data(scd)
wdata(scd, "scd")
scd_rw <- 2 * cbind(c(1, 0, 1, 0, 1, 0), c(1, 0, 0, 1, 0, 1), c(0, 1, 1, 0, 0, 1),
                    c(0, 1, 0, 1, 1, 0))
for (g in list(NULL, 4, 2)) {
  d <- suppressWarnings(svrepdesign(data = scd, type = "BRR", repweights = scd_rw, degf = g))
  tag <- if (is.null(g)) "default" else paste0("degf", g)
  sub <- subset(d, arrests >= 200)
  put("degf", tag, "degf", degf(d))
  put("degf", tag, "degf_subset", degf(sub))
  m <- svymean(~arrests, sub)
  put("degf", tag, "subset_mean", coef(m))
  put("degf", tag, "subset_se", SE(m))
  put("degf", tag, "subset_ci", confint(m, df = degf(sub)))
}
w <- tryCatch(svrepdesign(data = scd, type = "BRR", weights = ~I(1000 + 0 * ESA),
                          repweights = scd_rw, combined.weights = FALSE, degf = 10),
              warning = function(w) w)
put("degf", "degf10", "warned", inherits(w, "warning"))

res <- do.call(rbind, rows)
write.csv(res, file.path(out, paste0("rtests_more_", ver, ".csv")), row.names = FALSE)
