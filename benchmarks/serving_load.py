"""Load on the local server: N REST clients for S seconds each, on loopback.

Exports a model directory (default: the shipped model) as a SavedModel,
serves it with `LocalServer` (default limits) in this process, and for each
client count runs that many threads, each sending one request after another
(3 real Tatoeba-style sentences per request) for the given seconds. Records
requests, failures, p50/p99 latency, requests/s and the process's resident
memory before the load, after it, and after a burst of 20 requests at the
instance limit (256 strings each).

    python benchmarks/serving_load.py                      # 8 and 32 clients, 60 s
    python benchmarks/serving_load.py --clients 8 --seconds 10

Writes benchmarks/results/serving_load.json (`python benchmarks/report.py` renders
RESULTS.md).
"""

import argparse
import json
import os
import pathlib
import shlex
import sys
import tempfile
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
RESULTS = HERE / "results" / "serving_load.json"

SENTENCES = [
    "Hello. How are you? I am fine, thank you.",
    "My name is Alexander and I live in Toronto.",
    "I had a few hours free, so I sat under a tree and read a book.",
    "Where is the station?",
    "The weather is beautiful today.",
    "Tom didn't know what to say.",
]


def rss_mb():
    with open("/proc/self/status") as f:
        return int(next(x for x in f if x.startswith("VmRSS")).split()[1]) / 1024


def run_load(url, clients, seconds):
    from keras_seq2seq.export.serving import translate_rest

    latencies, failures = [], []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(i):
        j = 0
        while time.monotonic() < stop:
            batch = [SENTENCES[(i + j + k) % len(SENTENCES)] for k in range(3)]
            j += 1
            start = time.monotonic()
            try:
                assert len(translate_rest(url, batch, timeout=120)) == 3
                with lock:
                    latencies.append(time.monotonic() - start)
            except Exception as e:  # noqa: BLE001 - every failure is counted
                with lock:
                    failures.append(repr(e)[:200])

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    latencies.sort()

    def quantile(q):
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 3) \
            if latencies else None

    return {"clients": clients, "seconds": round(elapsed, 1), "requests": len(latencies),
            "failures": len(failures), "first_failures": failures[:3],
            "p50_s": quantile(0.5), "p99_s": quantile(0.99),
            "requests_per_s": round(len(latencies) / elapsed, 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(HERE.parent / "saved_models" / "en-fr"))
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--beam-size", type=int, default=5)
    parser.add_argument("--note", default="", help="e.g. 'measured under load'.")
    parser.add_argument("--onednn", action="store_true",
                        help="Keep oneDNN on (`keras-seq2seq serve` turns it off, so that "
                             "memory returns after a burst).")
    args = parser.parse_args()
    # As `keras-seq2seq serve` does, before TensorFlow is imported.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1" if args.onednn else "0")

    from keras_seq2seq import load
    from keras_seq2seq.export import export_saved_model
    from keras_seq2seq.export.serving import LocalServer, translate_rest

    base = tempfile.mkdtemp(prefix="serving-load-")
    export_saved_model(load(args.model), base, name="m", beam_size=args.beam_size)
    rows = []
    with LocalServer(base) as server:
        url = server.rest_url("m")
        translate_rest(url, SENTENCES)  # warm up
        for clients in args.clients:
            before = rss_mb()
            row = run_load(url, clients, args.seconds)
            row["rss_before_mb"], row["rss_after_mb"] = round(before), round(rss_mb())
            print(json.dumps(row), flush=True)
            rows.append(row)
        burst_before = rss_mb()
        for _ in range(20):
            translate_rest(url, [SENTENCES[i % len(SENTENCES)] for i in range(256)], timeout=600)
        burst = {"requests": 20, "instances_each": 256, "rss_before_mb": round(burst_before),
                 "rss_after_mb": round(rss_mb())}
        time.sleep(5)
        burst["rss_after_5s_mb"] = round(rss_mb())
        print(json.dumps({"burst": burst}), flush=True)
    record = {"command": shlex.join(["python", "benchmarks/serving_load.py", *sys.argv[1:]]),
              "model": os.path.relpath(args.model, HERE.parent), "beam_size": args.beam_size,
              "onednn": os.environ["TF_ENABLE_ONEDNN_OPTS"] == "1",
              "cpu_count": os.cpu_count(), "note": args.note, "loads": rows, "burst": burst}
    RESULTS.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print("Results written; render RESULTS.md with: python benchmarks/report.py")


if __name__ == "__main__":
    main()
