"""The ``tfmat`` command: one subcommand per workflow.

Each module in ``SUBCOMMANDS`` defines ``register(subparsers)``, adding its
subcommands with ``set_defaults(func=...)``; ``func(args)`` returns the exit code.
Every subcommand takes ``--verbose``, which lets TensorFlow's own log lines
through (they are silenced otherwise, see :mod:`tfmat.quiet`). A command's
output path (``-o``/``--output`` or ``--out``, or the default it chooses) is
locked while it runs: a second tfmat process writing the same path exits 2
naming the first.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import UsageError
from ..io import clear_run  # noqa: F401 (the training commands' --overwrite)

SUBCOMMANDS = ["tfmat.cli.data", "tfmat.cli.cnn", "tfmat.cli.gan", "tfmat.cli.evaluate", "tfmat.cli.screen", "tfmat.cli.autoencoder",
               "tfmat.cli.promote", "tfmat.cli.structures", "tfmat.cli.active"]


def add_overwrite(parser: argparse.ArgumentParser) -> None:
    """``--overwrite``: the one meaning every command gives it."""
    parser.add_argument("--overwrite", action="store_true", help="replace what already exists at the output path")


def add_drop_bad_rows(parser: argparse.ArgumentParser, what: str = "--data") -> None:
    """``--drop-bad-rows``: the one way past a bad row of a training or reference file."""
    parser.add_argument("--drop-bad-rows", action="store_true",
                        help=f"leave out the rows of {what} that cannot be used (each with its line and reason "
                             "in the summary) instead of stopping with exit 2 at the first")


def report_dropped(rejects, path, out_dir=None) -> None:
    """Say how many rows of ``path`` ``--drop-bad-rows`` left out, listing them in ``out_dir/rejects.csv``."""
    if not rejects:
        return
    r = rejects[0]
    where = ""
    if out_dir is not None:
        from pathlib import Path

        from ..data.files import rejects_frame
        from ..io import write_csv
        where = f", listed in {write_csv(Path(out_dir) / 'rejects.csv', rejects_frame(rejects))}"
    print(f"{len(rejects)} bad row(s) of {path} left out (--drop-bad-rows; first: line {r.row} {r.text!r}: "
          f"{r.reason}){where}", file=sys.stderr)


def add_resume_flags(parser: argparse.ArgumentParser, backup_every: int) -> None:
    """``--backup-every N`` and ``--deterministic``: how a training command's run survives a kill."""
    parser.add_argument("--backup-every", type=int, default=backup_every, metavar="N",
                        help="back up the run every N batches as well as at every epoch end; a rerun resumes at "
                             f"that batch (default: {backup_every})")
    parser.add_argument("--deterministic", action="store_true",
                        help="deterministic TensorFlow ops: a killed and resumed run then ends with the weights "
                             "of an uninterrupted one (slower on some devices)")


def start_training(args) -> None:
    """Check ``--backup-every`` and apply ``--deterministic`` before any model is built."""
    if args.backup_every < 1:
        raise UsageError("--backup-every must be at least 1")
    if args.deterministic:
        from ..training import deterministic
        deterministic()


def default_output(args, path):
    """``path``, the output a command chose because none was given, locked as a given one is."""
    if not getattr(args, "out", None) and hasattr(args, "lock_output"):
        args.lock_output(path)
    return path


def refuse_existing(path, overwrite: bool) -> None:
    """An existing output is kept (exit 2) unless ``--overwrite``."""
    from pathlib import Path

    if Path(path).exists() and not overwrite:
        raise UsageError(f"{path} exists; pass --overwrite to replace it")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tfmat", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        importlib.import_module(name).register(sub)
    for command in sub.choices.values():
        command.add_argument("--verbose", action="store_true", help="show TensorFlow's log lines")
    return parser


def main(argv: list[str] | None = None) -> int:
    from ..data import DataError
    from ..composition import FormulaError

    args = build_parser().parse_args(argv)
    if not args.verbose:
        from ..quiet import silence_tensorflow
        silence_tensorflow()
    from ..io import OutputInUse, output_lock

    target = next((getattr(args, k) for k in ("output", "out") if getattr(args, k, None)), None)
    try:
        from contextlib import ExitStack

        from ..distribute import worker

        index, chief = worker()  # the workers of one multi-worker run share --out, each its own part of it
        with ExitStack() as held:  # one writer per output path
            args.lock_output = lambda path: held.enter_context(output_lock(path, "" if chief else f".worker{index}"))
            if target is not None:
                args.lock_output(target)
            return int(args.func(args) or 0)
    except (UsageError, DataError, FormulaError, FileNotFoundError, OutputInUse) as err:
        print(f"tfmat {args.command}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tfmat {args.command}: interrupted", file=sys.stderr)
        return 130


def run(argv: list[str]) -> None:
    """Entry point for the top-level wrapper scripts."""
    sys.exit(main(argv))
