"""Training speed of the original MatGAN code's graph (TF1 graph mode) against tfmat's MatGAN, interleaved.

    python benchmarks/gan_speed_original.py [--db MP OQMD] [--iterations N] [--repeats 3] [--out PATH]

Each side lives in its own worker process, built once and kept warm; the
parent sends it "run N iterations" and reads back the seconds it took.

* original: the graph of the original MatGAN code (``gan_model/WGANGP_MP.py``,
  ``gan_model/WGANGP_OQMD.py``) rebuilt under ``tensorflow.compat.v1`` with
  eager execution off in that worker only: random-normal (stddev 1) weights,
  batch norm with moving averages (decay 0.9, eps 1e-5) after the dense layer
  and every hidden deconv of the generator and after every critic conv but
  the first, ReLU / leaky ReLU ``max(0.2x, x)``, sigmoid output, WGAN-GP with
  penalty weight 10, Adam (β 0.5/0.9, G 1e-3, D 1e-2). One iteration is
  ``disc_iters`` (1) ``sess.run`` of the critic's Adam op, fed a real batch
  and N(0, 1) noise through ``feed_dict``, then one ``sess.run`` of the
  generator's Adam op, fed fresh noise; batches are consecutive slices of the
  formulas, reshuffled at each pass.
* tfmat: ``build_matgan`` of the thesis config with ``critic_norm="batch"``,
  trained by ``tfmat.training.fit`` over ``gan_pipeline``; one iteration is
  one ``train_step`` (``critic_steps`` = 1 critic update, one generator update).
  Its networks differ from the original's: MP's critic has four convs, the
  first already of stride 2 (the original's five keep 43 rows for three
  convs): a third of the FLOPs; OQMD's generator halves its channels after the
  stride-1 convs, not before them: 18% more generator FLOPs.
* tfmat-original-layers: the same, with generator and critic laid out as the
  original code's (:data:`ORIGINAL`; tfmat's critic also normalises after its
  first conv): equal work, tfmat's training loop.

Both sides train on the first batch × iterations embedded training formulas
(real one-hot matrices; MP batch 32, OQMD batch 512), so a timed run is one
pass. One untimed warm-up run per side, then ``--repeats`` timed runs each,
the order rotating. Per side: seconds per iteration and samples/s (batch ×
iterations / s), median, min and max; the speed ratio to the original of the
median samples/s; parameter counts of generator + critic (trainable, and the
moving averages of the batch norms).

FLOPs per iteration, from the layer shapes of each side: per sample, a network's
forward pass is F = 2·MACs (conv: H_out·W_out·k²·C_in·C_out; transposed conv:
H_in·W_in·k²·C_in·C_out; dense: in·out; normalisation and activations left
out), and a training pass (forward and backward) is 3F. A critic step is a
generator forward pass, training passes of the critic on the real and the fake
batch, and the gradient-penalty pass counted as two training passes; a
generator step is one training pass through generator and critic:
``FLOPs = batch · [critic_steps · (F_G + 12·F_D) + 3·(F_G + F_D)]``. The share
of peak divides the achieved FLOP/s (at the median time) by the fp32 matmul
peak measured in the same run: the larger of the medians of timed float32
2048×2048 ``np.matmul`` and ``tf.linalg.matmul``, before and after each
dataset's repeats.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

from tfmat.gan.config import ARCHITECTURES, THESIS_CONFIGS, Architecture

DEFAULT_ITERATIONS = {"MP": 100, "OQMD": 5}
SIDES = ("original", "tfmat", "tfmat-original-layers")
LATENT, GAMMA, DISC_ITERS, G_LR, D_LR = 128, 10.0, 1, 1e-3, 1e-2


# the original code's networks, as tfmat.gan.config lays them out
ORIGINAL = {"MP": "mp_code", "OQMD": "oqmd_code"}


# --------------------------------------------------------------------------- FLOPs
def forward_flops(arch: Architecture) -> tuple[int, int]:
    """Per-sample forward FLOPs (2·MACs) of the generator and the critic."""
    g, shape = LATENT * int(np.prod(arch.seed_shape)), arch.seed_shape
    for layer in arch.generator:  # transposed conv: every input pixel meets k² · C_out weights per channel
        g += shape[0] * shape[1] * layer.kernel ** 2 * shape[2] * layer.filters
        shape = layer.shape
    d, shape = 0, (85, 8, 1)
    for layer in arch.critic:
        d += layer.shape[0] * layer.shape[1] * layer.kernel ** 2 * shape[2] * layer.filters
        shape = layer.shape
    return 2 * g, 2 * (d + int(np.prod(shape)))


def iteration_flops(arch: Architecture, batch: int, critic_steps: int = 1) -> int:
    f_g, f_d = forward_flops(arch)
    return batch * (critic_steps * (f_g + 12 * f_d) + 3 * (f_g + f_d))


def matmul_peak(matmul=np.matmul, to=np.asarray, n: int = 2048, runs: int = 7) -> list[float]:
    """fp32 FLOP/s of ``runs`` timed n×n ``matmul(a, b)`` calls (after one untimed) on ``to(array)`` operands."""
    a, b = (to(np.random.default_rng(i).standard_normal((n, n), dtype=np.float32)) for i in range(2))
    matmul(a, b)
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        matmul(a, b)
        rates.append(2 * n ** 3 / (time.perf_counter() - start))
    return rates


# --------------------------------------------------------------------------- the two sides (worker processes)
def training_formulas(db: str, samples: int):
    from tfmat.data import load_gan_dataset

    train = load_gan_dataset(db).train()
    return train.subset(np.arange(len(train)) < samples)


def build_original(db: str, samples: int):
    """The original code's graph and session; returns (run(n), facts)."""
    import tensorflow as tf

    tf1 = tf.compat.v1
    tf1.disable_eager_execution()
    arch, batch = ARCHITECTURES[ORIGINAL[db]], THESIS_CONFIGS[db].batch_size
    normal, zeros = tf1.random_normal_initializer(stddev=1.0), tf1.zeros_initializer()

    def weights(name, shape, bias):
        with tf1.variable_scope(name):
            return tf1.get_variable("w", shape, initializer=normal), tf1.get_variable("b", [bias], initializer=zeros)

    def batch_norm(x, name):
        with tf1.variable_scope(name):
            c = x.shape[-1]
            gamma = tf1.get_variable("gamma", [c], initializer=tf1.ones_initializer())
            beta = tf1.get_variable("beta", [c], initializer=zeros)
            mean, var = tf.nn.moments(x, list(range(x.shape.ndims - 1)))
            with tf.control_dependencies([tf1.train.ExponentialMovingAverage(0.9).apply([mean, var])]):
                mean, var = tf.identity(mean), tf.identity(var)
        return tf.nn.batch_normalization(x, mean, var, beta, gamma, 1e-5)

    def generator(z):
        h, w, c = arch.seed_shape
        k, b = weights("l_1", [LATENT, h * w * c], h * w * c)
        x = tf.reshape(tf.nn.relu(batch_norm(tf.matmul(z, k) + b, "bn_1")), [-1, h, w, c])
        for i, layer in enumerate(arch.generator, start=2):
            k, b = weights(f"decnn_{i}", [layer.kernel, layer.kernel, layer.filters, x.shape[-1]], layer.filters)
            x = tf.nn.conv2d_transpose(x, k, [batch, *layer.shape], [1, *layer.strides, 1], padding="SAME") + b
            x = tf.sigmoid(x) if i == len(arch.generator) + 1 else tf.nn.relu(batch_norm(x, f"bn_{i}"))
        return x

    def critic(x):
        with tf1.variable_scope("D", reuse=tf1.AUTO_REUSE):
            for i, layer in enumerate(arch.critic, start=1):
                k, b = weights(f"cnn_{i}", [layer.kernel, layer.kernel, x.shape[-1], layer.filters], layer.filters)
                x = tf.nn.conv2d(x, k, [1, *layer.strides, 1], padding="SAME") + b
                x = batch_norm(x, f"bn_{i}") if i > 1 else x
                x = tf.maximum(0.2 * x, x)
            x = tf.reshape(x, [batch, -1])
            k, b = weights("linear", [x.shape[-1], 1], 1)
            return tf.matmul(x, k) + b

    graph = tf.Graph()
    with graph.as_default():
        real = tf1.placeholder(tf.float32, (batch, 85, 8, 1), name="real_data")
        noise = tf1.placeholder(tf.float32, (batch, LATENT), name="random")
        with tf1.variable_scope("G"):
            fake = generator(noise)
        d_real, d_fake = critic(real), critic(fake)
        eps = tf1.random_uniform([batch, 1, 1, 1], 0.0, 1.0)
        mixed = real + eps * (fake - real)
        grad = tf1.gradients(critic(mixed), [mixed])[0]
        slopes = tf.sqrt(1e-8 + tf.reduce_sum(tf.square(grad), axis=[1, 2, 3]))
        d_cost = tf.reduce_mean(d_fake) - tf.reduce_mean(d_real) + GAMMA * tf.reduce_mean((slopes - 1.0) ** 2)
        g_cost = -tf.reduce_mean(d_fake)
        model_vars = tf1.global_variables()
        trainable = tf1.trainable_variables()
        adam = lambda lr, cost, scope: tf1.train.AdamOptimizer(lr, beta1=0.5, beta2=0.9).minimize(  # noqa: E731
            cost, var_list=[v for v in trainable if v.name.startswith(scope)])
        opt_g, opt_d = adam(G_LR, g_cost, "G/"), adam(D_LR, d_cost, "D/")
        session = tf1.Session(graph=graph)
        session.run(tf1.global_variables_initializer())
    x = training_formulas(db, samples).onehot()[..., None]
    rng, state = np.random.default_rng(0), {"pos": len(x), "data": x}

    def next_batch():
        if state["pos"] + batch > len(x):  # a new pass: reshuffle, as the original's batch class does
            state["data"], state["pos"] = x[rng.permutation(len(x))], 0
        state["pos"] += batch
        return state["data"][state["pos"] - batch: state["pos"]]

    def run(n):
        for _ in range(n):
            for _ in range(DISC_ITERS):
                session.run(opt_d, {real: next_batch(), noise: rng.normal(size=(batch, LATENT))})
            session.run(opt_g, {noise: rng.normal(size=(batch, LATENT))})

    count = lambda vs: int(sum(np.prod(v.shape.as_list()) for v in vs))  # noqa: E731
    return run, {"tensorflow": tf.__version__, "batch_size": batch, "critic_steps": DISC_ITERS,
                 "parameters": {"trainable": count(trainable), "moving_averages": count(model_vars) - count(trainable),
                                "total": count(model_vars)},
                 "flops_per_iteration": iteration_flops(arch, batch, DISC_ITERS)}


def build_tfmat(db: str, samples: int, original_layers: bool = False):
    """tfmat's MatGAN with a batch-norm critic, driven by tfmat.training.fit; returns (run(n), facts).
    ``original_layers``: the networks laid out as the original code's (:data:`ORIGINAL`) instead of tfmat's."""
    from dataclasses import replace

    import tensorflow as tf

    from tfmat.data import gan_pipeline
    from tfmat.gan.matgan import build_matgan
    from tfmat.training import fit

    cfg = replace(THESIS_CONFIGS[db], critic_norm="batch")
    if original_layers:
        cfg = replace(cfg, architecture=ORIGINAL[db])
    gan = build_matgan(cfg)
    counts = training_formulas(db, samples).counts
    run = lambda n: fit(gan, lambda epoch: gan_pipeline(counts[: cfg.batch_size * n], cfg.batch_size,  # noqa: E731
                                                         seed=0, epoch=epoch), 1)
    nets = (gan.generator, gan.critic)
    trainable = int(sum(np.prod(w.shape) for net in nets for w in net.trainable_weights))
    total = int(sum(net.count_params() for net in nets))
    return run, {"tensorflow": tf.__version__, "batch_size": cfg.batch_size, "critic_steps": cfg.critic_steps,
                 "critic_norm": cfg.critic_norm, "architecture": cfg.architecture,
                 "parameters": {"trainable": trainable, "moving_averages": total - trainable, "total": total},
                 "flops_per_iteration": iteration_flops(ARCHITECTURES[cfg.architecture], cfg.batch_size,
                                                        cfg.critic_steps)}


def serve(side: str, db: str, samples: int) -> int:
    """Worker loop: JSON lines in ({"run": n}, {"peak": 1} or {} to stop), JSON lines out on the original stdout."""
    reply = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything the libraries print goes to stderr, not into the replies
    run, facts = build_original(db, samples) if side == "original" else build_tfmat(db, samples, side != "tfmat")
    reply.write(json.dumps(facts) + "\n")
    for line in sys.stdin:
        msg = json.loads(line)
        if msg.get("peak"):  # only in a tfmat worker (eager TensorFlow)
            import tensorflow as tf

            rates = matmul_peak(lambda a, b: tf.linalg.matmul(a, b).numpy(), tf.constant)
            reply.write(json.dumps({"rates": rates}) + "\n")
            continue
        if not msg.get("run"):
            break
        start = time.perf_counter()
        run(msg["run"])
        reply.write(json.dumps({"seconds": time.perf_counter() - start}) + "\n")
    return 0


# --------------------------------------------------------------------------- the parent
class Worker:
    def __init__(self, side: str, db: str, samples: int):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", side, "--db", db,
                                      "--samples", str(samples)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env)
        self.facts = self._read()

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.proc.args[3]} exited with {self.proc.wait()}")
        return json.loads(line)

    def ask(self, **msg) -> dict:
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def summary(values) -> dict:
    v = np.asarray(values, dtype=float)
    return {"median": float(np.median(v)), "min": float(v.min()), "max": float(v.max())}


def measure(db: str, iterations: int, repeats: int) -> dict:
    batch = THESIS_CONFIGS[db].batch_size
    workers = {side: Worker(side, db, batch * iterations) for side in SIDES}
    warmup = {side: round(w.ask(run=iterations)["seconds"], 3) for side, w in workers.items()}
    peaks = {"np.matmul": matmul_peak(), "tf.linalg.matmul": workers["tfmat"].ask(peak=1)["rates"]}
    seconds, order = {side: [] for side in SIDES}, []
    for r in range(repeats):
        turn = SIDES[r % len(SIDES):] + SIDES[:r % len(SIDES)]
        order.append(list(turn))
        for side in turn:
            seconds[side].append(workers[side].ask(run=iterations)["seconds"])
            print(f"{db} repeat {r} {side}: {1e3 * seconds[side][-1] / iterations:.1f} ms/iteration", flush=True)
    peaks["np.matmul"] += matmul_peak()
    peaks["tf.linalg.matmul"] += workers["tfmat"].ask(peak=1)["rates"]
    for w in workers.values():
        w.close()
    measured = {name: {"gflops_median": float(np.median(rates)) / 1e9, "gflops_runs": [p / 1e9 for p in rates]}
                for name, rates in peaks.items()}
    peak_flops = 1e9 * max(m["gflops_median"] for m in measured.values())
    result = {"dataset": db, "batch_size": batch, "iterations_per_repeat": iterations, "order_per_repeat": order,
              "fp32_matmul_peak": {"gflops": peak_flops / 1e9, "rule": "the larger median of the two", **measured},
              "sides": {}}
    for side in SIDES:
        facts, s = workers[side].facts, np.asarray(seconds[side])
        per_it, rate = s / iterations, batch * iterations / s
        achieved = facts["flops_per_iteration"] / float(np.median(per_it))
        result["sides"][side] = {**facts, "warmup_s": warmup[side], "seconds": s.tolist(),
                                 "seconds_per_iteration": {**summary(per_it), "repeats": per_it.tolist()},
                                 "samples_per_s": {**summary(rate), "repeats": rate.tolist()},
                                 "gflops_achieved_median": achieved / 1e9, "share_of_peak": achieved / peak_flops}
    speed = {side: result["sides"][side]["samples_per_s"]["median"] for side in SIDES}
    result["speed_ratio_over_original"] = {side: speed[side] / speed["original"] for side in SIDES[1:]}
    return result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", nargs="+", choices=sorted(ORIGINAL), default=["MP", "OQMD"])
    ap.add_argument("--iterations", type=int, help="timed iterations per repeat (default: MP 100, OQMD 5)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "gan_speed_original.json"))
    ap.add_argument("--worker", choices=SIDES, help=argparse.SUPPRESS)
    ap.add_argument("--samples", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return serve(args.worker, args.db[0], args.samples)
    if args.repeats < 3:
        ap.error("--repeats must be at least 3")
    from tfmat.io import write_json

    results = []
    for db in args.db:
        results.append(measure(db, args.iterations or DEFAULT_ITERATIONS[db], args.repeats))
        sides = results[-1]["sides"]
        print(db, {k: round(v["samples_per_s"]["median"], 1) for k, v in sides.items()}, "samples/s; over original:",
              {k: round(v, 3) for k, v in results[-1]["speed_ratio_over_original"].items()}, flush=True)
        write_json(args.out, {"command": " ".join(["python", *sys.argv]),
                              "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                                          "tensorflow": sides["tfmat"]["tensorflow"],
                                          "load_average_1min_at_end": round(os.getloadavg()[0], 2)},
                              "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
