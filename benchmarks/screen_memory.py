"""Peak resident memory of the discovery pipeline as the sample count grows.

    python benchmarks/screen_memory.py                       # -n 20,000, 500,000 and 2,000,000
    python benchmarks/screen_memory.py --samples 20000 100000

Each run is ``python screen.py -n N --arch ARCH`` (``--arch``: the shipped
property models' architecture, the default one unless given) with the default
generator batch, in a fresh process; its peak resident set size is read from ``getrusage`` by a
parent that does nothing else. Results go to ``benchmarks/screen_memory.json``.
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tfmat.cnn.config import ARCHITECTURES, DEFAULT_ARCH  # noqa: E402

BAR_GIB = 2.0

CHILD = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak(n: int, out: Path, arch: str) -> dict:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, sys.executable, str(ROOT / "screen.py"), "-n", str(n),
                           "--arch", arch, "-o", str(out), "--overwrite"], capture_output=True, text=True, check=True)
    code, kib = map(int, proc.stdout.split())
    if code:
        raise SystemExit(f"screen.py -n {n} exited {code}")
    summary = json.loads((out / "summary.json").read_text())
    return {"samples": n, "peak_rss_gib": round(kib / 2**20, 3), "wall_seconds": round(time.perf_counter() - start, 1),
            "batch_size": summary["config"]["batch_size"], "unique": summary["counts"]["unique"],
            "candidates": summary["counts"]["screened"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, nargs="+", default=[20_000, 500_000, 2_000_000])
    ap.add_argument("--arch", default=DEFAULT_ARCH, choices=ARCHITECTURES)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "screen_memory.json"))
    args = ap.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.samples:
            runs.append(peak(n, Path(tmp) / f"screen_{n}", args.arch))
            print(json.dumps(runs[-1]), flush=True)
    worst = max(r["peak_rss_gib"] for r in runs)
    result = {"command": "python " + " ".join(sys.argv), "arch": args.arch,
              "bar": f"peak RSS <= {BAR_GIB} GiB at every n", "meets_bar": worst <= BAR_GIB, "runs": runs,
              "machine": {"python": platform.python_version(), "processor": platform.machine(),
                          "cpus": __import__("os").cpu_count()}}
    from tfmat.io import write_json

    write_json(args.out, result)
    print(f"worst peak {worst:.2f} GiB; wrote {args.out}")


if __name__ == "__main__":
    main()
