"""Render benchmarks/RESULTS.md from benchmarks/results/*.json[l].

The benchmark scripts write only results files; every table of RESULTS.md
comes from one of them, with the command that produced it. Tables copied
from earlier versions of the page, which no command regenerates, live in
`results/transcribed.json` and carry the label "transcribed, no rerun
command". Stdlib only.

    python benchmarks/report.py            # rewrite benchmarks/RESULTS.md
    python benchmarks/report.py --check    # exit 1 if it is not up to date
    python benchmarks/report.py --results DIR --out FILE
"""

import argparse
import pathlib
import shlex
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _results import RESULTS_DIR, RESULTS_MD, read, table  # noqa: E402

TRANSCRIBED = "transcribed, no rerun command"


def source(name):
    return f"Results file: [results/{name}](results/{name})."


def measured_on(r):
    label = r.get("model_label")
    return (f"**Measured on {label}; not re-measured on later models.**" if label else
            f"**Measured on `{r['model']}`, the model there when it ran.**")


# One function per results file: the lines of its table(s).

def multi30k(d):
    rows = []
    for r in read(d, "multi30k.jsonl"):
        beam = next(k for k in r if k.startswith("beam") and k.endswith("_bleu")
                    and "_nounk" not in k)
        nounk = beam.replace("_bleu", "_nounk_bleu")
        # Rows measured before `--unk-penalty` existed have no such figures.
        no_unk = (f"{r['greedy_nounk_bleu']:.2f} / {r[nounk]:.2f}"
                  if "greedy_nounk_bleu" in r and nounk in r else "-")
        pieces = r.get("tokenizer") == "wordpiece"
        rows.append([
            r["pair"], r["attention"], "reversed" if r["reverse_source"] else "as is",
            "word pieces" if pieces else "words", f"{r['greedy_bleu']:.2f}", f"{r[beam]:.2f}",
            f"{r['greedy_chrf']:.2f}", f"{r[beam.replace('_bleu', '_chrf')]:.2f}",
            f"{r['perplexity']:.2f}" + (" (per piece)" if pieces else ""),
            f"{r['best_val_loss']:.3f}" if "best_val_loss" in r else "-", no_unk,
            f"{r['parameters'] / 1e6:.1f}M", r["epochs_run"], f"{r['training_minutes']:.0f}",
            f"`{r['command']}`"])
    return [source("multi30k.jsonl"), "", *table(
        ["pair", "attention", "source", "tokens", "greedy BLEU", "beam BLEU", "greedy chrF",
         "beam chrF", "perplexity", "best validation loss",
         "greedy / beam BLEU, no `<unk>` written", "parameters",
         "epochs", "minutes", "command"], rows)]


def _setting(row):
    search = "greedy" if row["beam_size"] == 1 else f"beam {row['beam_size']}"
    extra = [f"no-repeat {row['no_repeat_ngram']}"] if row.get("no_repeat_ngram") else []
    extra += ["`<unk>` replaced"] if row.get("replace_unknown") else []
    extra += ["names protected"] if row.get("protect_names") else []
    return ", ".join([search, *extra])


def _real_text_command(row):
    if "command" in row:
        return row["command"]
    if row["label"].startswith("length pairs:"):
        return "python benchmarks/length_pairs.py --runs DIR --parallel 2"
    flags = ["--model", row["model"], "--label", row["label"],
             "--beam-sizes", str(row["beam_size"])]
    flags += ["--no-repeat-ngram", str(row["no_repeat_ngram"])] if row["no_repeat_ngram"] else []
    flags += ["--replace-unknown"] if row.get("replace_unknown") else []
    flags += ["--protect-names"] if row.get("protect_names") else []
    flags += ["--under-load"] if row.get("under_load") else []
    flags += [] if "paragraphs" in row else ["--no-paragraphs"]
    return shlex.join(["python", "benchmarks/real_text.py", *flags])


def real_text(d):
    rows = read(d, "real_text.jsonl")
    sets = ("tatoeba_validation", "multi30k_val", "multi30k_test_2016_flickr")
    lines = [source("real_text.jsonl") + " Buckets are source words: BLEU (sentences). "
             "`<unk>`: how many the outputs hold; repeats: share of outputs in which a word "
             "3-gram occurs twice; names kept: source numbers and capitalised words (not first "
             "in the sentence) that the reference writes verbatim, and the share the output "
             "writes too (- before it was measured). Rows marked * were measured while a "
             "training shared the two cores (sentences/s is affected, BLEU is not).", ""]
    body = []
    for row in rows:
        for name in sets:
            r = row[name]
            kept = r.get("names_kept")
            body.append([
                row["label"], _setting(row), name.replace("_", " "), r["pairs"],
                f"{r['bleu']:.2f}",
                *("-" if b["bleu"] is None else f"{b['bleu']:.2f} ({b['pairs']})"
                  for b in r["by_length"]),
                r["unknown_words"], f"{r['repeated_trigram_share']:.1%}",
                f"{kept[0] / kept[1]:.1%} of {kept[1]}" if kept and kept[1] else "-",
                f"{r['sentences_per_second']}" + ("*" if row.get("under_load") else "")])
    lines += table(["model", "decoding", "set", "pairs", "BLEU", "<= 9", "10-14", "15-24", "25+",
                    "`<unk>`", "repeats", "names kept", "sentences/s"], body)
    lines += ["", "Paragraphs: 3 consecutive Tatoeba validation sentences (one sentence and 4+ "
              "words each) joined with spaces and translated as one input; BLEU against the 3 "
              "references joined.", ""]
    lines += table(
        ["model", "decoding", "paragraphs", "one by one", "split (default)",
         "whole (`--no-split-sentences`)", "outputs of 3 sentences", "split = one by one"],
        [[row["label"], _setting(row), p["paragraphs"], f"{p['bleu_sentence_by_sentence']:.2f}",
          f"{p['bleu_paragraphs_split']:.2f}", f"{p['bleu_paragraphs_whole']:.2f}",
          f"{p['split_outputs_with_3_sentences']:.1%}",
          f"{p['split_equals_sentence_by_sentence']:.1%}"]
         for row in rows if (p := row.get("paragraphs"))])
    commands = dict.fromkeys(_real_text_command(row) for row in rows)
    lines += ["", "Commands (rows without a recorded command: rebuilt from the settings each "
              "row records):", "", *(f"- `{c}`" for c in commands)]
    lines += ["", "![BLEU by source length](results/bleu_by_length.png)", "",
              "The paper's comparison on the same data (`benchmarks/length_pairs.py`):", "",
              "![BLEU by source length, attention and reversal on the same data]"
              "(results/bleu_by_length_pairs.png)"]
    return lines


def names(d):
    body, seen = [], set()
    for r in read(d, "names.jsonl"):
        command = r.get("command") or shlex.join(
            ["python", "benchmarks/names.py", "--model", r["model"], "--label", r["label"]]
            + (["--protect-names"] if r.get("protect_names") else []))
        body.append([r["label"], "greedy" if r["beam_size"] == 1 else f"beam {r['beam_size']}",
                     f"{r['names_kept']} of {r['names']} ({r['share_kept']:.1%})",
                     f"{r['sentences_with_every_name']} of {r['sentences']}",
                     "the same" if command in seen else f"`{command}`"])
        seen.add(command)
    return [source("names.jsonl"), "", *table(
        ["model", "search", "names kept", "sentences with every name", "command"], body)]


def finetune(d):
    r = read(d, "finetune.json")
    sizes = " ".join(str(row["pairs"]) for row in r["fine_tuning"] if row["setting"] ==
                     "fine-tuned")
    command = r.get("command") or (f"python benchmarks/finetune.py --sizes {sizes} "
                                   f"--minutes {r['minutes']:g}")
    lines = [f"{source('finetune.json')} {measured_on(r)} Command: `{command}`. Fine-tuning at "
             f"{r['learning_rate']:g}, from scratch at 2e-3 with the same architecture; greedy "
             f"BLEU on the first {r['max_eval_pairs']} pairs of each set"
             f"{'; ' + r['note'] if r['note'] else ''}. Multi30k test_2016_flickr is the "
             "in-domain set, the Tatoeba validation split the general domain.", ""]
    lines += table(["setting", "in-domain pairs", "minutes", "epochs", "Multi30k test BLEU",
                    "Tatoeba val BLEU"],
                   [[x["setting"], x["pairs"], x["minutes"], x.get("epochs", "-"),
                     f"{x['multi30k_test']:.2f}", f"{x['tatoeba_val']:.2f}"]
                    for x in r["fine_tuning"]])
    if r["averaging"]:
        lines += ["", "Checkpoint averaging (`keras-seq2seq average --run RUN --last N`, runs "
                  "given with `--average-runs`), validation BLEU (Multi30k val / Tatoeba val):",
                  ""]
        lines += table(
            ["run", "epochs", "the run's model (best or last epoch)", "last 2 averaged",
             "last 3 averaged"],
            [[pathlib.Path(a["run"]).name, a["epochs"],
              *(f"{a[k]['multi30k_val']:.2f} / {a[k]['tatoeba_val']:.2f}"
                for k in ("model", "last 2 averaged", "last 3 averaged"))]
             for a in r["averaging"]])
    return lines


def deployment(d):
    r = read(d, "deployment.json")
    lines = [f"{source('deployment.json')} {measured_on(r)} Model `{r['model']}`, Multi30k "
             f"test_2016_flickr English->French ({r['sentences']} sentences) and the first "
             f"{r['tatoeba_pairs']} pairs of the model's Tatoeba validation split, greedy. "
             f"Command: `{r['command']}`", ""]
    formats = [("Keras (weights .h5)", "keras"), ("SavedModel (TF Serving)", "saved_model"),
               ("TFLite float32", "tflite_none"), ("TFLite float16", "tflite_float16"),
               ("TFLite dynamic int8", "tflite_dynamic-int8")]
    body = []
    for name, key in formats:
        row = r[key]
        same, tatoeba = row.get("same_as_keras"), row.get("tatoeba_bleu")
        body.append([name, f"{row['bytes'] / 1e6:.1f}", f"{row['bleu']:.2f}",
                     "-" if tatoeba is None else f"{tatoeba:.2f}",
                     "-" if same is None else f"{100 * same:.1f}%",
                     f"{row['latency_ms'][0]:.1f}", f"{row['latency_ms'][1]:.1f}"])
    lines += table(["format", "size MB", "BLEU Multi30k", "BLEU Tatoeba",
                    "same output as Keras (Multi30k)", "p50 ms", "p90 ms"], body)
    q = r["ratios"]
    lines += ["", f"SavedModel throughput at batch 64: "
              f"{r['saved_model']['batch64_sentences_per_second']:.0f} sentences/s. "
              f"int8 size / float32 size: {q['int8_size_over_float32']:.2f} (target <= 0.3). "
              f"TFLite int8 p50 / SavedModel batch-1 p50: "
              f"{q['tflite_int8_p50_over_saved_model_p50']:.2f} (target <= 0.5). "
              f"BLEU change on Multi30k: float16 {q['float16_bleu_minus_float32']:+.2f}, int8 "
              f"{q['int8_bleu_minus_float32']:+.2f} (targets within 0.5 and 1.0)"
              + (f"; on Tatoeba: float16 {q['float16_tatoeba_bleu_minus_float32']:+.2f}, int8 "
                 f"{q['int8_tatoeba_bleu_minus_float32']:+.2f}."
                 if "int8_tatoeba_bleu_minus_float32" in q else ".")]
    return lines


def serving_load(d):
    r = read(d, "serving_load.json")
    command = r.get("command", "python benchmarks/serving_load.py")
    b = r["burst"]
    lines = [f"{source('serving_load.json')} {measured_on(r)} Command: `{command}` "
             f"(`{r['model']}`, beam {r['beam_size']}, {r['cpu_count']} CPU cores, REST on "
             "loopback, 3 sentences per request, default limits, oneDNN "
             f"{'on' if r['onednn'] else 'off, as `serve` runs'}"
             f"{'; ' + r['note'] if r['note'] else ''}).", ""]
    lines += table(["clients", "seconds", "requests", "failures", "p50 s", "p99 s", "requests/s",
                    "RSS before MB", "RSS after MB"],
                   [[x["clients"], x["seconds"], x["requests"], x["failures"], x["p50_s"],
                     x["p99_s"], x["requests_per_s"], x["rss_before_mb"], x["rss_after_mb"]]
                    for x in r["loads"]])
    lines += ["", f"Then {b['requests']} requests of {b['instances_each']} strings (the "
              f"instance limit): RSS {b['rss_before_mb']} MB before, {b['rss_after_mb']} MB "
              f"after, {b['rss_after_5s_mb']} MB 5 s later."]
    return lines


def web(d):
    r = read(d, "web.json")
    model = r.get("model", "saved_models/en-fr/tflite")
    lines = [f"{source('web.json')} Command: `{r['command']}` ({r['sentences']} sentences of "
             f"{r['source']}, beam {r['beam_size']}, {r['cpus']} CPU cores, `{model}`, "
             "dynamic-range int8). Node's figure is the time inside its searches; the page's "
             "is per sentence as the page reports it.", ""]
    runners = [("Python LiteRT runner (`TFLiteTranslator`)", r["python_litert"],
                "load_ms", "load"),
               (f"Node {r['node_wasm'].get('node', '')} + LiteRT.js (WASM)", r["node_wasm"],
                None, None),
               ("Chromium + LiteRT.js (WASM, Web Worker)", r["chromium_wasm"],
                "page_load_ms", "page load")]
    body = []
    for name, x, load_key, load_name in runners:
        load = f"{x[load_key]:.0f} ({load_name})" if load_key else "-"
        body.append([name, x["threads"], load, f"{x['first_translation_ms']:.0f}",
                     f"{x['sentences_per_s']:.2f}",
                     f"{x['sentences_per_s'] / r['python_litert']['sentences_per_s']:.2f}"])
    lines += table(["runner", "threads", "load ms", "first translation ms", "sentences/s",
                    "ratio to Python"], body)
    b = r["download_bytes"]
    lines += ["", f"Download for the page with the model: {b['total'] / 1e6:.1f} MB (page "
              f"{b['page'] / 1e3:.0f} kB, LiteRT.js runtime "
              f"{b['litert_runtime_threaded'] / 1e6:.1f} MB, model export "
              f"{b['model_export'] / 1e6:.1f} MB)."]
    return lines


def peers_race(d):
    runs = {r["system"]: r for r in read(d, "peers_runs.jsonl")}
    lines = [f"{source('peers_runs.jsonl')} Each system trained for 60 minutes of wall clock on "
             "the same 2 cores, one at a time on an otherwise idle machine, checkpoints saved "
             "by the clock (`benchmarks/peers/README.md` has one command per system and what "
             "each recipe is). Sentences/s = steps x batch (sentences) / seconds; epochs of "
             "the 174,921 training pairs.", ""]
    body = []
    for system, r in sorted(runs.items()):
        steps = ", ".join(f"{c['step']:,}" for c in r["checkpoints"]) or "-"
        body.append([system, f"{r['parameters'] / 1e6:.2f}M" if r.get("parameters") else "-",
                     steps, f"{r['steps_per_s']:.2f}" if "steps_per_s" in r else "-",
                     f"{r['sentences_per_s']:.0f}" if "sentences_per_s" in r else "-",
                     r.get("epochs", "-"),
                     f"{r['checkpoint_mb']:.1f}" if "checkpoint_mb" in r else "-",
                     f"{r['peak_rss_mb']:,}" if r.get("peak_rss_mb") else "-",
                     ", ".join(f"{k} {v}" for k, v in sorted(r.get("versions", {}).items()))])
    lines += table(["system", "parameters", "steps at 20 / 40 / 60 min", "steps/s",
                    "training sentences/s", "epochs", "checkpoint MB", "peak RSS MB",
                    "versions"], body)
    scores = read(d, "peers.jsonl")
    cells = {}
    for r in scores:
        cells.setdefault((r["system"], r["set"], r["search"]), {}).setdefault(
            float(r["minute"]), []).append((r["bleu"], r["chrf"]))
    minutes = sorted({m for v in cells.values() for m in v})
    body = []
    for (system, name, search), values in sorted(cells.items()):
        row = [system, name, search]
        for m in minutes:
            got = values.get(m)
            row.append("-" if not got else
                       f"{sum(b for b, _ in got) / len(got):.2f} / "
                       f"{sum(c for _, c in got) / len(got):.1f}"
                       + (f" ({len(got)} runs)" if len(got) > 1 else ""))
        body.append(row)
    lines += ["", f"{source('peers.jsonl')} BLEU / chrF (sacreBLEU 13a, cased; chrF defaults) "
              "of each clock checkpoint, detokenized output against the same references. "
              "Command: `python benchmarks/peers/evaluate.py RUN ...`; the figure (greedy, both "
              "sets): `python benchmarks/peers/plot.py --search greedy`.", "",
              *table(["system", "set", "search", *(f"{m:g} min" for m in minutes)], body),
              "", "![BLEU against training minutes](results/peers_bleu.png)"]
    return lines


def peers_steps(d):
    rows = read(d, "peers_steps.jsonl")
    cells, about = {}, {}
    for r in rows:
        cells.setdefault((r["system"], r["set"], r["search"]), {})[int(r["step"])] = (
            r["bleu"], r["chrf"])
        about[r["system"]] = r
    steps = sorted({s for v in cells.values() for s in v})
    body = [[system, about[system]["variant"], name, search,
             *(f"{v[s][0]:.2f} / {v[s][1]:.1f}" if s in v else "-" for s in steps)]
            for (system, name, search), v in sorted(cells.items())]
    commands = sorted({(r["system"], r["command"]) for r in about.values()})
    return [f"{source('peers_steps.jsonl')} BLEU / chrF after the same optimizer steps "
            "(batches of 128 sentences, seed 0), greedy, on Multi30k val (1,014 pairs) and "
            "the first 2,000 pairs of the Tatoeba validation split (`evaluate.py "
            "--max-sentences 2000`). Steps do not depend on what else the machine runs.", "",
            *table(["system", "what differs from OpenNMT-py's race recipe", "set", "search",
                    *(f"step {s}" for s in steps)], body),
            "", "Commands:", "",
            *(f"- {system}: `{command}`" for system, command in commands)]


def peers_throughput(d):
    r = read(d, "peers_throughput.json")
    lines = [f"{source('peers_throughput.json')} Command: `{r['command']}`; the runs were "
             f"made on {r['date']}, one after the other, in the order of the table."
             + (f" {r['note']}" if r.get("note") else "")
             + f" Sentences/s = steps/s x {r['batch_sentences']} sentences a batch.", ""]
    lines += table(["run", "system", "steps", "seconds", "steps/s", "sentences/s",
                    "ratio to OpenNMT-py's mean"],
                   [[x["label"], x["system"], f"{x['steps'][0]}-{x['steps'][1]}",
                     x["seconds"], f"{x['steps_per_s']:.3f}", f"{x['sentences_per_s']:.1f}",
                     f"{x['ratio_to_onmt']:.3f}" if "ratio_to_onmt" in x else "-"]
                    for x in r["rows"]])
    return lines


def decode_speed(d):
    r = read(d, "decode_speed.json")
    lines = [f"{source('decode_speed.json')} Command: `{r['command']}` ({r['sentences']} "
             f"sentences of {r['source']}, {r['threads']} threads, `{r['model']}`). "
             "Sentences/s exclude loading; the ratio is to ours (Keras) in the same batch and "
             "beam, measured in the same run.", ""]
    lines += table(["system", "batch", "beam", "sentences/s", "ratio to ours (Keras)"],
                   [[x["system"], x["batch"], x["beam"], f"{x['sentences_per_s']:.1f}",
                     f"{x['ratio_to_ours_keras']:.2f}" if "ratio_to_ours_keras" in x else "-"]
                    for x in r["rows"]])
    if r.get("kept_rows_note"):
        lines += ["", r["kept_rows_note"]]
    if r.get("whole_commands"):
        when = (f" Measured {r['whole_commands_measured']} with "
                f"`{r['whole_commands_command']}`." if r.get("whole_commands_command") else "")
        lines += ["", "The whole commands, start-up included (the median of the runs, "
                  "systems alternating; start-up: the same command on one sentence)." + when,
                  ""]
        lines += table(["system", "command", "sentences", "seconds", "runs", "start-up (s)",
                        "ours / this, per round: median (range)"],
                       [[name, f"`{w['command']}`" + (f" ({w['note']})" if w.get("note") else ""),
                         w["sentences"], w["seconds"],
                         ", ".join(map(str, w.get("runs", [w["seconds"]]))),
                         w.get("startup_s", "-"), _per_round(w.get("ours_over_this"))]
                        for name, w in r["whole_commands"].items()])
    return lines


def _per_round(ratio):
    if not ratio:
        return "-"
    rounds = ratio["per_round"]
    return f"{ratio['median']:.2f} ({min(rounds):.2f}-{max(rounds):.2f})"


def decode_profile(d):
    r = read(d, "decode_profile.json")
    lines = [f"{source('decode_profile.json')} Where the time of ours (Keras) goes: "
             f"{r['sentences']} sentences, batch {r['batch_size']}, beam {r['beam_size']}, "
             "the host time of TensorFlow's ops summed by the part of the decoder in the op's "
             f"name ({r['op_seconds']:.2f} s in all). Command: `{r['command']}`", ""]
    lines += table(["part", "share"], [[k, f"{100 * v:.1f}%"] for k, v in r["parts"].items()])
    m = r.get("memory_reorder")
    if m:
        lines += ["", "The beam search before and after the attention memory stopped being "
                  "reordered with the beams at every step (`beam.py`, `select_rows`), the same "
                  f"sentences timed alternately in this run: {m['speedup_fastest_rounds']:.2f}x "
                  "(fastest rounds; seconds " + "; ".join(
                      f"{k}: {', '.join(map(str, v))}" for k, v in m["seconds"].items())
                  + "), " + ("the same translations." if m["same_translations"]
                             else "**different translations**.")]
    lines += ["", "The costliest ops (type and name):", ""]
    lines += table(["op", "share"], [[f"`{k}`", f"{100 * v:.1f}%"]
                                     for k, v in r["top_ops"].items()])
    return lines


def train_env(d, name="train_env.json"):
    r = read(d, name)
    lines = [f"{source(name)} Command: `{r['command']}` (the race's recipe on "
             f"{r['sample']:,} pairs drawn at random from its training corpora, "
             f"{r['sample_mean_source_words']} source words on average; steps/s over "
             f"{r['window_steps']} steps after the first {r['skip_steps']}, the same batches "
             f"for every setting, a fresh process per setting, {r['cpus']} CPU cores)."
             + (f" {r['note']}" if r.get("note") else ""), ""]

    def what(setting):
        parts = [f"{k}={v}" for k, v in setting["env"].items()] + setting["flags"]
        if not setting["mallopt"]:
            parts.append("glibc thresholds as they come")
        if setting.get("copy") == "one-hot":
            parts.append("copy distribution from one-hot sources")
        elif setting.get("copy") == "mixture":
            parts.append("copy distribution mixed densely, then the log (until 2026-12-05)")
        elif setting.get("copy") == "scores":
            parts.append("copy attention trains on unnormalised scores with the same softmax "
                         "(tried 2026-12-06, not kept)")
        elif setting.get("copy") == "softmax-loss":
            parts.append("the loss a sparse cross-entropy over the log-probabilities "
                         "(until 2026-12-06 evening)")
        elif setting.get("copy") == "batched-gather":
            parts.append("copy attention's gather as take_along_axis (until 2026-12-06 "
                         "evening)")
        return ", ".join(parts) or "-"

    # Ratios to the round's first setting (the host is noisy between rounds).
    first = r["rows"][0]["setting"]
    base = {x["round"]: x["steps_per_s"] for x in r["rows"] if x["setting"] == first}
    lines += table(["round", "setting", "differs from the command by", "steps/s",
                    f"ratio to {first}", "user CPU s", "system CPU s", "peak RSS"],
                   [[x["round"], x["setting"], what(r["settings"][x["setting"]]),
                     f"{x['steps_per_s']:.2f}",
                     f"{x['steps_per_s'] / base[x['round']]:.2f}" if x["round"] in base else "-",
                     f"{x['user_s']:.1f}", f"{x['system_s']:.1f}",
                     f"{x['peak_rss_mb'] / 1024:.1f} GB"] for x in r["rows"]])
    return lines


def train_speed(d):
    r = read(d, "train_speed.json")
    lines = [f"{source('train_speed.json')} {r['model']}; {r['pairs']} Tatoeba pairs of at "
             f"most {r['max_length']} words; the trainings alternating. Command: "
             f"`{r['command']}`", ""]
    labels = {"ours": "ours: length buckets, batch 128 (train_on_batch, step time)",
              "ours_xla": "ours with XLA (jit_compile)",
              "ours_bf16": "ours under mixed_bfloat16 (other numerics)",
              "baseline": "baseline: pad to max length, batch 64",
              "fit": "ours under model.fit, as `train` runs it (tf.data autotuning off)",
              "fit_autotune": "ours under model.fit, tf.data autotuning on (before issue 21)"}
    lines += table(["training", "target tokens/s", "achieved GFLOP/s (3x forward)",
                    "batches timed"],
                   [[label, f"{r[k]['tokens_per_second']:.0f}", f"{r[k]['gflops']:.1f}",
                     r[k]["batches"]] for k, label in labels.items() if k in r])
    m = r["matmul_gflops"]
    lines += ["", f"float32 matmul in the same run: {m['1024']:.0f} GFLOP/s (1024x1024), "
              f"{m['4096']:.0f} GFLOP/s (4096x4096). Speed-up in target tokens/s over the "
              f"baseline: {r['speedup_tokens_per_second']:.2f}x (target >= 2.5x). Our achieved "
              f"rate / best matmul rate: {100 * r['ours_gflops_over_best_matmul']:.0f}% "
              "(target >= 70%)."]
    if "fit" in r:
        lines[-1] += (f" Under model.fit, autotuning off / on: {r['fit_over_fit_autotune']:.2f}x"
                      f" target tokens/s; achieved rate / best matmul rate: "
                      f"{100 * r['fit_gflops_over_best_matmul']:.0f}%.")
    if "ours_bf16" in r:
        ratio = r["ours_bf16"]["tokens_per_second"] / r["ours"]["tokens_per_second"]
        lines[-1] += f" mixed_bfloat16 / float32 target tokens/s: {ratio:.2f}x."
    if "sutskever2014" in r:
        s = r["sutskever2014"]
        lines[-1] += (f" sutskever2014 preset ({s['parameters'] / 1e6:.0f}M parameters), batch "
                      f"{s['batch']} of {s['tokens']} + {s['tokens']} tokens: "
                      f"{s['seconds_per_step']:.1f} s per training step (median of "
                      f"{s['steps_timed']}).")
    return lines


def train_variants(d):
    r = read(d, "train_variants.json")
    variants = r["variants"].values()
    fastest = all("fastest_round_ratio" in v for v in variants)
    lines = [f"{source('train_variants.json')} `cpu` preset (no attention), {r['pairs']} "
             f"full-Tatoeba pairs, `model.fit` on {r['batches_per_epoch']} fixed full batches "
             f"per epoch, the variants alternating for {r['rounds']} rounds (median). "
             f"Command: `{r['command']}`", ""]
    lines += table(["variant", "target tokens/s", "ratio to the first row",
                    *(["ratio, fastest rounds"] if fastest else [])],
                   [[name, f"{v['target_tokens_per_second']:.0f}", f"{v['ratio']:.2f}x",
                     *([f"{v['fastest_round_ratio']:.2f}x"] if fastest else [])]
                    for name, v in r["variants"].items()])
    return lines


def profile_training(d):
    r = read(d, "profile_training.json")
    v = r["variants"]
    parts = sorted({p for x in v.values() for p in x["parts"]},
                   key=lambda p: -max(x["parts"].get(p, 0) for x in v.values()))
    body = [[p, *(f"{100 * x['parts'].get(p, 0):.1f}%" for x in v.values())] for p in parts]
    for key, label, fmt in (
            ("input_pipeline_share", "input pipeline (share of wall time, apart)", "{:.1%}"),
            ("wall_seconds_per_step", "wall seconds per step", "{:.3f}"),
            ("op_seconds_per_step", "op seconds per step (both cores summed)", "{:.3f}"),
            ("target_tokens_per_second", "target tokens/s", "{:.0f}")):
        body.append([label, *(fmt.format(x[key]) for x in v.values())])
    return [f"{source('profile_training.json')} `cpu` preset, batch {r['batch_size']}, "
            f"{r['pairs']} full-Tatoeba pairs; share of the host time of TensorFlow ops in a "
            "training step, by the model part in the op's name. Command: "
            f"`{r['command']}`", "", *table(["part", *v], body)]


def lstm_paths(d):
    body = []
    for key, r in read(d, "lstm_paths.json").items():
        command = r.get("command") or (
            f"python benchmarks/lstm_paths.py --batch {r['batch']} --steps {r['steps']} "
            f"--embedding {r['embedding']} --units {r['units']}")
        for name, row in r["paths"].items():
            body.append([key, name, f"{row['median_ms']:.1f}", f"{row['gflops']:.0f}",
                         f"{row['speedup']:.2f}x", f"`{command}`"])
    return [f"{source('lstm_paths.json')} One LSTM layer, forward + backward (gradients of the "
            "weights and inputs), a masked batch; medians of the paths timed alternately in "
            "the same run.", "",
            *table(["layer", "path", "ms", "GFLOP/s", "speed-up", "command"], body)]


def data_scale(d):
    r = read(d, "data_scale.json")
    by = {(x["cache"], x["times"]): x["peak_mb"] for x in r["runs"]}
    return [f"{source('data_scale.json')} Peak resident memory of a fresh process that "
            "streams the corpus, builds the vocabularies, makes one full pass of the input "
            "pipeline and runs 30 training steps of the `cpu` model. Command: "
            f"`{r['command']}`", "",
            *table(["tokenized cache", "corpus", "pairs", "peak memory MB", "seconds"],
                   [[x["cache"], f"{x['times']}x Tatoeba", x["pairs"], x["peak_mb"],
                     x["seconds"]] for x in r["runs"]]),
            "", f"4x / 1x peak memory: {by[('files', 4)] / by[('files', 1)]:.2f} with the "
            f"cache in files, {by[('memory', 4)] / by[('memory', 1)]:.2f} with it in memory."]


def captioning(d):
    r = read(d, "captioning_digits.json")
    beams = sorted(k for k in r if k.startswith("beam"))
    settings = ""
    if "augment" in r:
        augment = ("digit widths and brightness" + (", rotation and slant" if r["warp"] else "")
                   if r["augment"] else "none")
        schedule = r["lr_schedule"]
        if schedule == "plateau":
            schedule = f"halved after {r['lr_patience']} epochs without a lower validation loss"
        settings = (f" Training augmentation: {augment}; dropout {r['dropout']}; learning rate "
                    f"{schedule}.")
    best = (f" (weights of the best validation epoch, {r['best_epoch']})"
            if "best_epoch" in r else "")
    lines = [f"{source('captioning_digits.json')} Canvases of 1-4 real handwritten digits "
             "(scikit-learn's 1,797 8x8 digits, split 70/15/15 by digit image before "
             f"composing), 32x96 pixels; {r['train_canvases']} training and "
             f"{r['test_canvases']} test canvases. Small CNN (3 conv blocks) -> Dense context "
             f"-> LSTM {r['units']}; {r['parameters'] / 1e6:.1f}M parameters, "
             f"{r['epochs_run']} epochs, {r['training_minutes']} minutes of training{best}."
             f"{settings} Command: `{r['command']}`", ""]
    body = []
    for key in beams:
        x = r[key]
        by_count = " / ".join(f"{100 * v:.1f}%" for v in x["exact_match_by_digit_count"].values())
        body.append(["greedy" if key == "beam1" else f"beam {key[4:]}",
                     f"{100 * x['exact_match']:.1f}%", f"{x['bleu']:.2f}", by_count,
                     f"{x['images_per_second']:.0f}"])
    lines += table(["decoding", "exact match", "BLEU", "exact match by digit count (1/2/3/4)",
                    "images/s"], body)
    lines += ["", "Target: exact match >= 95%. Sample test images with their greedy captions "
              "(the first test canvases and the first four wrong ones, in red): "
              "[results/captioning_digits.png](results/captioning_digits.png)."]
    return lines


def transcribed(key):
    """A table of results/transcribed.json, labelled as such."""
    def render(d):
        t = read(d, "transcribed.json")["tables"][key]
        return [f"**{t['title']}** ({TRANSCRIBED}; [results/transcribed.json]"
                f"(results/transcribed.json): {t['source']})", "",
                *table(t["header"], t["rows"])]
    render.transcribed = key
    return render


PREAMBLE = """\
# Benchmark results

Generated by `python benchmarks/report.py` from the files in
`benchmarks/results/`; do not edit it by hand. The benchmark scripts write only
those files: to update a table, rerun the command shown with it (or with its
row), then `python benchmarks/report.py`.

**What was measured, and where.** Unless a table says otherwise: a shared
development machine with 2 CPU cores (x86-64, AVX-512), no GPU, TensorFlow
2.21, Keras 3. BLEU is sacreBLEU 13a, cased, one reference; chrF is
sacreBLEU's. Almost every row is one run with seed 0.

**What the figures do not show.** Times carry the noise of a shared machine
that also has a slow mode (some rounds or epochs take about twice as long),
so compare times only within one table; ratios within one run are
comparable, absolute speeds across tables are not. No GPU was measured
(`benchmarks/gpu_check.py` is the check for a machine with TensorFlow and a
GPU). Multi30k test_2016_flickr has been looked at many times in this
project, so its figures overstate how well a model generalises; models were
chosen on validation data only. There is no variance across seeds.

**Which model.** The English->French model shipped in `saved_models/en-fr`
has had several versions: v2 (word-level, shipped before 2026-12-01), v3
(word pieces, the full Tatoeba export), v5 (v3's data, one shared piece
vocabulary, copy attention, name augmentation) and v6 (v5's recipe with a
bidirectional bottom encoder layer, shipped since 2026-12-03). A table
measured on an older model says which. Tables labelled "transcribed, no rerun
command" were copied from earlier versions of this page: no command
regenerates them, and each says where its figures came from."""

# (heading, parts): a part is a paragraph of text or a function of the results
# directory that returns lines.
SECTIONS = [
    ("Multi30k (test_2016_flickr, sacreBLEU 13a, cased)", [
        "The `cpu` preset (1-layer LSTM, 384 units, 256-d embeddings, dropout 0.2), Adam 2e-3, "
        "batches of 128 bucketed by length, a wall-clock budget (`--max-minutes`; minutes "
        "include any time the cores were shared); the weights kept are those of the best "
        "validation epoch. Beam 5 with GNMT length penalty 0.6. Perplexity is per target "
        "token, so per piece for word-piece rows and not comparable with word rows. The main "
        "columns decode as the paper does (`<unk>` allowed); sacreBLEU reads `<unk>` as three "
        "wrong tokens, so the \"no `<unk>` written\" column (`--unk-penalty inf`) is higher "
        "mostly because of the metric. Rows with `taskset` ran two at once, a core each; rows "
        "compared on source reversal had equal epochs only where the commands say so "
        "(`--epochs`). The rows with `--out /tmp/...` are the end-to-end runs of \"Batches "
        "in tokens\" below. Targets with beam 5 (de-en and en-de with attention 35, en-fr "
        "50) are met by the regularised de-en and en-fr rows (`--dropout 0.3 "
        "--embedding-dropout 0.3 --lr-schedule plateau`) and by the en-de word-piece row with "
        "`--label-smoothing 0.1`. At equal epochs, reversing the source helped every pair with "
        "attention and en-fr and en-de without; de-en without attention was mixed, with "
        "unequal compute.",
        multi30k,
        transcribed("multi30k_ensembles"),
    ]),
    ("Real text: length, `<unk>`, repetition, paragraphs", [
        "The Tatoeba validation split is held out of every model's training by the same hash "
        "of the English sentence. Buckets with fewer than 20 sentences are in the table but "
        "not in the plots. The \"length pairs\" rows are five word-level models trained on "
        "Multi30k only, 6 epochs each, differing only in attention and source reversal "
        "(`benchmarks/length_pairs.py`): their Tatoeba rows are near 0 because they know "
        "only Multi30k's vocabulary, and 6 epochs measure early learning, not converged "
        "models.",
        real_text,
        "### Reading the real-text tables",
        "v2 was trained on Tatoeba sentences of at most 9 words, hence its fall with length "
        "on Tatoeba. Whole paragraphs are much worse than the same sentences one by one, so "
        "`translate` splits sentences by default (split = one by one in every row). "
        "n-gram blocking and `<unk>` replacement stay options, off by default: blocking "
        "changes BLEU little, and most of the `<unk>` replacement gain is the metric no longer "
        "counting `<unk>` (table below).",
        transcribed("unk_handling"),
    ]),
    ("Names the model has never seen", [
        "200 sentences from 10 everyday templates with 20 first names and 20 cities that the "
        "Tatoeba export holds at most once; a name is kept when the translation writes it "
        "verbatim. \"names protected\" uses name placeholders (`protect_names`, the default of "
        "`translate` since v6). The labels are as recorded when each row was measured.",
        names,
    ]),
    ("Copy attention and a shared vocabulary (en-fr-v4, not shipped)", [
        "v3's recipe plus `--shared-vocabulary --copy-attention`; 7 epochs in 121 minutes on "
        "shared cores. It learned faster per epoch but was not shipped; v5 is this recipe plus "
        "name augmentation (`--name-augmentation 0.6`; command in "
        "`saved_models/en-fr/README.md`).",
        transcribed("v4_validation_loss"),
    ]),
    ("A bidirectional bottom encoder layer (v6, shipped since 2026-12-03)", [
        "v6 is v5's command plus `--bidirectional-encoder`, 6 epochs. Selection is on "
        "validation BLEU: the first run (4 epochs) was below v5 and not shipped; the third "
        "run's last 3 epochs averaged are v6. The second run was stopped in epoch 6 and has "
        "no BLEU.",
        transcribed("v6_validation_loss"),
        transcribed("model_selection"),
    ]),
    ("Fine-tuning and checkpoint averaging", [
        "The fine-tuning pairs were already among the model's training data, and with no "
        "validation data the last epoch is kept, so this measures forgetting, not domain "
        "adaptation; the 10,000-pair setting was not run.",
        finetune,
    ]),
    ("Deployment (size, latency, quantization)", [
        "The export formats' size, speed and agreement with Keras, measured on one model "
        "(named below); the file sizes of later models follow it, their latency and BLEU per "
        "format were not measured.",
        deployment,
        transcribed("deployment_sizes_later"),
    ]),
    ("The peer race (issue 34)", [
        "A system of `benchmarks/peers/README.md` without a row here has not run yet; a "
        "search or set without a cell was not scored yet. The runs of ours are the v6 "
        "recipe: `ours-copy-s0` (seed 0) with the code of the morning of 2026-12-05, "
        "`ours-copy-s0-r2` (seed 0) with that of the evening (TensorFlow's BFC allocator, "
        "the scatter-add copy distribution, and the whole training set shuffled each epoch "
        "instead of a 20,000-pair buffer over corpora stored in order: "
        "`benchmarks/peers/README.md`, \"Shuffling\"), `ours-copy-s1` (seed 1) with that "
        "of 2026-12-06 (copy attention's distribution in fewer passes, the same "
        "distribution). Compare the runs at equal steps as well as at equal minutes: the "
        "shuffle changed what a step is worth on Multi30k, the other changes only how many "
        "steps a minute holds. OpenNMT-py's Transformer (2026-12-06) batches by tokens "
        "(about 311 sentences a step, from its train.log reports) and is its documented "
        "recipe scaled to our size; with the noam schedule's warm-up of 4,000 steps, its "
        "learning rate was still rising when the hour ended (2,153 steps). `ours-nocopy-s0` "
        "(2026-12-06) is the same recipe and code as `ours-copy-s1` without copy attention, "
        "seed 0. `kerashub` (2026-12-06) is the keras-io KerasHub recipe as published: "
        "every batch packed to 40 tokens, so its steps are the slowest of the race; its "
        "sampler reruns the whole decoder at every step, so it is scored on Multi30k val "
        "greedy only (222 s for the 1,014 sentences; Tatoeba would take hours). "
        "`ours-copy-init-s0` (2026-12-06, afternoon, a new and quieter machine) is the v6 "
        "recipe with `--init-scale 0.1`, OpenNMT-py's start (now the `cpu` architecture's "
        "default; the other runs of ours started from Keras' initialisers): it is ahead of "
        "`onmt-lstm` at every checkpoint on both sets with both searches. Because that "
        "machine ran our earlier code 1.7x faster than the day before (`train_env`, "
        "below), `onmt-lstm-today` reran OpenNMT-py's LSTM on it for 20 minutes the same "
        "afternoon: 2,388 steps against our 2,191, and below ours on every score at 20 "
        "minutes. `ours-nocopy-init-s0` is ours without copy attention with the new "
        "default start, 20 minutes on the same machine that afternoon: 1.15x OpenNMT-py's "
        "sentences/s. `ours-copy-fast-s0` (2026-12-06, 21:07-22:07, idle) is "
        "`ours-copy-init-s0` again, the same recipe and seed, with the code of that evening "
        "(copy attention's gradient through `gather_nd` and the loss read from its "
        "log-probabilities: the same model, faster steps): 8,101 steps in the hour against "
        "6,549, 2,774 at 20 minutes against `onmt-lstm-today`'s 2,388 on the same machine, "
        "and ahead of both OpenNMT-py runs at every checkpoint on both sets with both "
        "searches. One run each: the two seeds of ours with Keras' initialisers differ "
        "by 3 BLEU on Tatoeba at 60 minutes.",
        peers_race,
    ]),
    ("The peer race at equal steps", [
        "Why a step of OpenNMT-py's LSTM was worth more than one of ours (issue 34, \"learn "
        "from it\"): its race recipe with one of its settings changed to ours at a time, "
        "and ours without copy attention (the peer's architecture) with one of its "
        "settings changed to the peer's (`benchmarks/peers/README.md`, \"The per-step "
        "gap\"). One run each, seed 0: differences of a few BLEU at step 600 are noise "
        "(the four OpenNMT-py variants range from 12 to 19 on Tatoeba). The initialisation "
        "is the gap: none of OpenNMT-py's settings brings it down to ours, and ours started "
        "as OpenNMT-py starts (every weight uniform in [-0.1, 0.1]) is ahead of every "
        "OpenNMT-py variant at both steps, where with Keras' initialisers it is far "
        "behind. Trained beside other jobs (the v7 fine-tuning run, scoring), which "
        "changes the minutes, not the steps.",
        peers_steps,
    ]),
    ("Training throughput against the peers, one window", [
        "The race's hours ran on different days and machines, so their steps/s do not "
        "compare the systems. These short runs do: each system's own race command "
        "(`benchmarks/peers/README.md`), checkpoints after 200 and 600 optimizer steps, "
        "steps/s between the two, on an otherwise idle machine. Ours is the race's recipe "
        "with copy attention; a label `ours@REV` is the code of that commit.",
        peers_throughput,
    ]),
    ("Decoding speed against the peers", [
        "Measured on 2026-12-07 at 11:33-11:45 (the CTranslate2 rows at 06:52-07:03) on an "
        "otherwise idle machine, with the shipped "
        "v12 and its stored settings (beam 5, `beam_stop` settled, names protected, sentences "
        "split); the `beam_stop best` rows use OpenNMT-py's rule for when a sentence is done. "
        "In this run ours is 1.30x OpenNMT-py's LSTM at batch 32 and beam 5 (119.5 against "
        "91.9 sentences/s) and 1.39x greedy (300.8 against 216.0); one sentence at a time "
        "ours is 2.1x with beam 5 (27.2 against 13.0) and 2.6x greedy (at 06:52: 1.10x, "
        "1.38x, 2.5x and 2.8x, before two batches were decoded at a time). Earlier runs of the "
        "same command (v10, the same network) gave OpenNMT-py 0.87x-1.42x ours at batch 32 "
        "and beam 5, and 0.87x-2.03x greedy (`benchmarks/peers/README.md`): the host's speed "
        "swings by a third between runs minutes apart, OpenNMT-py's as much as ours, so read "
        "ratios within one run, and more than one run. OpenNMT-py's start-up, subtracted from "
        "its rows, is now the median of three one-sentence runs (a single run once took 10 s "
        "where the others took 2.4-2.6 s, and the rows at batch 32 came out absurd). "
        "CTranslate2 (int8) running OpenNMT-py's Transformer was slower than ours at every "
        "batch and beam in the run of that morning (68.6 sentences/s at batch 32 and beam 5, "
        "0.70x ours then; its rows are kept from that run, as the Transformer checkpoint "
        "they need was lost with that machine): that Transformer ran its race hour again on "
        "2026-12-07 for this row (2,196 steps; the race run's 60-minute checkpoint scored "
        "33.6 and 38.4 BLEU with beam 5 on Tatoeba validation and Multi30k val, against "
        "ours' 42-51), so it may write longer translations than a better-trained one would. "
        "The other rows are the run of 11:33-11:45 (two batches in flight, the collector "
        "paused, Grappler once, the graph compiled ahead: `benchmarks/peers/README.md`, "
        "\"Two batches in flight, the collector paused, Grappler once\"; OpenNMT-py's LSTM "
        "retrained its 20 minutes that morning, 2,056 steps): at batch 32 and beam 5 ours "
        "decodes 119.6 sentences/s against `onmt_translate`'s 91.9. As whole commands, "
        "start-up included, seven rounds, ours took 11.40 s for the 1,000 sentences in a "
        "venv with the package alone (what the README's first command installs) against "
        "11.98 s for `onmt_translate` on the SentencePiece-encoded file and 11.92 s on the "
        "same text file as ours with its own SentencePiece transform (text in, text out); "
        "round by round ours took 0.94x and 0.97x their time (medians), and 1.01x and 0.97x "
        "in a second seven-round run right after it (11:46-11:53, the host slower: runs up "
        "to 16.7 s), 0.98x and 0.96x in a third (12:01-12:07), 0.98x and 0.97x over the 21 "
        "rounds (ours the faster in 11 and 13 of them); the run before them (11:04, without "
        "compiling ahead) gave 0.97x and 1.00x, the four runs before that "
        "1.00x-1.05x and 0.99x-1.08x (1.07x that morning, 1.14x the evening before, 1.43x at "
        "04:44, 1.73x at 01:06). Start-up alone (the same command on one sentence) is "
        "3.34 s against 2.76 and 2.71 s; on the sentences ours is the faster. "
        "The SavedModel rows are exports made in the run; the int8 TFLite rows "
        "run the shipped export.",
        decode_speed, decode_profile]),
    ("Serving under load", [serving_load]),
    ("In the browser and in Node (LiteRT.js)", [
        "The same int8 `.tflite` export through three runners on the same sentences and "
        "cores, one after the other. Their outputs are compared by `tests/test_web.py`: on the "
        "50 validation sentences of the default test run, greedy and beam 5, all but 1% "
        "(one sentence at least) are equal and any difference is a near-tie.",
        web,
    ]),
    ("Training speed", [
        "The first three rows time `train_on_batch` steps, the last two `model.fit` on the "
        "same batches. The speed-up over the baseline is padding: the baseline pads every "
        "sentence to the maximum length, ours only to the longest of its length bucket. "
        "XLA was slower on this CPU and is not used; mixed_bfloat16 changes the numerics and "
        "is an option, not the default. The host's speed changes between runs (the earlier "
        "runs in the second table), so read ratios within one run.",
        train_speed,
        transcribed("train_speed_earlier"),
    ]),
    ("Process settings and copy attention in training", [
        "Where the race's steps went (benchmarks/peers/: 0.92 steps/s for ours against 1.90 for "
        "OpenNMT-py's LSTM, a third of our CPU time in the kernel; the allocator settings "
        "that fixed that are in the history of `benchmarks/results/train_env.json`). This "
        "run, on 2026-12-06 on an idle host, measures copy attention and bfloat16: "
        "`default` is the command as it is (the copy distribution as `log g + "
        "log_softmax(logits)` corrected at the source ids), `scores-copy` a training form "
        "with fewer dense passes and the same loss that did not pay and was reverted, "
        "`mixture-copy` the formula of 2026-12-05, `no-copy` the recipe without copy "
        "attention, `bfloat16` the recipe under `--mixed-precision mixed_bfloat16`, which "
        "is no faster here. One round: read the ratios. (Its `default` is the code of that "
        "day; the next section measured two later changes.)",
        train_env,
    ]),
    ("Copy attention's gather and loss in training", [
        "Two changes of 2026-12-06 (evening) to the training step of a copy-attention "
        "model, each against the command as it is now (`default`): `batched-gather-copy` "
        "takes the generated log-probabilities at the source ids as before, with "
        "`take_along_axis` (a batched gather, whose gradient is an UnsortedSegmentSum), "
        "where the code now uses `tf.gather_nd` (a ScatterNd); `softmax-loss` computes the "
        "loss as before, a sparse cross-entropy over the model's log-probabilities, where "
        "the code now gathers the reference's log-probability (`TokenCrossEntropy("
        "log_probabilities=True)`). Both give the same values; the full-scale effect on "
        "the race's runs is in \"Training throughput against the peers, one window\".",
        lambda d: train_env(d, "train_env_copy.json"),
    ]),
    ("Training-speed variants (model.fit)", [
        "Larger batches are faster per token but change the optimisation (fewer updates per "
        "epoch), so they are `--batch-size` for a user to choose, not a new default. The "
        "other variants changed nothing measurable and were not kept.",
        train_variants,
        transcribed("speed_checks"),
    ]),
    ("Where the training time goes", [profile_training]),
    ("LSTM paths on CPU", [
        "The recurrence's matrix products are small (per step 128 x 384 by 384 x 1,536) and "
        "sequential; neither hoisting the input projection (`FastLSTM`, the same outputs and "
        "gradients within 5e-7) nor unrolling paid enough to keep.",
        lstm_paths,
    ]),
    ("Batches in tokens, and the end-to-end effect", [
        "Two comparisons on the en-fr Luong recipe with `--max-minutes 20`, the runs of each "
        "made one after the other on an otherwise idle machine; compare rows within one "
        "table only. Batches of 4,096 tokens made epochs faster but gave fewer updates per "
        "epoch and a worse model in the budget, so the default stays batches of sentences. "
        "Turning tf.data autotuning off (the default now) gives the same training epoch for "
        "epoch (the losses agree to all printed digits; "
        "`tests/test_training.py::test_fifty_steps_match_the_pipeline_before_issue_21`) "
        "without the slow epochs, so more epochs fit in the budget.",
        transcribed("e2e_token_batches"),
        transcribed("e2e_autotune"),
    ]),
    ("Memory and corpus size", [data_scale]),
    ("Image captioning (handwritten digits)", [
        "Of the wrong captions, most have the right count and one misread digit, so exact "
        "match falls with the number of digits. Beam search changes nothing here: the "
        "caption grammar is fixed.",
        captioning,
        transcribed("captioning_earlier"),
    ]),
    ("Other figures", [
        "Figures that earlier versions of this page quoted in their text, kept for reference.",
        transcribed("other_figures"),
    ]),
]


def render(results_dir=RESULTS_DIR):
    out = [PREAMBLE]
    for heading, parts in SECTIONS:
        try:
            rendered = [part if isinstance(part, str) else "\n".join(part(results_dir))
                        for part in parts]
        except FileNotFoundError:
            continue  # a benchmark not run yet (the peer race): no section
        out.append(heading if heading.startswith("#") else f"## {heading}")
        out.extend(rendered)
    return "\n\n".join(out) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", default=str(RESULTS_DIR), help="The results directory.")
    p.add_argument("--out", default=str(RESULTS_MD), help="The page to write or check.")
    p.add_argument("--check", action="store_true",
                   help="Write nothing; exit 1 if the page differs from a fresh render.")
    args = p.parse_args(argv)
    text, out = render(pathlib.Path(args.results)), pathlib.Path(args.out)
    if args.check:
        if not out.exists() or out.read_text(encoding="utf-8") != text:
            print(f"{out} is not up to date: run python benchmarks/report.py", file=sys.stderr)
            return 1
        return 0
    out.write_text(text, encoding="utf-8")
    print(f"{out} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
