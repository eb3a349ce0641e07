"""Names kept: does the model write names it has (almost) never seen?

Sentences built from everyday templates and real first names and cities,
each name one the Tatoeba export holds at most twice (checked when the data
is there: the count is printed and stored), translated by a model; a name is
kept when the translation writes it verbatim. Not a test: one run takes a
minute or two.

    python benchmarks/names.py --label v3 --model runs/en-fr-v3
    python benchmarks/names.py --label v5            # the shipped model

Rows are appended to benchmarks/results/names.jsonl.
"""

import argparse
import collections
import gzip
import json
import os
import pathlib
import re
import shlex
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results" / "names.jsonl"

PEOPLE = ["Alexander", "Beatriz", "Kofi", "Svetlana", "Priya", "Mateo", "Ingrid", "Yusuf",
          "Olga", "Quentin", "Amara", "Dmitri", "Leilani", "Tobias", "Anjali", "Rasmus",
          "Nadia", "Emeka", "Greta", "Haruto"]
PLACES = ["Toronto", "Helsinki", "Lisbon", "Nairobi", "Winnipeg", "Dakar", "Gdansk", "Hanoi",
          "Oslo", "Zanzibar", "Porto", "Lagos", "Tbilisi", "Adelaide", "Bergen", "Cusco",
          "Krakow", "Manila", "Quito", "Seville"]
TEMPLATES = [
    "My name is {person}.",
    "My name is {person} and I live in {place}.",
    "{person} is my best friend.",
    "I met {person} yesterday.",
    "Have you ever been to {place}?",
    "{person} was born in {place}.",
    "We are going to {place} next week.",
    "Where does {person} work?",
    "{person} and I went to {place} last summer.",
    "Is it cold in {place} in winter?",
]


def sentences():
    """(sentence, [names in it]) for every template, name and place."""
    out = []
    for i, template in enumerate(TEMPLATES):
        for j in range(len(PEOPLE)):
            person, place = PEOPLE[j], PLACES[(i + j) % len(PLACES)]
            names = [n for key, n in (("{person}", person), ("{place}", place))
                     if key in template]
            out.append((template.format(person=person, place=place), names))
    return out


def corpus_counts(data_dir):
    """How often each name occurs in the Tatoeba export (English side)."""
    path = os.path.join(data_dir, "tatoeba", "eng-fra-full.tsv.gz")
    if not os.path.exists(path):
        return None
    counts = collections.Counter()
    wanted = set(PEOPLE + PLACES)
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            counts.update(w for w in re.findall(r"[A-Z][a-z]+", line.split("\t")[0])
                          if w in wanted)
    return {name: counts[name] for name in PEOPLE + PLACES}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(REPO / "saved_models" / "en-fr"))
    parser.add_argument("--label", default="shipped")
    parser.add_argument("--data", default=os.environ.get(
        "KERAS_SEQ2SEQ_DATA", str(REPO.parent / "shared" / "data")))
    parser.add_argument("--beam-sizes", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--protect-names", action="store_true",
                        help="Translate with protect_names (placeholder names).")
    args = parser.parse_args()

    from keras_seq2seq import load

    translator = load(args.model)
    items = sentences()
    counts = corpus_counts(args.data)
    for beam_size in args.beam_sizes:
        started = time.time()
        outputs = translator.translate([s for s, _ in items], beam_size=beam_size,
                                       batch_size=64, protect_names=args.protect_names)
        kept = [n in out for (_, names), out in zip(items, outputs) for n in names]
        whole = [all(n in out for n in names) for (_, names), out in zip(items, outputs)]
        row = {
            "label": args.label, "model": args.model, "beam_size": beam_size,
            "protect_names": args.protect_names, "sentences": len(items), "names": len(kept),
            "names_kept": sum(kept), "share_kept": round(sum(kept) / len(kept), 4),
            "sentences_with_every_name": sum(whole),
            "seconds": round(time.time() - started, 1),
            "examples": [{"source": s, "output": o} for (s, _), o in
                         list(zip(items, outputs))[:: len(PEOPLE)]],
            "corpus_counts": counts,
            "command": shlex.join(["python", "benchmarks/names.py", *sys.argv[1:]]),
        }
        print(f"{args.label}, beam {beam_size}: {row['names_kept']} of {row['names']} names "
              f"kept ({100 * row['share_kept']:.1f}%); every name in "
              f"{row['sentences_with_every_name']} of {len(items)} sentences")
        for example in row["examples"][:5]:
            print(f"  {example['source']} -> {example['output']}")
        with open(RESULTS, "a", encoding="utf-8") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
