"""MkDocs build hooks: pages generated from the code at build time, never pasted.

- ``reference/``: one page per public name of ``surveykit.__all__`` (mkdocstrings renders the
  numpydoc docstring: signature, parameters, returns, raises, examples) with its R equivalent
  from ``docs/r_equivalents.yaml``; the command line from each subcommand's ``--help``.
- ``r_users.md``: the R-to-surveykit table, from the same YAML (one source for both).
- ``gallery/``: every ``analyses/*.py`` script executed on the bundled SYNTHETIC replica, its
  methods-section docstring, code, printed output and figures.
- ``changelog.md``: ``CHANGELOG.md`` of the repository.

Links from the hand-written pages to repository files outside ``docs/`` (e.g.
``../data_dictionary/replica.md``) are shown as file paths, since the site has no copy of them.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
ANALYSES = ROOT / "analyses"

#: reference section title for the first part of a defining module's path
GROUPS = {
    "errors": "Errors",
    "design": "Designs",
    "replicates": "Designs",
    "io": "Reading and harmonising data",
    "dictionary": "Reading and harmonising data",
    "weighting": "Weighting",
    "estimation": "Estimation",
    "inference": "Inference",
    "models": "Models",
    "distributions": "Models",
    "experiments": "Experiments",
    "mi": "Multiple imputation",
    "published": "Replica and published tables",
    "replica": "Replica and published tables",
    "provenance": "Replica and published tables",
    "plot": "Tables and figures",
    "labels": "Tables and figures",
    "summary_table": "Tables and figures",
    "_summary_table": "Tables and figures",
    "sensitivity": "Tables and figures",
    "_sensitivity": "Tables and figures",
    "tables": "Tables and figures",
}

_STATE: dict = {}


def _public_names() -> list[str]:
    sys.path.insert(0, str(ROOT))
    import surveykit

    return [n for n in surveykit.__all__ if n != "__version__"]


def _target(name: str) -> tuple[str, str]:
    """(dotted path mkdocstrings documents, reference group) of a public name."""
    import surveykit

    obj = getattr(surveykit, name)
    if inspect.ismodule(obj):
        path = obj.__name__
    elif inspect.isclass(obj) or inspect.isroutine(obj):
        path = f"{obj.__module__}.{obj.__qualname__}"
    else:  # a constant: document it where it is defined
        path = f"{surveykit._API[name]}.{name}"
    part = path.split(".")[1]
    return path, GROUPS.get(part, "Other")


def _equivalents() -> dict:
    return yaml.safe_load((DOCS / "r_equivalents.yaml").read_text(encoding="utf-8"))


def _reference_pages() -> dict[str, str]:
    eq = _equivalents()
    by_name = {row["surveykit"]: row for row in eq["functions"] if "surveykit" in row}
    pages: dict[str, str] = {}
    index = ["# API reference", "",
             "Every public name of `surveykit` (`import surveykit as sk`), generated from its "
             "docstring. The R column names the R `survey` (or other R) function it matches; "
             "documented differences are on [surveykit for R survey users](../r_users.md).", ""]
    groups: dict[str, list[str]] = {}
    for name in _public_names():
        path, group = _target(name)
        groups.setdefault(group, []).append(name)
        row = by_name.get(name, {})
        lines = [f"# sk.{name}", ""]
        if row.get("r"):
            lines += [f"**R equivalent:** `{row['r']}`", ""]
        if row.get("difference"):
            lines += [f"**Documented difference from R:** {row['difference']}", ""]
        lines += [f"::: {path}", ""]
        pages[f"reference/{name}.md"] = "\n".join(lines)
    _STATE["groups"] = groups
    for group in sorted(groups):
        index += [f"## {group}", "", "| name | R equivalent |", "| --- | --- |"]
        for name in groups[group]:
            r = by_name.get(name, {}).get("r", "")
            index.append(f"| [`sk.{name}`]({name}.md) | {f'`{r}`' if r else ''} |")
        index.append("")
    pages["reference/index.md"] = "\n".join(index)
    pages["reference/cli.md"] = _cli_page()
    return pages


def _cli_page() -> str:
    from surveykit.cli import COMMANDS, build_parser

    parser = build_parser()
    lines = ["# Command line", "", "`surveykit COMMAND --help` prints each text below; errors "
             "print one line and exit with status 2.", "", "```text", parser.format_help(), "```"]
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name in COMMANDS:
        lines += ["", f"## surveykit {name}", "", "```text",
                  sub.choices[name].format_help().rstrip(), "```"]
    return "\n".join(lines)


def _r_users_page() -> str:
    eq = _equivalents()
    lines = ["# surveykit for R `survey` users", "", eq["intro"].strip(), "",
             "| R | surveykit | documented difference |", "| --- | --- | --- |"]
    for row in eq["functions"]:
        sk_call = row.get("call") or f"sk.{row['surveykit']}"
        link = f"[`{sk_call}`](reference/{row['surveykit']}.md)" if "surveykit" in row else sk_call
        lines.append(f"| `{row['r']}` | {link} | {row.get('difference', '')} |")
    lines += ["", "## Every documented difference", "",
              "The README's list of deliberate differences from R, each with both numbers where "
              "they differ:", "", _readme_differences()]
    return "\n".join(lines) + "\n"


def _readme_differences() -> str:
    """The bullet list under README.md's "Deliberate differences from R" (one source)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("Deliberate differences from R")
    block = text[start:].split("\n", 1)[1]
    end = re.search(r"\n(?:\n(?!- |  )|## )", block)
    return block[: end.start() if end else len(block)].strip()


def _run_script(script: Path) -> dict:
    out = Path(tempfile.mkdtemp(prefix=f"gallery_{script.stem}_"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "SURVEYKIT_JOBS": "1"}
    proc = subprocess.run([sys.executable, str(script), "--out", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"gallery: {script.name} failed:\n{proc.stderr[-2000:]}")
    return {"stdout": proc.stdout, "out": out}


def _gallery() -> tuple[dict[str, str], dict[str, bytes]]:
    scripts = sorted(ANALYSES.glob("*.py"))
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = dict(zip(scripts, pool.map(_run_script, scripts), strict=True))
    pages: dict[str, str] = {}
    images: dict[str, bytes] = {}
    index = ["# Gallery of worked analyses", "",
             "Each `analyses/` script is run when this site is built, on the bundled **synthetic "
             "replica — not the original survey data**; what it prints and draws is shown below "
             "it. Results describe the replica, not public opinion in China.", "",
             "| script | what it does |", "| --- | --- |"]
    for script, run in runs.items():
        source = script.read_text(encoding="utf-8")
        doc = (ast.get_docstring(ast.parse(source)) or script.stem).strip()
        title = doc.splitlines()[0]
        index.append(f"| [{script.name}]({script.stem}.md) | {title} |")
        body = [f"# {script.name}", "", f"*{title}*", "", "```text", doc, "```", "",
                "## Code", "", "```python", source.rstrip(), "```", "",
                "## What it prints", "", _demote(run["stdout"])]
        figures = sorted(p for p in run["out"].rglob("*.png"))
        if figures:
            body += ["", "## Figures", ""]
            for fig in figures:
                rel = f"gallery/img/{script.stem}_{fig.name}"
                images[rel] = fig.read_bytes()
                body += [f"![{fig.stem}](img/{script.stem}_{fig.name})", ""]
        pages[f"gallery/{script.stem}.md"] = "\n".join(body) + "\n"
    pages["gallery/index.md"] = "\n".join(index) + "\n"
    return pages, images


def _demote(printed: str) -> str:
    """A script's printed output inside a page: Markdown (tables, headings) with its headings
    one level down; anything else (a plain-text table) verbatim in a text block."""
    if not re.search(r"^\| ", printed, flags=re.M):
        return "```text\n" + printed.rstrip() + "\n```"
    return re.sub(r"^(#+) ", lambda m: "#" + m.group(1) + " ", printed, flags=re.M)


def on_files(files, config):
    """Add every generated page and image to the build."""
    pages = {**_reference_pages(), "r_users.md": _r_users_page(),
             "changelog.md": (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")}
    gallery_pages, images = _gallery()
    pages.update(gallery_pages)
    for uri, content in pages.items():
        files.append(File.generated(config, uri, content=content))
    for uri, data in images.items():
        files.append(File.generated(config, uri, content=data))
    return files


def on_config(config):
    """Expand the nav's reference and gallery entries into one entry per generated page."""
    names = _public_names()
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(_target(name)[1], []).append(name)
    reference = [{"Overview": "reference/index.md"}]
    for group in sorted(groups):
        reference.append({group: [{f"sk.{n}": f"reference/{n}.md"} for n in groups[group]]})
    gallery = [{"Overview": "gallery/index.md"}]
    gallery += [{p.name: f"gallery/{p.stem}.md"} for p in sorted(ANALYSES.glob("*.py"))]
    nav = []
    for entry in config["nav"]:
        key, value = next(iter(entry.items()))
        if value == "reference/index.md":
            entry = {key: reference}
        elif value == "gallery/index.md":
            entry = {key: gallery}
        nav.append(entry)
    config["nav"] = nav
    return config


_OUTSIDE = re.compile(r"\[([^\]]+)\]\((\.\./[^)#\s]+|(?:data_dictionary|analyses|tests|bench|"
                      r"surveykit)/[^)#\s]*)\)")


def on_page_markdown(markdown, page, config, files):
    """Links to repository files outside docs/ become file paths (the site has no copy)."""
    return _OUTSIDE.sub(lambda m: f"{m.group(1)} (`{m.group(2).removeprefix('../')}`)", markdown)
