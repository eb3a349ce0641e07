"""Where a beam search step's time goes (issue 34, decoding speed).

Not a test. Translates the first `--count` sentences of Multi30k val
(prepared by prepare_data.py) with MODEL at batch `--batch-size` and beam
`--beam-size`, warms up, then profiles the searches with `tf.profiler` and
sums the host time of every TensorFlow op into the part of the decoder it
belongs to (from the op's name scope, as `benchmarks/profile_training.py`
does for training): the output layer, the copy distribution, attention,
the decoder's LSTM, the search's own ops (top-k, gathers, the records),
the encoder, and the text ops around them. OpenNMT-py's LSTM
(`decode_speed.py`) has the same output layer, attention and LSTM but no
copy distribution.

Then, in the same process, the search as it was before 2026-12-06 against
the search now (`--rounds` alternating timings of `translate` on the same
sentences): before, the attention memory was reordered with the beams at
every step; now a state that the step function passes through unchanged
is only dropped with the sentences that leave (`beam.py`, `select_rows`). The
old path is the same search with a step function that returns a copy of
the memory (`tf.identity`), which the search must treat as a new state.

    python benchmarks/peers/decode_profile.py --model saved_models/en-fr

Writes benchmarks/results/decode_profile.json (`python benchmarks/report.py`
renders RESULTS.md).
"""

import argparse
import collections
import json
import os
import pathlib
import shlex
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from profile_training import op_stats  # noqa: E402

# (part, tests on the op's lower-cased full name); the first that matches
# wins, so the more specific come first.
PARTS = [
    ("output layer (matmul, bias)", ("output_projection",)),
    ("copy distribution (log-softmax, scatter-add, gate)", ("copy_distribution", "copy_gate")),
    ("attention (scores, context, projection)", ("attention",)),
    ("decoder LSTM and embedding", ("decoder_rnn", "decoder_embedding")),
    ("decoder step, the rest (concatenations)", ("decoder_step_model",)),
    ("encoder", ("encoder",)),
    ("the search's own ops (top-k, gathers, records; the names loop)", ("while",)),
]


def part_of(name):
    low = name.lower()
    return next((part for part, keys in PARTS if any(key in low for key in keys)),
                "text ops, start and finish (tokenize, detokenize)")


def time_memory_paths(translator, sentences, args, settings):
    """Seconds to translate `sentences` with the memory passed through (now)
    and copied at every step (the path of every state before), alternating."""
    import tensorflow as tf

    step = translator.step

    def copying_step(tokens, states):
        log_probs, (rnn_states, memory) = step(tokens, states)
        return log_probs, (rnn_states, [tf.identity(m) for m in memory])

    paths = {"memory passed through (now)": step, "memory copied (before)": copying_step}
    seconds = {name: [] for name in paths}
    outputs = {}
    for _ in range(args.rounds):
        for name, function in paths.items():
            translator.step = function
            translator._graphs.clear()  # retrace with this step function
            translator.translate(sentences[: args.batch_size], batch_size=args.batch_size,
                                 **settings)
            started = time.perf_counter()
            outputs[name] = translator.translate(sentences, batch_size=args.batch_size,
                                                 **settings)
            seconds[name].append(round(time.perf_counter() - started, 3))
    del translator.step
    translator._graphs.clear()
    now, before = (min(v) for v in seconds.values())
    return {"seconds": seconds, "speedup_fastest_rounds": round(before / now, 3),
            "same_translations": len(set(map(tuple, outputs.values()))) == 1}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=str(HERE.parents[1] / "saved_models" / "en-fr"))
    p.add_argument("--data", default="/work/peers-data",
                   help="prepare_data.py's output (its eval/multi30k_val.en).")
    p.add_argument("--count", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--beam-size", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3,
                   help="Alternating timings of the search before and after the memory change.")
    p.add_argument("--no-write", action="store_true", help="Print only.")
    args = p.parse_args(argv)
    command = "python benchmarks/peers/decode_profile.py " + shlex.join(
        sys.argv[1:] if argv is None else argv)

    import tensorflow as tf

    from keras_seq2seq import load

    path = pathlib.Path(args.data) / "eval" / "multi30k_val.en"
    if not path.exists():
        raise SystemExit(f"{path} is missing: run benchmarks/peers/prepare_data.py first")
    sentences = path.read_text(encoding="utf-8").splitlines()[: args.count]
    translator = load(args.model)
    settings = dict(beam_size=args.beam_size)
    translator.translate(sentences[: args.batch_size], batch_size=args.batch_size, **settings)
    with tempfile.TemporaryDirectory() as logdir:
        started = time.perf_counter()
        tf.profiler.experimental.start(logdir)
        translator.translate(sentences, batch_size=args.batch_size, **settings)
        tf.profiler.experimental.stop()
        wall = time.perf_counter() - started
        rows = op_stats(logdir)
    by_part = collections.Counter()
    by_op = collections.Counter()
    for row in rows:
        if row.get("host_or_device") not in (None, "Host") or row.get("type") == "IDLE":
            continue
        self_us = float(row.get("total_self_time") or 0.0)
        name = str(row.get("operation", ""))
        by_part[part_of(name)] += self_us
        by_op[f"{row.get('type', '')} {name.split('/')[-1]}"[:60]] += self_us
    total = sum(by_part.values())
    result = {
        "command": command, "model": args.model, "sentences": len(sentences),
        "batch_size": args.batch_size, "beam_size": args.beam_size,
        "wall_seconds_profiled": round(wall, 2),
        "op_seconds": round(total / 1e6, 3),
        "parts": {k: round(v / total, 4) for k, v in by_part.most_common()},
        "top_ops": {k: round(v / total, 4) for k, v in by_op.most_common(12)},
    }
    result["memory_reorder"] = time_memory_paths(translator, sentences, args, settings)
    print(json.dumps(result, indent=2))
    if not args.no_write:
        out = HERE.parent / "results" / "decode_profile.json"
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"Written {out}; render RESULTS.md with: python benchmarks/report.py")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
