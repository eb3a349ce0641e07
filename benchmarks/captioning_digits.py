"""Captioning benchmark on real handwritten digits (offline).

Canvases of 1 to 4 of scikit-learn's real 8x8 handwritten digits, captioned
left to right ("three handwritten digits: seven, two, nine"); train,
validation and test use disjoint digit images. Trains the small CNN +
LSTM captioner, then reports exact match and BLEU on test (greedy and beam),
writes benchmarks/results/captioning_digits.json, a PNG grid of test images
with their generated captions (`python benchmarks/report.py` renders RESULTS.md).

    python benchmarks/captioning_digits.py            # about an hour here
"""

import argparse
import json
import os
import pathlib
import shlex
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def exact_match(hypotheses, references):
    return float(np.mean([h == r for h, r in zip(hypotheses, references)]))


def grid_samples(references, hypotheses, count=16, wrong=4):
    """Indices to show: the first test canvases, and the first `wrong`
    wrongly captioned ones among them so the grid shows the errors too."""
    errors = [i for i, (r, h) in enumerate(zip(references, hypotheses)) if r != h][:wrong]
    first = [i for i in range(len(references)) if i not in errors][: count - len(errors)]
    return sorted(first + errors)


def save_grid(images, references, hypotheses, path, columns=4):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = (len(images) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 1.9 * rows))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, image, reference, hypothesis in zip(np.ravel(axes), images, references, hypotheses):
        ax.imshow(image, cmap="gray", vmin=0, vmax=255)
        mark = "" if hypothesis == reference else "  (WRONG)"
        ax.set_title(hypothesis + mark, fontsize=8, color="black" if not mark else "red")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=30000, help="Training canvases.")
    parser.add_argument("--validation", type=int, default=1000)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--max-minutes", type=float, default=55)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--units", type=int, default=512)
    parser.add_argument("--filters", type=int, nargs="+", default=[32, 64, 128],
                        help="Filters of the small CNN's blocks.")
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--augment", action="store_true",
                        help="Vary digit widths and brightness in training canvases, and "
                        "rotate and slant the digits unless --no-warp "
                        "(validation and test canvases are unchanged).")
    parser.add_argument("--warp", action=argparse.BooleanOptionalAction, default=None,
                        help="With --augment: rotate and slant training digits. Default: on.")
    parser.add_argument("--lr-schedule", default="constant",
                        choices=["constant", "step", "plateau"],
                        help="plateau: halve the learning rate when validation loss stalls.")
    parser.add_argument("--lr-patience", type=int, default=1,
                        help="plateau: epochs without a lower validation loss before halving.")
    parser.add_argument("--beam-size", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/captioning-digits")
    args = parser.parse_args(argv)
    command = "python benchmarks/captioning_digits.py " + shlex.join(sys.argv[1:] if argv is None
                                                                     else argv)

    from keras_seq2seq.captioning import CaptionerConfig, train_captioner
    from keras_seq2seq.captioning.config import CaptionerTrainingConfig
    from keras_seq2seq.captioning.digits import digits_corpora
    from keras_seq2seq.evaluation import corpus_bleu

    train, validation, test = digits_corpora(args.train, args.validation, args.test,
                                             seed=args.seed, augment_train=args.augment,
                                             warp_train=args.augment and args.warp is not False)
    shared = (set(sum(train.digits, [])) & set(sum(test.digits, []))) | (
        set(sum(train.digits, [])) & set(sum(validation.digits, [])))
    assert not shared, "a digit image is in two splits"
    config = CaptionerConfig(
        backbone="small_cnn", image_height=32, image_width=96, pooling="flatten",
        cnn_filters=tuple(args.filters), units=args.units, embedding_dim=64,
        dropout=args.dropout,
        max_target_length=12,
    )
    started = time.time()
    run = CaptionerTrainingConfig.create(
        args.out, config, epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate, seed=args.seed, max_minutes=args.max_minutes,
        lr_schedule=args.lr_schedule, lr_patience=args.lr_patience,
    )
    captioner, history = train_captioner(run, train_corpus=train, validation_corpus=validation,
                                         verbose=2, metadata={"command": command})
    minutes = (time.time() - started) / 60
    references = [c for _, c in test.pairs]
    results = {"command": command, "training_minutes": round(minutes, 1),
               "epochs_run": len(history.history["loss"]),
               "parameters": captioner.model.count_params(),
               "train_canvases": args.train, "test_canvases": args.test, "units": args.units,
               "augment": args.augment, "warp": args.augment and args.warp is not False,
               "dropout": args.dropout, "lr_schedule": args.lr_schedule,
               "lr_patience": args.lr_patience,
               "best_epoch": 1 + int(np.argmin(history.history["val_loss"]))}
    for beam in (1, args.beam_size):
        t = time.time()
        hypotheses = captioner.caption(test.images, batch_size=128, beam_size=beam)
        seconds = time.time() - t
        counts = [len(d) for d in test.digits]
        results[f"beam{beam}"] = {
            "exact_match": exact_match(hypotheses, references),
            "bleu": corpus_bleu(hypotheses, references).score,
            "exact_match_by_digit_count": {
                str(k): exact_match([h for h, n in zip(hypotheses, counts) if n == k],
                                    [r for r, n in zip(references, counts) if n == k])
                for k in sorted(set(counts))
            },
            "images_per_second": len(hypotheses) / seconds,
        }
        if beam == 1:
            greedy = hypotheses
    (HERE / "results").mkdir(exist_ok=True)
    shown = grid_samples(references, greedy)
    save_grid(test.images[shown], [references[i] for i in shown], [greedy[i] for i in shown],
              HERE / "results" / "captioning_digits.png")
    (HERE / "results" / "captioning_digits.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print("Results written; render RESULTS.md with: python benchmarks/report.py")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
