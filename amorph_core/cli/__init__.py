"""The `amorph` command. Each subcommand lives in its own module with add_parser(subparsers) and run(args).

Errors the user can fix (AmorphError) print one clear line and exit with status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import re
import sys
import warnings

from amorph_core import __version__
from amorph_core.errors import AmorphError, AmorphWarning

#: subcommand name -> module implementing add_parser(subparsers) and run(args)
SUBCOMMANDS = {
    "analyze": "amorph_core.cli.analyze",
    "evaluate": "amorph_core.cli.evaluate",
    "generate": "amorph_core.cli.generate",
    "train": "amorph_core.cli.train",
    "md": "amorph_core.cli.md",
    "sweep": "amorph_core.cli.sweep",
}


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the house error format (one `error: ...` line, exit 2) and negative values read as values
    wherever an option takes one: `--seed -1`, `--box -1,2,3`, `--rate -1e3` reach their checks instead of
    being taken for options."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # a leading '-' followed by a digit or '.' (numbers, number lists, 1e3, -.5), or -inf / -nan
        self._negative_number_matcher = re.compile(r"^-(\.?\d[\w.,:;+-]*|inf|nan|infinity)$", re.IGNORECASE)

    def error(self, message):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="amorph", description="Generate and validate amorphous materials.")
    parser.add_argument("--version", action="version", version=f"amorph {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, modname in SUBCOMMANDS.items():
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name == modname:
                continue  # subcommand not built yet
            raise
        p = mod.add_parser(sub)
        p.set_defaults(_run=mod.run)
    return parser


def _format_warning(message, category, filename, lineno, line=None):
    return f"warning: {message}\n"


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 1
    warnings.formatwarning = _format_warning
    warnings.simplefilter("always", AmorphWarning)
    try:
        return int(args._run(args) or 0)
    except AmorphError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
