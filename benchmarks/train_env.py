"""Training steps/s of the race recipe under process settings and variants.

    python benchmarks/train_env.py [--sample 20000] [--steps 100] [--rounds 1]

The race (benchmarks/peers/) showed the shipped recipe at about 0.95 steps/s
on 2 cores where a profile of the model alone gave 3.5, with a third of
the CPU time in the kernel (vmstat's `sy`). This runs the unchanged
`keras-seq2seq train` command of the race (ours.sh's flags) in a fresh
process per setting, on `--sample` pairs drawn at random from the race's
training corpora (full Tatoeba and Multi30k train), so that sentence
lengths are as in the race; it measures the steps/s between step `--skip`
and step `--skip` + `--steps` (a callback, then stops) and the process's
user and system CPU seconds over that window. Every setting sees the same
batches in the same order. Settings:

- `plain`: neither allocator setting (TF_CPU_ALLOCATOR_USE_BFC=false, glibc's
  thresholds as they come): the race's first run;
- `glibc`: glibc's mmap and trim thresholds raised only
  (keras_seq2seq.training.allocator.keep_large_allocations);
- `default`: the command as it is: TensorFlow's BFC allocator on CPU as well
  (use_bfc_allocator), which keeps every block it has allocated for reuse,
  large ones included (glibc hands blocks over 32 MiB to mmap whatever the
  threshold);
- `interop-1`: TF_NUM_INTEROP_THREADS=1;
- `one-hot-copy`: copy attention as it was computed until 2026-12-05, a
  product of the attention weights with one-hot sources (B, S, V) instead
  of a scatter-add (keras_seq2seq.models.seq2seq.copy_log_probs);
- `mixture-copy`: copy attention as it was computed on 2026-12-05, the
  two distributions mixed densely (the attention weights scattered into
  (B, T, V)) and the log taken of the mixture, instead of today's
  log_softmax corrected at the source ids;
- `scores-copy`: in training, copy attention's output as unnormalised
  scores with the same softmax (the logits, corrected at the source ids by
  the same scatter; a (B, T, 1) logsumexp instead of the dense
  log_softmax and the dense addition of log g), which the loss's
  log_softmax normalises: the same loss and gradients in fewer dense
  passes. Tried on 2026-12-06 and not kept (no faster);
- `batched-gather-copy`: copy attention's generated log-probabilities at
  the source ids taken with `keras.ops.take_along_axis` (a batched gather,
  whose gradient is an UnsortedSegmentSum over the whole (B, T, V)
  gradient), as until the evening of 2026-12-06, instead of `tf.gather_nd`
  (whose gradient is a ScatterNd): `seq2seq._take_at`;
- `softmax-loss`: the loss of a copy-attention model (whose outputs are
  log-probabilities already) as Keras's sparse cross-entropy from logits
  (a log_softmax that changes no value), as until the evening of
  2026-12-06, instead of minus the reference's log-probability, gathered
  (`TokenCrossEntropy(log_probabilities=True)`); the same loss and, in
  exact arithmetic, the same gradients;
- `no-copy`: the recipe without copy attention (`--no-copy-attention`),
  what copy attention costs per step;
- `bfloat16`: `--mixed-precision mixed_bfloat16` (other numerics: the
  layers compute in bfloat16, the output layer and the copy gate in
  float32).

The committed results were measured on 2026-12-05 before `train` asked for
the BFC allocator: their `default` is today's `glibc` and their `tf-bfc`
(TF_CPU_ALLOCATOR_USE_BFC=true) today's `default`.

Rounds alternate the settings (the host is shared and noisy: read the
ratios within a round). Writes benchmarks/results/train_env.json.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent

# Each setting: environment variables for the child process, extra flags
# for `keras-seq2seq train`, whether the command may raise glibc's
# thresholds (the child makes keep_large_allocations a no-op otherwise) and
# which earlier copy-attention formula the child puts back ("" for none).
NO_BFC = {"TF_CPU_ALLOCATOR_USE_BFC": "false"}  # a value the command keeps
SETTINGS = {
    "plain": {"env": NO_BFC, "flags": [], "mallopt": False, "copy": ""},
    "glibc": {"env": NO_BFC, "flags": [], "mallopt": True, "copy": ""},
    "default": {"env": {}, "flags": [], "mallopt": True, "copy": ""},
    "interop-1": {"env": {"TF_NUM_INTEROP_THREADS": "1"}, "flags": [], "mallopt": True,
                  "copy": ""},
    "one-hot-copy": {"env": {}, "flags": [], "mallopt": True, "copy": "one-hot"},
    "mixture-copy": {"env": {}, "flags": [], "mallopt": True, "copy": "mixture"},
    "scores-copy": {"env": {}, "flags": [], "mallopt": True, "copy": "scores"},
    "batched-gather-copy": {"env": {}, "flags": [], "mallopt": True, "copy": "batched-gather"},
    "softmax-loss": {"env": {}, "flags": [], "mallopt": True, "copy": "softmax-loss"},
    "no-copy": {"env": {}, "flags": ["--no-copy-attention"], "mallopt": True,
                "copy": ""},
    "bfloat16": {"env": {}, "flags": ["--mixed-precision", "mixed_bfloat16"],
                 "mallopt": True, "copy": ""},
}

CHILD = r"""
import json, os, resource, sys, time

import keras_seq2seq.training.allocator as allocator

allocator.use_bfc_allocator()  # as the command does, before `training.train` imports TensorFlow
import keras_seq2seq.training as training
from keras_seq2seq import cli

skip, steps, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
mallopt, copy_formula = sys.argv[4] == "1", sys.argv[5]
if not mallopt:
    allocator.keep_large_allocations = lambda: False
import keras

if copy_formula == "softmax-loss":
    import keras_seq2seq.training.losses as losses

    gathered = losses.token_cross_entropy
    losses.token_cross_entropy = (
        lambda targets, logits, label_smoothing=0.0, log_probabilities=False:
        gathered(targets, logits, label_smoothing, False))
elif copy_formula == "batched-gather":
    import keras_seq2seq.models.seq2seq as seq2seq

    seq2seq._take_at = lambda values, at, columns: keras.ops.take_along_axis(
        values, columns, axis=-1)
elif copy_formula == "scores":
    import keras_seq2seq.models.seq2seq as seq2seq
    ops = keras.ops

    def scores(logits, weights, gate, source_tokens):
        # copy_log_probs + (logsumexp(logits) - log g) in each row: its
        # softmax is the mixture's, so the loss is the same. Only the source
        # positions need the generated log-probability (logit - logsumexp).
        lse = ops.logsumexp(logits, axis=-1, keepdims=True)
        log_gate = ops.log(ops.maximum(gate, seq2seq.COPY_EPSILON))
        batch, time, length = ops.shape(weights)
        ids = ops.cast(source_tokens, "int32")
        grid = (batch, time, length)
        columns = ops.broadcast_to(ops.expand_dims(ids, 1), grid)
        same = ops.cast(ops.equal(ops.expand_dims(ids, 2), ops.expand_dims(ids, 1)), "float32")
        mass = ops.matmul(ops.cast(weights, "float32"), same)
        generated_at = ops.take_along_axis(logits, columns, axis=-1) - lse
        mixed_at = ops.log(ops.maximum(gate * ops.exp(generated_at) + (1.0 - gate) * mass,
                                       seq2seq.COPY_EPSILON))
        repeats = ops.expand_dims(ops.sum(same, axis=1), 1)
        correction = (mixed_at - (log_gate + generated_at)) / repeats
        rows = ops.broadcast_to(ops.reshape(ops.arange(batch), (-1, 1, 1)), grid)
        steps = ops.broadcast_to(ops.reshape(ops.arange(time), (1, -1, 1)), grid)
        indices = ops.reshape(ops.stack([rows, steps, columns], axis=-1), (-1, 3))
        return logits + ops.scatter(indices, ops.reshape(correction, (-1,)),
                                    (batch, time, logits.shape[-1]))

    def call(self, gate, logits, weights, source_tokens, training=None):
        if training:
            return scores(logits, weights, gate, source_tokens)
        return seq2seq.copy_log_probs(logits, weights, gate, source_tokens)

    def output_spec(self, gate, logits, weights, source_tokens, training=None):
        return keras.KerasTensor(logits.shape, dtype="float32")

    seq2seq.CopyDistribution.call = call
    seq2seq.CopyDistribution.compute_output_spec = output_spec
elif copy_formula:
    import keras_seq2seq.models.seq2seq as seq2seq
    ops = keras.ops

    def copy_log_probs(logits, weights, gate, source_tokens):
        # Earlier formulas, for comparison only: the copy distribution
        # (B, T, V) built densely, mixed with the softmax, then the log.
        generated = ops.softmax(logits, axis=-1)
        if copy_formula == "one-hot":
            sources = ops.one_hot(ops.cast(source_tokens, "int32"), logits.shape[-1])
            copied = ops.einsum("bts,bsv->btv", ops.cast(weights, "float32"), sources)
        else:
            batch, time, length = ops.shape(weights)
            grid = (batch, time, length)
            rows = ops.broadcast_to(ops.reshape(ops.arange(batch), (-1, 1, 1)), grid)
            steps = ops.broadcast_to(ops.reshape(ops.arange(time), (1, -1, 1)), grid)
            columns = ops.broadcast_to(ops.expand_dims(ops.cast(source_tokens, "int32"), 1),
                                       grid)
            indices = ops.reshape(ops.stack([rows, steps, columns], axis=-1), (-1, 3))
            copied = ops.scatter(indices, ops.reshape(ops.cast(weights, "float32"), (-1,)),
                                 (batch, time, logits.shape[-1]))
        mixed = gate * generated + (1.0 - gate) * copied
        return ops.log(ops.maximum(mixed, seq2seq.COPY_EPSILON))

    seq2seq.copy_log_probs = copy_log_probs


class Window(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.step = 0

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step == skip:
            self.t0, self.r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        if self.step == skip + steps:
            r1 = resource.getrusage(resource.RUSAGE_SELF)
            seconds = time.perf_counter() - self.t0
            with open(out, "w") as f:
                json.dump({"steps_per_s": steps / seconds, "seconds": seconds,
                           "user_s": r1.ru_utime - self.r0.ru_utime,
                           "system_s": r1.ru_stime - self.r0.ru_stime,
                           "peak_rss_mb": r1.ru_maxrss / 1024}, f)
            self.model.stop_training = True


original = training.train


def train(config, *a, callbacks=(), **kw):
    return original(config, *a, callbacks=(*callbacks, Window()), **kw)


training.train = train
cli.main(sys.argv[6:])
"""


def race_sample(data, size, path, seed=0):
    """`size` pairs drawn at random from the race's training corpora (the
    full Tatoeba export and Multi30k train), written as a TSV to `path`."""
    import gzip
    import random

    with gzip.open(f"{data}/tatoeba/eng-fra-full.tsv.gz", "rt", encoding="utf-8") as f:
        pairs = [line.rstrip("\n").split("\t")[:2] for line in f]
    with gzip.open(f"{data}/multi30k/train.en.gz", "rt", encoding="utf-8") as en, \
            gzip.open(f"{data}/multi30k/train.fr.gz", "rt", encoding="utf-8") as fr:
        pairs += [[s.strip(), t.strip()] for s, t in zip(en, fr)]
    pairs = [p for p in pairs if len(p) == 2 and all(p)]
    sample = random.Random(seed).sample(pairs, size)
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(f"{s}\t{t}\n" for s, t in sample)
    return sum(len(s.split()) for s, _ in sample) / size


def recipe(data, pairs_file, out):
    """ours.sh's `keras-seq2seq train` flags (the v6 recipe with copy
    attention), on `pairs_file` instead of the corpora."""
    return ["train", "--pairs", pairs_file,
            "--validation-source", f"{data}/multi30k/val.en.gz",
            "--validation-target", f"{data}/multi30k/val.fr.gz",
            "--architecture", "cpu", "--attention", "luong", "--tokenizer", "wordpiece",
            "--shared-vocabulary", "--copy-attention", "--name-augmentation", "0.6",
            "--embedding-dim", "192", "--source-vocab-size", "8000", "--target-vocab-size",
            "8000", "--max-length", "100", "--dropout", "0.3", "--embedding-dropout", "0.2",
            "--epochs", "1", "--batch-size", "128", "--learning-rate", "2e-3",
            "--lr-schedule", "plateau", "--seed", "0", "--bidirectional-encoder",
            "--bleu-sample", "0", "--no-backup", "--out", out]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=os.environ.get("KERAS_SEQ2SEQ_DATA",
                                                    str(ROOT.parent / "shared" / "data")))
    p.add_argument("--sample", type=int, default=20000)
    p.add_argument("--skip", type=int, default=20)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--only", action="append", choices=sorted(SETTINGS))
    p.add_argument("--out", default=str(HERE / "results" / "train_env.json"))
    args = p.parse_args(argv)
    names = args.only or list(SETTINGS)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        pairs_file = os.path.join(tmp, "sample.tsv")
        mean_words = race_sample(args.data, args.sample, pairs_file)
        for round_ in range(args.rounds):
            for name in names:
                setting = SETTINGS[name]
                result = os.path.join(tmp, "window.json")
                run_dir = os.path.join(tmp, f"run-{round_}-{name}")
                env = {**os.environ, "OMP_NUM_THREADS": "2", "TF_CPP_MIN_LOG_LEVEL": "3",
                       "PYTHONPATH": str(ROOT), **setting["env"]}
                subprocess.run([sys.executable, "-c", CHILD, str(args.skip), str(args.steps),
                                result, "1" if setting["mallopt"] else "0",
                                setting["copy"],
                                *recipe(args.data, pairs_file, run_dir), *setting["flags"]],
                               env=env, check=True, stdout=subprocess.DEVNULL)
                with open(result) as f:
                    row = {"round": round_, "setting": name, **json.load(f)}
                os.remove(result)
                rows.append(row)
                print(json.dumps(row), flush=True)
    result = {"command": "python benchmarks/train_env.py " + " ".join(
                  sys.argv[1:] if argv is None else argv),
              "sample": args.sample, "sample_mean_source_words": round(mean_words, 2),
              "skip_steps": args.skip, "window_steps": args.steps, "cpus": os.cpu_count(),
              "settings": {n: SETTINGS[n] for n in names}, "rows": rows}
    pathlib.Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
