"""What :func:`surveykit.impute` did: per variable how many values were imputed and for which
missing reasons, chain means per iteration (convergence), and a figure of observed vs imputed
distributions with the chains."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

MAX_BAR_LEVELS = 11


@dataclass(eq=False)
class ImputationReport:
    """The record of one :func:`surveykit.impute` call.

    ``summary``: one row per variable (``n_missing``, ``n_imputed``, ``reasons_imputed``,
    ``reasons_kept_missing``, ``observed_mean``, ``imputed_mean``); ``chains``: mean and SD of
    the imputed values per chain, iteration and variable (long format); ``observed`` /
    ``imputed``: the values behind the figure; ``settings``: m, method, iterations, donors,
    seed, predictors, engine.
    """

    summary: pd.DataFrame
    chains: pd.DataFrame
    observed: dict[str, np.ndarray]
    imputed: dict[str, np.ndarray]
    settings: dict[str, Any]
    label: str
    synthetic: bool = False
    variable_labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict[Any, str]] = field(default_factory=dict)

    def to_markdown(self) -> str:
        """The report as Markdown: what was imputed, how, and the convergence table."""
        s = self.settings
        lines = [f"# Imputation report: {self.label}", ""]
        if self.synthetic:
            from surveykit.provenance import SYNTHETIC_BANNER

            lines += [f"**{SYNTHETIC_BANNER}: not findings about China.**", ""]
        lines += [f"Chained equations with predictive mean matching ({s['engine']}): "
                  f"{s['m']} chains of {s['iterations']} iterations, {s['donors']} donors, "
                  f"seed {s['seed']}. Imputed reasons: {s['impute_reasons']}. Predictors: "
                  f"{', '.join(map(str, s['predictors']))}"
                  + (f" (left out as collinear with the others: "
                     f"{', '.join(s['dropped_collinear_predictors'])})"
                     if s.get("dropped_collinear_predictors") else "") + ".", "",
                  "| Variable | Missing | Imputed | Reasons imputed | Kept missing | "
                  "Observed mean | Imputed mean |", "|---|---:|---:|---|---|---:|---:|"]
        for r in self.summary.itertuples(index=False):
            lab = self.variable_labels.get(r.variable, r.variable)
            lines.append(f"| {lab} | {r.n_missing:,} | {r.n_imputed:,} | {r.reasons_imputed} | "
                         f"{r.reasons_kept_missing or '–'} | {r.observed_mean:.3f} | "
                         f"{r.imputed_mean:.3f} |")
        last = self.chains[self.chains["iteration"] == self.chains["iteration"].max()]
        first = self.chains[self.chains["iteration"] == 1]
        lines += ["", "Convergence: mean of the imputed values across chains, first and last "
                  "iteration (chains should mix and show no trend; see the figure).", "",
                  "| Variable | Iteration 1 (spread over chains) | Last iteration (spread) |",
                  "|---|---:|---:|"]
        for v in self.summary["variable"]:
            a = first[first["variable"] == v]["mean"]
            b = last[last["variable"] == v]["mean"]
            lines.append(f"| {self.variable_labels.get(v, v)} | {a.mean():.3f} ({a.std():.3f})"
                         f" | {b.mean():.3f} ({b.std():.3f}) |")
        return "\n".join(lines) + "\n"

    def plot(self, variables: list[str] | None = None) -> Any:
        """Figure: per variable, observed vs imputed distribution (shares of each code, or
        densities for many-valued variables) and the chain means per iteration."""
        import matplotlib.pyplot as plt

        names = list(variables or self.summary["variable"])
        fig, axes = plt.subplots(len(names), 2, figsize=(9, 2.6 * len(names) + 0.8),
                                 squeeze=False)
        for row, v in enumerate(names):
            ax, cx = axes[row]
            obs, imp = self.observed[v], self.imputed[v]
            levels = np.unique(np.concatenate([obs, imp]))
            title = self.variable_labels.get(v, v)
            if len(levels) <= MAX_BAR_LEVELS:
                x = np.arange(len(levels))
                po = np.array([(obs == lv).mean() for lv in levels])
                pi = np.array([(imp == lv).mean() for lv in levels])
                m = int(self.settings.get("m", 1))
                ax.bar(x - 0.2, po, 0.4, label=f"observed ({len(obs):,})", color="#4c72b0")
                ax.bar(x + 0.2, pi, 0.4, label=f"imputed ({len(imp) // max(m, 1):,} x m = {m})",
                       color="#dd8452")
                labels = self.value_labels.get(v, {})
                ax.set_xticks(x, [textwrap.fill(str(labels.get(
                    int(lv) if float(lv).is_integer() else lv, _code(lv))), 14)
                    for lv in levels], fontsize=7)
                ax.set_ylim(0, max(po.max(), pi.max()) * 1.35)
                ax.set_ylabel("share")
            else:
                bins = np.histogram_bin_edges(np.concatenate([obs, imp]), bins=30)
                ax.hist(obs, bins=bins, density=True, alpha=0.6, label="observed",
                        color="#4c72b0")
                ax.hist(imp, bins=bins, density=True, alpha=0.6, label="imputed",
                        color="#dd8452")
                ax.set_ylabel("density")
            ax.set_title(f"{title}: observed vs imputed", fontsize=9)
            ax.legend(fontsize=7, frameon=False, loc="upper left", ncol=2)
            ch = self.chains[self.chains["variable"] == v]
            for _, c in ch.groupby("chain"):
                cx.plot(c["iteration"], c["mean"], lw=0.8, alpha=0.7)
            cx.set_title(f"{title}: chain means", fontsize=9)
            cx.set_xlabel("iteration")
            cx.set_ylabel("mean of imputed values")
        note = f"{self.label}; {self.settings['engine']}."
        if self.synthetic:
            from surveykit.provenance import SYNTHETIC_BANNER

            note = f"{SYNTHETIC_BANNER}: not findings about China. {note}"
        fig.suptitle(note, fontsize=8)
        fig.tight_layout(rect=(0, 0, 1, 0.97))
        return fig


def _code(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"
