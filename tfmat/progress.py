"""Progress bars for long commands: one look everywhere (count, rate and ETA, on stderr)."""
from __future__ import annotations


def bar(total: int | None, desc: str, unit: str, disable: bool = False):
    """A ``tqdm`` bar over ``total`` ``unit``s, showing the rate and the time left."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, dynamic_ncols=True, leave=True,
                mininterval=0.5, disable=disable)
