# R reference fixtures for BRR / Fay / JKn / JK1 replicate weights (surveykit.replicates):
# R's as.svrepdesign weights PSU by PSU, so surveykit can be compared element-wise.
# Run from the repository root via tests/r/make_fixtures.sh; needs R with 'survey'.
# Writes tests/fixtures/r/brr_data.csv (generated designs: 2..30 strata with numeric labels that
# sort differently as text, mixed-case text labels, strata with 4 and 6 PSUs, shuffled rows),
# brr_multipliers.csv (design, method, psu_row = first row of the PSU, rep, value) and
# brr_results.csv (design, method, stat, term, estimate, se, n_rep, scale).
suppressPackageStartupMessages(library(survey))
options(digits = 15)
out <- "tests/fixtures/r"
data(nhanes)

set.seed(20261202)
gen <- function(name, labels, npsu) {
  rows <- list()
  id <- 0
  for (i in seq_along(labels)) {
    for (j in seq_len(npsu[i])) {
      id <- id + 1
      k <- sample(2:4, 1)
      rows[[length(rows) + 1]] <- data.frame(design = name, stratum = labels[i], psu = id,
                                             w = round(runif(k, 50, 150), 3),
                                             y = round(rnorm(k, i / 3, 1), 4),
                                             g = sample(c("a", "b", "c"), k, replace = TRUE))
    }
  }
  d <- do.call(rbind, rows)
  d$psu <- sample(1000)[d$psu]          # PSU labels unrelated to their order
  d[sample(nrow(d)), ]                   # first appearance unrelated to labels
}
sets <- list()
for (K in 2:30) sets[[length(sets) + 1]] <- gen(paste0("k", K), as.character(seq_len(K)), rep(2, K))
sets[[length(sets) + 1]] <- gen("text", c("b", "B", "a", "A", "_x", "c10", "c9"), rep(2, 7))
sets[[length(sets) + 1]] <- gen("large", as.character(1:11), c(2, 4, 2, 6, 2, 2, 4, 2, 2, 2, 2))
dat <- do.call(rbind, sets)
rownames(dat) <- NULL
write.csv(dat, file.path(out, "brr_data.csv"), row.names = FALSE)
# read back exactly as Python will (numeric labels become numbers, as pandas reads them)
dat <- read.csv(file.path(out, "brr_data.csv"), stringsAsFactors = FALSE)

mults <- list()
res <- list()
record <- function(name, method, d, rep, keep = TRUE) {
  rw <- rep$repweights
  m <- if (inherits(rw, "repweights_compressed")) rw$weights else as.matrix(rw)
  first <- which(!duplicated(d$psu))
  if (!inherits(rw, "repweights_compressed")) m <- m[first, , drop = FALSE]
  if (keep) mults[[length(mults) + 1]] <<- data.frame(
    design = name, method = method, psu_row = rep(first, ncol(m)),
    rep = rep(seq_len(ncol(m)), each = nrow(m)), value = sprintf("%.15g", as.vector(m)))
  mn <- svymean(~y, rep)
  res[[length(res) + 1]] <<- data.frame(design = name, method = method, stat = "mean",
                                        term = "y", estimate = sprintf("%.17g", coef(mn)),
                                        se = sprintf("%.17g", SE(mn)), n_rep = ncol(m),
                                        scale = sprintf("%.17g", rep$scale))
  pr <- svymean(~g, rep)
  res[[length(res) + 1]] <<- data.frame(design = name, method = method, stat = "prop",
                                        term = names(coef(pr)),
                                        estimate = sprintf("%.17g", coef(pr)),
                                        se = sprintf("%.17g", SE(pr)), n_rep = ncol(m),
                                        scale = sprintf("%.17g", rep$scale))
}
for (name in unique(dat$design)) {
  d <- dat[dat$design == name, ]
  if (name != "text") d$stratum <- as.numeric(d$stratum)  # numbers: R sorts "10" before "2"
  des <- svydesign(id = ~psu, strata = ~stratum, weights = ~w, data = d)
  record(name, "BRR", d, as.svrepdesign(des, type = "BRR"))
  record(name, "Fay0.3", d, as.svrepdesign(des, type = "Fay", fay.rho = 0.3),
         keep = name %in% c("k7", "text", "large"))  # Fay weights: BRR's, rescaled
  if (name %in% c("k5", "k11", "text", "large")) {
    record(name, "JKn", d, as.svrepdesign(des, type = "JKn"))
    d1 <- svydesign(id = ~psu, weights = ~w, data = d)
    record(name, "JK1", d, as.svrepdesign(d1, type = "JK1"))
  }
}
# nhanes without PSU 3: 15 strata x 2 PSUs (labels 1..15 sort as "1", "10", ..., "2", ...)
nh <- nhanes[nhanes$SDMVPSU != 3, ]
nh$y <- nh$HI_CHOL
nh$psu <- paste(nh$SDMVSTRA, nh$SDMVPSU)
nh$g <- as.character(nh$agecat)
dnh <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE, data = nh)
nhc <- nh[!is.na(nh$y), ]
dnhc <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE,
                  data = nhc)
record("nhanes", "BRR", nhc, as.svrepdesign(dnhc, type = "BRR"))
record("nhanes", "Fay0.3", nhc, as.svrepdesign(dnhc, type = "Fay", fay.rho = 0.3))

write.csv(do.call(rbind, mults), file.path(out, "brr_multipliers.csv"), row.names = FALSE)
write.csv(do.call(rbind, res), file.path(out, "brr_results.csv"), row.names = FALSE)
