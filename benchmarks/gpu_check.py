"""The GPU half of issue 21, as one script for a session that is lent a GPU.

Not a test. On a machine with a GPU it answers, in one run:

1. Do the cuDNN kernels run? The training step of the `cpu` and
   `sutskever2014` presets is traced and the op types of its graph (and of
   every function in it) are listed: Keras 3 runs `keras.layers.LSTM` as
   `CudnnRNNV3` (forward) and `CudnnRNNBackpropV3` (gradient) when a GPU is
   visible and the layer's settings allow it, and as a `While` loop of
   matrix products otherwise.
2. float32 against `mixed_float16`: target tokens/s of `model.fit` for both
   presets, the two policies alternating in rounds (median kept).
3. The GPU/CPU ratio: the `cpu` preset timed the same way in a subprocess
   that sees no GPU (`CUDA_VISIBLE_DEVICES=""`), on the same machine's
   CPUs.
4. A short `sutskever2014` training (mixed_float16) whose loss must fall.

The batches are synthetic (random token ids with right padding, at the
preset's vocabulary sizes; the target repeats the source, so the loss can
fall quickly): a device machine has no copy of the corpora, and speed
depends on shapes, not words. Sentence lengths follow the 10-20 tokens of
the Tatoeba benchmark (`--min-length`, `--max-length`).

    python benchmarks/gpu_check.py --out $OUT/gpu_check.json   # on the device
    python benchmarks/gpu_check.py --smoke                     # a 1-minute CPU run

Writes the results as JSON (`--out`, default
benchmarks/results/gpu_check.json) and prints them. `--smoke` shrinks every
size so that the script's own code can be checked on a CPU.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent


def synthetic_batches(count, batch, vocab, min_length, max_length, seed):
    """`count` Keras batches (inputs, targets, weights): random source ids
    in [4, vocab), the target the same ids (decoder input shifted right)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(count):
        lengths = rng.integers(min_length, max_length + 1, size=batch)
        width = int(lengths.max())
        source = np.zeros((batch, width), "int32")
        for row, n in enumerate(lengths):
            source[row, :n] = rng.integers(4, vocab, size=n)
        decoder = np.zeros((batch, width + 1), "int32")
        decoder[:, 0] = 1  # <start>
        decoder[:, 1:] = source
        targets = np.zeros_like(decoder)
        targets[:, :-1] = source
        weights = np.zeros(targets.shape, "float32")
        for row, n in enumerate(lengths):
            targets[row, n] = 2  # <end>
            weights[row, :n + 1] = 1.0
        batches.append(({"encoder_tokens": source, "decoder_tokens": decoder}, targets, weights))
    return batches


def build(preset, policy, vocab, smoke):
    """The library's compiled training model (`training.build_model`, as
    `keras-seq2seq train` builds it) under `policy`, at `vocab` words a side."""
    import types

    import keras

    from keras_seq2seq import get_architecture, training

    overrides = {"attention": "none"}
    if smoke:
        layers = min(2, get_architecture(preset).num_layers)
        overrides.update(units=32, embedding_dim=16, num_layers=layers)
    config = get_architecture(preset, **overrides)
    # build_model reads only the tokenizers' vocabulary sizes.
    vocabulary = types.SimpleNamespace(vocabulary_size=vocab)
    keras.utils.set_random_seed(0)
    # Keras wraps the optimizer in a LossScaleOptimizer under mixed_float16.
    return training.build_model(config, vocabulary, vocabulary,
                                training.OptimizationConfig(
                                    mixed_precision=None if policy == "float32" else policy))


def graph_op_types(model, batch):
    """Op types of a traced training step (gradients and update included)."""
    import tensorflow as tf

    inputs, targets, weights = batch

    @tf.function
    def step(x, y, w):
        with tf.GradientTape() as tape:
            loss = model.compute_loss(x=x, y=y, y_pred=model(x, training=True), sample_weight=w)
        grads = tape.gradient(loss, model.trainable_variables)
        return loss, grads

    graph = step.get_concrete_function(inputs, targets, weights).graph.as_graph_def()
    types = {node.op for node in graph.node}
    for function in graph.library.function:
        types.update(node.op for node in function.node_def)
    return types


def to_dataset(batches):
    """The batches as a cached tf.data pipeline (their lengths vary)."""
    import tensorflow as tf

    return tf.data.Dataset.from_generator(
        lambda: iter(batches),
        output_signature=(
            {"encoder_tokens": tf.TensorSpec((None, None), tf.int32),
             "decoder_tokens": tf.TensorSpec((None, None), tf.int32)},
            tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, None), tf.float32)),
    ).cache()


def fit_rate(models, batches, rounds, tokens):
    """Median target tokens/s of `model.fit` per model, the models alternating."""
    data = to_dataset(batches)
    for model in models.values():
        model.fit(data, epochs=1, verbose=0)  # tracing and warm-up
    seconds = {name: [] for name in models}
    for _ in range(rounds):
        for name, model in models.items():
            started = time.perf_counter()
            model.fit(data, epochs=1, verbose=0)
            seconds[name].append(time.perf_counter() - started)
    return {name: tokens / sorted(s)[len(s) // 2] for name, s in seconds.items()}


def time_presets(args, policies):
    import tensorflow as tf

    results = {}
    for preset, vocab, batch, count in args.plan:
        batches = synthetic_batches(count, batch, vocab, args.min_length, args.max_length, 0)
        tokens = float(sum(w.sum() for _, _, w in batches))
        models = {policy: build(preset, policy, vocab, args.smoke) for policy in policies}
        ops = graph_op_types(models[policies[0]], batches[0])
        cudnn = sorted(op for op in ops if "Cudnn" in op)
        rates = fit_rate(models, batches, args.rounds, tokens)
        results[preset] = {
            "vocabulary": vocab, "batch": batch, "batches_per_round": count,
            "cudnn_ops": cudnn, "while_loops": "While" in ops or "StatelessWhile" in ops,
            "target_tokens_per_second": rates,
            "gpu": bool(tf.config.list_physical_devices("GPU")),
        }
        print(json.dumps({preset: results[preset]}), flush=True)
        del models
    return results


def short_training(args):
    """A few hundred steps of sutskever2014 (mixed_float16 on a GPU): the loss must fall."""
    import tensorflow as tf

    preset, vocab, batch, _ = args.plan[-1]
    policy = "mixed_float16" if tf.config.list_physical_devices("GPU") else "float32"
    model = build(preset, policy, vocab, args.smoke)
    batches = synthetic_batches(args.train_batches, batch, min(vocab, 2000), args.min_length,
                                args.max_length, 1)
    data = to_dataset(batches)
    losses = []
    for epoch in range(args.train_epochs):
        history = model.fit(data, epochs=1, verbose=0)
        losses.append(float(history.history["loss"][-1]))
        print(f"{preset} {policy} epoch {epoch + 1}: loss {losses[-1]:.3f}", flush=True)
    return {"preset": preset, "policy": policy, "losses": losses,
            "loss_fell": losses[-1] < losses[0]}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(HERE / "results" / "gpu_check.json"))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--min-length", type=int, default=10)
    p.add_argument("--max-length", type=int, default=20)
    p.add_argument("--train-batches", type=int, default=50)
    p.add_argument("--train-epochs", type=int, default=4)
    p.add_argument("--smoke", action="store_true",
                   help="Tiny sizes on whatever device there is: checks the script, not speed.")
    p.add_argument("--cpu-rate-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    # (preset, vocabulary, batch, batches per round): the cpu preset at the
    # benchmark's 8k words; sutskever2014 at its 80k-word output (the
    # source side uses the same size: 80k rows of 1,000 instead of 160k).
    args.plan = ([("cpu", 500, 16, 4), ("sutskever2014", 800, 16, 2)] if args.smoke
                 else [("cpu", 8000, 128, 40), ("sutskever2014", 80000, 128, 20)])
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    if args.cpu_rate_only:
        args.plan = args.plan[:1]
        print(json.dumps(time_presets(args, ["float32"])))
        return
    gpus = tf.config.list_physical_devices("GPU")
    gpu = bool(gpus)
    started = time.time()
    policies = ["float32", "mixed_float16"] if gpu else ["float32"]
    device = tf.config.experimental.get_device_details(gpus[0]).get("device_name") if gpu else None
    results = {"device": device or "CPU only", "presets": time_presets(args, policies)}
    if gpu:
        # The same machine's CPUs, with the GPU hidden.
        child = subprocess.run(
            [sys.executable, __file__, "--cpu-rate-only", "--rounds", str(args.rounds)]
            + (["--smoke"] if args.smoke else []),
            env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, capture_output=True, text=True,
            check=False)
        lines = [line for line in child.stdout.splitlines() if line.startswith("{\"cpu\"")]
        if lines:
            cpu = json.loads(lines[-1])["cpu"]["target_tokens_per_second"]["float32"]
            gpu_rate = results["presets"]["cpu"]["target_tokens_per_second"]["float32"]
            results["cpu_preset_on_this_machines_cpus"] = cpu
            results["gpu_over_cpu_float32"] = gpu_rate / cpu
        else:
            results["cpu_run_error"] = child.stderr[-2000:]
    results["short_training"] = short_training(args)
    results["minutes"] = round((time.time() - started) / 60, 1)
    pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.out).write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
