# R reference fixture for quantile intervals at an estimated CDF of exactly 1 (issue 19):
# svyquantile(interval.type = "beta"/"xlogit"/"asin"/"mean") on a domain where the 0.5 and 0.9
# quantiles are the largest value (CDF = 1). R gives the estimate with NaN limits (beta, xlogit)
# and leaves the other quantiles of the call alone. Run from the repository root via
# tests/r/make_fixtures.sh.
suppressPackageStartupMessages(library(survey))
options(digits = 15)
out <- "tests/fixtures/r"
dir.create(out, recursive = TRUE, showWarnings = FALSE)
data(api)
f17 <- function(x) sprintf("%.17g", x)
apiclus1$k <- as.numeric(apiclus1$stype == "E") + 1
d <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
dd <- subset(d, sch.wide == "No")
rows <- list()
for (it in c("beta", "xlogit", "asin", "mean")) {
  r <- svyquantile(~k, dd, c(0.1, 0.5, 0.9), interval.type = it, ci = TRUE, se = TRUE)$k
  rows[[it]] <- data.frame(interval = it, quantile = c(0.1, 0.5, 0.9),
                           estimate = f17(r[, 1]), ci_low = f17(r[, 2]), ci_high = f17(r[, 3]),
                           se = f17(r[, 4]))
}
write.csv(do.call(rbind, rows), file.path(out, "quantile_cdf_edges.csv"), row.names = FALSE)
