"""Measure the web runner against the Python LiteRT runner on the same
sentences and cores; writes benchmarks/results/web.json.

    python web/bench.py [--count 30] [--beam-size 5]
"""

import argparse
import gzip
import json
import os
import pathlib
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--beam-size", type=int, default=5)
    parser.add_argument("--model", default=str(ROOT / "saved_models/en-fr/tflite"))
    args = parser.parse_args()
    data = pathlib.Path(os.environ.get("KERAS_SEQ2SEQ_DATA", ROOT.parent / "shared/data"))
    with gzip.open(data / "multi30k/val.en.gz", "rt", encoding="utf-8") as f:
        sentences = [line.strip() for line in f if line.strip()][: args.count]
    results = {"command": "python web/bench.py " + " ".join(sys.argv[1:]),
               "sentences": len(sentences), "source": "Multi30k val.en, first lines",
               "beam_size": args.beam_size, "cpus": os.cpu_count(),
               "model": os.path.relpath(args.model, ROOT)}

    from keras_seq2seq.export.runner import TFLiteTranslator

    start = time.perf_counter()
    runner = TFLiteTranslator(args.model, num_threads=2)
    load = time.perf_counter() - start
    start = time.perf_counter()
    runner.translate(sentences[:1], beam_size=args.beam_size)
    first = time.perf_counter() - start
    start = time.perf_counter()
    runner.translate(sentences, beam_size=args.beam_size)
    seconds = time.perf_counter() - start
    results["python_litert"] = {"load_ms": 1000 * load, "first_translation_ms": 1000 * first,
                                "sentences_per_s": len(sentences) / seconds, "threads": 2}

    start = time.perf_counter()
    node = ["node", "--experimental-wasm-relaxed-simd"]
    out = subprocess.run([*node, str(ROOT / "web/translate.mjs"),
                          "--model", args.model, "--json", "--beam-size", str(args.beam_size)],
                         input="\n".join(sentences) + "\n", capture_output=True, text=True,
                         check=True)
    total = time.perf_counter() - start
    parts = [p for line in out.stdout.split("\n") if line for p in json.loads(line)["parts"]]
    ms = sum(p["ms"] for p in parts)
    results["node_wasm"] = {"process_total_s": total, "first_translation_ms": parts[0]["ms"],
                            "sentences_per_s": 1000 * len(parts) / ms, "threads": 1,
                            "node": subprocess.run(["node", "--version"], capture_output=True,
                                                   text=True).stdout.strip()}

    import test_web

    from keras_seq2seq.web import make_server

    server = make_server(args.model, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    text = " ".join(sentences)
    _, figures = test_web.run_page(url, text, ROOT / "docs/images/web_page.png")
    sentence_ms = figures["sentence_ms"]
    results["chromium_wasm"] = {
        "page_load_ms": figures["load_ms"], "first_translation_ms": sentence_ms[0],
        "sentences_per_s": 1000 * len(sentence_ms) / sum(sentence_ms),
        "threads": figures["threads"], "cross_origin_isolated": figures["isolated"]}
    model = pathlib.Path(args.model)
    page = sum((ROOT / "web" / n).stat().st_size for n in ("index.html", "page.mjs", "worker.js",
                                                           "seq2seq.mjs"))
    wasm_dir = ROOT / "web/node_modules/@litertjs/core"
    runtime = sum((wasm_dir / "wasm" / n).stat().st_size for n in (
        "litert_wasm_threaded_internal.js", "litert_wasm_threaded_internal.wasm"))
    runtime += (wasm_dir / "dist/index.js").stat().st_size
    exported = sum((model / n).stat().st_size for n in ("model.tflite", "source_vocab.txt",
                                                        "target_vocab.txt", "tflite_config.json"))
    results["download_bytes"] = {"page": page, "litert_runtime_threaded": runtime,
                                 "model_export": exported, "total": page + runtime + exported}
    out_path = ROOT / "benchmarks/results/web.json"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
