"""Deployment benchmark: size on disk, batch-1 latency and throughput, quality
after quantization, for Keras, SavedModel and TFLite float32/float16/int8.

Not a test. Everything is measured in one run on the same sentences, so the
ratios are comparable even on a shared, noisy machine:

    python benchmarks/deployment.py --model saved_models/en-fr

Writes benchmarks/results/deployment.json and the deployment section of
benchmarks/RESULTS.md. Sentences: Multi30k test_2016_flickr (English ->
French) from --data or $KERAS_SEQ2SEQ_DATA (default ../shared/data).
"""

import argparse
import json
import os
import pathlib
import shlex
import sys
import tempfile
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _size(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def _latencies(fn, sentences):
    fn(sentences[0])  # trace / warm up
    times = []
    for s in sentences:
        started = time.perf_counter()
        fn(s)
        times.append(time.perf_counter() - started)
    return float(np.percentile(times, 50) * 1e3), float(np.percentile(times, 90) * 1e3)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="saved_models/en-fr")
    p.add_argument("--data", default=os.environ.get(
        "KERAS_SEQ2SEQ_DATA", str(HERE.parent.parent / "shared" / "data")))
    p.add_argument("--latency-sentences", type=int, default=200)
    p.add_argument("--tatoeba-pairs", type=int, default=2000,
                   help="Also score the first N pairs of the model's Tatoeba validation split "
                   "(in domain for the shipped model). 0: skip.")
    args = p.parse_args(argv)

    import tensorflow as tf

    import keras_seq2seq
    from keras_seq2seq.data import read_parallel_files, read_tsv_pairs, split_by_source
    from keras_seq2seq.evaluation import corpus_bleu
    from keras_seq2seq.export import export_saved_model
    from keras_seq2seq.export.runner import TFLiteTranslator
    from keras_seq2seq.export.tflite import export_tflite

    data = pathlib.Path(args.data) / "multi30k"
    pairs = list(read_parallel_files(str(data / "test_2016_flickr.en.gz"),
                                     str(data / "test_2016_flickr.fr.gz")))
    sources = [s for s, _ in pairs]
    references = [r for _, r in pairs]
    timing = sources[: args.latency_sentences]
    translator = keras_seq2seq.load(args.model)
    # The figures in RESULTS.md are greedy: every format below inherits this
    # (the exports store it, the runners read it back).
    translator.decoding = translator.decoding.replace(beam_size=1)
    tatoeba = []
    if args.tatoeba_pairs:
        _, validation = split_by_source(
            read_tsv_pairs(str(pathlib.Path(args.data) / "tatoeba" / "eng-fra.tsv.gz")), 0.1,
            seed=translator.metadata.get("seed", 0), max_validation_examples=args.tatoeba_pairs)
        tatoeba = list(validation)

    def tatoeba_bleu(translate):
        if not tatoeba:
            return None
        hyp = translate([s for s, _ in tatoeba])
        return round(corpus_bleu(hyp, [r for _, r in tatoeba]).score, 2)
    work = tempfile.mkdtemp(prefix="deploy-bench-")
    results = {"model": args.model, "sentences": len(sources),
               "command": shlex.join(["python", "benchmarks/deployment.py",
                                      *(argv if argv is not None else sys.argv[1:])])}

    # Keras.
    keras_hyp = translator.translate(sources, batch_size=100)
    results["keras"] = {
        "bytes": _size(os.path.join(args.model, "model.weights.h5")),
        "bleu": round(corpus_bleu(keras_hyp, references).score, 2),
        "tatoeba_bleu": tatoeba_bleu(lambda s: translator.translate(s, batch_size=100)),
        "latency_ms": _latencies(lambda s: translator.translate([s]), timing),
    }
    print("keras", results["keras"], flush=True)

    # SavedModel, loaded in this process.
    directory = export_saved_model(translator, os.path.join(work, "serving"), name="m")
    serving = tf.saved_model.load(directory).signatures["serving_default"]
    batch = tf.constant((sources * 2)[:64 * 10])
    serving(text=batch[:64])
    started = time.perf_counter()
    for i in range(0, 640, 64):
        serving(text=batch[i : i + 64])
    throughput = 640 / (time.perf_counter() - started)
    def serve_all(texts):
        hyp = []
        for i in range(0, len(texts), 100):
            out = serving(text=tf.constant(texts[i : i + 100]))["translation"].numpy()
            hyp.extend(t.decode("utf-8") for t in out)
        return hyp

    saved_hyp = serve_all(sources)
    results["saved_model"] = {
        "bytes": _size(directory),
        "bleu": round(corpus_bleu(saved_hyp, references).score, 2),
        "tatoeba_bleu": tatoeba_bleu(serve_all),
        "same_as_keras": sum(a == b for a, b in zip(saved_hyp, keras_hyp)) / len(sources),
        "latency_ms": _latencies(lambda s: serving(text=tf.constant([s])), timing),
        "batch64_sentences_per_second": round(throughput, 1),
    }
    print("saved_model", results["saved_model"], flush=True)

    for quantize in ("none", "float16", "dynamic-int8"):
        out = os.path.join(work, f"lite-{quantize}")
        path = export_tflite(translator, out, quantize=quantize)
        runner = TFLiteTranslator(out)
        hyp = runner.translate(sources, batch_size=100)
        results[f"tflite_{quantize}"] = {
            "bytes": os.path.getsize(path),
            "bleu": round(corpus_bleu(hyp, references).score, 2),
            "tatoeba_bleu": tatoeba_bleu(lambda s, r=runner: r.translate(s, batch_size=100)),
            "same_as_keras": sum(a == b for a, b in zip(hyp, keras_hyp)) / len(sources),
            "latency_ms": _latencies(lambda s, r=runner: r.translate([s]), timing),
        }
        print(quantize, results[f"tflite_{quantize}"], flush=True)

    fp32, int8 = results["tflite_none"], results["tflite_dynamic-int8"]
    results["ratios"] = {
        "int8_size_over_float32": round(int8["bytes"] / fp32["bytes"], 3),
        "tflite_int8_p50_over_saved_model_p50": round(
            int8["latency_ms"][0] / results["saved_model"]["latency_ms"][0], 3),
        "float16_bleu_minus_float32": round(results["tflite_float16"]["bleu"] - fp32["bleu"], 2),
        "int8_bleu_minus_float32": round(int8["bleu"] - fp32["bleu"], 2),
    }
    if tatoeba:
        results["ratios"]["float16_tatoeba_bleu_minus_float32"] = round(
            results["tflite_float16"]["tatoeba_bleu"] - fp32["tatoeba_bleu"], 2)
        results["ratios"]["int8_tatoeba_bleu_minus_float32"] = round(
            int8["tatoeba_bleu"] - fp32["tatoeba_bleu"], 2)
    results["tatoeba_pairs"] = len(tatoeba)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "deployment.json").write_text(json.dumps(results, indent=2))
    print("Results written; render RESULTS.md with: python benchmarks/report.py")
    print(json.dumps(results["ratios"], indent=2))


if __name__ == "__main__":
    main()
