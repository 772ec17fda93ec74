# R reference fixtures for surveykit.list_design_test (list::ict.test, Blair & Imai 2012) and
# ictreg / design-based list estimates on the SYNTHETIC list experiment
# (tests/fixtures/r/data/list_synthetic.csv, written by surveykit.replica.experiments; illustrative
# data, not findings about China). Needs R `list` (see tests/r/fixtures_list.R) and `survey`.
suppressPackageStartupMessages({
  library(survey)
  library(list)
})
options(digits = 15)
out <- "tests/fixtures/r"
rows <- list()
add <- function(case, name, est, se = NA) {
  rows[[length(rows) + 1]] <<- data.frame(case = case, name = name, estimate = unname(est),
                                          std_error = unname(se))
}
data(race)
set.seed(1)  # ict.test only simulates for more than four estimates per family (not used here)
tt <- ict.test(race$y, race$treat, J = 3, gms = TRUE)
add("ict_test_race", "p", tt$p)
tt2 <- ict.test(race$y, race$treat, J = 3, gms = FALSE)
add("ict_test_race_nogms", "p", tt2$p)
for (k in seq_len(nrow(tt$pi.table))) add("ict_test_race", rownames(tt$pi.table)[k], tt$pi.table[k, 1],
                                          tt$pi.table[k, 2])
syn <- read.csv(file.path(out, "data", "list_synthetic.csv"))
ts <- ict.test(syn$item_count, syn$list_treat, J = 3, gms = TRUE)
add("ict_test_synthetic", "p", ts$p)
ts2 <- ict.test(syn$item_count, syn$list_treat, J = 3, gms = FALSE)
add("ict_test_synthetic_nogms", "p", ts2$p)
# a design effect: half of the treated respondents who count 1 item answer 0 instead
bad <- syn; i <- which(bad$list_treat == 1 & bad$item_count == 1)
bad$item_count[i[seq(1, length(i), by = 2)]] <- 0
tb <- ict.test(bad$item_count, bad$list_treat, J = 3)
add("ict_test_synthetic_bad", "p", tb$p)
write.csv(bad, file.path(out, "data", "list_synthetic_bad.csv"), row.names = FALSE)

## SYNTHETIC list experiment: design-based difference and direct comparison (svyglm / svymean)
des <- svydesign(id = ~psu, strata = ~region, weights = ~weight, nest = TRUE, data = syn)
d1 <- svyglm(item_count ~ list_treat, des)
add("synthetic_difference", "list", coef(d1)["list_treat"], SE(d1)["list_treat"])
dm <- svymean(~direct_approve, des)
add("synthetic_difference", "direct", coef(dm), SE(dm))
# direct - list from one joint covariance: both as functions of the weighted totals
tot <- svytotal(~I(list_treat * item_count) + I(list_treat) + I((1 - list_treat) * item_count) +
                  I(1 - list_treat) + direct_approve + I(direct_approve * 0 + 1), des)
cc <- svycontrast(tot, quote(`direct_approve` / `I(direct_approve * 0 + 1)` -
  (`I(list_treat * item_count)` / `I(list_treat)` - `I((1 - list_treat) * item_count)` / `I(1 - list_treat)`)))
add("synthetic_difference", "direct - list", coef(cc), SE(cc))
# ML on the synthetic data (ictreg converged; weights), model-based SEs
src <- gsub("10^(-8)", "10^(-15)", deparse(list::ictreg), fixed = TRUE)
ict_conv <- eval(parse(text = src)); environment(ict_conv) <- asNamespace("list")
fm <- ict_conv(item_count ~ urban + age_group + college, data = syn, treat = "list_treat", J = 3,
               method = "ml", weights = "weight", maxIter = 100000)
nm <- c("(Intercept)", "urban", "age_group", "college")
for (k in 1:4) add("synthetic_ml_weighted", paste0("sensitive:", nm[k]), fm$par.treat[k], fm$se.treat[k])
for (k in 1:4) add("synthetic_ml_weighted", paste0("control:", nm[k]), fm$par.control[k], fm$se.control[k])
res <- do.call(rbind, rows)
write.csv(res, file.path(out, "list_test.csv"), row.names = FALSE)
