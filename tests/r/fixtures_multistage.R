# R reference fixtures for multistage designs, FPC-implied weights and probs= (surveykit.design).
# Run from the repository root via tests/r/make_fixtures.sh; needs R with 'survey' and 'MASS'.
# Writes tests/fixtures/r/multistage_results.csv (long: design, stat, variable, term, estimate,
# se), the JK1 replicate weights of a two-stage design, and two data sets under data/:
# mu284 and apistrat2, a stratified two-stage sample drawn here from apipop (seeded).
suppressPackageStartupMessages({
  library(survey)
  library(MASS)
})
options(digits = 15, survey.lonely.psu = "fail")
out <- "tests/fixtures/r"
dat <- file.path(out, "data")
dir.create(dat, recursive = TRUE, showWarnings = FALSE)
data(api)
data(mu284)
write.csv(mu284, file.path(dat, "mu284.csv"), row.names = FALSE)
write.csv(apisrs, file.path(dat, "apisrs.csv"), row.names = FALSE, na = "")

## ---- a stratified two-stage sample: districts within school type, schools within district,
## stage-2 strata sch.wide; fpc1 = districts in the stratum, fpc2s = schools in the stage-2
## stratum, fpc2 = schools of that type in the district (for an unstratified second stage)
set.seed(20261201)
pop <- apipop[, c("cds", "dnum", "snum", "stype", "sch.wide", "awards", "api00", "api99",
                  "meals", "ell", "mobility", "enroll")]
pop <- pop[!is.na(pop$mobility), ]
rows <- list()
for (h in c("E", "H", "M")) {
  ph <- pop[pop$stype == h, ]
  dists <- sort(unique(ph$dnum))
  pick <- sample(dists, 8)
  for (d in pick) {
    pd <- ph[ph$dnum == d, ]
    for (s in c("No", "Yes")) {
      ps <- pd[pd$sch.wide == s, ]
      if (nrow(ps) == 0) next
      k <- min(nrow(ps), 2)
      take <- ps[sample(nrow(ps), k), ]
      take$fpc1 <- length(dists)
      take$fpc2s <- nrow(ps)
      take$fpc2 <- nrow(pd)
      rows[[length(rows) + 1]] <- take
    }
  }
}
apistrat2 <- do.call(rbind, rows)
rownames(apistrat2) <- NULL
# district numbers repeat across school types: PSUs are only unique within strata (nest=TRUE)
write.csv(apistrat2, file.path(dat, "apistrat2.csv"), row.names = FALSE, na = "")

res <- list()
add <- function(design, stat, variable, term, est, se) {
  res[[length(res) + 1]] <<- data.frame(design = design, stat = stat, variable = variable,
                                        term = term, estimate = sprintf("%.17g", est),
                                        se = sprintf("%.17g", se), stringsAsFactors = FALSE)
}
addsvy <- function(design, stat, variable, x) {
  add(design, stat, variable, names(coef(x)), coef(x), SE(x))
}
tight <- glm.control(epsilon = 1e-13, maxit = 200)
tight_optim <- list(reltol = 1e-15, maxit = 5000, ndeps = rep(1e-6, 5))  # 2 slopes + 3 cuts;
# small ndeps make the finite-difference Hessian behind svyolr's vcov accurate
breaks <- c(-Inf, 25, 50, 75, Inf)

analyse <- function(name, d, domain, byvar, factor_var, glms = TRUE) {
  addsvy(name, "mean", "api00", svymean(~api00, d))
  addsvy(name, "total", "enroll", svytotal(~enroll, d, na.rm = TRUE))
  addsvy(name, "mean", "enroll", svymean(~enroll, d, na.rm = TRUE))
  addsvy(name, "prop", factor_var, svymean(as.formula(paste0("~", factor_var)), d))
  b <- svyby(~api00, as.formula(paste0("~", byvar)), d, svymean)
  add(name, "by_mean", "api00", as.character(b[[byvar]]), coef(b), SE(b))
  sub <- subset(d, eval(parse(text = domain)))
  addsvy(name, "domain_mean", "api00", svymean(~api00, sub))
  addsvy(name, "domain_total", "enroll", svytotal(~enroll, sub, na.rm = TRUE))
  if (glms) {
    g <- svyglm(api00 ~ ell + meals, design = d, control = tight)
    add(name, "glm", "api00", names(coef(g)), coef(g), SE(g))
    g <- svyglm(awards ~ ell + meals, design = d, family = quasibinomial, control = tight)
    add(name, "logit", "awards", names(coef(g)), coef(g), SE(g))
    g <- svyglm(api00 ~ ell + meals, design = sub, control = tight)
    add(name, "domain_glm", "api00", names(coef(g)), coef(g), SE(g))
    d <- update(d, mealcat = cut(meals, breaks))
    o <- svyolr(mealcat ~ ell + mobility, design = d, control = tight_optim)
    add(name, "olr", "mealcat", names(coef(o)), coef(o), sqrt(diag(vcov(o))))
  }
}

## apiclus2: two-stage cluster sample, weights from the FPCs (R's dclus2)
dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
add("clus2_fpc", "weights", "", as.character(seq_len(nrow(apiclus2))), weights(dclus2), 0)
analyse("clus2_fpc", dclus2, "stype == 'E'", "stype", "awards")
options(survey.ultimate.cluster = TRUE)
analyse("clus2_fpc_uc", dclus2, "stype == 'E'", "stype", "awards")
options(survey.ultimate.cluster = FALSE)
## the same without FPC: first stage only (with-replacement approximation)
dclus2w <- svydesign(id = ~dnum + snum, weights = ~pw, data = apiclus2)
analyse("clus2_pw", dclus2w, "stype == 'E'", "stype", "awards")
## JK1 from a two-stage design: first-stage PSUs, first-stage FPC (R warns the rest is dropped)
rclus2 <- suppressWarnings(as.svrepdesign(dclus2, type = "JK1"))
rw <- weights(rclus2, "analysis")
colnames(rw) <- paste0("rep", seq_len(ncol(rw)))
write.csv(as.data.frame(apply(rw, 2, function(v) sprintf("%.17g", v))),
          file.path(out, "multistage_jk1_clus2_weights.csv"), row.names = FALSE, quote = FALSE)
add("clus2_fpc_jk1", "scale", "", "scale", rclus2$scale, 0)
addsvy("clus2_fpc_jk1", "mean", "api00", svymean(~api00, rclus2))

## calibrating a two-stage design: the residualised scores enter every stage's term (svyrecvar)
pop_stype <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
ps2 <- postStratify(dclus2, ~stype, pop_stype)
addsvy("clus2_fpc_ps", "mean", "api00", svymean(~api00, ps2))
addsvy("clus2_fpc_ps", "total", "enroll", svytotal(~enroll, ps2, na.rm = TRUE))
addsvy("clus2_fpc_ps", "domain_mean", "api00", svymean(~api00, subset(ps2, stype == "E")))
## JKn from the stratified two-stage design: first-stage PSUs and strata only
a2r <- read.csv(file.path(dat, "apistrat2.csv"))
ds2r <- svydesign(id = ~dnum + snum, strata = ~stype + sch.wide, fpc = ~fpc1 + fpc2s,
                  nest = TRUE, data = a2r)
rs2 <- suppressWarnings(as.svrepdesign(ds2r, type = "JKn"))
addsvy("strat2_jkn", "mean", "api00", svymean(~api00, rs2))
add("strat2_jkn", "rscales", "", as.character(seq_along(rs2$rscales)), rs2$rscales, 0)

## mu284: two-stage, population counts at both stages (Cochran)
mu <- mu284
mu$big <- factor(ifelse(mu$y1 >= 45, "yes", "no"))
dmu <- svydesign(id = ~id1 + id2, fpc = ~n1 + n2, data = mu)
add("mu284", "weights", "", as.character(seq_len(nrow(mu))), weights(dmu), 0)
addsvy("mu284", "mean", "y1", svymean(~y1, dmu))
addsvy("mu284", "total", "y1", svytotal(~y1, dmu))
addsvy("mu284", "prop", "big", svymean(~big, dmu))
b <- svyby(~y1, ~big, dmu, svytotal)
add("mu284", "by_total", "y1", as.character(b$big), coef(b), SE(b))
addsvy("mu284", "domain_mean", "y1", svymean(~y1, subset(dmu, id1 %in% c(19, 45, 47))))
## the same with the FPCs as sampling fractions
mu$f1 <- 5 / mu$n1
mu$f2 <- ave(mu$id2, mu$id1, FUN = length) / mu$n2
dmuf <- svydesign(id = ~id1 + id2, fpc = ~f1 + f2, data = mu)
addsvy("mu284_frac", "mean", "y1", svymean(~y1, dmuf))
addsvy("mu284_frac", "total", "y1", svytotal(~y1, dmuf))

## stratified two-stage, stage-2 strata, nested district labels
a2 <- read.csv(file.path(dat, "apistrat2.csv"))
a2$awards <- factor(a2$awards)
a2$sch.wide <- factor(a2$sch.wide)
ds2 <- svydesign(id = ~dnum + snum, strata = ~stype + sch.wide, fpc = ~fpc1 + fpc2s,
                 nest = TRUE, data = a2)
add("strat2", "weights", "", as.character(seq_len(nrow(a2))), weights(ds2), 0)
analyse("strat2", ds2, "sch.wide == 'Yes'", "sch.wide", "awards")
## stratified first stage only, unstratified second stage
ds1 <- svydesign(id = ~dnum + snum, strata = ~stype, fpc = ~fpc1 + fpc2, nest = TRUE,
                 data = a2)
add("strat2_s1", "weights", "", as.character(seq_len(nrow(a2))), weights(ds1), 0)
analyse("strat2_s1", ds1, "sch.wide == 'Yes'", "sch.wide", "awards", glms = FALSE)
## lonely second-stage strata: keep one school where two of more than two were sampled
two <- ave(seq_len(nrow(a2)), a2$stype, a2$dnum, a2$sch.wide, FUN = length) == 2 &
  a2$fpc2s > 2
first_of_pair <- !duplicated(paste(a2$stype, a2$dnum, a2$sch.wide))
drop <- which(two & !first_of_pair)[1:3]
a2l <- a2[-drop, ]
write.csv(data.frame(row = drop), file.path(out, "multistage_lonely_dropped.csv"),
          row.names = FALSE)
for (policy in c("remove", "certainty", "average", "adjust")) {
  options(survey.lonely.psu = policy)
  dl <- svydesign(id = ~dnum + snum, strata = ~stype + sch.wide, fpc = ~fpc1 + fpc2s,
                  nest = TRUE, data = a2l)
  v <- tryCatch(svymean(~api00, dl), error = function(e) NULL)
  if (!is.null(v)) addsvy(paste0("strat2_lonely_", policy), "mean", "api00", v)
  v <- tryCatch(svytotal(~enroll, dl, na.rm = TRUE), error = function(e) NULL)
  if (!is.null(v)) addsvy(paste0("strat2_lonely_", policy), "total", "enroll", v)
}
options(survey.lonely.psu = "fail")

## FPC without weights (weights derived from the FPC), probs=, fpc as sampling fractions
dsrs <- svydesign(id = ~1, fpc = ~fpc, data = apisrs)
addsvy("srs_fpc", "mean", "api00", svymean(~api00, dsrs))
addsvy("srs_fpc", "total", "api00", svytotal(~api00, dsrs))
srs <- apisrs
srs$p <- 1 / srs$pw
dprob <- svydesign(id = ~1, probs = ~p, data = srs)
addsvy("srs_probs", "total", "api00", svytotal(~api00, dprob))
dst <- svydesign(id = ~1, strata = ~stype, fpc = ~fpc, data = apistrat)
addsvy("strat_fpc_noweights", "total", "enroll", svytotal(~enroll, dst))
addsvy("strat_fpc_noweights", "mean", "api00", svymean(~api00, dst))
st <- apistrat
st$frac <- ave(st$fpc, st$stype, FUN = function(v) length(v) / v)
dstf <- svydesign(id = ~1, strata = ~stype, fpc = ~frac, data = st)
addsvy("strat_frac_noweights", "total", "enroll", svytotal(~enroll, dstf))

## a stratum taken whole with a single PSU (fpc N = n = 1) is not a lonely PSU: R gives it zero
## variance before any lonely-PSU rule, and under "average" it counts as an estimable stratum
st1 <- apistrat[!(apistrat$stype == "H" & duplicated(apistrat$stype)), ]
st1$fpc2 <- ifelse(st1$stype == "H", 1, st1$fpc)
write.csv(data.frame(row = which(apistrat$stype == "H")[1]),
          file.path(out, "multistage_certainty_kept.csv"), row.names = FALSE)
lon <- st1[!(st1$stype == "M" & duplicated(st1$stype)), ]  # and a real lonely stratum, M
for (policy in c("fail", "average", "remove")) {
  options(survey.lonely.psu = policy)
  d <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc2, data = st1)
  addsvy(paste0("certainty_", policy), "mean", "api00", svymean(~api00, d))
  addsvy(paste0("certainty_", policy), "total", "enroll", svytotal(~enroll, d))
  if (policy != "fail") {
    d <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc2, data = lon)
    addsvy(paste0("certainty_lonely_", policy), "total", "enroll", svytotal(~enroll, d))
  }
}
options(survey.lonely.psu = "fail")

write.csv(do.call(rbind, res), file.path(out, "multistage_results.csv"), row.names = FALSE)
