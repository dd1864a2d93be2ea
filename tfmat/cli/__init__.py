"""The ``tfmat`` command: one subcommand per workflow.

Each module in ``SUBCOMMANDS`` defines ``register(subparsers)``, adding its
subcommands with ``set_defaults(func=...)``; ``func(args)`` returns the exit code.
"""
from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS = ["tfmat.cli.data", "tfmat.cli.cnn", "tfmat.cli.gan", "tfmat.cli.evaluate", "tfmat.cli.screen", "tfmat.cli.autoencoder"]


class UsageError(Exception):
    """Bad input from the user: reported in one sentence, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tfmat", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from ..data import DataError
    from ..composition import FormulaError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UsageError, DataError, FormulaError, FileNotFoundError) as err:
        print(f"tfmat {args.command}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tfmat {args.command}: interrupted", file=sys.stderr)
        return 130


def run(argv: list[str]) -> None:
    """Entry point for the top-level wrapper scripts."""
    sys.exit(main(argv))
