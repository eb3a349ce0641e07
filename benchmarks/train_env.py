"""Training steps/s of the shipped recipe under process-level settings.

    python benchmarks/train_env.py [--pairs 30000] [--steps 120] [--rounds 2]

The race (benchmarks/peers/) showed the shipped recipe at about 0.95 steps/s
on 2 cores where a profile of the model alone gave 3.5, with a third of
the CPU time in the kernel (vmstat's `sy`). This runs the unchanged
`keras-seq2seq train` command of the race (ours.sh's flags, on the first
`--pairs` training pairs) in a fresh process per setting, measures the
steps/s between step 20 and step 20 + `--steps` (a callback, then stops),
and the process's user and system CPU seconds over that window. Settings:

- default;
- `glibc-no-mmap`: MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ raised
  (glibc serves large tensors from mmap and returns them at once: every
  step then faults fresh zeroed pages in);
- `interop-1`: TF_NUM_INTEROP_THREADS=1;
- both.

Rounds alternate the settings (the host is shared and noisy: read the
ratios within a round). Writes benchmarks/results/train_env.json.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent

SETTINGS = {
    "default": {},
    # keras_seq2seq.training.allocator's values: 32 MiB is the largest mmap
    # threshold glibc accepts (a larger value is ignored).
    "glibc-no-mmap": {"MALLOC_MMAP_THRESHOLD_": "33554432",
                      "MALLOC_TRIM_THRESHOLD_": "2147483647"},
    "interop-1": {"TF_NUM_INTEROP_THREADS": "1"},
    "both": {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "2147483647",
             "TF_NUM_INTEROP_THREADS": "1"},
}

CHILD = r"""
import json, os, resource, sys, time

import keras_seq2seq.training as training
from keras_seq2seq import cli

skip, steps, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
import keras


class Window(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.step = 0

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step == skip:
            self.t0, self.r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        if self.step == skip + steps:
            r1 = resource.getrusage(resource.RUSAGE_SELF)
            seconds = time.perf_counter() - self.t0
            with open(out, "w") as f:
                json.dump({"steps_per_s": steps / seconds, "seconds": seconds,
                           "user_s": r1.ru_utime - self.r0.ru_utime,
                           "system_s": r1.ru_stime - self.r0.ru_stime}, f)
            self.model.stop_training = True


original = training.train


def train(config, *a, callbacks=(), **kw):
    return original(config, *a, callbacks=(*callbacks, Window()), **kw)


training.train = train
cli.main(sys.argv[4:])
"""


def recipe(data, pairs, out):
    """ours.sh's `keras-seq2seq train` flags (the v6 recipe with copy attention)."""
    return ["train", "--pairs", f"{data}/tatoeba/eng-fra-full.tsv.gz",
            "--source", f"{data}/multi30k/train.en.gz", "--target", f"{data}/multi30k/train.fr.gz",
            "--validation-source", f"{data}/multi30k/val.en.gz",
            "--validation-target", f"{data}/multi30k/val.fr.gz", "--validation-fraction", "0.1",
            "--architecture", "cpu", "--attention", "luong", "--tokenizer", "wordpiece",
            "--shared-vocabulary", "--copy-attention", "--name-augmentation", "0.6",
            "--embedding-dim", "192", "--source-vocab-size", "8000", "--target-vocab-size",
            "8000", "--max-length", "100", "--dropout", "0.3", "--embedding-dropout", "0.2",
            "--epochs", "1", "--batch-size", "128", "--learning-rate", "2e-3",
            "--lr-schedule", "plateau", "--seed", "0", "--bidirectional-encoder",
            "--max-examples", str(pairs), "--bleu-sample", "0", "--no-backup", "--out", out]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=os.environ.get("KERAS_SEQ2SEQ_DATA",
                                                    str(ROOT.parent / "shared" / "data")))
    p.add_argument("--pairs", type=int, default=30000)
    p.add_argument("--skip", type=int, default=20)
    p.add_argument("--steps", type=int, default=120)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--only", action="append", choices=sorted(SETTINGS))
    p.add_argument("--out", default=str(HERE / "results" / "train_env.json"))
    args = p.parse_args(argv)
    names = args.only or list(SETTINGS)
    rows = []
    for round_ in range(args.rounds):
        for name in names:
            with tempfile.TemporaryDirectory() as tmp:
                result = os.path.join(tmp, "window.json")
                env = {**os.environ, "OMP_NUM_THREADS": "2", "TF_CPP_MIN_LOG_LEVEL": "3",
                       "PYTHONPATH": str(ROOT), **SETTINGS[name]}
                subprocess.run([sys.executable, "-c", CHILD, str(args.skip), str(args.steps),
                                result, *recipe(args.data, args.pairs, os.path.join(tmp, "run"))],
                               env=env, check=True, stdout=subprocess.DEVNULL)
                with open(result) as f:
                    row = {"round": round_, "setting": name, **json.load(f)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    result = {"command": "python benchmarks/train_env.py " + " ".join(
                  sys.argv[1:] if argv is None else argv),
              "pairs": args.pairs, "window_steps": args.steps, "cpus": os.cpu_count(),
              "settings": {n: SETTINGS[n] for n in names}, "rows": rows}
    pathlib.Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
