"""Multiple imputation on survey designs: designs over m completed data sets
(:mod:`surveykit.mi.design`), Rubin's rules (:mod:`surveykit.mi.rubin`), the one dispatch point
every estimator and model goes through (:mod:`surveykit.mi.dispatch`), the combination of each
result type (:mod:`surveykit.mi.combine`), imputation by chained equations with predictive
mean matching (:mod:`surveykit.mi.impute`) and its report (:mod:`surveykit.mi.report`).

The public entry points (``sk.mi_design``, ``sk.MIDesign``, ``sk.impute``) are re-exported by
:mod:`surveykit.mi.api`, which also loads the combiners. This package's ``__init__`` imports
nothing, so the estimator modules can import the dispatch decorator without cycles.
"""
