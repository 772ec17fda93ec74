"""One shape for every hypothesis test: :class:`TestResult`.

Every test in surveykit — ``crosstab(...).test``, ``wald_test``, ``anova``, ``ttest``,
``ranktest`` and the tests to come (experiments, multiple imputation, ...) — answers the same
five questions, each in its own field whose meaning never changes:

- ``statistic``: the test statistic on the scale of its reference distribution (an F value for
  ``method="F"``, a chi-square value for ``"Chisq"``, a t value for ``"t"``, ...);
- ``df``: numerator degrees of freedom (F, chi-square) or the t's degrees of freedom;
- ``ddf``: denominator degrees of freedom — ``inf`` for chi-square and normal references;
- ``p_value``;
- ``method``: the reference distribution, one of :data:`METHODS`.

Anything else a test reports (the Rao–Scott X², the design effect eigenvalues, the terms
tested, n, ...) goes in ``extras`` (read-only mapping). Build with the constructors
(:meth:`TestResult.f`, :meth:`TestResult.chisq`, :meth:`TestResult.t`, :meth:`TestResult.normal`)
or directly with a p-value computed elsewhere (saddlepoint mixtures: ``method="chisq-sum"``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

#: reference distributions a TestResult names (``method``)
METHODS: tuple[str, ...] = (
    "F",          # F(df, ddf)
    "Chisq",      # chi-square(df); ddf = inf
    "t",          # Student t(df); ddf = inf (df holds the t's df)
    "normal",     # standard normal; df = 1, ddf = inf (two-sided)
    "chisq-sum",  # linear combination of chi-square(1)s (Rao-Scott LRT, R's pchisqsum); ddf inf
    "F-sum",      # its F analogue (R's pFsum); ddf finite
)


class _Frozen(Mapping[str, Any]):
    """A read-only mapping that copies and pickles (MappingProxyType does neither)."""

    __slots__ = ("_d",)

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self._d = dict(data or {})

    def __getitem__(self, key: str) -> Any:
        return self._d[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __repr__(self) -> str:
        return repr(self._d)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Frozen, (self._d,))


def _freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return _Frozen(mapping)


@dataclass(frozen=True)
class TestResult:
    """The result of a hypothesis test (see the module docstring for the fields' meaning).

    ``legacy`` keeps the dict a test returned before this shape existed: reading it by key
    (``result["value"]``) still works for one release, with a ``DeprecationWarning`` naming
    the field to use instead.
    """

    __test__ = False  # not a pytest test class

    statistic: float
    df: float
    ddf: float
    p_value: float
    method: str
    name: str = ""
    extras: Mapping[str, Any] = field(default_factory=dict, compare=False)
    legacy: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown reference distribution {self.method!r}; use one of "
                             f"{', '.join(METHODS)}")
        for name in ("statistic", "df", "ddf", "p_value"):
            object.__setattr__(self, name, float(getattr(self, name)))
        object.__setattr__(self, "extras", _freeze(self.extras))
        object.__setattr__(self, "legacy", _freeze(self.legacy))

    # -- constructors (p-values from scipy, imported when needed) -------------------------------
    @classmethod
    def f(cls, statistic: float, df: float, ddf: float, **kw: Any) -> TestResult:
        """An F test: p = P(F(df, ddf) > statistic); ``ddf=inf`` is the chi-square/df limit."""
        from scipy import stats

        p = (float(stats.chi2.sf(statistic * df, df)) if math.isinf(ddf)
             else float(stats.f.sf(statistic, df, ddf)))
        return cls(statistic, df, ddf, p, "F", **kw)

    @classmethod
    def chisq(cls, statistic: float, df: float, **kw: Any) -> TestResult:
        """A chi-square test: p = P(chi2(df) > statistic); ddf is inf."""
        from scipy import stats

        return cls(statistic, df, math.inf, float(stats.chi2.sf(statistic, df)), "Chisq", **kw)

    @classmethod
    def t(cls, statistic: float, df: float, **kw: Any) -> TestResult:
        """A two-sided t test on ``df`` degrees of freedom (ddf is inf)."""
        from scipy import stats

        p = float(2 * stats.t.sf(abs(statistic), df))
        return cls(statistic, df, math.inf, p, "t", **kw)

    @classmethod
    def normal(cls, statistic: float, **kw: Any) -> TestResult:
        """A two-sided z test (df 1, ddf inf)."""
        from scipy import stats

        return cls(statistic, 1.0, math.inf, float(2 * stats.norm.sf(abs(statistic))),
                   "normal", **kw)

    # -- reading -------------------------------------------------------------------------------
    @property
    def reference(self) -> str:
        """The reference distribution written out: "F(2, 38)", "Chisq(3)", "t(14)", "N(0, 1)"."""
        def num(x: float) -> str:
            return f"{x:.4g}"
        if self.method in ("F", "F-sum"):
            return f"{self.method}({num(self.df)}, {num(self.ddf)})"
        if self.method == "normal":
            return "N(0, 1)"
        return f"{self.method}({num(self.df)})"

    def as_dict(self) -> dict[str, Any]:
        """The five fields plus ``name`` and the extras, as one flat dict."""
        out = {"statistic": self.statistic, "df": self.df, "ddf": self.ddf,
               "p_value": self.p_value, "method": self.method}
        if self.name:
            out["name"] = self.name
        out.update(self.extras)
        return out

    def to_frame(self) -> Any:
        """One-row DataFrame of :meth:`as_dict` (pandas)."""
        import pandas as pd

        return pd.DataFrame([self.as_dict()])

    def __str__(self) -> str:
        what = f"{self.name}: " if self.name else ""
        return (f"{what}{self.method} = {self.statistic:.4g} on {self.reference}, "
                f"p = {self.p_value:.4g}")

    # -- the pre-TestResult dict shape, deprecated ----------------------------------------------
    def _old(self, key: str) -> Any:
        if key not in self.legacy:
            raise KeyError(key)
        warnings.warn(f"reading a test result by key ({key!r}) is deprecated and will be "
                      "removed in the next release; use the fields statistic, df, ddf, "
                      "p_value, method (and .extras)", DeprecationWarning, stacklevel=3)
        return self.legacy[key]

    def __getitem__(self, key: str) -> Any:
        return self._old(key)

    def get(self, key: str, default: Any = None) -> Any:
        return self._old(key) if key in self.legacy else default

    def __contains__(self, key: object) -> bool:
        return key in self.legacy

    def keys(self) -> Any:
        return self.legacy.keys()

    def items(self) -> Any:
        warnings.warn("iterating a test result as a dict is deprecated; use as_dict()",
                      DeprecationWarning, stacklevel=2)
        return self.legacy.items()

    def __iter__(self) -> Iterator[str]:
        return iter(self.legacy)

    def __len__(self) -> int:
        return len(self.legacy)

    def __bool__(self) -> bool:  # a result is truthy even without a legacy dict
        return True


_RANK_TESTS = ("wilcoxon", "vanderWaerden", "median", "KruskalWallis")


def _method_of(row: Mapping[str, Any]) -> str:
    if "method" in row and row["method"] in METHODS:
        return str(row["method"])
    return "F"


def as_test_result(obj: Any) -> TestResult | list[TestResult]:
    """The :class:`TestResult` of any test surveykit returns: a TestResult (itself), a
    ``crosstab`` result (its ``.test``), or a test frame (``wald_test``, ``anova``,
    ``ttest``, ``ranktest``: one TestResult per row, a list when there are several rows).

    Frames keep R's column layout; their ``method`` column names the reference distribution.
    Where R's layout puts a chi-square beside an F reference (``ranktest`` with more than two
    groups: ``statistic`` is the Wald chi-square, p from F = chisq / df), the TestResult's
    ``statistic`` is the F value and the chi-square is in ``extras["chisq"]``.
    """
    if isinstance(obj, TestResult):
        return obj
    test = getattr(obj, "test", None)
    if isinstance(test, TestResult):
        return test
    rows = getattr(obj, "to_dict", None)
    if rows is None or not hasattr(obj, "columns"):
        raise TypeError(f"no test result in a {type(obj).__name__}")
    out = []
    core = {"statistic", "df", "ddf", "p_value", "method"}
    for row in obj.to_dict("records"):
        method = _method_of(row)
        stat = float(row["statistic"])
        extras = {k: v for k, v in row.items() if k not in core}
        ddf = row.get("ddf", math.inf)
        ddf = math.inf if ddf is None or (isinstance(ddf, float) and math.isnan(ddf)) \
            else float(ddf)
        df = float(row.get("df", math.nan))
        if row.get("test") in _RANK_TESTS and method == "F":  # R's multiranktest layout
            extras["chisq"] = stat
            stat = stat / df
        name = str(row.get("terms", row.get("variable", "")))
        out.append(TestResult(stat, df, ddf, float(row["p_value"]), method, name=name,
                              extras=extras))
    return out[0] if len(out) == 1 else out
