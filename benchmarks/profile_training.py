"""Where a training step's time goes: a TensorFlow profile, grouped by part.

Not a test. For each variant (the `cpu` preset without attention, with
Luong attention, and with word pieces + copy attention, the shipped
model's recipe) builds the model with the library's training steps, warms
up, then profiles `--steps` training steps with `tf.profiler` and sums the
host time of every TensorFlow op into the parts of the model it belongs to
(from the op's name scope): the recurrences forward and backward, the input
projection inside them, the output projection and softmax/loss, attention,
embeddings, gradient clipping, the optimizer update, the metrics. The input
pipeline is timed apart: the time `next()` takes on the dataset iterator.

    python benchmarks/profile_training.py                 # all variants
    python benchmarks/profile_training.py --only luong --steps 20

Writes benchmarks/results/profile_training.json (`python benchmarks/report.py` renders
RESULTS.md).
Data: `--data DIR` or $KERAS_SEQ2SEQ_DATA, default ../shared/data.
"""

import argparse
import collections
import gzip
import itertools
import json
import os
import pathlib
import shlex
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


VARIANTS = {
    "none": {"attention": "none"},
    "luong": {"attention": "luong"},
    "wordpiece-copy": {"attention": "luong", "tokenizer": "wordpiece",
                       "shared_vocabulary": True, "copy_attention": True},
}

# (part, test on the op's lower-cased full name); the first that matches
# wins, so the more specific come first.
PARTS = [
    ("optimizer update (Adam)", ("adam", "assignvariableop", "resourceapply",
                                 "iteration", "optimizer")),
    ("gradient clipping", ("clip", "global_norm", "l2loss")),
    ("metrics (accuracy, loss mean)", ("accuracy", "metric", "mean/", "/mean")),
    ("softmax and loss", ("cross_entropy", "crossentropy", "softmax_cross", "log_softmax",
                          "token_cross_entropy", "loss")),
    ("output projection", ("output_projection",)),
    ("copy attention mix", ("copy_gate", "one_hot", "einsum")),
    ("attention", ("attention",)),
    ("embeddings", ("embedding",)),
    ("dropout", ("dropout",)),
    ("encoder recurrence", ("encoder_rnn",)),
    ("decoder recurrence", ("decoder_rnn",)),
]


def part_of(name):
    low = name.lower()
    part = next((part for part, keys in PARTS if any(key in low for key in keys)), None)
    if part is None:
        return "other"
    if part.endswith("recurrence"):
        if low.startswith("gradient_tape"):
            return part + ", backward"
        # Keras' LSTMCell/GRUCell: MatMul is x W (the input projection),
        # MatMul_1 is h U (the recurrence proper).
        if low.endswith("_cell_1/matmul") or low.endswith("_cell/matmul"):
            return part + ", forward: input projection x W"
        return part + ", forward: the rest (h U, gates)"
    return part


def read_pairs(path, count, every):
    pairs = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in itertools.islice(f, 0, None, every):
            fields = line.rstrip("\n").split("\t")
            if len(fields) >= 2 and fields[0].strip() and fields[1].strip():
                pairs.append((fields[0], fields[1]))
            if len(pairs) == count:
                break
    return pairs


def op_stats(logdir):
    """Per-op host self time (microseconds) from the profile's xplane file."""
    from tensorflow.python.profiler.internal import _pywrap_profiler_plugin as plugin

    paths = [str(p) for p in pathlib.Path(logdir).rglob("*.xplane.pb")]
    if not paths:
        raise SystemExit(f"no profile was written under {logdir}")
    data, ok = plugin.xspace_to_tools_data(paths, "framework_op_stats", {})
    if not ok:
        raise SystemExit("the profiler plugin could not read the profile")
    tables = json.loads(data)
    table = tables[0] if isinstance(tables, list) else tables
    columns = [c["id"] for c in table["cols"]]
    rows = [dict(zip(columns, [cell.get("v") for cell in row["c"]])) for row in table["rows"]]
    return rows


def profile_variant(name, pairs, args):
    import keras
    import tensorflow as tf

    from keras_seq2seq import get_architecture, training

    config = get_architecture("cpu", max_source_length=args.max_length,
                        max_target_length=args.max_length, **VARIANTS[name])
    keras.utils.set_random_seed(0)
    src, tgt, _ = training.make_tokenizers(pairs, config)
    train_ds, _, _ = training.make_datasets(
        pairs, None, config, src, tgt, training.OptimizationConfig(batch_size=args.batch_size))
    model = training.build_model(config, src, tgt)
    iterator = iter(train_ds.repeat())

    def steps(count):
        waiting = running = 0.0
        tokens = 0
        for _ in range(count):
            t0 = time.perf_counter()
            inputs, targets, weights = next(iterator)
            t1 = time.perf_counter()
            model.train_on_batch(inputs, targets, sample_weight=weights)
            t2 = time.perf_counter()
            waiting += t1 - t0
            running += t2 - t1
            tokens += int(tf.reduce_sum(weights))
        return waiting, running, tokens

    steps(args.warmup)
    waiting, running, tokens = steps(args.steps)  # unprofiled: the rate
    logdir = tempfile.mkdtemp(prefix="profile-")
    tf.profiler.experimental.start(logdir)
    steps(args.steps)
    tf.profiler.experimental.stop()
    rows = op_stats(logdir)
    by_part = collections.Counter()
    by_type = collections.Counter()
    others = collections.Counter()
    for row in rows:
        if row.get("host_or_device") not in (None, "Host"):
            continue
        self_us = float(row.get("total_self_time") or 0.0)
        if row.get("type") in ("IDLE", "Dataset"):  # the pipeline is timed apart
            continue
        part = part_of(str(row.get("operation", "")))
        by_part[part] += self_us
        if part == "other":
            others[str(row.get("operation", ""))[:80]] += self_us
        by_type[str(row.get("type", ""))] += self_us
    total = sum(by_part.values())
    return {
        "parameters": int(model.count_params()),
        "vocabularies": [src.vocabulary_size, tgt.vocabulary_size],
        "steps": args.steps,
        "target_tokens_per_second": tokens / running,
        "input_pipeline_share": waiting / (waiting + running),
        "op_seconds_per_step": total / 1e6 / args.steps,
        "wall_seconds_per_step": running / args.steps,
        "parts": {k: v / total for k, v in by_part.most_common()},
        "op_types": {k: v / total for k, v in by_type.most_common(12)},
        "other_ops": {k: v / total for k, v in others.most_common(8)},
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get(
        "KERAS_SEQ2SEQ_DATA", str(HERE.parent.parent / "shared" / "data")))
    p.add_argument("--only", choices=sorted(VARIANTS), action="append")
    p.add_argument("--pairs", type=int, default=20000)
    p.add_argument("--max-length", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--warmup", type=int, default=15)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--no-write", action="store_true", help="Print only.")
    args = p.parse_args(argv)
    command = "python benchmarks/profile_training.py " + shlex.join(
        sys.argv[1:] if argv is None else argv)
    # The full file is sorted by nothing useful for a sample: every 8th pair.
    pairs = read_pairs(pathlib.Path(args.data) / "tatoeba" / "eng-fra-full.tsv.gz",
                       args.pairs, 8)
    results = {"command": command, "pairs": len(pairs), "batch_size": args.batch_size,
               "variants": {}}
    for name in args.only or VARIANTS:
        print("profiling", name, flush=True)
        results["variants"][name] = profile_variant(name, pairs, args)
        print(json.dumps(results["variants"][name], indent=2), flush=True)
    if not args.no_write:
        (HERE / "results").mkdir(exist_ok=True)
        (HERE / "results" / "profile_training.json").write_text(json.dumps(results, indent=2))
        print("Results written; render RESULTS.md with: python benchmarks/report.py")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
