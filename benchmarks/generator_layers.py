"""Where a shipped generator's sampling time goes: each layer's time and share of the fp32 matmul peak.

    python benchmarks/generator_layers.py [--gan check_point/iMatGAN/MP] [--batch 2048] [--repeats 5]

(``TF_NUM_INTRAOP_THREADS`` sets the threads; the JSON records them.)

The generator runs in inference mode, one layer at a time, each as its own
``tf.function`` on the previous layer's output for ``--batch`` samples; then
whole, as ``tfmat.gan.sampling.compiled_forward`` runs it. Each time is the
median of ``--repeats`` runs after one untimed. FLOPs per sample as
``benchmarks/screen_speed.py`` counts them (2 × multiply-adds of the dense
and (transposed) convolution layers). The fp32 peak is the median FLOP/s of
timed 2048 × 2048 ``tf.linalg.matmul`` calls (``gan_speed_original.matmul_peak``),
measured before and after the layers; every share divides a layer's FLOP/s by it.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tfmat.io import write_json  # noqa: E402


def median_seconds(f, x, repeats: int) -> float:
    np.asarray(f(x))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.asarray(f(x))
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gan", default="check_point/iMatGAN/MP")
    ap.add_argument("--batch", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=str(Path(__file__).with_suffix(".json")))
    args = ap.parse_args(argv)

    import tensorflow as tf

    from gan_speed_original import matmul_peak
    from screen_speed import generator_flops
    from tfmat.gan.sampling import compiled_forward, load_generator

    generator = load_generator(ROOT / args.gan)
    tf_matmul = lambda a, b: tf.linalg.matmul(a, b).numpy()  # noqa: E731
    rates = matmul_peak(tf_matmul, tf.constant)
    latent = int(generator.inputs[0].shape[-1])
    x = tf.random.normal((args.batch, latent), seed=0)
    layers, total = [], 0.0
    for layer in generator.layers[1:]:
        f = tf.function(lambda t, layer=layer: layer(t, training=False))
        seconds = median_seconds(f, x, args.repeats)
        flops = generator_flops(SimpleNamespace(layers=[layer]))
        layers.append({"layer": layer.name, "kind": type(layer).__name__, "output": list(layer.output.shape[1:]),
                       "seconds": round(seconds, 4), "flops_per_sample": flops})
        total += seconds
        x = f(x)
    forward = compiled_forward(generator)
    z = np.random.default_rng(0).standard_normal((args.batch, latent), dtype=np.float32)
    whole = median_seconds(forward, z, args.repeats)
    rates += matmul_peak(tf_matmul, tf.constant)
    peak = float(np.median(rates))
    flops = generator_flops(generator)
    for row in layers:
        row["share_of_time"] = round(row["seconds"] / total, 4)
        row["share_of_peak"] = round(row["flops_per_sample"] * args.batch / row["seconds"] / peak, 4)
    result = {"command": " ".join(["python", *sys.argv]), "gan": args.gan, "batch": args.batch,
              "repeats": args.repeats, "cpus": os.cpu_count(),
              "threads": os.environ.get("TF_NUM_INTRAOP_THREADS", "TensorFlow's default"),
              "fp32_matmul_peak_gflops": {"median": round(peak / 1e9, 2), "runs": [round(r / 1e9, 2) for r in rates]},
              "flops_per_sample": flops, "layers": layers,
              "whole": {"seconds": round(whole, 4), "samples_per_second": round(args.batch / whole),
                        "share_of_peak": round(flops * args.batch / whole / peak, 4),
                        "sum_of_layers_seconds": round(total, 4)}}
    write_json(args.out, result)
    for row in layers:
        print(f"{row['layer']:14s} {row['seconds'] * 1e3:8.1f} ms  {row['share_of_time']:6.1%} of time  "
              f"{row['share_of_peak']:6.1%} of peak")
    print(f"whole: {result['whole']}  peak {peak / 1e9:.1f} GFLOP/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
