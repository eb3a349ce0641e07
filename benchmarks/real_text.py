"""Real text: BLEU by source length, `<unk>`, repeated 3-grams and paragraphs.

For one model directory (default: the shipped model), on three sets:
- the Tatoeba validation split (`eng-fra-full.tsv.gz`, 10% of the unique
  English sentences by hash, seed 0: the split `train --pairs ...
  --validation-fraction 0.1 --seed 0` holds out, so the shipped model never
  saw these sentences; the same hash puts a sentence on the same side in the
  short file, so the earlier model never saw them either),
- Multi30k val (model selection data) and test_2016_flickr (the test set,
  looked at many times: it overstates how well a model generalises).

For each decoding setting: sacreBLEU, BLEU by source length (<= 9, 10-14,
15-24, 25+ words, as in Sutskever et al. 2014, Figure 3), `<unk>` written,
the share of outputs with a repeated word 3-gram, sentences/s. Then the
paragraph test: consecutive validation sentences (one sentence each, 4+
words) joined three at a time, translated as one input, against the same
sentences translated one by one; with sentence splitting and without.

    python benchmarks/real_text.py --label shipped-v3
    python benchmarks/real_text.py --model runs/x --label x --beam-sizes 1
    python benchmarks/real_text.py --plot   # the PNG from every row so far

Rows are appended to benchmarks/results/real_text.jsonl; from all of them
the script draws benchmarks/results/bleu_by_length.png (`--plot` does only
that); `python benchmarks/report.py` renders the tables of benchmarks/RESULTS.md.
"""

import argparse
import json
import os
import pathlib
import shlex
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results" / "real_text.jsonl"
PLOT = HERE / "results" / "bleu_by_length.png"
MIN_PAIRS = 20


def tatoeba_validation(data_dir):
    from keras_seq2seq.data import read_tsv_pairs, split_by_source

    corpus = read_tsv_pairs(os.path.join(data_dir, "tatoeba", "eng-fra-full.tsv.gz"))
    _, validation = split_by_source(corpus, 0.1, seed=0)
    return list(validation)


def multi30k(data_dir, split):
    from keras_seq2seq.data import read_parallel_files

    base = os.path.join(data_dir, "multi30k", split)
    return list(read_parallel_files(base + ".en.gz", base + ".fr.gz"))


def paragraphs(pairs, size=3, count=300):
    """Consecutive single-sentence pairs (4+ source words), `size` at a time."""
    from keras_seq2seq.text import split_sentences_batch

    sources = [s for s, _ in pairs]
    pieces = split_sentences_batch(sources)
    single = [(s, t) for (s, t), p in zip(pairs, pieces) if len(p) == 3 and len(s.split()) >= 4]
    # One translation per English sentence (the file lists several).
    seen, unique = set(), []
    for s, t in single:
        if s not in seen:
            seen.add(s)
            unique.append((s, t))
    groups = [unique[i : i + size] for i in range(0, len(unique) - size + 1, size)][:count]
    return groups


def paragraph_test(translator, pairs, beam_size, no_repeat_ngram, batch_size,
                   protect_names=False):
    from keras_seq2seq.evaluation import corpus_bleu
    from keras_seq2seq.text import split_sentences_batch

    groups = paragraphs(pairs)
    sentences = [s for g in groups for s, _ in g]
    references = [" ".join(t for _, t in g) for g in groups]
    options = dict(beam_size=beam_size, no_repeat_ngram=no_repeat_ngram, batch_size=batch_size,
                   protect_names=protect_names)
    alone = translator.translate(sentences, **options)
    joined_alone = [" ".join(alone[i : i + 3]) for i in range(0, len(alone), 3)]
    texts = [" ".join(s for s, _ in g) for g in groups]
    split = translator.translate(texts, **options)
    whole = translator.translate(texts, split_sentences=False, **options)
    three = sum(len(p) == 7 for p in split_sentences_batch(split))
    return {
        "paragraphs": len(groups),
        "bleu_sentence_by_sentence": round(corpus_bleu(joined_alone, references).score, 2),
        "bleu_paragraphs_split": round(corpus_bleu(split, references).score, 2),
        "bleu_paragraphs_whole": round(corpus_bleu(whole, references).score, 2),
        "split_outputs_with_3_sentences": round(three / max(len(groups), 1), 4),
        "split_equals_sentence_by_sentence": round(
            sum(a == b for a, b in zip(split, joined_alone)) / max(len(groups), 1), 4),
    }


def run(args):
    from keras_seq2seq import load
    from keras_seq2seq.evaluation import evaluate

    translator = load(args.model)
    sets = {
        "tatoeba_validation": tatoeba_validation(args.data),
        "multi30k_val": multi30k(args.data, "val"),
        "multi30k_test_2016_flickr": multi30k(args.data, "test_2016_flickr"),
    }
    if args.max_pairs:
        sets = {k: v[: args.max_pairs] for k, v in sets.items()}
    rows = []
    for beam_size in args.beam_sizes:
        for ngram in args.no_repeat_ngram:
            row = {"label": args.label, "model": args.model, "beam_size": beam_size,
                   "no_repeat_ngram": ngram, "replace_unknown": args.replace_unknown,
                   "protect_names": args.protect_names, "date": time.strftime("%Y-%m-%d"),
                   "under_load": args.under_load,
                   "command": shlex.join(["python", "benchmarks/real_text.py", *sys.argv[1:]])}
            for name, pairs in sets.items():
                report, hypotheses = evaluate(translator, pairs, beam_size=beam_size,
                                     batch_size=args.batch_size, no_repeat_ngram=ngram,
                                     replace_unknown=args.replace_unknown,
                                     protect_names=args.protect_names,
                                     with_perplexity=False, progress=False)
                if args.hypotheses_dir:
                    os.makedirs(args.hypotheses_dir, exist_ok=True)
                    stem = "".join(c if c.isalnum() else "_" for c in
                                   f"{args.label}_{_setting(row)}_{name}")
                    with open(os.path.join(args.hypotheses_dir, stem + ".txt"), "w",
                              encoding="utf-8") as f:
                        f.writelines(h + "\n" for h in hypotheses)
                row[name] = {k: report[k] for k in (
                    "pairs", "bleu", "chrf", "unknown_words", "repeated_trigram_share",
                    "by_length", "names_kept", "sentences_per_second")}
                print(f"{args.label} beam {beam_size} no-repeat {ngram} {name}: "
                      f"BLEU {report['bleu']:.2f}  <unk> {report['unknown_words']}  "
                      f"repeats {report['repeated_trigram_share']:.2%}  by length "
                      + " ".join(f"{b['words']}:{b['bleu']}" for b in report["by_length"]),
                      flush=True)
            if not args.no_paragraphs:
                row["paragraphs"] = paragraph_test(translator, sets["tatoeba_validation"],
                                                   beam_size, ngram, args.batch_size,
                                                   args.protect_names)
                print(f"  paragraphs: {row['paragraphs']}", flush=True)
            rows.append(row)
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            with open(RESULTS, "a", encoding="utf-8") as f:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return rows


PAIRS_PLOT = HERE / "results" / "bleu_by_length_pairs.png"
PAIRS_LABEL = "length pairs:"  # benchmarks/length_pairs.py's rows


def plot():
    """Two PNGs: every model's rows, and the paper's comparison on the same
    data (benchmarks/length_pairs.py: attention or not, source reversed or
    not), its Figure 3."""
    rows = [json.loads(line) for line in RESULTS.read_text(encoding="utf-8").splitlines()]
    pairs = [row for row in rows if row["label"].startswith(PAIRS_LABEL)]
    _plot([row for row in rows if row not in pairs], PLOT, "")
    if pairs:
        _plot(pairs, PAIRS_PLOT, "Trained on Multi30k only, same data and budget: ")


def _plot(rows, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    legend_rows = (len(rows) + 1) // 2
    height = 4.2 + 0.2 * legend_rows
    fig, axes = plt.subplots(1, 3, figsize=(15, height), sharey=True)
    names = ["tatoeba_validation", "multi30k_val", "multi30k_test_2016_flickr"]
    for ax, name in zip(axes, names):
        for row in rows:
            # Buckets of fewer than MIN_PAIRS sentences are noise: not drawn.
            buckets = [b for b in row[name]["by_length"]
                       if b["bleu"] is not None and b["pairs"] >= MIN_PAIRS]
            xs = [b["words"] for b in buckets]
            ys = [b["bleu"] for b in buckets]
            label = row["label"].removeprefix(PAIRS_LABEL).strip()
            ax.plot(xs, ys, marker="o", label=f"{label} ({_setting(row).replace('`', '')})")
        ax.set_title(name.replace("_", " ") + f" (buckets of {MIN_PAIRS}+ sentences)")
        ax.set_xlabel("source length (words)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("BLEU (sacreBLEU 13a)")
    if title:
        fig.suptitle(title + "BLEU by source length", fontsize=10)
    # The legend goes under the panels, where it covers no line.
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, (0.2 * legend_rows + 0.1) / height, 1, 1))
    fig.savefig(path, dpi=110)
    print(f"Plot written to {path}")


def _setting(row):
    search = "greedy" if row["beam_size"] == 1 else f"beam {row['beam_size']}"
    extra = [f"no-repeat {row['no_repeat_ngram']}"] if row["no_repeat_ngram"] else []
    extra += ["`<unk>` replaced"] if row.get("replace_unknown") else []
    extra += ["names protected"] if row.get("protect_names") else []
    return ", ".join([search, *extra])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(REPO / "saved_models" / "en-fr"))
    parser.add_argument("--label", default="shipped")
    parser.add_argument("--data", default=os.environ.get(
        "KERAS_SEQ2SEQ_DATA", str(REPO.parent / "shared" / "data")))
    parser.add_argument("--beam-sizes", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--no-repeat-ngram", type=int, nargs="+", default=[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--max-pairs", type=int, help="Only the first N pairs of each set.")
    parser.add_argument("--no-paragraphs", action="store_true")
    parser.add_argument("--hypotheses-dir", help="Also write every set's translations here.")
    parser.add_argument("--protect-names", action="store_true",
                        help="Translate rare capitalised words as placeholder names.")
    parser.add_argument("--replace-unknown", action="store_true",
                        help="Word-level models with attention: copy aligned source words.")
    parser.add_argument("--under-load", action="store_true",
                        help="Record that a training shared the CPUs during the run.")
    parser.add_argument("--plot", action="store_true",
                        help="Only draw the plots from the rows so far.")
    args = parser.parse_args()
    if not args.plot:
        run(args)
    plot()
    print("Results written; render RESULTS.md with: python benchmarks/report.py")


if __name__ == "__main__":
    main()
