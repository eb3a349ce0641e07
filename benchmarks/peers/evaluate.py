"""Score every clock checkpoint of race runs: sacreBLEU BLEU and chrF.

    python benchmarks/peers/evaluate.py /work/peers-runs/* [--data /work/peers-data]
        [--out benchmarks/results/peers.jsonl] [--searches greedy,beam5]

Runs in the project's venv, after the race (outside its 60 minutes), one
run at a time. For each run directory it reads RUN/clock.json (written by
the training commands) and translates the two validation sets that
prepare_data.py wrote (DATA/eval/tatoeba_valid: the 16,357 Tatoeba pairs
held out by source, seed 0; DATA/eval/multi30k_val: 1,014 pairs) with each
checkpoint, greedy and beam 5, then scores the detokenized output against
the same references with the same sacreBLEU (BLEU 13a, chrF defaults; the
signatures are in every row). Each system translates with its own tool:

- ours (system "ours"): `keras_seq2seq.load(RUN)` (the model directory
  `train` saved), the clock checkpoint's weights loaded into it,
  `translate(..., beam_size=1|5, protect_names=False)` (the model alone,
  as the peers have no name placeholders; --protect-names for ours' default),
  batches of 64;
- OpenNMT-py ("onmt-lstm", "onmt-transformer"): `onmt_translate` of the
  OpenNMT-py venv (-beam_size 1|5, -batch_size 64, CPU) on the
  SentencePiece-encoded sources, decoded with the same SentencePiece model;
- keras-hub ("kerashub"): kerashub_transformer.Translator (GreedySampler or
  BeamSampler(5)), batches of 64, French punctuation restored.

Appends one JSON line per (checkpoint, set, search) to --out, with the
translation wall time (whole set, model loading excluded for in-process
systems, included for onmt_translate) and writes the hypotheses to
RUN/eval/. --max-sentences N scores only the first N of each set (smoke).
"""

import argparse
import datetime
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import clock  # noqa: E402

SETS = ("tatoeba_valid", "multi30k_val")
SEARCHES = {"greedy": 1, "beam5": 5}


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


def score(hypotheses, references):
    from sacrebleu.metrics import BLEU, CHRF

    bleu, chrf = BLEU(), CHRF()
    b = bleu.corpus_score(hypotheses, [references])
    c = chrf.corpus_score(hypotheses, [references])
    return {"bleu": round(b.score, 2), "chrf": round(c.score, 2),
            "bleu_signature": str(bleu.get_signature()),
            "chrf_signature": str(chrf.get_signature())}


class Ours:
    def __init__(self, run, args):
        from keras_seq2seq import load

        self.translator = load(run)
        self.protect = args.protect_names

    def load(self, checkpoint):
        self.translator.model.load_weights(checkpoint)

    def translate(self, name, sources, beam):
        return self.translator.translate(sources, batch_size=64, beam_size=beam,
                                         protect_names=self.protect)


class OpenNMT:
    def __init__(self, run, args):
        import sentencepiece as spm

        self.env, self.data, self.max = args.onmt_env, args.data, args.max_sentences
        self.sp = spm.SentencePieceProcessor(
            model_file=os.path.join(args.data, "spm8k", "spm.model"))

    def load(self, checkpoint):
        self.checkpoint = checkpoint

    def translate(self, name, sources, beam):
        src = os.path.join(self.data, "spm8k", "eval", f"{name}.en.sp")
        with tempfile.TemporaryDirectory() as tmp:
            if self.max:
                lines = read(src)[:self.max]
                src = os.path.join(tmp, "src.sp")
                with open(src, "w", encoding="utf-8") as f:
                    f.write("\n".join(lines) + "\n")
            out = os.path.join(tmp, "out.sp")
            subprocess.run(
                [os.path.join(self.env, "bin", "onmt_translate"), "-model", self.checkpoint,
                 "-src", src, "-output", out, "-beam_size", str(beam), "-batch_size", "64",
                 "-gpu", "-1"],
                check=True, env={**os.environ, "OMP_NUM_THREADS": os.environ.get(
                    "OMP_NUM_THREADS", "2")}, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE)
            return [self.sp.decode(line.split()) for line in read(out)]


class KerasHub:
    def __init__(self, run, args):
        self.run = run

    def load(self, checkpoint):
        from kerashub_transformer import Translator

        self.translator = Translator(self.run, checkpoint)

    def translate(self, name, sources, beam):
        return self.translator.translate(sources, beam=beam)


def system_class(system):
    if system == "ours":
        return Ours
    if system.startswith("onmt"):
        return OpenNMT
    if system == "kerashub":
        return KerasHub
    raise SystemExit(f"unknown system {system!r} in clock.json")


def evaluate_run(run, args, write):
    info = clock.read_clock(run)
    checkpoints = info.get("checkpoints", [])
    if not checkpoints:
        print(f"{run}: no clock checkpoints; skipped", file=sys.stderr)
        return
    system = info["system"]
    translator = system_class(system)(run, args)
    sets = {name: (read(os.path.join(args.data, "eval", f"{name}.en")),
                   read(os.path.join(args.data, "eval", f"{name}.fr"))) for name in args.sets}
    if args.max_sentences:
        sets = {k: (s[:args.max_sentences], r[:args.max_sentences]) for k, (s, r) in sets.items()}
    os.makedirs(os.path.join(run, "eval"), exist_ok=True)
    for entry in checkpoints:
        translator.load(entry["path"])
        for name, (sources, references) in sets.items():
            for search in args.searches:
                started = time.time()
                hypotheses = translator.translate(name, sources, SEARCHES[search])
                seconds = time.time() - started
                tag = clock.minute_tag(entry["minute"])
                with open(os.path.join(run, "eval", f"{tag}.{name}.{search}.txt"), "w",
                          encoding="utf-8") as f:
                    f.write("\n".join(hypotheses) + "\n")
                row = {"system": args.label or system, "run": os.path.abspath(run),
                       "minute": entry["minute"], "elapsed_s": entry["elapsed_s"],
                       "step": entry["step"], "set": name, "search": search,
                       "sentences": len(sources), **score(hypotheses, references),
                       "translate_seconds": round(seconds, 1),
                       "checkpoint": entry["path"],
                       "evaluated": datetime.date.today().isoformat()}
                write(row)
                print(f"{system} {entry['minute']:g} min {name} {search}: BLEU {row['bleu']} "
                      f"chrF {row['chrf']} ({seconds:.0f}s)", flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+")
    p.add_argument("--data", default="/work/peers-data")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "peers.jsonl"))
    p.add_argument("--onmt-env", default="/work/peers-env/onmt")
    p.add_argument("--searches", default="greedy,beam5")
    p.add_argument("--sets", default=",".join(SETS))
    p.add_argument("--max-sentences", type=int)
    p.add_argument("--label", help="Name the rows' system (e.g. ours-seed1); default clock.json's.")
    p.add_argument("--protect-names", action="store_true",
                   help="Ours only: translate with name placeholders (its default).")
    args = p.parse_args(argv)
    args.searches = [s for s in args.searches.split(",") if s]
    args.sets = [s for s in args.sets.split(",") if s]
    for s in args.searches:
        if s not in SEARCHES:
            p.error(f"search {s!r}: one of {sorted(SEARCHES)}")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)

    def write(row):
        with open(args.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")

    for run in args.runs:
        evaluate_run(run, args, write)


if __name__ == "__main__":
    main()
