"""Where `keras-seq2seq translate`'s start-up goes, phase by phase.

Not a test. Each round starts a fresh Python for every code tree given
(alternating, so a busy host slows them alike) and times, in that process:
importing TensorFlow, importing keras-hub, loading the model
(`keras_seq2seq.load`), and the first call of `translate` on one sentence
(tracing the decoding graph, TensorFlow preparing it, and running it), with
the size of that graph (nodes, those of its functions included). Medians
over the rounds.

    python benchmarks/peers/startup.py --rounds 5
    python benchmarks/peers/startup.py --tree before=/work/old --tree now=.  # A/B
    python benchmarks/peers/startup.py --tree installed=@/work/venv-user/bin/python

A tree is `LABEL=PATH[@PYTHON]`: a checkout whose `keras_seq2seq` is
imported (put first on PYTHONPATH; none: the interpreter's installed
package), run by PYTHON (default: `--python`, else this interpreter). Each
process runs in an empty directory. Writes JSON to --out when given.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]

PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import tensorflow as tf
t1 = time.perf_counter()
import keras_hub  # noqa: F401
t2 = time.perf_counter()
import keras_seq2seq
translator = keras_seq2seq.load(sys.argv[1])
t3 = time.perf_counter()
translation = translator.translate(sys.argv[2])
t4 = time.perf_counter()
graph = translator._graph(translator.settings(None)).get_concrete_function().graph.as_graph_def()
nodes = len(graph.node) + sum(len(f.node_def) for f in graph.library.function)
print(json.dumps({"import_tensorflow": t1 - t0, "import_keras_hub": t2 - t1,
                  "load": t3 - t2, "first_call": t4 - t3, "total": t4 - t0,
                  "graph_nodes": nodes, "translation": translation,
                  "module": keras_seq2seq.__file__}))
"""

PHASES = ("import_tensorflow", "import_keras_hub", "load", "first_call", "total")


def probe(python, tree, model, sentence):
    env = dict(os.environ, OMP_NUM_THREADS="2", TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [tree, env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory() as empty:  # no checkout on sys.path by accident
        out = subprocess.run([python, "-c", PROBE, model, sentence], env=env, check=True,
                             capture_output=True, text=True, cwd=empty)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(ROOT / "saved_models" / "en-fr"))
    p.add_argument("--sentence", default="Nice to meet you.")
    p.add_argument("--tree", action="append", default=[], metavar="LABEL=PATH",
                   help="A checkout to time (its keras_seq2seq first on PYTHONPATH); may "
                   "repeat. Default: this checkout.")
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--out", help="Write the results here as JSON.")
    args = p.parse_args(argv)
    trees = []
    for given in args.tree or [f"this checkout={ROOT}"]:
        if "=" not in given:
            p.error(f"--tree takes LABEL=PATH[@PYTHON], got {given!r}")
        label, rest = given.split("=", 1)
        path, _, python = rest.partition("@")
        trees.append((label, str(pathlib.Path(path).resolve()) if path else "",
                      python or args.python))
    runs = {label: [] for label, _, _ in trees}
    model = str(pathlib.Path(args.model).resolve())
    for round_ in range(args.rounds):
        for label, path, python in trees:
            runs[label].append(probe(python, path, model, args.sentence))
            print(f"round {round_ + 1} {label}: " + " ".join(
                f"{k} {runs[label][-1][k]:.2f}" for k in PHASES), flush=True)
    result = {"command": "python benchmarks/peers/startup.py " + " ".join(
                  sys.argv[1:] if argv is None else argv),
              "measured": time.strftime("%Y-%m-%d %H:%M"), "rounds": args.rounds,
              "python": args.python, "model": args.model, "sentence": args.sentence,
              "trees": {}}
    print("\n| tree | " + " | ".join(PHASES) + " | graph nodes | translation |")
    print("|---" * (len(PHASES) + 3) + "|")
    for label, path, python in trees:
        medians = {k: round(statistics.median(r[k] for r in runs[label]), 2) for k in PHASES}
        nodes = runs[label][-1]["graph_nodes"]
        translation = runs[label][-1]["translation"]
        result["trees"][label] = {"path": path, "python": python, "median_s": medians,
                                  "graph_nodes": nodes,
                                  "translation": translation, "runs": runs[label]}
        print(f"| {label} | " + " | ".join(f"{medians[k]:.2f}" for k in PHASES)
              + f" | {nodes:,} | {translation} |")
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n",
                                          encoding="utf-8")


if __name__ == "__main__":
    main()
