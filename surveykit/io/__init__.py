"""Reading raw survey files and harmonising them onto the canonical codebooks.

    from surveykit.io import read, harmonise, stack, load_mapping, write_sav
    raw = read("study.sav")                 # RawFile: data, labels, NA reasons
    h = harmonise(raw, "mapping.yaml")      # Harmonised: frame, missing, report
    print(h.report.render())

The mapping format is specified in ``data_dictionary/mappings/README.md``.
"""

from surveykit.io.harmonise import (
    HarmonisationReport,
    Harmonised,
    harmonise,
    stack,
    write_canonical,
)
from surveykit.io.mapping import Mapping, Range, Rule, load_mapping
from surveykit.io.readers import FORMATS, RawFile, describe_raw, file_format, read, write_sav

__all__ = [
    "FORMATS",
    "HarmonisationReport",
    "Harmonised",
    "Mapping",
    "Range",
    "RawFile",
    "Rule",
    "describe_raw",
    "file_format",
    "harmonise",
    "load_mapping",
    "read",
    "stack",
    "write_canonical",
    "write_sav",
]
