"""Training throughput of the race's systems, measured in one window.

Not a test. The race's hour-long runs were made on different days and
machines, so their steps/s are not a throughput comparison. This collects
short runs made one after the other on an otherwise idle machine, each
system's own race command with checkpoints after fixed optimizer steps
(`STEPS=200,600`), and reads from each run's `clock.json` the steps/s
between the two checkpoints (the first 200 steps, start-up and warm-up,
left out). Both systems train batches of 128 sentences.

    R=/work/peers-runs/tput
    STEPS=200,600 benchmarks/peers/ours.sh copy 0 $R/ours-a
    STEPS=200,600 benchmarks/peers/onmt/run.sh lstm $R/onmt
    STEPS=200,600 benchmarks/peers/ours.sh copy 0 $R/ours-b
    python benchmarks/peers/throughput.py ours-a=$R/ours-a onmt=$R/onmt ours-b=$R/ours-b

A run of older code: check it out (`git worktree add /work/old REV`) and
run its ours.sh with `PYTHONPATH=/work/old`; label it `NAME@REV=DIR`.

Writes benchmarks/results/peers_throughput.json (`python
benchmarks/report.py` renders RESULTS.md); the ratios are to the mean
steps/s of the OpenNMT-py runs.
"""

import argparse
import json
import pathlib
import shlex
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE.parent / "results" / "peers_throughput.json"
BATCH = 128  # sentences per step, both systems (ours.sh, onmt/lstm.yaml)


def window(run_dir):
    """(first step, last step, seconds between them) from a run's clock.json."""
    clock = json.loads((pathlib.Path(run_dir) / "clock.json").read_text(encoding="utf-8"))
    points = clock.get("checkpoints", [])
    if len(points) < 2:
        raise SystemExit(f"{run_dir}/clock.json has {len(points)} checkpoint(s); the run needs "
                         "two (STEPS=200,600), and must have finished")
    first, last = points[0], points[-1]
    return int(first["step"]), int(last["step"]), float(last["elapsed_s"] - first["elapsed_s"])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", metavar="LABEL=DIR",
                   help="Runs in the order they were made; a label starting with 'onmt' is "
                   "OpenNMT-py's, and 'NAME@REV' marks older code of ours.")
    p.add_argument("--date", default=time.strftime("%Y-%m-%d %H:%M"),
                   help="When the runs were made.")
    p.add_argument("--note", default="", help="A sentence on the conditions.")
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args(argv)
    rows = []
    for item in args.runs:
        label, _, run_dir = item.partition("=")
        if not run_dir:
            raise SystemExit(f"{item!r}: expected LABEL=DIR")
        start, end, seconds = window(run_dir)
        steps_per_s = (end - start) / seconds
        rows.append({"label": label, "system": "OpenNMT-py LSTM" if label.startswith("onmt")
                     else "ours", "steps": [start, end], "seconds": round(seconds, 1),
                     "steps_per_s": round(steps_per_s, 3),
                     "sentences_per_s": round(steps_per_s * BATCH, 1)})
    peers = [r["steps_per_s"] for r in rows if r["system"] != "ours"]
    for r in rows:
        if peers:  # to OpenNMT-py's mean over the window's runs
            r["ratio_to_onmt"] = round(r["steps_per_s"] * len(peers) / sum(peers), 3)
    result = {"command": "python benchmarks/peers/throughput.py " + shlex.join(
                  sys.argv[1:] if argv is None else argv),
              "date": args.date, "note": args.note, "batch_sentences": BATCH, "rows": rows}
    pathlib.Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
