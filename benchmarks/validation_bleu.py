"""BLEU of model directories on the validation sets only (model selection).

The Tatoeba validation split and Multi30k val of `real_text.py`, no test
set: what chooses between a run's last epoch and its averaged checkpoints.
Greedy by default; `--beam-sizes 1,5` adds beam 5 (the issue's targets are
beam 5). Names are not protected: the model alone, as every selection was
measured. Prints one line per model; writes nothing.

    python benchmarks/validation_bleu.py runs/x runs/x-avg2 runs/x-avg3
    python benchmarks/validation_bleu.py --beam-sizes 1,5 --sets m30k runs/x

Data: $KERAS_SEQ2SEQ_DATA, default ../shared/data.
"""

import argparse
import os
import pathlib
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from real_text import multi30k, tatoeba_validation  # noqa: E402

SETS = {"tatoeba": ("tatoeba validation", tatoeba_validation),
        "m30k": ("multi30k val", lambda data: multi30k(data, "val"))}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", help="Model directories.")
    p.add_argument("--beam-sizes", default="1", help="Comma-separated, e.g. 1,5.")
    p.add_argument("--sets", default="tatoeba,m30k",
                   help=f"Comma-separated, of {', '.join(sorted(SETS))}.")
    args = p.parse_args(argv)
    try:
        args.beam_sizes = [int(b) for b in args.beam_sizes.split(",")]
    except ValueError:
        p.error(f"--beam-sizes takes integers separated by commas, got {args.beam_sizes!r}")
    args.sets = args.sets.split(",")
    if unknown := sorted(set(args.sets) - set(SETS)):
        p.error(f"unknown --sets {unknown}; known: {sorted(SETS)}")

    from keras_seq2seq import load
    from keras_seq2seq.evaluation import corpus_bleu

    data = os.environ.get("KERAS_SEQ2SEQ_DATA", str(HERE.parent.parent / "shared" / "data"))
    sets = {SETS[key][0]: SETS[key][1](data) for key in args.sets}
    for directory in args.models:
        translator = load(directory)
        row = []
        for beam in args.beam_sizes:
            search = "greedy" if beam == 1 else f"beam {beam}"
            for name, pairs in sets.items():
                started = time.time()
                hypotheses = translator.translate([s for s, _ in pairs], batch_size=128,
                                                  protect_names=False, beam_size=beam)
                bleu = corpus_bleu(hypotheses, [r for _, r in pairs]).score
                row.append(f"{name} {search} {bleu:.2f} ({time.time() - started:.0f}s)")
        print(directory, "BLEU:", "; ".join(row), flush=True)


if __name__ == "__main__":
    main()
