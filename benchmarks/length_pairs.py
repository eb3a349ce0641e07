"""BLEU by source length for the paper's two comparisons, on the same data.

Trains four models with the same data, recipe and budget, which differ only
in source reversal and attention: (no attention, reversed), (no attention,
as is), (attention, reversed), (attention, as is); and a fifth, (attention,
reversed) with `--concatenate-pairs 0.5` (Kondo et al. 2021: half the pairs
also come joined to the pair before them, so it sees 1.5x the examples per
epoch), the literature's remedy for long sentences; then evaluates each with
`benchmarks/real_text.py` (BLEU by source length, <= 9 / 10-14 / 15-24 /
25+ words, on the Tatoeba validation split and Multi30k val and test), whose
rows, plot and tables take them in with the other models.

Not a test: each training runs `--epochs` (default 6: about 30 minutes on
one core) on the CPU, an epoch budget so that load on the machine changes
the minutes but not what the models saw; `--max-minutes` (default 90) is a
safety stop.
The same command resumes (each training keeps a backup) and skips models
already trained and evaluated.

    python benchmarks/length_pairs.py --runs /work/runs/length-pairs
    python benchmarks/length_pairs.py --runs DIR --only luong-reversed --max-minutes 45
    python benchmarks/length_pairs.py --runs DIR --parallel 2   # a pair at once, a core each

Data: `--data DIR` or $KERAS_SEQ2SEQ_DATA, default ../shared/data.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results" / "real_text.jsonl"

MODELS = {  # name: (attention, reverse the source, extra training flags)
    "none-reversed": ("none", True, []),
    "none-as-is": ("none", False, []),
    "luong-reversed": ("luong", True, []),
    "luong-as-is": ("luong", False, []),
    "luong-reversed-concat": ("luong", True, ["--concatenate-pairs", "0.5"]),
}


def train_command(args, name):
    attention, reverse, extra = MODELS[name]
    data = pathlib.Path(args.data) / "multi30k"
    return [
        sys.executable, "-m", "keras_seq2seq.cli", "train",
        "--source", str(data / "train.en.gz"), "--target", str(data / "train.fr.gz"),
        "--validation-source", str(data / "val.en.gz"),
        "--validation-target", str(data / "val.fr.gz"),
        "--architecture", "cpu", "--attention", attention,
        "--reverse-source" if reverse else "--no-reverse-source",
        "--epochs", str(args.epochs), "--max-minutes", str(args.max_minutes),
        "--batch-size", "128", "--learning-rate", "2e-3", "--seed", str(args.seed),
        "--out", os.path.join(args.runs, name), *extra,
    ]


def label(name):
    attention, reverse, extra = MODELS[name]
    return (f"length pairs: {'attention' if attention != 'none' else 'no attention'}, "
            f"source {'reversed' if reverse else 'as is'}"
            f"{', concatenated pairs 0.5' if extra else ''} (Multi30k en-fr words)")


def evaluated(name):
    if not RESULTS.exists():
        return False
    return any(json.loads(line)["label"] == label(name)
               for line in RESULTS.read_text(encoding="utf-8").splitlines())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", required=True, help="Where the run directories go "
                        "(outside the repository).")
    parser.add_argument("--data", default=os.environ.get(
        "KERAS_SEQ2SEQ_DATA", str(REPO.parent / "shared" / "data")))
    parser.add_argument("--only", choices=sorted(MODELS), action="append")
    parser.add_argument("--max-minutes", type=float, default=90.0)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--parallel", type=int, choices=[1, 2], default=1,
                        help="2: train two models at once, each pinned to one core "
                        "(taskset), so the two of a pair get the same machine.")
    args = parser.parse_args()
    names = [n for n in (args.only or MODELS) if not evaluated(n)]
    todo = [n for n in names if not os.path.exists(os.path.join(args.runs, n, "config.json"))]
    for i in range(0, len(todo), args.parallel):
        batch = todo[i : i + args.parallel]
        processes = []
        for core, name in enumerate(batch):
            command = train_command(args, name)
            if args.parallel > 1:
                command = ["taskset", "-c", str(core), *command]
            print("training", name, flush=True)
            os.makedirs(args.runs, exist_ok=True)
            log = open(os.path.join(args.runs, f"{name}.log"), "a")
            processes.append((name, subprocess.Popen(command, stdout=log, stderr=log), log))
        for name, process, log in processes:
            if process.wait() != 0:
                sys.exit(f"training {name} failed: see {log.name}")
            log.close()
    for name in names:
        print("evaluating", name, flush=True)
        subprocess.run([sys.executable, str(HERE / "real_text.py"), "--model",
                        os.path.join(args.runs, name), "--label", label(name),
                        "--beam-sizes", "1", "--no-paragraphs"], check=True)


if __name__ == "__main__":
    main()
