# R reference fixtures for weighting a replicate-weight design (survey's calibrate, postStratify
# and rake methods for svyrep.design): the full-sample weights and every replicate column are
# re-weighted to the same targets, so the replicate variance reflects the weighting.
# Run from the repository root via tests/r/make_fixtures.sh (needs R with 'survey').
# Writes, under tests/fixtures/r/:
#   reweight_multipliers_<design>.csv  the replicate multipliers per PSU (R's own draws / Hadamard
#                                      rows), so Python starts from exactly R's replicate weights
#   reweight_meta.csv                  type, scale and rho of each replicate design
#   reweight_weights_<design>.csv      full-sample weights ("full") and replicate weights after each
#                                      operation (apiclus1: every row, replicates 1-15; nhanes: the
#                                      first 300 rows and 3 replicates, to keep the files small)
#   reweight_estimates.csv             svymean / svytotal and their SEs after each operation
# trimWeights is not compared: survey 4.1.1-4.5's trimWeights.svyrep.design leaves the
# full-sample weights as they were (it assigns design$prob, which replicate designs do not use)
# and clips zero replicate weights up to 'lower'; surveykit documents its own rule instead.
suppressPackageStartupMessages(library(survey))
options(digits = 15)
data(api)
data(nhanes)
out <- "tests/fixtures/r"
dir.create(out, recursive = TRUE, showWarnings = FALSE)
f17 <- function(x) format(x, digits = 17)
tight <- 1e-13

dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
nh <- nhanes[nhanes$SDMVPSU != 3, ]  # 15 strata x 2 PSUs for BRR / Fay
dnh <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE, data = nh)

set.seed(20261201)
designs <- list(
  jk1_clus1 = as.svrepdesign(dclus1, type = "JK1", compress = FALSE),
  boot_clus1 = as.svrepdesign(dclus1, type = "bootstrap", replicates = 40, compress = FALSE),
  brr_nhanes = as.svrepdesign(dnh, type = "BRR", compress = FALSE),
  fay_nhanes = as.svrepdesign(dnh, type = "Fay", fay.rho = 0.3, compress = FALSE)
)

# replicate multipliers per PSU (as.svrepdesign keeps combined.weights = FALSE)
meta <- NULL
for (dn in names(designs)) {
  d <- designs[[dn]]
  m <- unclass(as.matrix(d$repweights)); attributes(m) <- list(dim = dim(m))
  if (startsWith(dn, "jk1") || startsWith(dn, "boot")) {
    key <- data.frame(dnum = apiclus1$dnum)
  } else {
    key <- data.frame(SDMVSTRA = nh$SDMVSTRA, SDMVPSU = nh$SDMVPSU)
  }
  colnames(m) <- paste0("rep", seq_len(ncol(m)))
  tab <- unique(cbind(key, m))
  stopifnot(nrow(tab) == nrow(unique(key)))
  tab[] <- lapply(tab, f17)
  write.csv(tab, file.path(out, paste0("reweight_multipliers_", dn, ".csv")), row.names = FALSE,
            quote = FALSE)
  meta <- rbind(meta, data.frame(design = dn, type = d$type, scale = f17(d$scale),
                                 rho = f17(if (is.null(d$rho)) 0 else d$rho),
                                 replicates = ncol(m)))
}
write.csv(meta, file.path(out, "reweight_meta.csv"), row.names = FALSE, quote = FALSE)

# population targets
pop.types <- data.frame(stype = c("E", "H", "M"), Freq = as.vector(table(apipop$stype)))
pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = as.vector(table(apipop$sch.wide)))
N <- nrow(apipop)
tot.api99 <- c(`(Intercept)` = N, stypeH = sum(apipop$stype == "H"),
               stypeM = sum(apipop$stype == "M"), api99 = sum(apipop$api99))
# nhanes: made-up population counts (the weighted sample totals moved by a few per cent)
wt.race <- as.vector(tapply(nh$WTMEC2YR, nh$race, sum))
pop.race <- data.frame(race = 1:4, Freq = round(wt.race * c(1.06, 0.95, 1.02, 0.97)))
Nnh <- sum(pop.race$Freq)
wt.age <- as.vector(tapply(nh$WTMEC2YR, nh$agecat, sum))
age.share <- wt.age / sum(wt.age) * c(0.97, 1.03, 1.01, 0.99)
pop.age <- data.frame(agecat = levels(nh$agecat), Freq = Nnh * age.share / sum(age.share))

# R's rake stops the replicates when the FULL-SAMPLE table has converged, so a slowly converging
# replicate can stop short of its raking solution; run a fixed, large number of sweeps so that
# every replicate reaches it (the warning that epsilon = 0 was "not reached" is expected)
rake_long <- function(d, m, p) {
  suppressWarnings(rake(d, m, p, control = list(maxit = 400, epsilon = 0)))
}
ops_api <- list(
  poststratify = function(d) postStratify(d, ~stype, pop.types),
  rake = function(d) rake_long(d, list(~stype, ~sch.wide), list(pop.types, pop.schwide)),
  cal_linear = function(d) calibrate(d, compress = FALSE, ~stype + api99, tot.api99),
  cal_raking = function(d) calibrate(d, compress = FALSE, ~stype + api99, tot.api99, calfun = "raking",
                                     epsilon = tight, maxit = 100),
  cal_logit = function(d) calibrate(d, compress = FALSE, ~stype + api99, tot.api99, calfun = "logit",
                                    bounds = c(0.1, 8), epsilon = tight, maxit = 100),
  rake_bounded = function(d) calibrate(d, compress = FALSE, list(~stype, ~sch.wide), list(pop.types, pop.schwide),
                                       calfun = "raking", bounds = c(0.2, 6),
                                       epsilon = tight, maxit = 100)
)
ops_nh <- list(
  poststratify = function(d) postStratify(d, ~race, pop.race),
  rake = function(d) rake_long(d, list(~race, ~agecat), list(pop.race, pop.age)),
  cal_linear = function(d) calibrate(d, compress = FALSE, ~factor(race) + RIAGENDR,
                                     c(Nnh, pop.race$Freq[2:4],
                                       sum(nh$WTMEC2YR * nh$RIAGENDR) * 1.01))
)

est <- NULL
add <- function(dn, op, stat, var, s) {
  est <<- rbind(est, data.frame(design = dn, op = op, stat = stat, variable = var,
                                estimate = f17(as.numeric(coef(s))),
                                se = f17(as.numeric(SE(s)))))
}
for (dn in names(designs)) {
  d0 <- designs[[dn]]
  api <- startsWith(dn, "jk1") || startsWith(dn, "boot")
  ops <- if (api) ops_api else ops_nh
  all <- c(list(none = function(d) d), ops)
  wout <- NULL
  for (op in names(all)) {
    d <- all[[op]](d0)
    w <- weights(d, "analysis")
    keep <- if (api) seq_len(min(ncol(w), 15)) else 1:3
    rows <- if (api) seq_len(nrow(w)) else 1:300
    block <- data.frame(op = op, row = rows, full = f17(weights(d, "sampling")[rows]))
    for (j in keep) block[[paste0("rep", j)]] <- f17(w[rows, j])
    wout <- rbind(wout, block)
    if (api) {
      add(dn, op, "mean", "api00", svymean(~api00, d))
      add(dn, op, "mean", "ell", svymean(~ell, d))
      add(dn, op, "total", "enroll", svytotal(~enroll, d))
      add(dn, op, "mean_domain_schwide_yes", "api00",
          svymean(~api00, subset(d, sch.wide == "Yes")))
    } else {
      add(dn, op, "mean", "HI_CHOL", svymean(~HI_CHOL, d, na.rm = TRUE))
      add(dn, op, "total", "HI_CHOL", svytotal(~HI_CHOL, d, na.rm = TRUE))
    }
  }
  write.csv(wout, file.path(out, paste0("reweight_weights_", dn, ".csv")), row.names = FALSE,
            quote = FALSE)
}
write.csv(est, file.path(out, "reweight_estimates.csv"), row.names = FALSE, quote = FALSE)
