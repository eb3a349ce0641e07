"""Training speed: our input pipeline and recipe against a plain baseline, in one run.

Not a test. On the same model (1-layer LSTM, 512 units, 256-d embeddings,
8k-word vocabularies) and the same Tatoeba sentences, measures:

- target tokens/s of our pipeline (length-bucketed batches of 128, padding
  only to the longest sentence of each batch);
- target tokens/s of a plain baseline written as the Keras example trains:
  every sentence padded to the maximum length, batches of 64, no bucketing;
- the GFLOP/s each achieves (3x the forward FLOPs of the padded batches:
  forward + backward), and the machine's float32 matmul GFLOP/s;
- our pipeline under `model.fit`, the way `keras-seq2seq train` runs it, on a
  fixed set of its batches: the path of today (tf.data autotuning off, the
  default since issue 21) and the path before issue 21 (autotuning on,
  `make_dataset(autotune=True)`; the same batches), since what issue 21
  changed is how `model.fit` is fed; `--fit-batches 0` leaves them out.

The two trainings alternate in rounds (A B A B ...) so that load from other
processes on this shared machine hits both; the ratio is what to read.
Writes benchmarks/results/train_speed.json (`python benchmarks/report.py` renders RESULTS.md).

    python benchmarks/train_speed.py --data ../shared/data
"""

import argparse
import itertools
import json
import os
import pathlib
import shlex
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def lstm_layer_flops(batch, steps, inputs, units):
    # 4 gates, each a (inputs + units) x units matrix-vector product per
    # example and step; 2 FLOPs per multiply-add.
    return 2 * batch * steps * 4 * (inputs + units) * units


def training_flops(encoder_tokens, decoder_tokens, embedding, units, vocabulary):
    """3x the forward FLOPs of one padded batch (padding is computed too)."""
    batch, source_steps = encoder_tokens.shape
    target_steps = decoder_tokens.shape[1]
    forward = (
        lstm_layer_flops(batch, source_steps, embedding, units)
        + lstm_layer_flops(batch, target_steps, embedding, units)
        + 2 * batch * target_steps * units * vocabulary  # output projection
    )
    return 3 * forward


def matmul_gflops(size, seconds=3.0):
    import tensorflow as tf

    a = tf.random.normal([size, size])
    b = tf.random.normal([size, size])
    tf.matmul(a, b).numpy()
    best = 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        for _ in range(5):
            c = tf.matmul(a, b)
        c.numpy()
        best = max(best, 5 * 2 * size**3 / (time.perf_counter() - started) / 1e9)
    return best


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get(
        "KERAS_SEQ2SEQ_DATA", str(HERE.parent.parent / "shared" / "data")))
    p.add_argument("--pairs", type=int, default=30000, help="Tatoeba pairs used.")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=40.0, help="Per training, per round.")
    p.add_argument("--max-length", type=int, default=20,
                   help="Sentences longer than this (words) are left out of both.")
    p.add_argument("--xla", action="store_true",
                   help="Also time our pipeline compiled with XLA (jit_compile=True).")
    p.add_argument("--bfloat16", action="store_true",
                   help="Also time our pipeline under the mixed_bfloat16 policy "
                   "(`train --mixed-precision mixed_bfloat16`; other numerics).")
    p.add_argument("--fit-batches", type=int, default=48,
                   help="Batches per timed model.fit epoch of the two fit paths (0: none).")
    p.add_argument("--sutskever-steps", type=int, default=0,
                   help="Also time this many training steps of the sutskever2014 preset "
                   "(384M parameters) at batch 128, 20 + 20 tokens, after two untimed.")
    args = p.parse_args(argv)
    command = "python benchmarks/train_speed.py " + shlex.join(
        sys.argv[1:] if argv is None else argv)

    import keras
    import tensorflow as tf

    from keras_seq2seq.constants import PAD_ID
    from keras_seq2seq.data import read_tsv_pairs
    from keras_seq2seq.data.pipeline import encode_pairs, make_dataset, with_autotune
    from keras_seq2seq.models import build_training_model, get_architecture
    from keras_seq2seq.models.preprocessor import Seq2SeqPreprocessor, keras_batch
    from keras_seq2seq.text import WordTokenizer
    from keras_seq2seq.training import build_vocabularies

    path = pathlib.Path(args.data) / "tatoeba" / "eng-fra.tsv.gz"
    # The file is sorted by length: take every 5th pair for a varied sample.
    pairs = list(itertools.islice(itertools.islice(read_tsv_pairs(str(path)), 0, None, 5),
                                  args.pairs))
    config = get_architecture("cpu", units=512, embedding_dim=256, source_vocab_size=8000,
                        target_vocab_size=8000, dropout=0.0, max_source_length=args.max_length,
                        max_target_length=args.max_length)
    source_vocab, target_vocab, _ = build_vocabularies(pairs, config)
    source_tokenizer = WordTokenizer(source_vocab)
    target_tokenizer = WordTokenizer(target_vocab, language="fr")

    ours = make_dataset(pairs, source_tokenizer, target_tokenizer, batch_size=128,
                        max_source_length=args.max_length, max_target_length=args.max_length)

    # The baseline: every sentence padded to the maximum length, batches of
    # 64, in corpus order shuffled, no buckets (the Keras example's recipe).
    width = args.max_length + 1
    preprocessor = Seq2SeqPreprocessor(source_tokenizer, target_tokenizer, True,
                                       args.max_length, args.max_length)
    baseline = encode_pairs(pairs, preprocessor).filter(preprocessor.keep).cache().shuffle(
        20000, seed=0
    ).padded_batch(
        64, padded_shapes=([width], [width], [width]), padding_values=(PAD_ID,) * 3
    ).map(keras_batch).prefetch(tf.data.AUTOTUNE)

    def compiled_model(jit_compile=False, dtype_policy=None):
        keras.utils.set_random_seed(0)
        previous = keras.config.dtype_policy()
        if dtype_policy:
            keras.config.set_dtype_policy(dtype_policy)
        try:
            model = build_training_model(config, len(source_vocab), len(target_vocab))
        finally:
            keras.config.set_dtype_policy(previous)
        model.compile(optimizer=keras.optimizers.Adam(1e-3, clipnorm=5.0),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      jit_compile=jit_compile)
        return model

    runs = {"ours": (compiled_model(), ours), "baseline": (compiled_model(), baseline)}
    if args.xla:
        # The same pipeline with XLA: every new batch shape compiles once.
        runs["ours_xla"] = (compiled_model(jit_compile=True), ours)
    if args.bfloat16:
        runs["ours_bf16"] = (compiled_model(dtype_policy="mixed_bfloat16"), ours)
    totals = {name: {"tokens": 0, "flops": 0, "seconds": 0.0, "batches": 0} for name in runs}
    iterators = {name: iter(dataset.repeat()) for name, (_, dataset) in runs.items()}

    # The two model.fit paths: the first --fit-batches full batches of our
    # pipeline, cached once (the pipeline reshuffles on every pass), so that
    # both paths train on the same batches and every epoch has the tokens and
    # FLOPs counted here.
    fits = {}
    if args.fit_batches:
        fixed = ours.filter(lambda x, y, w: tf.shape(y)[0] == 128).take(args.fit_batches)
        fixed = fixed.cache()
        fit_tokens, fit_flops = 0, 0
        for inputs, _, weights in fixed:  # fills the cache
            fit_tokens += int(tf.reduce_sum(weights))
            fit_flops += training_flops(inputs["encoder_tokens"], inputs["decoder_tokens"],
                                        config.embedding_dim, config.units, len(target_vocab))
        for name, autotune in (("fit", False), ("fit_autotune", True)):
            batches = with_autotune(fixed, autotune).repeat()
            seen = sum(int(tf.reduce_sum(w)) for _, _, w in batches.take(args.fit_batches))
            if seen != fit_tokens:
                raise RuntimeError(f"{name}: the cached batches changed ({seen} != {fit_tokens} "
                                   "target tokens)")
            fits[name] = (compiled_model(), batches)
            totals[name] = {"tokens": 0, "flops": 0, "seconds": 0.0, "batches": 0}

    def fit_once(name, record=True):
        model, batches = fits[name]
        started = time.perf_counter()
        model.fit(batches, steps_per_epoch=args.fit_batches, epochs=1, verbose=0)
        if record:
            total = totals[name]
            total["seconds"] += time.perf_counter() - started
            total["tokens"] += fit_tokens
            total["flops"] += fit_flops
            total["batches"] += args.fit_batches

    def train_for(name, seconds, record=True):
        model, _ = runs[name]
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            inputs, targets, weights = next(iterators[name])
            t = time.perf_counter()
            model.train_on_batch(inputs, targets, sample_weight=weights)
            if record:
                total = totals[name]
                total["seconds"] += time.perf_counter() - t
                total["tokens"] += int(tf.reduce_sum(weights))
                total["flops"] += training_flops(
                    inputs["encoder_tokens"], inputs["decoder_tokens"], config.embedding_dim,
                    config.units, len(target_vocab))
                total["batches"] += 1

    for name in runs:  # warm-up: tracing, caches, XLA compilations
        train_for(name, 60 if name == "ours_xla" else 15, record=False)
    for name in fits:
        fit_once(name, record=False)
    matmul = {1024: [], 4096: []}
    for _ in range(args.rounds):
        for name in runs:
            train_for(name, args.seconds)
        for name in fits:
            fit_once(name)
        for size in matmul:
            matmul[size].append(matmul_gflops(size))

    results = {"command": command, "pairs": len(pairs), "max_length": args.max_length,
               "model": "1-layer LSTM 512, embeddings 256, vocabularies "
                        f"{len(source_vocab)}/{len(target_vocab)}",
               "matmul_gflops": {str(k): max(v) for k, v in matmul.items()}}
    for name, total in totals.items():
        results[name] = {
            "tokens_per_second": total["tokens"] / total["seconds"],
            "gflops": total["flops"] / total["seconds"] / 1e9,
            "batches": total["batches"],
            "seconds": round(total["seconds"], 1),
        }
    best_matmul = max(results["matmul_gflops"].values())
    results["speedup_tokens_per_second"] = (
        results["ours"]["tokens_per_second"] / results["baseline"]["tokens_per_second"])
    results["ours_gflops_over_best_matmul"] = results["ours"]["gflops"] / best_matmul
    if fits:
        results["fit_over_fit_autotune"] = (
            results["fit"]["tokens_per_second"] / results["fit_autotune"]["tokens_per_second"])
        results["fit_gflops_over_best_matmul"] = results["fit"]["gflops"] / best_matmul
    if args.sutskever_steps:
        del runs, iterators, fits
        results["sutskever2014"] = sutskever_step_seconds(args.sutskever_steps)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "train_speed.json").write_text(json.dumps(results, indent=2))
    print("Results written; render RESULTS.md with: python benchmarks/report.py")
    print(json.dumps(results, indent=2))


def sutskever_step_seconds(steps, batch=128, length=20):
    """Seconds per training step of the paper's model on random tokens."""
    import keras
    import numpy as np

    from keras_seq2seq.models import build_training_model, get_architecture

    config = get_architecture("sutskever2014")
    keras.utils.set_random_seed(0)
    model = build_training_model(config, config.source_vocab_size, config.target_vocab_size)
    model.compile(optimizer=keras.optimizers.Adam(1e-3, clipnorm=5.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    inputs = {
        "encoder_tokens": rng.integers(4, config.source_vocab_size, (batch, length)),
        "decoder_tokens": rng.integers(4, config.target_vocab_size, (batch, length)),
    }
    targets = rng.integers(4, config.target_vocab_size, (batch, length))
    times = []
    for i in range(steps + 2):
        started = time.perf_counter()
        model.train_on_batch(inputs, targets)
        if i >= 2:
            times.append(time.perf_counter() - started)
    return {"parameters": int(model.count_params()), "batch": batch, "tokens": length,
            "seconds_per_step": sorted(times)[len(times) // 2], "steps_timed": steps}


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
