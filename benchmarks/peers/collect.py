"""The race's per-run facts -> benchmarks/results/peers_runs.jsonl.

    python benchmarks/peers/collect.py /work/peers-runs/ours-copy-s0 [RUN ...] [--label NAME]

One JSON line per run (appended; a run already in the file is replaced):
system, steps and epochs at each clock checkpoint, training throughput
(steps/s and sentences/s over the 60 minutes; the systems' batches are in
sentences: 128 for ours and OpenNMT-py's LSTM, 64 for keras-hub; OpenNMT-py's
Transformer batches by tokens, so its sentences per step are the mean of
the `sents:` counts of its train.log reports),
parameters, the 60-minute checkpoint's size on disk (OpenNMT-py's `.pt`
holds the optimizer state too; ours and keras-hub's `.weights.h5` only the
weights), peak memory (`/usr/bin/time -v`'s maximum resident set size,
children included), setup seconds before the clock started, and versions.
Stdlib only; reads what the training commands wrote, nothing else.
"""

import argparse
import json
import os
import pathlib
import re
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import clock  # noqa: E402

TRAIN_PAIRS = 174_921  # prepare_data.py's count, checked there


def _json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def peak_rss_mb(run):
    try:
        text = pathlib.Path(run, "time.txt").read_text(encoding="utf-8")
    except OSError:
        return None
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    return round(int(m.group(1)) / 1024) if m else None


def ours(run):
    record = _json(os.path.join(run, "config.json"))
    metadata = record.get("metadata", {})
    import importlib.metadata as md

    versions = {}
    for package in ("keras", "tensorflow", "keras-seq2seq"):
        try:
            versions[package] = md.version(package)
        except md.PackageNotFoundError:
            pass
    return {"parameters": metadata.get("parameters"), "batch_sentences": 128,
            "epochs_run": metadata.get("epochs_run"), "versions": versions}


def onmt(run):
    setup = _json(os.path.join(run, "setup.json"))
    parameters, log = None, ""
    try:
        log = pathlib.Path(run, "train.log").read_text(encoding="utf-8", errors="replace")
        m = re.search(r"\* number of parameters: (\d+)", log)
        parameters = int(m.group(1)) if m else None
    except OSError:
        pass
    config = pathlib.Path(run, "config.yaml")
    batch = None
    if config.exists():
        text = config.read_text(encoding="utf-8")
        kind = re.search(r"^batch_type:\s*(\w+)", text, re.M)
        size = re.search(r"^batch_size:\s*(\d+)", text, re.M)
        if size and (not kind or kind.group(1) == "sents"):
            batch = int(size.group(1))
    if batch is None and log:
        # Batches by tokens: the reports count the sentences since the last one.
        reports = [(int(step), int(sents)) for step, sents in
                   re.findall(r"Step (\d+)/\d+;.*?sents:\s*(\d+);", log)]
        if reports:
            batch = round(sum(sents for _, sents in reports) / reports[-1][0], 1)
    return {"parameters": parameters, "batch_sentences": batch, **_setup_record(setup)}


def _setup_record(setup):
    """The timings and versions a peer's setup.json records."""
    return {"setup_seconds": {k: v for k, v in setup.items() if k.endswith("_seconds")},
            "versions": setup.get("versions", {})}


def kerashub(run):
    setup = _json(os.path.join(run, "setup.json"))
    return {"parameters": setup.get("parameters"), "batch_sentences": 64,
            **_setup_record(setup)}


def collect(run, label=None):
    info = clock.read_clock(run)
    system = info.get("system", "?")
    details = (ours if system == "ours" else onmt if system.startswith("onmt")
               else kerashub)(run)
    checkpoints = info.get("checkpoints", [])
    last = checkpoints[-1] if checkpoints else None
    row = {"system": label or system, "run": os.path.abspath(run),
           "checkpoints": [{"minute": c["minute"], "elapsed_s": c["elapsed_s"],
                            "step": c["step"]} for c in checkpoints],
           "peak_rss_mb": peak_rss_mb(run), **details}
    if "process_started_unix" in info and "started_unix" in info:
        row.setdefault("setup_seconds", {})["before_training_loop"] = round(
            info["started_unix"] - info["process_started_unix"], 1)
    if last:
        row["steps_per_s"] = round(last["step"] / last["elapsed_s"], 3)
        if details.get("batch_sentences"):
            sentences = last["step"] * details["batch_sentences"]
            row["sentences_per_s"] = round(sentences / last["elapsed_s"], 1)
            row["epochs"] = round(sentences / TRAIN_PAIRS, 2)
        if os.path.exists(last["path"]):
            row["checkpoint_mb"] = round(os.path.getsize(last["path"]) / 1e6, 1)
    if "command" in info:
        row["command"] = info["command"]
    return row


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+")
    p.add_argument("--label", help="The system's name in the tables (default: clock.json's).")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "peers_runs.jsonl"))
    args = p.parse_args(argv)
    rows = []
    if os.path.exists(args.out):
        with open(args.out, encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
    for run in args.runs:
        new = collect(run, args.label)
        rows = [r for r in rows if r["run"] != new["run"]] + [new]
        print(json.dumps(new))
    with open(args.out, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


if __name__ == "__main__":
    main()
