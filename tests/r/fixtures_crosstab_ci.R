# R reference fixtures for crosstab(statistic=...) (svychisq) and proportion(ci="asin" /
# "likelihood") (svyciprop(method=...)), on stratified, clustered, strata+PSU, domain and replicate designs.
# Run from the repository root via tests/r/make_fixtures.sh (needs R with 'survey').
# Writes tests/fixtures/r/crosstab_tests.csv and tests/fixtures/r/ciprop_methods.csv
# (svyciprop methods "asin" and "likelihood").
# statistic = "lincom" is not here: it needs the CompQuadForm package (absent on the machine that
# generated these fixtures, where R silently falls back to the saddlepoint approximation).
suppressPackageStartupMessages(library(survey))
options(digits = 15)
data(api)
data(nhanes)
out <- "tests/fixtures/r"
dir.create(out, recursive = TRUE, showWarnings = FALSE)
f17 <- function(x) format(x, digits = 17)

dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dnh <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE,
                 data = nhanes)
rclus1 <- as.svrepdesign(dclus1, type = "JK1")
dom <- subset(dclus1, enroll > 300)
rdom <- subset(rclus1, enroll > 300)

cases <- list(
  list("strat", dstrat, "stype", "sch.wide"),
  list("strat", dstrat, "stype", "awards"),
  list("clus1", dclus1, "stype", "awards"),
  list("clus1_domain", dom, "stype", "awards"),
  list("jk1_clus1", rclus1, "stype", "awards"),
  list("jk1_clus1_domain", rdom, "stype", "sch.wide"),
  list("nhanes", dnh, "race", "agecat"),
  list("nhanes", dnh, "race", "RIAGENDR")
)
tests <- NULL
for (cs in cases) {
  fml <- as.formula(paste0("~", cs[[3]], "+", cs[[4]]))
  for (st in c("F", "Chisq", "Wald", "adjWald", "saddlepoint")) {
    t <- svychisq(fml, cs[[2]], statistic = st)
    par <- if (is.null(t$parameter)) c(NA, NA) else c(t$parameter, NA)[1:2]
    tests <- rbind(tests, data.frame(design = cs[[1]], row = cs[[3]], col = cs[[4]],
                                     statistic = st, value = f17(as.numeric(t$statistic)),
                                     df1 = f17(par[1]), df2 = f17(par[2]),
                                     p_value = f17(t$p.value)))
  }
}
write.csv(tests, file.path(out, "crosstab_tests.csv"), row.names = FALSE, quote = FALSE,
          na = "")

ci <- NULL
add_ci <- function(name, var, r, level, method) {
  ci <<- rbind(ci, data.frame(design = name, variable = var, level = level, method = method,
                              estimate = f17(as.numeric(r)),
                              ci_low = f17(attr(r, "ci")[1]), ci_high = f17(attr(r, "ci")[2])))
}
for (method in c("asin", "likelihood")) {
  for (level in c(0.95, 0.9)) {
    add_ci("strat", "sch.wide", svyciprop(~I(sch.wide == "Yes"), dstrat, method = method,
                                          level = level), level, method)
    add_ci("clus1", "sch.wide", svyciprop(~I(sch.wide == "Yes"), dclus1, method = method,
                                          level = level), level, method)
    add_ci("clus1_domain", "awards", svyciprop(~I(awards == "Yes"), dom, method = method,
                                               level = level), level, method)
    add_ci("jk1_clus1", "awards", svyciprop(~I(awards == "Yes"), rclus1, method = method,
                                            level = level), level, method)
    add_ci("nhanes", "HI_CHOL", svyciprop(~HI_CHOL, dnh, method = method, na.rm = TRUE,
                                          level = level), level, method)
  }
}
write.csv(ci, file.path(out, "ciprop_methods.csv"), row.names = FALSE, quote = FALSE)
