"""``tfmat data``: list and rebuild the embedded datasets."""
from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("data", help="list or rebuild the embedded datasets")
    cmds = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    ls = cmds.add_parser("list", help="datasets and their sizes")
    ls.set_defaults(func=_list)
    b = cmds.add_parser("build", help="rebuild data/ from the open MP and OQMD tables")
    b.add_argument("--source", required=True, help="folder holding mp/ and oqmd/ (e.g. ../shared/data/open)")
    b.add_argument("--out", default=None, help="output folder (default: the embedded data folder)")
    b.set_defaults(func=_build)


def _list(args) -> int:
    from ..data import EMBEDDED_GAN, PROPERTIES, load_gan_dataset, load_property_dataset

    print("GAN formula sets (train / leave-out):")
    for name in EMBEDDED_GAN:
        ds = load_gan_dataset(name)
        print(f"  {name:12s} {len(ds):8,d}  ({len(ds.train()):,} / {len(ds.leave_out()):,})")
    print("  ICSD, ICSD_Filter: user-supplied (--data PATH)")
    print("Property tables (distinct compositions):")
    for (source, attribute), (_, unit, what) in PROPERTIES.items():
        print(f"  {source:5s} {attribute:17s} {len(load_property_dataset(source, attribute)):8,d}  {what} ({unit})")
    return 0


def _build(args) -> int:
    from ..data import data_dir
    from ..data.build import build

    build(Path(args.source), Path(args.out) if args.out else data_dir())
    return 0
