"""Multi30k benchmark: train, select on val, report on test_2016_flickr.

Not a test: each run trains for up to an hour on two CPU cores. Every run
appends one JSON line to `benchmarks/results/multi30k.jsonl`; `python
benchmarks/report.py` renders the table of `benchmarks/RESULTS.md` from all lines.

    python benchmarks/multi30k.py --pair de-en --attention none --reverse-source
    python benchmarks/multi30k.py --pair en-fr --attention luong --no-reverse-source
    python benchmarks/multi30k.py --evaluate-only runs/multi30k-en-fr-luong-fwd

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
RESULTS_JSONL = HERE / "results" / "multi30k.jsonl"
REPORT = "Results written; render RESULTS.md with: python benchmarks/report.py"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get(
        "KERAS_SEQ2SEQ_DATA", str(HERE.parent.parent / "shared" / "data")))
    p.add_argument("--pair", default="de-en", help="source-target, e.g. de-en, en-fr, en-de.")
    p.add_argument("--attention", default="none", choices=["none", "luong"])
    p.add_argument("--reverse-source", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--tokenizer", default="word", choices=["word", "wordpiece"])
    p.add_argument("--architecture", default="cpu")
    p.add_argument("--layers", type=int)
    p.add_argument("--units", type=int)
    p.add_argument("--dropout", type=float)
    p.add_argument("--embedding-dropout", type=float)
    p.add_argument("--embedding-dim", type=int)
    p.add_argument("--lr-schedule", default="constant", choices=["constant", "step", "plateau"])
    p.add_argument("--lr-decay-start", type=int, default=5,
                   help="step schedule: first epoch (1-based) whose rate is multiplied by "
                        "--lr-decay, then every later one. Default: 5.")
    p.add_argument("--lr-decay", type=float, default=0.5, help="step schedule factor.")
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--patience", type=int, help="Early stopping patience (epochs).")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--max-minutes", type=float, default=55.0)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--batch-tokens", type=int,
                   help="Training batches of about this many tokens per side (see train).")
    p.add_argument("--learning-rate", type=float, default=2e-3)
    p.add_argument("--tf-data-autotune", action="store_true",
                   help="Train with tf.data's autotuning on, the pipeline as it was before "
                   "issue 21 (for the before/after comparison; off is faster here).")
    p.add_argument("--beam-size", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="Run directory. Default: runs/multi30k-<name>.")
    p.add_argument("--evaluate-only", metavar="RUN_DIR",
                   help="Train nothing: evaluate the model of an earlier run (its directory, "
                   "as recorded in the results) again and update that run's row.")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import keras_seq2seq
    from keras_seq2seq.data import read_parallel_files
    from keras_seq2seq.models import count_parameters

    rows, row = None, None
    if args.evaluate_only:
        rows, row = recorded_run(args.evaluate_only)
        args.pair = row["pair"]
    source, target = args.pair.split("-")
    data = pathlib.Path(args.data) / "multi30k"

    def files(split):
        paths = [data / f"{split}.{source}.gz", data / f"{split}.{target}.gz"]
        for path in paths:
            if not path.exists():
                sys.exit(f"Multi30k file not found: {path} (set --data or $KERAS_SEQ2SEQ_DATA)")
        return read_parallel_files(*map(str, paths))

    if row is not None:
        name = os.path.basename(os.path.normpath(args.evaluate_only))
        translator = keras_seq2seq.load(args.evaluate_only)
        row.update(evaluate_test(translator, list(files("test_2016_flickr")),
                                 args.evaluate_only, target, args.beam_size, name))
        RESULTS_JSONL.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        print(REPORT)
        return

    overrides = {"attention": args.attention, "reverse_source": args.reverse_source,
                 "tokenizer": args.tokenizer}
    for name in ("layers", "units", "dropout", "embedding_dropout", "embedding_dim"):
        value = getattr(args, name)
        if value is not None:
            overrides["num_layers" if name == "layers" else name] = value
    config = keras_seq2seq.get_architecture(args.architecture, **overrides)
    name = f"{args.pair}-{args.attention}-{'rev' if args.reverse_source else 'fwd'}"
    if args.tokenizer != "word":
        name += f"-{args.tokenizer}"
    out = args.out or f"runs/multi30k-{name}"
    command = shlex.join(["python", "benchmarks/multi30k.py", *(argv or sys.argv[1:])])

    if args.tf_data_autotune:
        # The old default, reproduced for the end-to-end comparison only:
        # `train` has no switch for it, so give its dataset step one.
        import functools

        from keras_seq2seq.training import trainer
        trainer.make_dataset = functools.partial(trainer.make_dataset, autotune=True)
    started = time.time()
    translator, history = keras_seq2seq.train(
        keras_seq2seq.TrainingConfig.create(out, config, epochs=args.epochs,
                                            batch_size=args.batch_size,
                                            batch_tokens=args.batch_tokens,
                                            learning_rate=args.learning_rate, seed=args.seed,
                                            source_language=source, target_language=target,
                                            max_minutes=args.max_minutes,
                                            lr_schedule=args.lr_schedule, patience=args.patience,
                                            lr_decay_start=args.lr_decay_start,
                                            lr_decay=args.lr_decay,
                                            label_smoothing=args.label_smoothing),
        train_pairs=files("train"), validation_pairs=files("val"), metadata={"command": command})
    training_minutes = (time.time() - started) / 60
    total, recurrent = count_parameters(translator.model)
    test = list(files("test_2016_flickr"))
    row = {
        "pair": args.pair, "attention": args.attention, "reverse_source": args.reverse_source,
        "architecture": args.architecture, "tokenizer": config.tokenizer,
        "layers": config.num_layers, "units": config.units,
        "dropout": config.dropout, "embedding_dropout": config.embedding_dropout,
        "lr_schedule": args.lr_schedule,
        **({"lr_decay_start": args.lr_decay_start, "lr_decay": args.lr_decay}
           if args.lr_schedule == "step" else {}),
        **({"label_smoothing": args.label_smoothing} if args.label_smoothing else {}),
        "parameters": total, "training_minutes": round(training_minutes, 1),
        "epochs_run": len(history.history["loss"]),
        "best_val_loss": round(min(history.history["val_loss"]), 4),
        "command": command, "model": out,
    }
    row.update(evaluate_test(translator, test, out, target, args.beam_size, name))
    RESULTS_JSONL.parent.mkdir(exist_ok=True)
    with open(RESULTS_JSONL, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
    print(REPORT)


def read_rows():
    return [json.loads(line) for line in RESULTS_JSONL.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def recorded_run(run_dir):
    """(all rows, the one row whose model is `run_dir`); exits if there is not exactly one."""
    rows = read_rows()
    matches = [r for r in rows if os.path.normpath(r["model"]) == os.path.normpath(run_dir)]
    if len(matches) != 1:
        sys.exit(f"{len(matches)} rows of {RESULTS_JSONL} record the model {run_dir}; need one.")
    return rows, matches[0]


def evaluate_test(translator, test, out, target, beam_size, name):
    """Greedy and beam BLEU/chrF on the test pairs, as the paper decodes
    (`<unk>` allowed) and with `<unk>` never written (`unk_penalty=inf`);
    hypotheses go to files in `out`."""
    from keras_seq2seq.evaluation import evaluate

    row = {}
    for unk_penalty in (0.0, float("inf")):
        for beam in (1, beam_size):
            report, hypotheses = evaluate(
                translator, test, beam_size=beam, batch_size=100,
                with_perplexity=beam == 1 and not unk_penalty, unk_penalty=unk_penalty,
            )
            key = ("greedy" if beam == 1 else f"beam{beam}") + ("_nounk" if unk_penalty else "")
            row[f"{key}_bleu"] = report["bleu"]
            row[f"{key}_chrf"] = report["chrf"]
            row[f"{key}_unknown_words"] = report["unknown_words"]
            row["bleu_signature"] = report["bleu_signature"]
            if "perplexity" in report:
                row["perplexity"] = report["perplexity"]
            with open(os.path.join(out, f"test_2016_flickr.{key}.{target}"), "w",
                      encoding="utf-8") as f:
                f.writelines(h + "\n" for h in hypotheses)
            print(f"{name} {key}: BLEU {report['bleu']} chrF {report['chrf']} "
                  f"<unk> {report['unknown_words']}", flush=True)
    return row


if __name__ == "__main__":
    main()
