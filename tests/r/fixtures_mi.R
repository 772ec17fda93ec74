# R reference fixtures for surveykit.mi (multiple imputation combined by Rubin's rules).
# Run from the repository root via tests/r/make_fixtures.sh; needs R with 'survey', 'mitools',
# 'mitml' (mice::D1 calls mitml::testModels) and 'MASS'.
#
# The imputations are simple seeded hot-deck draws made here (their quality is not the point:
# the fixture checks the combination). Only the imputed values are written
# (tests/fixtures/r/mi_*_imputed.csv: row_id 0-based, imputation 1..m, value); the tests rebuild
# the m completed data sets from tests/fixtures/r/data/*.csv. Each analysis is run with
# with(svydesign(..., data = imputationList(...)), ...) and combined three ways:
#   MIcombine(results)                      -> df_rubin, fmi_rubin     (Rubin 1987)
#   MIcombine(results, df.complete = dfcom) -> df_mitools, fmi_mitools
#   Barnard & Rubin (1999) as mice::pool (barnard.rubin, without its lambda floor) -> df_br, fmi_br
# and the D1 test of a term by mitml's own D1 (what mice::D1 calls), with and without df.com.
suppressPackageStartupMessages({
  library(survey)
  library(mitools)
  library(MASS)
})
options(digits = 15)
out <- "tests/fixtures/r"
data(api)
data(nhanes)
tight <- glm.control(epsilon = 1e-13, maxit = 200)
f17 <- function(x) sprintf("%.17g", x)
M <- 5

impute_hotdeck <- function(data, var, cells, seed) {
  set.seed(seed)
  miss <- which(is.na(data[[var]]))
  key <- interaction(data[cells], drop = TRUE)
  draws <- lapply(seq_len(M), function(i) {
    v <- data[[var]]
    for (r in miss) {
      pool <- data[[var]][key == key[r] & !is.na(data[[var]])]
      v[r] <- pool[sample.int(length(pool), 1)]
    }
    v
  })
  imputed <- do.call(rbind, lapply(seq_len(M), function(i)
    data.frame(row_id = miss - 1L, imputation = i, value = draws[[i]][miss])))
  list(draws = draws, imputed = imputed)
}

barnard_rubin <- function(m, b, t, dfcom) {
  lambda <- (1 + 1 / m) * b / t
  dfold <- (m - 1) / lambda^2
  if (!is.finite(dfcom)) return(dfold)
  dfobs <- (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lambda)
  dfold * dfobs / (dfold + dfobs)
}

combine_rows <- function(name, results, dfcom) {
  m <- length(results)
  cf <- lapply(results, function(r) coef(r))
  vc <- lapply(results, function(r) as.matrix(vcov(r)))
  a <- MIcombine(cf, vc)
  b <- MIcombine(cf, vc, df.complete = dfcom)
  W <- Reduce(`+`, vc) / m
  B <- var(do.call(rbind, cf))
  Tm <- W + (1 + 1 / m) * B
  w <- diag(W); bb <- diag(B); t <- diag(Tm)
  riv <- (1 + 1 / m) * bb / w
  lambda <- (1 + 1 / m) * bb / t
  df_br <- barnard_rubin(m, bb, t, dfcom)
  fmi_br <- (riv + 2 / (df_br + 3)) / (riv + 1)
  stopifnot(all(lambda >= 1e-4))  # so mice's lambda floor does not apply
  data.frame(analysis = name, index = seq_along(a$coefficients) - 1L,
             term = names(a$coefficients), estimate = f17(a$coefficients),
             std_error = f17(sqrt(diag(a$variance))), within = f17(w), between = f17(bb),
             riv = f17(riv), lambda = f17(lambda), df_br = f17(df_br), fmi_br = f17(fmi_br),
             df_mitools = f17(b$df), fmi_mitools = f17(b$missinfo),
             df_rubin = f17(a$df), fmi_rubin = f17(a$missinfo), dfcom = f17(dfcom),
             stringsAsFactors = FALSE)
}

d1_row <- function(name, results, index, dfcom) {
  Q <- sapply(results, function(r) coef(r)[index])
  Q <- matrix(Q, nrow = length(index))
  U <- array(sapply(results, function(r) as.matrix(vcov(r))[index, index]),
             dim = c(length(index), length(index), length(results)))
  a <- mitml:::.D1(Q, U, df.com = dfcom)
  b <- mitml:::.D1(Q, U, df.com = NULL)
  data.frame(analysis = name, k = a$k, statistic = f17(a$F), riv = f17(a$r),
             ddf_reiter = f17(a$v), p_reiter = f17(pf(a$F, a$k, a$v, lower.tail = FALSE)),
             ddf_lrr = f17(b$v), p_lrr = f17(pf(b$F, b$k, b$v, lower.tail = FALSE)),
             dfcom = f17(dfcom), stringsAsFactors = FALSE)
}

rows <- list()
tests <- list()

## ---- stratified cluster design (NHANES: strata x PSUs, nest = TRUE) ---------------------------
nh <- nhanes
nh$agegrp <- as.integer(factor(nh$agecat, levels = c("(0,19]", "(19,39]", "(39,59]", "(59,Inf]")))
imp <- impute_hotdeck(nh, "HI_CHOL", c("agegrp", "RIAGENDR"), seed = 20240)
write.csv(imp$imputed, file.path(out, "mi_nhanes_imputed.csv"), row.names = FALSE)
dl <- lapply(imp$draws, function(v) { d <- nh; d$HI_CHOL <- v; d })
des <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE,
                 data = imputationList(dl))
dfd <- degf(des$designs[[1]])
rows[["nh_mean"]] <- combine_rows("nh_mean", with(des, svymean(~HI_CHOL)), dfd)
glms <- with(des, svyglm(HI_CHOL ~ factor(race) + factor(agegrp), family = quasibinomial,
                         control = tight))
rows[["nh_glm"]] <- combine_rows("nh_glm", glms, glms[[1]]$df.residual)
tests[["nh_glm_race"]] <- d1_row("nh_glm_race", glms, 2:4, glms[[1]]$df.residual)
tight_optim <- list(reltol = 1e-15, maxit = 5000, ndeps = rep(1e-6, 7))
# polr's optim stops on a relative change of the log-likelihood, which NHANES' large weights
# make huge; the same design with weights divided by their mean (estimates and design-based SEs
# do not change) lets it converge to 1e-9
dl_n <- lapply(dl, function(d) { d$wn <- d$WTMEC2YR / mean(d$WTMEC2YR); d })
des_n <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~wn, nest = TRUE,
                   data = imputationList(dl_n))
olrs <- with(des_n, svyolr(factor(agegrp) ~ HI_CHOL + factor(race), control = tight_optim))
rows[["nh_olr"]] <- combine_rows("nh_olr", olrs, Inf)
# domain: women
dom <- subset(des, RIAGENDR == 2)
rows[["nh_dom_mean"]] <- combine_rows("nh_dom_mean", with(dom, svymean(~HI_CHOL)),
                                      degf(dom$designs[[1]]))
dglms <- with(dom, svyglm(HI_CHOL ~ factor(race) + factor(agegrp), family = quasibinomial,
                          control = tight))
rows[["nh_dom_glm"]] <- combine_rows("nh_dom_glm", dglms, dglms[[1]]$df.residual)
tests[["nh_dom_glm_race"]] <- d1_row("nh_dom_glm_race", dglms, 2:4, dglms[[1]]$df.residual)

## ---- replicate design (apiclus1, JK1 from the one-stage cluster design) ---------------------
ap <- apiclus1
set.seed(7)
p_miss <- plogis(-2 + 0.03 * ap$meals)      # missing at random given meals
ap$ell[runif(nrow(ap)) < p_miss] <- NA
ap$mealq <- cut(ap$meals, c(-1, 25, 50, 75, 101), labels = FALSE)
imp2 <- impute_hotdeck(ap, "ell", c("mealq"), seed = 20241)
write.csv(imp2$imputed, file.path(out, "mi_apiclus1_imputed.csv"), row.names = FALSE)
dl2 <- lapply(imp2$draws, function(v) { d <- ap; d$ell <- v; d })
rep0 <- as.svrepdesign(svydesign(id = ~dnum, weights = ~pw, data = ap), type = "JK1",
                       compress = FALSE)
repw <- weights(rep0, "analysis")
dl2 <- lapply(dl2, function(d) { for (j in seq_len(ncol(repw))) d[[paste0("rw", j)]] <- repw[, j]; d })
rdes <- svrepdesign(data = imputationList(dl2), repweights = "rw[0-9]+", weights = ~pw,
                    type = "JK1", scale = rep0$scale, rscales = rep0$rscales,
                    combined.weights = TRUE)
dfr <- degf(rdes$designs[[1]])
rows[["rep_mean"]] <- combine_rows("rep_mean", with(rdes, svymean(~ell)), dfr)
rglms <- with(rdes, svyglm(api00 ~ ell + meals, control = tight))
rows[["rep_glm"]] <- combine_rows("rep_glm", rglms, rglms[[1]]$df.residual)
tests[["rep_glm_ell"]] <- d1_row("rep_glm_ell", rglms, 2, rglms[[1]]$df.residual)
rdom <- subset(rdes, stype == "E")
rows[["rep_dom_mean"]] <- combine_rows("rep_dom_mean", with(rdom, svymean(~ell)),
                                       degf(rdom$designs[[1]]))

write.csv(do.call(rbind, rows), file.path(out, "mi_combined.csv"), row.names = FALSE)
write.csv(do.call(rbind, tests), file.path(out, "mi_d1.csv"), row.names = FALSE)
cat("mi fixtures written\n")
