# R reference fixture for surveykit.sensitivity: differences between two (possibly overlapping)
# domain means with their linearised SE, under the file's weights and under equal weights raked
# to population margins. Run from the repository root via tests/r/make_fixtures.sh.
# Data: the hand-made canonical frame tests/fixtures/r/replication_canonical.csv (random codes,
# NOT the replica). Each difference is svycontrast(svytotal(~ya + ma + yb + mb), ya/ma - yb/mb)
# (delta method = the joint linearisation of the two domain means).
suppressPackageStartupMessages(library(survey))
options(digits = 15)
fx <- "tests/fixtures/r"
df <- read.csv(file.path(fx, "replication_canonical.csv"))
n <- nrow(df)
df$one <- 1
file_des <- svydesign(ids = ~1, weights = ~weight, data = df)
eq <- svydesign(ids = ~1, weights = ~one, data = df)
raked <- rake(eq, list(~age_group, ~urban, ~region),
              list(data.frame(age_group = 1:3, Freq = c(0.40, 0.45, 0.15) * n),
                   data.frame(urban = 0:1, Freq = c(0.27, 0.73) * n),
                   data.frame(region = 1:3, Freq = c(0.45, 0.30, 0.25) * n)),
              control = list(maxit = 1000, epsilon = 1e-12))  # run to convergence
# pairs: (table, row, group a, group b, variable, codes or NA for a mean, domain a, domain b)
pairs <- list(
  list("fig_5_4", "approval_5", "sesame", "commercial", "approval", 5,
       quote(sesame == 1), quote(commercial == 1)),
  list("fig_5_4", "approval_3", "government", "government_only", "approval", 3,
       quote(gov_pilot == 1), quote(gov_pilot == 1 & commercial == 0)),
  list("fig_5_10", "change_yes", "region_east", "region_west", "any_change", 1,
       quote(behaviour_module == 1 & region == 1), quote(behaviour_module == 1 & region == 3)),
  list("fig_5_10", "bc_index", "edu_low", "edu_high", "bc_index", NA,
       quote(behaviour_module == 1 & education == 2),
       quote(behaviour_module == 1 & education == 4))
)
rows <- list()
for (scheme in c("file", "raked")) {
  des <- if (scheme == "file") file_des else raked
  for (p in pairs) {
    y <- df[[p[[5]]]]
    ok <- !is.na(y)
    ma <- as.numeric(with(df, eval(p[[7]])) & ok); ma[is.na(ma)] <- 0
    mb <- as.numeric(with(df, eval(p[[8]])) & ok); mb[is.na(mb)] <- 0
    yy <- if (is.na(p[[6]])) ifelse(ok, y, 0) else as.numeric(ok & y %in% p[[6]])
    scale <- if (is.na(p[[6]])) 1 else 100
    d <- update(des, ya = yy * ma, ma = ma, yb = yy * mb, mb = mb)
    tot <- svytotal(~ya + ma + yb + mb, d)
    ct <- svycontrast(tot, quote(ya / ma - yb / mb))
    rows[[length(rows) + 1]] <- data.frame(
      scheme = scheme, table_id = p[[1]], row_id = p[[2]], group_a = p[[3]], group_b = p[[4]],
      difference = format(scale * coef(ct)[[1]], digits = 17),
      std_error = format(scale * SE(ct)[[1]], digits = 17))
  }
}
write.csv(do.call(rbind, rows), file.path(fx, "sensitivity_pairs.csv"), row.names = FALSE)
