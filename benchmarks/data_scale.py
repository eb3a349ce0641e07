"""Peak memory of training on 1x and 4x the Tatoeba corpus.

Not a test. Each measurement is a fresh process that streams the corpus
(read 1 or 4 times in a row, never held in a Python list), builds the
vocabularies, makes one full pass of the training input pipeline (tokenize,
filter, cache, shuffle buffer of 20,000, length buckets) and runs 30 training
steps of the `cpu` model; the process's peak resident memory is reported.
With the tokenized cache in files (`--cache-dir`), memory should not grow
with the corpus; with the in-memory cache it grows by the cached ids.
Writes benchmarks/results/data_scale.json (`python benchmarks/report.py` renders RESULTS.md).

    python benchmarks/data_scale.py --data ../shared/data
"""

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


class Repeated:
    """The corpus read `times` times in a row, streamed."""

    def __init__(self, corpus, times):
        self.corpus, self.times = corpus, times

    def __iter__(self):
        for _ in range(self.times):
            yield from self.corpus


def child(path, times, cache):
    import keras

    from keras_seq2seq.data import read_tsv_pairs
    from keras_seq2seq.data.pipeline import make_dataset
    from keras_seq2seq.models import build_training_model, get_architecture
    from keras_seq2seq.text import WordTokenizer
    from keras_seq2seq.training import build_vocabularies

    started = time.time()
    pairs = Repeated(read_tsv_pairs(path), times)
    config = get_architecture("cpu")
    source_vocab, target_vocab, stats = build_vocabularies(pairs, config)
    with tempfile.TemporaryDirectory() as directory:
        option = os.path.join(directory, "train") if cache == "files" else True
        dataset = make_dataset(pairs, WordTokenizer(source_vocab), WordTokenizer(target_vocab),
                               batch_size=128, cache=option)
        batches = sum(1 for _ in dataset)  # one full pass fills the cache
        model = build_training_model(config, len(source_vocab), len(target_vocab))
        model.compile(optimizer="adam",
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(dataset.take(30), epochs=1, verbose=0)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"pairs": stats["pairs"], "batches": batches, "peak_mb": round(peak_mb),
                      "seconds": round(time.time() - started)}))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get(
        "KERAS_SEQ2SEQ_DATA", str(HERE.parent.parent / "shared" / "data")))
    p.add_argument("--child", nargs=2, metavar=("TIMES", "CACHE"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    path = str(pathlib.Path(args.data) / "tatoeba" / "eng-fra.tsv.gz")
    if args.child:
        return child(path, int(args.child[0]), args.child[1])
    results = {"command": "python benchmarks/data_scale.py", "runs": []}
    for cache in ("files", "memory"):
        for times in (1, 4):
            output = subprocess.run(
                [sys.executable, __file__, "--data", args.data, "--child", str(times), cache],
                capture_output=True, text=True, check=True,
                env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
            ).stdout.strip().splitlines()[-1]
            run = {"times": times, "cache": cache, **json.loads(output)}
            print(run, flush=True)
            results["runs"].append(run)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "data_scale.json").write_text(json.dumps(results, indent=2))
    print("Results written; render RESULTS.md with: python benchmarks/report.py")


if __name__ == "__main__":
    main()
