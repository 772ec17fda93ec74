"""The `surveykit` command line.

Each subcommand lives in its own module under :mod:`surveykit.commands` and exposes
``register(subparsers)`` (adds its parser, with ``func`` set to the handler). Errors derived
from :class:`SurveyKitError` print one line and exit 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from surveykit import __version__
from surveykit._text import terminal_safe
from surveykit.errors import SurveyKitError

#: Subcommand modules in the order they are listed by ``surveykit --help``.
COMMANDS = ("replicate", "describe", "harmonise", "weight", "replica")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="surveykit",
        description=(
            "Design-based re-analysis of surveys on China's social credit systems. "
            "Without --data, commands use the bundled SYNTHETIC replica (not the original survey)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"surveykit {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"surveykit.commands.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    given = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(given)
    args.argv = given  # the command line, recorded in run manifests
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except SurveyKitError as exc:
        if args.debug:
            raise
        print(terminal_safe(f"surveykit {args.command}: error: {exc}", newlines=False),
              file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. a disk full or a permission denied that no module caught
        if args.debug:
            raise
        print(terminal_safe(f"surveykit {args.command}: error: {' '.join(str(exc).split())}",
                            newlines=False), file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
