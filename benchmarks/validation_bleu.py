"""Greedy BLEU of model directories on the validation sets only (model selection).

The Tatoeba validation split and Multi30k val of `real_text.py`, no test
set: what chooses between a run's last epoch and its averaged checkpoints.
Prints one line per model; writes nothing.

    python benchmarks/validation_bleu.py runs/x runs/x-avg2 runs/x-avg3

Data: $KERAS_SEQ2SEQ_DATA, default ../shared/data.
"""

import os
import pathlib
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from real_text import multi30k, tatoeba_validation  # noqa: E402


def main(directories):
    from keras_seq2seq import load
    from keras_seq2seq.evaluation import corpus_bleu

    data = os.environ.get("KERAS_SEQ2SEQ_DATA", str(HERE.parent.parent / "shared" / "data"))
    sets = {"tatoeba validation": tatoeba_validation(data), "multi30k val": multi30k(data, "val")}
    for directory in directories:
        translator = load(directory)
        row = []
        for name, pairs in sets.items():
            started = time.time()
            # Without name placeholders: the model alone, as the earlier
            # selections were measured.
            hypotheses = translator.translate([s for s, _ in pairs], batch_size=128,
                                              protect_names=False, beam_size=1)
            bleu = corpus_bleu(hypotheses, [r for _, r in pairs]).score
            row.append(f"{name} {bleu:.2f} ({time.time() - started:.0f}s)")
        print(directory, "greedy BLEU:", "; ".join(row), flush=True)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
