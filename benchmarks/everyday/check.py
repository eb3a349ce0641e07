"""The everyday-phrases check set (issue 34, item 6): 100 phrases a person
types (greetings, thanks, apologies, questions, polite requests, numbers,
dates and times, names), none of which is a source sentence of the training
corpora, translated by a model with its stored decoding settings.

    python benchmarks/everyday/check.py --model saved_models/en-fr \
        --data ../shared/data --out benchmarks/everyday/v6.tsv

Writes `category<TAB>phrase<TAB>translation` lines. Whether a translation is
right is read by a person: `v6_judged.tsv` adds a verdict column (ok / wrong,
with the reason), and `--summary FILE` counts it.
"""

import argparse
import csv
import gzip
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent


def read_phrases(path=HERE / "phrases.tsv"):
    with open(path, encoding="utf-8") as f:
        return [tuple(line.rstrip("\n").split("\t")) for line in f if line.strip()]


def training_sources(data_dir):
    """Every English sentence of the full Tatoeba file and of Multi30k train
    and val (all of them, not only the training split: stricter), normalised
    as the model normalises its input, case folded."""
    from keras_seq2seq.data import read_tsv_pairs

    data_dir = pathlib.Path(data_dir)
    sentences = [s for s, _ in read_tsv_pairs(str(data_dir / "tatoeba" / "eng-fra-full.tsv.gz"))]
    for split in ("train", "val"):
        with gzip.open(data_dir / "multi30k" / f"{split}.en.gz", "rt", encoding="utf-8") as f:
            sentences += [line.rstrip("\n") for line in f]
    return {_key(s) for s in sentences}


def _key(text):
    from keras_seq2seq.text.normalization import normalize

    return " ".join(normalize(text).numpy().decode("utf-8").casefold().split())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="en-fr")
    parser.add_argument("--data", default=str(HERE.parents[2] / "shared" / "data"))
    parser.add_argument("--out", help="Write the translations here (TSV).")
    parser.add_argument("--summary", help="Count the verdicts of a judged TSV.")
    args = parser.parse_args(argv)
    if args.summary:
        with open(args.summary, encoding="utf-8") as f:
            rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
        ok = [r for r in rows if r[3] == "ok"]
        print(f"{len(ok)} of {len(rows)} right by meaning")
        for r in rows:
            if r[3] != "ok":
                print(f"  {r[1]} -> {r[2]}  ({r[4] if len(r) > 4 else ''})")
        return 0
    phrases = read_phrases()
    seen = training_sources(args.data)
    clashes = [p for _, p in phrases if _key(p) in seen]
    if clashes:
        print("in the training corpora:", *clashes, sep="\n  ", file=sys.stderr)
        return 1
    import keras_seq2seq

    translator = keras_seq2seq.load(args.model)
    translations = translator.translate([p for _, p in phrases])
    lines = [f"{c}\t{p}\t{t}\n" for (c, p), t in zip(phrases, translations)]
    if args.out:
        pathlib.Path(args.out).write_text("".join(lines), encoding="utf-8")
    sys.stdout.writelines(lines)
    print(f"{len(phrases)} phrases, none a training source; decoding: "
          f"{translator.decoding.describe()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
