# Lonely PSUs inside domains (issue 25, item 5): R's options(survey.adjust.domain.lonely=TRUE),
# from R survey's own test lonely.psu.R ("with adjustment": apiclus1 stratified by district,
# district 413 dropped, then row 31 dropped as a domain, leaving its district one school) and
# harder designs: a stratified-sample domain, nhanes (strata x 2 PSUs) with a domain leaving
# two strata one PSU, means, totals and svyby. Every lonely.psu rule, with the option on / off.
# Output tests/fixtures/r/rtests_lonely_<survey version>.csv. survey 4.1.1 and 4.5 differ for
# "adjust" (4.5 centres a lonely PSU on the grand mean, 4.1.1 leaves it uncentred; README):
# surveykit follows 4.5, whose tests/ folder this ports.
suppressPackageStartupMessages(library(survey))
out <- "tests/fixtures/r"
ver <- as.character(packageVersion("survey"))
f17 <- function(x) sprintf("%.17g", x)
data(api)
data(nhanes)
rows <- list()
put <- function(case, quantity, value) {
  rows[[length(rows) + 1]] <<- data.frame(survey_version = ver, case = case,
                                          quantity = quantity, value = f17(as.numeric(value)))
}
a1 <- subset(apiclus1, dnum != 413)
write.csv(a1, file.path(out, "rtests_lonely_apiclus1.csv"), row.names = FALSE, na = "")
ds <- svydesign(id = ~1, weights = ~pw, strata = ~dnum, data = a1)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
dnh <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE,
                 data = nhanes)
first_e <- which(apistrat$stype == "E")[1]
nh_dom <- !(nhanes$SDMVSTRA %in% c(76, 80) & nhanes$SDMVPSU == 1)
domains <- list(
  clus1_row31 = list(ds[-31, ], ~api00),
  strat_one_E = list(subset(dstrat, stype != "E" | seq_len(nrow(apistrat)) == first_e),
                     ~api00),
  nhanes_two_strata = list(subset(dnh, nh_dom), ~HI_CHOL))
for (adj in c(FALSE, TRUE)) {
  options(survey.adjust.domain.lonely = adj)
  for (rule in c("remove", "certainty", "adjust", "average")) {
    options(survey.lonely.psu = rule)
    for (case in names(domains)) {
      d <- domains[[case]][[1]]
      f <- domains[[case]][[2]]
      tag <- paste0(rule, "_", if (adj) "adj" else "noadj")
      m <- suppressWarnings(svymean(f, d, na.rm = TRUE))
      t <- suppressWarnings(svytotal(f, d, na.rm = TRUE))
      put(case, paste0("mean_", tag), c(coef(m), SE(m)))
      put(case, paste0("total_", tag), c(coef(t), SE(t)))
    }
    b <- suppressWarnings(svyby(~api00, ~stype, domains$strat_one_E[[1]], svymean))
    put("strat_one_E", paste0("by_stype_", rule, "_", if (adj) "adj" else "noadj"),
        c(coef(b), SE(b)))
  }
}
write.csv(do.call(rbind, rows), file.path(out, paste0("rtests_lonely_", ver, ".csv")),
          row.names = FALSE)
