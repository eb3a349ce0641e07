"""Domain adaptation by fine-tuning, and checkpoint averaging.

1. Fine-tuning: a general model (default: the shipped English->French
   model, trained on Tatoeba + Multi30k) is fine-tuned on the first N
   Multi30k training pairs (in-domain: image descriptions) for a few
   minutes, against the same minutes from scratch on the same pairs (the
   same architecture, its own vocabularies), and against no fine-tuning.
   Scored on Multi30k test_2016_flickr (in-domain; a test set looked at
   many times) and on the Tatoeba validation split (general: what the
   fine-tuning costs). The shipped model saw Multi30k train among its
   175k pairs, so fine-tuning here re-weights a domain it knows; the
   from-scratch runs say what the pairs alone give.
2. Averaging: for each run directory given (`--average-runs`), the run's
   model (its best validation epoch, or its last epoch when it had no
   validation data) against the mean of its last 2 and 3 epoch
   checkpoints, on validation data (Multi30k val and the Tatoeba split).
   A run directory named like a fine-tuning run of this script
   (`fine-tuned-N`) is looked for under `--work` once that run is done.

    python benchmarks/finetune.py --sizes 2000 10000 --minutes 3 \\
        --average-runs /work/runs/en-fr-v4

Writes benchmarks/results/finetune.json (`python benchmarks/report.py` renders RESULTS.md).
"""

import argparse
import json
import os
import pathlib
import shlex
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
RESULTS = HERE / "results" / "finetune.json"


def _sets(data, max_pairs):
    from real_text import multi30k, tatoeba_validation

    return {
        "multi30k_test_2016_flickr": multi30k(data, "test_2016_flickr")[:max_pairs],
        "multi30k_val": multi30k(data, "val")[:max_pairs],
        "tatoeba_validation": tatoeba_validation(data)[:max_pairs],
    }


def _bleu(translator, pairs):
    from keras_seq2seq.evaluation import evaluate

    report, _ = evaluate(translator, pairs, with_perplexity=False, batch_size=128)
    return report["bleu"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(HERE.parent / "saved_models" / "en-fr"))
    parser.add_argument("--data", default=os.environ.get(
        "KERAS_SEQ2SEQ_DATA", str(HERE.parent.parent / "shared" / "data")))
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--learning-rate", type=float, default=5e-4,
                        help="Fine-tuning rate (from scratch: 2e-3). Default: 5e-4.")
    parser.add_argument("--max-eval-pairs", type=int, default=2000)
    parser.add_argument("--average-runs", nargs="*", default=[])
    parser.add_argument("--work", default=None, help="Run directories go here (default: tmp).")
    parser.add_argument("--note", default="")
    args = parser.parse_args()

    from keras_seq2seq import load, train
    from keras_seq2seq.data import read_parallel_files
    from keras_seq2seq.training import TrainingConfig
    from keras_seq2seq.training.finetune import average_checkpoints, epoch_checkpoints

    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="finetune-"))
    sets = _sets(args.data, args.max_eval_pairs)
    in_domain = sets["multi30k_test_2016_flickr"]
    general = sets["tatoeba_validation"]
    corpus = read_parallel_files(os.path.join(args.data, "multi30k", "train.en.gz"),
                                 os.path.join(args.data, "multi30k", "train.fr.gz"))
    all_pairs = list(corpus)
    base = load(args.model)
    rows = [{"setting": "no fine-tuning", "pairs": 0, "minutes": 0,
             "multi30k_test": _bleu(base, in_domain), "tatoeba_val": _bleu(base, general)}]
    print(json.dumps(rows[-1]), flush=True)
    for size in args.sizes:
        pairs = all_pairs[:size]
        for setting in ("fine-tuned", "from scratch"):
            out = work / f"{setting.replace(' ', '-')}-{size}"
            started = time.time()
            translator, history = train(
                TrainingConfig.create(
                    str(out), None if setting == "fine-tuned" else base.config,
                    epochs=1000, max_minutes=args.minutes, batch_size=64,
                    learning_rate=args.learning_rate if setting == "fine-tuned" else 2e-3,
                    init_from=args.model if setting == "fine-tuned" else None,
                    bleu_sample=0, backup=False),
                train_pairs=pairs, verbose=2)
            row = {"setting": setting, "pairs": size,
                   "minutes": round((time.time() - started) / 60, 1),
                   "epochs": len(history.history["loss"]),
                   "multi30k_test": _bleu(translator, in_domain),
                   "tatoeba_val": _bleu(translator, general)}
            rows.append(row)
            print(json.dumps(row), flush=True)

    averages = []
    for run in args.average_runs:
        if not os.path.isabs(run) and not os.path.exists(run):
            run = str(work / run)
        available = epoch_checkpoints(run)
        if len(available) < 3:
            print(f"{run}: fewer than 3 epoch checkpoints, skipped", flush=True)
            continue
        validation = {"multi30k_val": sets["multi30k_val"], "tatoeba_val": general}
        # The run's model directory: its best validation epoch, or its last
        # epoch for a run without validation data.
        best = load(run)
        row = {"run": run, "epochs": len(available),
               "model": {k: _bleu(best, v) for k, v in validation.items()}}
        for last in (2, 3):
            averaged = average_checkpoints(run, str(work / f"avg{last}-{pathlib.Path(run).name}"),
                                           last=last)
            row[f"last {last} averaged"] = {k: _bleu(averaged, v) for k, v in validation.items()}
        averages.append(row)
        print(json.dumps(row), flush=True)

    record = {"command": shlex.join(["python", "benchmarks/finetune.py", *sys.argv[1:]]),
              "model": os.path.relpath(args.model, HERE.parent), "minutes": args.minutes,
              "learning_rate": args.learning_rate, "max_eval_pairs": args.max_eval_pairs,
              "note": args.note, "fine_tuning": rows, "averaging": averages}
    RESULTS.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print("Results written; render RESULTS.md with: python benchmarks/report.py")


if __name__ == "__main__":
    main()
