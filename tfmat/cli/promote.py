"""``tfmat promote RUN DEST``: ship a trained run's model (the one command that writes into check_point/)."""
from __future__ import annotations

import sys

from . import UsageError, add_overwrite


def register(sub) -> None:
    p = sub.add_parser("promote", help="copy a trained run's model, with a model card, to DEST (e.g. check_point/)",
                       description="Copy the selected weights of a training run (train-gan, train-cnn or train-ae), "
                                   "with their config, run record and metrics, to DEST and write DEST/MODEL_CARD.md. "
                                   "Training never writes into check_point/; this is how a model gets there.")
    p.add_argument("run", metavar="RUN_DIR", help="a training run directory (e.g. runs/iMatGAN/MP)")
    p.add_argument("dest", metavar="DEST", help="where the model goes (e.g. check_point/iMatGAN/MP)")
    add_overwrite(p)
    p.set_defaults(func=_promote)


def _promote(args) -> int:
    from ..promote import CARD, promote

    try:
        dest = promote(args.run, args.dest, overwrite=args.overwrite)
    except FileExistsError as err:
        raise UsageError(str(err)) from None
    print(f"promoted {args.run} → {dest} (see {dest / CARD})", file=sys.stderr)
    return 0
