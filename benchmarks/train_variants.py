"""Training-speed variants that keep the model: measured with `model.fit`, in one run.

Not a test. Issue 21 asked which of the usual CPU speed-ups pay for this
model. Each variant below trains the `cpu` preset (no attention) on the same
full-Tatoeba pairs with `model.fit`, the way `keras-seq2seq train` does:

- `batch 128`, with Keras' Adam (the library's) and with `FusedAdam`
  (TensorFlow's fused update kernel, `benchmarks/adam_update.py`; the same
  results);
- `batch 128, steps_per_execution 8`: Keras runs 8 steps per call of the
  compiled function (less Python between steps);
- `batch 256` and `batch 512`: larger batches (fewer, larger matrix products;
  fewer updates per epoch, so not the same optimisation);
- `batch 128, mixed_bfloat16`: the `--mixed-precision mixed_bfloat16` policy
  (other numerics);
- `batch 128, no decoder-recurrence mask, FusedAdam`: two changes that keep
  the results and remove work: the decoder's LSTM run without Keras' mask
  (padding is on the right and has zero loss weight, so the real positions'
  outputs and every gradient are the same; the per-step selects go) and
  the fused Adam kernel;
- `4096 tokens per batch`: `--batch-tokens 4096` (each length bucket's
  batches hold about 4,096 tokens per side, so short sentences come in
  larger batches; fewer updates per epoch, so not the same optimisation);
- `tf.data autotuning on`: the pipeline as it was before 2026-12-04
  (`make_dataset(autotune=True)`; the same batches).

Each variant's batches are a fixed set (the first `--batches` of its
bucketed dataset, cached), so its target tokens per epoch are known; the
variants alternate in rounds (A B C ... A B C) so that load from other
processes hits them all, and the median and the fastest round are kept
(this machine has a slow mode, RESULTS.md). The ratio to `batch 128` is
what to read.

    python benchmarks/train_variants.py                  # --rounds 3 --batches 48
    python benchmarks/train_variants.py --padding        # padding share of the batches

Writes benchmarks/results/train_variants.json (`python benchmarks/report.py` renders
RESULTS.md).
Data: `--data DIR` or $KERAS_SEQ2SEQ_DATA, default ../shared/data.
"""

import argparse
import json
import os
import pathlib
import shlex
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from profile_training import read_pairs  # noqa: E402

# name: (sentences per batch, steps_per_execution, dtype policy, Adam kernel,
#        decoder recurrence without mask, tokens per batch)
VARIANTS = {
    "batch 128, keras.optimizers.Adam (the default)": (128, 1, None, False, False, None),
    "batch 128, FusedAdam": (128, 1, None, True, False, None),
    "batch 128, steps_per_execution 8": (128, 8, None, False, False, None),
    "batch 256": (256, 1, None, False, False, None),
    "batch 512": (512, 1, None, False, False, None),
    "batch 128, mixed_bfloat16": (128, 1, "mixed_bfloat16", False, False, None),
    "batch 128, no decoder-recurrence mask, FusedAdam": (128, 1, None, True, True, None),
    "4096 tokens per batch": (128, 1, None, False, False, 4096),
    "batch 128, tf.data autotuning on (the default before 2026-12-04)":
        (128, 1, None, False, False, None),
}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get(
        "KERAS_SEQ2SEQ_DATA", str(HERE.parent.parent / "shared" / "data")))
    p.add_argument("--pairs", type=int, default=30000)
    p.add_argument("--batches", type=int, default=48,
                   help="Batches per timed epoch (a multiple of 8).")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--only", type=int, action="append",
                   help="Time only these variants (0-based, in the order above; repeatable). "
                   "The results are printed, not written.")
    p.add_argument("--padding", action="store_true",
                   help="Only print the share of real (not padding) tokens on each side of "
                   "today's batches (128 sentences, length buckets), one pass over the data.")
    args = p.parse_args(argv)
    command = ("python benchmarks/train_variants.py " + shlex.join(
        sys.argv[1:] if argv is None else argv)).strip()

    import keras
    import tensorflow as tf
    from adam_update import FusedAdam

    from keras_seq2seq import get_architecture, training
    from keras_seq2seq.data.pipeline import with_autotune

    pairs = read_pairs(pathlib.Path(args.data) / "tatoeba" / "eng-fra-full.tsv.gz",
                       args.pairs, 5)
    config = get_architecture("cpu", attention="none", max_source_length=30, max_target_length=30)
    keras.utils.set_random_seed(0)
    source, target, _ = training.make_tokenizers(pairs, config)
    if args.padding:
        data, _, _ = training.make_datasets(
            pairs, None, config, source, target, training.OptimizationConfig(batch_size=128))
        real = {"source": 0, "target": 0}
        total = dict(real)
        for x, _, w in data:
            real["source"] += int(tf.math.count_nonzero(x["encoder_tokens"]))
            total["source"] += int(tf.size(x["encoder_tokens"]))
            real["target"] += int(tf.math.count_nonzero(w))
            total["target"] += int(tf.size(w))
        for side in real:
            print(f"{side}: {real[side] / total[side]:.1%} of the batch positions are real tokens")
        return
    runs = {}
    chosen = {name: v for i, (name, v) in enumerate(VARIANTS.items())
              if not args.only or i in args.only}
    for name, (batch_size, steps_per_execution, policy, fused, unmasked,
               batch_tokens) in chosen.items():
        data, _, _ = training.make_datasets(
            pairs, None, config, source, target,
            training.OptimizationConfig(batch_size=batch_size, batch_tokens=batch_tokens))
        # A fixed set of batches, cached: the same tokens every epoch (full
        # ones when batches are counted in sentences).
        if batch_tokens is None:
            data = data.filter(lambda x, y, w, b=batch_size: tf.shape(y)[0] == b)
        batches = data.take(args.batches).cache()
        if "autotuning on" in name:
            batches = with_autotune(batches, True)
        tokens = sum(float(tf.reduce_sum(w)) for _, _, w in batches)
        keras.utils.set_random_seed(0)
        model = training.build_model(config, source, target,
                                     training.OptimizationConfig(mixed_precision=policy),
                                     optimizer=(FusedAdam if fused else keras.optimizers.Adam)(
                                         1e-3, clipnorm=5.0))
        if unmasked:
            # The decoder embedding's mask is what Keras passes to the
            # decoder's LSTM; the loss is masked by the sample weights.
            model.decoder_embedding.mask_zero = False
        model.compile(optimizer=model.optimizer, loss=model.loss,
                      steps_per_execution=steps_per_execution,
                      weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
        model.fit(batches.repeat(), steps_per_epoch=args.batches, epochs=2, verbose=0)  # tracing
        runs[name] = (model, batches, tokens)
        print(f"{name}: ready ({tokens:.0f} target tokens per epoch)", flush=True)

    seconds = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, (model, batches, _) in runs.items():
            started = time.perf_counter()
            model.fit(batches.repeat(), steps_per_epoch=args.batches, epochs=1, verbose=0)
            seconds[name].append(time.perf_counter() - started)
    reference = next(iter(chosen))
    rates = {name: runs[name][2] / sorted(s)[len(s) // 2] for name, s in seconds.items()}
    # The fastest round too: this machine has periods in which everything
    # runs at half speed, which a median of few rounds does not remove.
    fastest = {name: runs[name][2] / min(s) for name, s in seconds.items()}
    results = {"command": command, "pairs": len(pairs), "batches_per_epoch": args.batches,
               "rounds": args.rounds, "variants": {
                   name: {"target_tokens_per_second": rates[name],
                          "ratio": rates[name] / rates[reference],
                          "fastest_round_ratio": fastest[name] / fastest[reference],
                          "seconds_per_round": seconds[name]}
                   for name in runs}}
    print(json.dumps(results, indent=2))
    if args.only:
        return
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "train_variants.json").write_text(json.dumps(results, indent=2))
    print("Results written; render RESULTS.md with: python benchmarks/report.py")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
