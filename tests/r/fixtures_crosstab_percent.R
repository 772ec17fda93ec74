# R reference fixtures for crosstab(percent="column"/"row"/"cell", ci=True) and for item
# batteries (likert(design, [items]) / proportion(design, [items]), na="listwise").
# Run from the repository root via tests/r/make_fixtures.sh (needs R with 'survey').
# Writes tests/fixtures/r/crosstab_percent.csv and tests/fixtures/r/battery_shares.csv.
#
# Shares with svyciprop CIs, on the respondents with both values (subset(design, !is.na(row) &
# !is.na(col))): column percent = svyby(~I(row == k), ~col, svyciprop); row percent =
# svyby(~I(col == j), ~row, svyciprop); cell percent = svyciprop(~I(row == k & col == j)).
# Designs: apiclus1 clustered with FPC, its JK1 replicate design, and a domain (enroll > 300).
suppressPackageStartupMessages(library(survey))
options(digits = 15)
data(api)
out <- "tests/fixtures/r"
dir.create(out, recursive = TRUE, showWarnings = FALSE)
f17 <- function(x) format(x, digits = 17)

# derived 3-level items (the Python test builds the same columns): ell3 is missing where
# acs.46 is, so the tables have respondents missing a value
apiclus1$meals3 <- 1 + (apiclus1$meals > 30) + (apiclus1$meals > 60)
apiclus1$ell3 <- ifelse(is.na(apiclus1$acs.46), NA, 1 + (apiclus1$ell > 10) + (apiclus1$ell > 30))
apiclus1$mob3 <- 1 + (apiclus1$mobility > 10) + (apiclus1$mobility > 20)

dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
rclus1 <- as.svrepdesign(dclus1, type = "JK1")
designs <- list(clus1 = dclus1, jk1_clus1 = rclus1,
                clus1_domain = subset(dclus1, enroll > 300))
pairs <- list(c("stype", "awards"), c("ell3", "stype"), c("meals3", "sch.wide"))

one <- function(fml, des, method) {
  r <- svyciprop(fml, des, method = method)
  ci <- attr(r, "ci")
  c(as.numeric(coef(r)), as.numeric(SE(r)), as.numeric(ci[1]), as.numeric(ci[2]))
}

rows <- NULL
for (dn in names(designs)) {
  for (pr in pairs) {
    rv <- pr[1]
    cv <- pr[2]
    des <- designs[[dn]]
    keep <- !is.na(des$variables[[rv]]) & !is.na(des$variables[[cv]])
    sub <- des[keep, ]
    rl <- sort(unique(sub$variables[[rv]][weights(sub, "sampling") != 0]))
    cl <- sort(unique(sub$variables[[cv]][weights(sub, "sampling") != 0]))
    if (is.null(rl)) rl <- sort(unique(sub$variables[[rv]]))
    for (method in c("logit", "beta")) {
      for (k in rl) for (j in cl) {
        # column percent: share of row == k among respondents with col == j
        colsub <- subset(sub, get(cv) == j)
        rowsub <- subset(sub, get(rv) == k)
        fk <- as.formula(sprintf("~I(%s == '%s')", rv, k))
        fj <- as.formula(sprintf("~I(%s == '%s')", cv, j))
        fkj <- as.formula(sprintf("~I(%s == '%s' & %s == '%s')", rv, k, cv, j))
        for (pc in c("column", "row", "cell")) {
          v <- switch(pc, column = one(fk, colsub, method), row = one(fj, rowsub, method),
                      cell = one(fkj, sub, method))
          rows <- rbind(rows, data.frame(design = dn, row = rv, col = cv, method = method,
                                         percent = pc, row_level = k, col_level = j,
                                         estimate = f17(v[1]), se = f17(v[2]),
                                         ci_low = f17(v[3]), ci_high = f17(v[4])))
        }
      }
    }
  }
}
write.csv(rows, file.path(out, "crosstab_percent.csv"), row.names = FALSE, quote = FALSE)

# battery: svymean(~factor(a) + factor(b) + factor(c), na.rm = TRUE) drops a respondent
# missing any item (na = "listwise"); shares and SEs of every item x level
bat <- NULL
for (dn in names(designs)) {
  des <- designs[[dn]]
  des <- update(des, meals3 = factor(meals3), ell3 = factor(ell3), mob3 = factor(mob3))
  m <- svymean(~meals3 + ell3 + mob3, des, na.rm = TRUE)
  nm <- names(coef(m))
  bat <- rbind(bat, data.frame(design = dn, item = sub("[0-9]+$", "", sub("3[0-9]$", "3", nm)),
                               name = nm, estimate = f17(as.numeric(coef(m))),
                               se = f17(as.numeric(SE(m)))))
}
write.csv(bat, file.path(out, "battery_shares.csv"), row.names = FALSE, quote = FALSE)
