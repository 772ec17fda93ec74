# R survey's own test tests/contrast-replicates.R, extended (issue 25, item 3): nonlinear
# contrasts evaluated on every replicate (svyby(..., return.replicates=TRUE) + svycontrast),
# the delta method on the same estimates, and withReplicates for arbitrary statistics.
# Output tests/fixtures/r/rtests_replicates_<survey version>.csv (run under 4.1.1 and 4.5,
# see make_fixtures.sh; both versions give the same numbers here).
suppressPackageStartupMessages(library(survey))
out <- "tests/fixtures/r"
ver <- as.character(packageVersion("survey"))
f17 <- function(x) sprintf("%.17g", x)
data(api)
rows <- list()
put <- function(case, quantity, value) {
  rows[[length(rows) + 1]] <<- data.frame(survey_version = ver, case = case,
                                          quantity = quantity, value = f17(as.numeric(value)))
}
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
designs <- list(
  jk1_clus1 = as.svrepdesign(dclus1),                          # the R test's design
  jkn_strat = as.svrepdesign(dstrat, type = "JKn"),            # stratified, FPC dropped
  jk1_clus1_domain = subset(as.svrepdesign(dclus1), api00 > 600)  # a domain
)
for (case in names(designs)) {
  d <- designs[[case]]
  # the R test: exp(E - H) of the mean log enrolment by school type
  without <- svyby(~log(enroll), ~stype, svymean, design = d, covmat = TRUE)
  with <- svyby(~log(enroll), ~stype, svymean, design = d, covmat = TRUE,
                return.replicates = TRUE)
  c_without <- svycontrast(without, quote(exp(E - H)))
  c_with <- svycontrast(with, quote(exp(E - H)))
  r <- attr(with, "replicates")
  stopifnot(all.equal(as.numeric(vcov(d, c_with$replicates)),
                      as.numeric(vcov(d, exp(r[, 1] - r[, 2])))))
  put(case, "means", coef(with))
  put(case, "means_se", SE(with))
  put(case, "exp_E_minus_H", coef(c_with))
  put(case, "exp_E_minus_H_se_replicates", sqrt(as.numeric(vcov(c_with))))
  put(case, "exp_E_minus_H_se_delta", sqrt(as.numeric(vcov(c_without))))
  # two nonlinear contrasts at once, and a linear one (same SE either way)
  two <- svycontrast(with, list(ratio_EM = quote(E / M), log_H = quote(log(H))))
  put(case, "two_contrasts", coef(two))
  put(case, "two_contrasts_se", sqrt(diag(as.matrix(vcov(two)))))
  # (svycontrast of a LINEAR contrast on the svyby made with return.replicates=TRUE fails in
  # survey 4.1.1 and 4.5: "'data' must be of a vector type, was 'NULL'"; use the covariance)
  lin <- svycontrast(without, c(E = 1, M = -1))
  put(case, "E_minus_M", coef(lin))
  put(case, "E_minus_M_se", SE(lin))
  # withReplicates: a ratio of weighted means and the weighted median of api00 (step CDF)
  wr <- withReplicates(d, function(w, data) {
    c(ratio = sum(w * data$api00) / sum(w * data$api99),
      median = { o <- order(data$api00); cw <- cumsum(w[o]) / sum(w)
                 data$api00[o][min(which(cw >= 0.5))] })
  })
  put(case, "with_replicates", coef(wr))
  put(case, "with_replicates_se", sqrt(diag(as.matrix(vcov(wr)))))
}
write.csv(do.call(rbind, rows), file.path(out, paste0("rtests_replicates_", ver, ".csv")),
          row.names = FALSE)
