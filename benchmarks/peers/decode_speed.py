"""Decoding speed against the peers (issue 34, item 3), on an idle machine.

    python benchmarks/peers/decode_speed.py --model saved_models/en-fr \
        [--onmt-lstm /work/peers-runs/onmt-lstm] \
        [--onmt-transformer /work/peers-runs/onmt-transformer] \
        [--count 1000] [--data /work/peers-data]

The same sentences (the first `--count` of Multi30k val, prepared by
prepare_data.py as DATA/eval/multi30k_val.en), two threads for every
system, one configuration at a time, in this order:

- ours, Keras: `load(MODEL).translate(..., batch_size=B, beam_size=K)` with
  the model's stored settings otherwise (names protected, sentences split),
  and for beam 5 again with `beam_stop="best"` (OpenNMT-py's rule: a
  sentence is done when its best hypothesis is finished);
- ours, SavedModel: `serving_default` of an export made for each beam size
  (the signature decodes with the settings it was exported with), called on
  batches of B strings;
- ours, int8 TFLite: `TFLiteTranslator` on MODEL/tflite; its `encode` takes
  one sentence, so batch 32 is the same per-sentence loop and is not run;
- OpenNMT-py `onmt_translate` for its LSTM (its own venv), `-batch_size B
  -beam_size K` on the SentencePiece-encoded file, timed as a whole command;
  its start-up (a one-sentence run) is subtracted for sentences/s;
- CTranslate2 (int8, its own venv) for OpenNMT-py's Transformer, converted
  with `ct2-opennmt-py-converter` (CTranslate2 converts OpenNMT-py
  Transformers, not LSTMs), `translate_batch(max_batch_size=B, beam_size=K)`.

Then the whole commands a user types, start-up included: `keras-seq2seq
translate --model MODEL --input FILE` (its default settings, beam 5) and
`onmt_translate -beam_size 5 -batch_size 64`, on the SentencePiece-encoded
file as in shared/PEERS.md (encoding and decoding not timed), and on the
same text file as ours with its `sentencepiece` transform (text in, text
out, as ours). Sentences/s exclude loading (except in that last table);
every row also has its ratio to ours (Keras) in the same configuration,
measured in this run. Writes benchmarks/results/decode_speed.json.
"""

import argparse
import json
import os
import pathlib
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CONFIGS = [(1, 1), (1, 5), (32, 1), (32, 5)]  # (batch, beam)
TEXT_IN_OUT = "onmt_translate, text in and out (beam 5, batch 64)"


def threads_env():
    return {**os.environ, "OMP_NUM_THREADS": "2", "TF_NUM_INTRAOP_THREADS": "2",
            "TF_NUM_INTEROP_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}


def read_lines(path, count):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f][:count]


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def row(system, batch, beam, sentences, seconds, **extra):
    return {"system": system, "batch": batch, "beam": beam, "sentences": sentences,
            "seconds": round(seconds, 2), "sentences_per_s": round(sentences / seconds, 2),
            **extra}


# Ours.

def ours_keras(model, sentences, configs):
    from keras_seq2seq import load

    translator = load(model)
    rows = []
    for batch, beam in configs:
        translator.translate(sentences[:batch], batch_size=batch, beam_size=beam)  # trace
        _, seconds = timed(translator.translate, sentences, batch_size=batch,
                           beam_size=beam)
        rows.append(row("ours (Keras)", batch, beam, len(sentences), seconds))
        print(rows[-1], flush=True)
    # The same with OpenNMT-py's rule for when a sentence is done (not the default).
    for batch, beam in [c for c in configs if c[1] > 1]:
        translator.translate(sentences[:batch], batch_size=batch, beam_size=beam,
                             beam_stop="best")
        _, seconds = timed(translator.translate, sentences, batch_size=batch, beam_size=beam,
                           beam_stop="best")
        rows.append(row("ours (Keras), beam_stop best", batch, beam, len(sentences), seconds))
        print(rows[-1], flush=True)
    return rows


def ours_saved_model(model, sentences, configs, tmp):
    import tensorflow as tf

    from keras_seq2seq.cli import main

    rows = []
    for beam in sorted({b for _, b in configs}):
        base = os.path.join(tmp, f"serving-beam{beam}")
        assert main(["export", "--model", model, "--format", "saved_model", "--out", base,
                     "--name", "m", "--beam-size", str(beam)]) == 0
        serve = tf.saved_model.load(os.path.join(base, "m", "1")).signatures["serving_default"]
        for batch in sorted({b for b, k in configs if k == beam}):
            serve(tf.constant(sentences[:batch]))  # warm-up
            _, seconds = timed(_in_batches, serve, sentences, batch)
            rows.append(row("ours (SavedModel)", batch, beam, len(sentences), seconds))
            print(rows[-1], flush=True)
    return rows


def _in_batches(serve, sentences, batch):
    import tensorflow as tf

    for i in range(0, len(sentences), batch):
        serve(tf.constant(sentences[i:i + batch]))


def ours_tflite(model, sentences, configs):
    from keras_seq2seq.export.runner import TFLiteTranslator

    runner = TFLiteTranslator(os.path.join(model, "tflite"), num_threads=2)
    rows = []
    for beam in sorted({k for b, k in configs if b == 1}):
        runner.translate(sentences[:1], beam_size=beam)
        _, seconds = timed(runner.translate, sentences, beam_size=beam)
        rows.append(row("ours (int8 TFLite)", 1, beam, len(sentences), seconds))
        print(rows[-1], flush=True)
    return rows


# The peers, each in its own venv.

def run_timed(command):
    start = time.perf_counter()
    subprocess.run(command, check=True, env=threads_env(), stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def onmt_command(env, checkpoint, src, out, batch, beam):
    return [os.path.join(env, "bin", "onmt_translate"), "-model", checkpoint, "-src", src,
            "-output", out, "-beam_size", str(beam), "-batch_size", str(batch), "-gpu", "-1"]


def onmt_translate(env, checkpoint, src, out, batch, beam):
    return run_timed(onmt_command(env, checkpoint, src, out, batch, beam))


def first_line(path, out):
    """A file holding `path`'s first line (a one-sentence run: start-up)."""
    with open(path, encoding="utf-8") as f, open(out, "w", encoding="utf-8") as g:
        g.write(f.readline())
    return out


def onmt_lstm(env, checkpoint, src_sp, count, configs, tmp, startup_runs=3):
    """`onmt_translate` on the sentences for each configuration, less its
    start-up: the median of `startup_runs` one-sentence runs (a single run
    once took 10 s where the others took 2-3, and the batched rows, a few
    seconds over the start-up, came out absurd)."""
    one = first_line(src_sp, os.path.join(tmp, "one.sp"))
    out = os.path.join(tmp, "onmt.out")
    startups = [onmt_translate(env, checkpoint, one, out, 1, 1) for _ in range(startup_runs)]
    startup = statistics.median(startups)
    rows = []
    for batch, beam in configs:
        total = onmt_translate(env, checkpoint, src_sp, out, batch, beam)
        if total <= startup:
            raise RuntimeError(f"onmt_translate took {total:.2f} s for {count} sentences, no "
                               f"more than its start-up ({startups}): the host is too noisy "
                               "for this measurement; run it again")
        rows.append(row("OpenNMT-py LSTM (onmt_translate)", batch, beam, count, total - startup,
                        whole_command_s=round(total, 2), startup_s=round(startup, 2),
                        startup_runs=[round(t, 2) for t in startups]))
        print(rows[-1], flush=True)
    return rows


CT2_SCRIPT = r"""
import json, sys, time
import ctranslate2
model, src, batch, beam = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
tokens = [line.split() for line in open(src, encoding="utf-8")]
t = ctranslate2.Translator(model, device="cpu", inter_threads=1, intra_threads=2,
                           compute_type="int8")
t.translate_batch(tokens[:batch], max_batch_size=batch, beam_size=beam)
start = time.perf_counter()
t.translate_batch(tokens, max_batch_size=batch, beam_size=beam)
print(json.dumps({"seconds": time.perf_counter() - start,
                  "version": ctranslate2.__version__}))
"""


# OpenNMT-py 3.5's Transformer records `self_attn_type: scaled-dot-flash`
# (its default: the same attention, computed by PyTorch's fused kernel),
# which CTranslate2 4.8's converter refuses ("supported values are:
# scaled-dot"). The copy it converts says scaled-dot; the weights are the same.
CT2_PREPARE = r"""
import sys
import torch
checkpoint = torch.load(sys.argv[1], map_location="cpu", weights_only=False)
if getattr(checkpoint["opt"], "self_attn_type", "scaled-dot") == "scaled-dot-flash":
    checkpoint["opt"].self_attn_type = "scaled-dot"
torch.save(checkpoint, sys.argv[2])
"""


def ct2_transformer(env, checkpoint, src_sp, count, configs, tmp):
    prepared = os.path.join(tmp, "transformer.pt")
    subprocess.run([os.path.join(env, "bin", "python"), "-c", CT2_PREPARE, checkpoint, prepared],
                   check=True, env=threads_env())
    checkpoint = prepared
    converted = os.path.join(tmp, "ct2")
    # --unsafe_deserialization: an OpenNMT-py 3.5 checkpoint pickles its
    # options (an argparse.Namespace), which CTranslate2 4.8's converter
    # refuses to unpickle otherwise; the checkpoint is our own race run's.
    subprocess.run([os.path.join(env, "bin", "ct2-opennmt-py-converter"), "--model_path",
                    checkpoint, "--output_dir", converted, "--quantization", "int8",
                    "--unsafe_deserialization"],
                   check=True, env=threads_env(), stdout=subprocess.DEVNULL)
    rows = []
    for batch, beam in configs:
        result = subprocess.run([os.path.join(env, "bin", "python"), "-c", CT2_SCRIPT, converted,
                                 src_sp, str(batch), str(beam)], check=True, env=threads_env(),
                                capture_output=True, text=True)
        measured = json.loads(result.stdout.strip().splitlines()[-1])
        rows.append(row("OpenNMT-py Transformer (CTranslate2 int8)", batch, beam, count,
                        measured["seconds"], ctranslate2=measured["version"]))
        print(rows[-1], flush=True)
    return rows


def whole_commands(model, src, src_sp, onmt_env, onmt_checkpoint, tmp, count, pythons,
                   repeats, spm_model=None):
    """The commands a user types, start-up included, beam 5: each `repeats`
    times, alternating systems (the median is the figure), with the start-up
    alone (one sentence) beside it. `pythons`: (label, interpreter) pairs to
    run ours with, e.g. this venv and one with the package alone (`pip
    install .`, what the README's first command installs). OpenNMT-py twice:
    on the SentencePiece-encoded file (its pieces out), and, given
    `spm_model`, on the same text file as ours with its `sentencepiece`
    transform (text in, text out, as ours: the command a user types)."""
    one = first_line(src, os.path.join(tmp, "one.en"))
    one_sp = first_line(src_sp, os.path.join(tmp, "one.sp")) if src_sp else None
    systems, interpreters = {}, {}
    for label, python in pythons:
        name = f"keras-seq2seq translate (default settings, beam 5; {label})"
        interpreters[name] = python
        systems[name] = (
            "keras-seq2seq translate --model " + os.path.relpath(model, ROOT) + " --input FILE",
            [python, "-m", "keras_seq2seq.cli", "translate", "--model", model, "--input", src],
            [python, "-m", "keras_seq2seq.cli", "translate", "--model", model, "--input", one])
    if onmt_checkpoint:
        out_path = os.path.join(tmp, "w.out")
        systems["onmt_translate (beam 5, batch 64)"] = (
            "onmt_translate -model CKPT -src FILE.sp -beam_size 5 -batch_size 64",
            onmt_command(onmt_env, onmt_checkpoint, src_sp, out_path, 64, 5),
            onmt_command(onmt_env, onmt_checkpoint, one_sp, out_path, 64, 5))
    if onmt_checkpoint and spm_model:
        transform = ["-transforms", "sentencepiece", "-src_subword_model", spm_model,
                     "-tgt_subword_model", spm_model]
        systems[TEXT_IN_OUT] = (
            "onmt_translate -model CKPT -src FILE -beam_size 5 -batch_size 64 -transforms "
            "sentencepiece -src_subword_model SPM -tgt_subword_model SPM",
            onmt_command(onmt_env, onmt_checkpoint, src, out_path, 64, 5) + transform,
            onmt_command(onmt_env, onmt_checkpoint, one, out_path, 64, 5) + transform)
    times = {name: {"seconds": [], "startup": []} for name in systems}
    for _ in range(repeats):
        for name, (_, command, startup) in systems.items():
            times[name]["seconds"].append(round(run_timed(command), 2))
            times[name]["startup"].append(round(run_timed(startup), 2))
            print(name, times[name], flush=True)
    out = {}
    # Ours (the last interpreter given: the package-only venv when there is
    # one) over each other system, round by round: each round runs every
    # system once, one after the other, so a slower spell of the host
    # weighs on both sides of a round's ratio.
    ours = list(interpreters)[-1] if interpreters else None
    for name, (shown, _, _) in systems.items():
        seconds, startup = times[name]["seconds"], times[name]["startup"]
        out[name] = {"command": shown, "seconds": statistics.median(seconds),
                     "startup_s": statistics.median(startup), "runs": seconds,
                     "startup_runs": startup, "sentences": count}
        if ours and name not in interpreters:
            ratios = [round(a / b, 3) for a, b in zip(times[ours]["seconds"], seconds)]
            out[name]["ours_over_this"] = {"ours": ours, "per_round": ratios,
                                           "median": round(statistics.median(ratios), 3)}
        if name in interpreters:
            out[name]["python"] = interpreters[name]
        elif name == TEXT_IN_OUT:
            out[name]["note"] = "the same text file as ours; SentencePiece inside the command"
        else:
            out[name]["note"] = "SentencePiece encoding and decoding not included"
    return out


def last_checkpoint(path):
    """A race run directory -> its last clock checkpoint; a file stays as it is."""
    if not path or not os.path.isdir(path):
        return path
    sys.path.insert(0, str(HERE))
    import clock

    checkpoints = clock.read_clock(path).get("checkpoints", [])
    if not checkpoints:
        sys.exit(f"{path}: no clock checkpoints")
    return checkpoints[-1]["path"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(ROOT / "saved_models" / "en-fr"))
    p.add_argument("--data", default="/work/peers-data")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--onmt-env", default="/work/peers-env/onmt")
    p.add_argument("--onmt-lstm", help="The OpenNMT-py LSTM's race run (its last clock "
                   "checkpoint is used) or a checkpoint (.pt).")
    p.add_argument("--onmt-transformer", help="The OpenNMT-py Transformer's race run or a "
                   "checkpoint (.pt), run through CTranslate2.")
    p.add_argument("--whole-python", action="append", default=[], metavar="LABEL=PYTHON",
                   help="Also time the whole `translate` command with this interpreter (e.g. "
                   "'package only=/work/venv-user/bin/python', a venv with `pip install .` "
                   "alone); may repeat. This interpreter ('this venv') always runs.")
    p.add_argument("--whole-repeats", type=int, default=3,
                   help="Runs of each whole command, alternating systems; the median counts.")
    p.add_argument("--only-whole", action="store_true",
                   help="Time the whole commands only, and replace just them in --out (its "
                   "other rows stay as they were measured).")
    p.add_argument("--skip", default="",
                   help="Comma-separated: keras,saved_model,tflite,onmt,whole,this_venv (the "
                   "whole command with this interpreter).")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "decode_speed.json"))
    args = p.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    if args.only_whole and not os.path.exists(args.out):
        p.error(f"--only-whole replaces the whole commands in an earlier result: {args.out} "
                "does not exist (copy benchmarks/results/decode_speed.json there first)")
    for given in args.whole_python:
        if "=" not in given or not all(given.split("=", 1)):
            p.error(f"--whole-python takes LABEL=PYTHON, got {given!r}")
    if args.only_whole:
        skip |= {"keras", "saved_model", "tflite", "onmt"}
    args.onmt_lstm, args.onmt_transformer = map(last_checkpoint,
                                                (args.onmt_lstm, args.onmt_transformer))
    os.environ.update(threads_env())

    src = os.path.join(args.data, "eval", "multi30k_val.en")
    src_sp = os.path.join(args.data, "spm8k", "eval", "multi30k_val.en.sp")
    spm = os.path.join(args.data, "spm8k", "spm.model")  # the joint SentencePiece model (spm.py)
    if not os.path.exists(src):
        sys.exit(f"{src} is missing: run benchmarks/peers/prepare_data.py first")
    sentences = read_lines(src, args.count)
    with tempfile.TemporaryDirectory() as tmp:
        first = os.path.join(tmp, "src.en")
        with open(first, "w", encoding="utf-8") as f:
            f.write("\n".join(sentences) + "\n")
        first_sp = None
        if os.path.exists(src_sp):
            first_sp = os.path.join(tmp, "src.sp")
            with open(first_sp, "w", encoding="utf-8") as f:
                f.write("\n".join(read_lines(src_sp, args.count)) + "\n")
        rows = []
        if "keras" not in skip:
            rows += ours_keras(args.model, sentences, CONFIGS)
        if "saved_model" not in skip:
            rows += ours_saved_model(args.model, sentences, CONFIGS, tmp)
        if "tflite" not in skip:
            rows += ours_tflite(args.model, sentences, CONFIGS)
        if args.onmt_lstm and "onmt" not in skip:
            rows += onmt_lstm(args.onmt_env, args.onmt_lstm, first_sp, len(sentences), CONFIGS,
                              tmp)
        if args.onmt_transformer and "onmt" not in skip:
            if shutil.which("ct2-opennmt-py-converter", path=os.path.join(args.onmt_env, "bin")):
                rows += ct2_transformer(args.onmt_env, args.onmt_transformer, first_sp,
                                        len(sentences), CONFIGS, tmp)
            else:
                print("CTranslate2 is not in the OpenNMT-py venv; skipped", file=sys.stderr)
        whole = {} if "whole" in skip else whole_commands(
            args.model, first, first_sp, args.onmt_env, args.onmt_lstm, tmp, len(sentences),
            [("this venv", sys.executable)] * ("this_venv" not in skip)
            + [tuple(w.split("=", 1)) for w in args.whole_python],
            args.whole_repeats, spm_model=spm if os.path.exists(spm) else None)
    command = "python benchmarks/peers/decode_speed.py " + shlex.join(
        sys.argv[1:] if argv is None else argv)
    measured = time.strftime("%Y-%m-%d %H:%M")
    if args.only_whole:
        result = json.loads(pathlib.Path(args.out).read_text(encoding="utf-8"))
        result.update(whole_commands=whole, whole_commands_command=command,
                      whole_commands_measured=measured)
        pathlib.Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"{args.out}: whole commands replaced")
        return
    reference = {(r["batch"], r["beam"]): r["sentences_per_s"] for r in rows
                 if r["system"] == "ours (Keras)"}
    for r in rows:
        if (r["batch"], r["beam"]) in reference:
            r["ratio_to_ours_keras"] = round(r["sentences_per_s"]
                                             / reference[(r["batch"], r["beam"])], 2)
    result = {"command": command, "measured": measured,
              "model": os.path.relpath(args.model, ROOT), "sentences": len(sentences),
              "source": "Multi30k val.en, first lines", "threads": 2,
              "cpus": os.cpu_count(), "python": platform.python_version(),
              "rows": rows, "whole_commands": whole}
    pathlib.Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"{args.out} written")


if __name__ == "__main__":
    main()
