# R reference fixture for surveykit.replication.compute_table.
# Run from the repository root via tests/r/make_fixtures.sh (needs R with 'survey').
# Reads a small hand-made canonical frame (tests/fixtures/r/replication_canonical.csv, random
# codes, NOT the replica) and the compute specs of the registry cells of Figures 5.4, 5.8 and
# the prose numbers (tests/fixtures/r/replication_cells.csv, exported from the registry), and
# computes each cell as R's survey package does:
#   percent: svymean / svyciprop(method = "logit") of I(var %in% codes) on
#            subset(design, domain & !is.na(var))  (missing var excluded as a domain)
#   mean:    svymean of var on subset(design, domain & !is.na(var)), Wald CI (confint)
# Writes tests/fixtures/r/replication_expected.csv (estimates in percent for percent cells) and
# the standard errors of the same cells from the JK1 replicate version of the design
# (as.svrepdesign(type = "JK1"), column std_error_jk1).
suppressPackageStartupMessages(library(survey))
options(digits = 15)
fx <- "tests/fixtures/r"
df <- read.csv(file.path(fx, "replication_canonical.csv"))
cells <- read.csv(file.path(fx, "replication_cells.csv"), stringsAsFactors = FALSE,
                  na.strings = character(0))
des <- svydesign(ids = ~1, weights = ~weight, data = df)
jk1 <- as.svrepdesign(des, type = "JK1")

rows <- vector("list", nrow(cells))
for (i in seq_len(nrow(cells))) {
  cell <- cells[i, ]
  mask <- if (nzchar(cell$domain)) with(df, eval(parse(text = cell$domain))) else
    rep(TRUE, nrow(df))
  mask[is.na(mask)] <- FALSE
  y <- df[[cell$var]]
  keep <- mask & !is.na(y)
  if (cell$stat == "percent") {
    codes <- as.numeric(strsplit(cell$codes, ";")[[1]])
    yy <- as.numeric(y %in% codes)
    d <- update(des, yy = yy)
    sub <- subset(d, keep)
    sub_jk1 <- subset(update(jk1, yy = yy), keep)
    m <- svymean(~yy, sub)
    ci <- svyciprop(~yy, sub, method = "logit")
    lim <- as.vector(attr(ci, "ci"))
    scale <- 100
  } else {
    d <- update(des, yy = y)
    sub <- subset(d, keep)
    sub_jk1 <- subset(update(jk1, yy = y), keep)
    m <- svymean(~yy, sub)
    lim <- as.vector(confint(m))
    scale <- 1
  }
  rows[[i]] <- data.frame(table_id = cell$table_id, row_id = cell$row_id,
                          group_id = cell$group_id, computed = scale * coef(m)[[1]],
                          std_error = scale * SE(m)[[1]], ci_low = scale * lim[1],
                          ci_high = scale * lim[2],
                          std_error_jk1 = scale * SE(svymean(~yy, sub_jk1))[[1]],
                          n_unweighted = sum(keep),
                          group_n = sum(mask))
}
res <- do.call(rbind, rows)
for (col in c("computed", "std_error", "ci_low", "ci_high", "std_error_jk1")) {
  res[[col]] <- format(res[[col]], digits = 17)
}
write.csv(res, file.path(fx, "replication_expected.csv"), row.names = FALSE)
