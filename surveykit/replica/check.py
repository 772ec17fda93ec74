"""``surveykit replica --check``: is a regenerated replica the bundled one?

The bytes of the ``.sav`` depend on the library versions that wrote it (pyreadstat 1.3.8 writes
a weight 1e-10 differently from 1.3.7), so a byte comparison is only meaningful under the
versions recorded in the bundled sidecar (``build.built_with``). Under other versions the check
compares what the file says instead: every respondent's answers exactly and the weights to
:data:`WEIGHT_ATOL`. :func:`compare` says which check ran.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from surveykit.replica.sav import WEIGHT_COLUMN

#: Largest absolute weight difference accepted when the library versions differ.
WEIGHT_ATOL = 1e-9


@dataclass(frozen=True)
class CheckResult:
    """Outcome of comparing a regenerated replica with the bundled one."""

    identical: bool
    method: str    # "bytes" or "content"
    detail: str    # one line: what was compared and what was found

    def line(self) -> str:
        """The line the CLI prints."""
        return (f"identical to the bundled replica: {'yes' if self.identical else 'NO'} "
                f"({self.detail})")


def _versions(sidecar: Path) -> dict[str, str]:
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    return dict(meta.get("build", {}).get("built_with", {}))


def _read(sav: Path) -> pd.DataFrame:
    import pyreadstat

    data, _ = pyreadstat.read_sav(str(sav), user_missing=True)
    return data


def compare_content(new_sav: Path, bundled_sav: Path) -> tuple[bool, str]:
    """Respondents exactly (every column but the weight), weights to :data:`WEIGHT_ATOL`."""
    new, old = _read(new_sav), _read(bundled_sav)
    if list(new.columns) != list(old.columns) or len(new) != len(old):
        return False, (f"layout differs: {len(new)} rows x {new.shape[1]} columns vs "
                       f"{len(old)} x {old.shape[1]}")
    answers = [c for c in new.columns if c != WEIGHT_COLUMN]
    differ = [c for c in answers if not new[c].equals(old[c])]
    if differ:
        return False, f"respondents differ in {len(differ)} column(s): {', '.join(differ[:5])}"
    gap = float(np.max(np.abs(new[WEIGHT_COLUMN].to_numpy(dtype=float)
                              - old[WEIGHT_COLUMN].to_numpy(dtype=float)), initial=0.0))
    ok = gap <= WEIGHT_ATOL
    return ok, (f"respondents identical; weights {'within' if ok else 'NOT within'} "
                f"{WEIGHT_ATOL:g} (max difference {gap:.1e})")


def compare(new_sav: str | Path, bundled_sav: str | Path, bundled_sidecar: str | Path,
            here: dict[str, str]) -> CheckResult:
    """Bytes when ``here`` (library versions now) equals the bundled build's, else content."""
    new_sav, bundled_sav = Path(new_sav), Path(bundled_sav)
    recorded = _versions(Path(bundled_sidecar))
    if recorded == here:
        same = new_sav.read_bytes() == bundled_sav.read_bytes()
        detail = "byte for byte; same library versions as the bundled build"
        if not same:
            _, why = compare_content(new_sav, bundled_sav)
            detail = f"bytes differ under the same library versions; {why}"
        return CheckResult(same, "bytes", detail)
    changed = ", ".join(f"{k} {here.get(k, '?')} here vs {v} bundled"
                        for k, v in sorted(recorded.items()) if here.get(k) != v)
    ok, why = compare_content(new_sav, bundled_sav)
    return CheckResult(ok, "content", f"{why}; bytes not compared: {changed or 'versions differ'}")
