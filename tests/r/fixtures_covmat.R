# svyby(covmat=TRUE) joint covariance of by-group estimates on linearisation designs, straight
# from svyby (the cross-group covariances are not zero: groups share PSUs and strata), and the
# svycontrast of two groups. Long format: case, row, col, value.
suppressPackageStartupMessages(library(survey))
dat <- function(f) read.csv(file.path("tests/fixtures/r/data", f))
apistrat <- dat("apistrat.csv"); apiclus1 <- dat("apiclus1.csv"); apiclus2 <- dat("apiclus2.csv")
nhanes <- dat("nhanes.csv")
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
dnh <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE,
                 data = nhanes)
out <- list()
add <- function(case, b) {
  v <- vcov(b)
  g <- expand.grid(row = rownames(v), col = colnames(v), stringsAsFactors = FALSE)
  out[[case]] <<- data.frame(case = case, row = g$row, col = g$col, value = as.vector(v))
  est <- coef(b)
  out[[paste0(case, "_coef")]] <<- data.frame(case = paste0(case, "_coef"), row = names(est),
                                              col = "", value = as.vector(est))
}
add("mean_clus1_stype", svyby(~api00, ~stype, dclus1, svymean, covmat = TRUE))
add("mean_strat_awards", svyby(~api00, ~awards, dstrat, svymean, covmat = TRUE))
add("total_clus1_stype", svyby(~api00, ~stype, dclus1, svytotal, covmat = TRUE))
add("prop_clus1_awards", svyby(~stype, ~awards, dclus1, svymean, covmat = TRUE))
add("mean_clus2_stype", svyby(~api00, ~stype, dclus2, svymean, covmat = TRUE))
add("prop_nhanes_race", svyby(~factor(RIAGENDR), ~race, dnh, svymean, covmat = TRUE))
b <- svyby(~api00, ~stype, dclus1, svymean, covmat = TRUE)
cc <- svycontrast(b, c(E = 1, M = -1))
out[["contrast_clus1_E_M"]] <- data.frame(case = "contrast_clus1_E_M", row = c("estimate", "se"),
                                          col = "", value = c(coef(cc), SE(cc)))
write.csv(do.call(rbind, out), "tests/fixtures/r/covmat_svyby.csv", row.names = FALSE)
