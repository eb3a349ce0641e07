"""Write the race's data once, as plain text, from OUR corpus rules.

Runs in the project's venv (it imports keras_seq2seq): every peer then
trains on exactly the pairs `keras-seq2seq train` trains on.

    python benchmarks/peers/prepare_data.py --out /work/peers-data
    python benchmarks/peers/prepare_data.py --out /tmp/smoke-data --max-train 2000 --max-valid 200

Writes, one sentence a line, UTF-8, line-aligned per language:

- train.en / train.fr: `training_data(CorpusSpec(...), seed=0)`'s training
  pairs (174,921 for the full data), WITHOUT our name augmentation (that is
  part of our recipe, done inside `keras-seq2seq train`, not of the data).
- valid.en / valid.fr: its validation pairs (17,371): Multi30k val, then the
  10% of Tatoeba held out by source (seed 0). Peers validate on these
  during training.
- eval/tatoeba_valid.{en,fr} (16,357) and eval/multi30k_val.{en,fr}
  (1,014): the same pairs, the two sets that `evaluate.py` scores.
- manifest.json: counts, the spec, the data directory and sha256 of each file.

Data: --data, else $KERAS_SEQ2SEQ_DATA, else ../shared/data from the
repository root. Lines are cleaned of tabs and newlines inside a sentence
(none are expected; the count is in the manifest).
"""

import argparse
import hashlib
import json
import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]

EXPECTED = {"train": 174_921, "valid": 17_371, "tatoeba_valid": 16_357, "multi30k_val": 1_014}


def corpus_spec(data):
    from keras_seq2seq.data.corpora import CorpusSpec

    d = pathlib.Path(data)
    return CorpusSpec(
        pairs=[str(d / "tatoeba" / "eng-fra-full.tsv.gz")],
        sources=[str(d / "multi30k" / "train.en.gz")],
        targets=[str(d / "multi30k" / "train.fr.gz")],
        validation_sources=[str(d / "multi30k" / "val.en.gz")],
        validation_targets=[str(d / "multi30k" / "val.fr.gz")],
        validation_fraction=0.1,
    )


def _clean(text):
    return " ".join(text.replace("\t", " ").splitlines()).strip()


def write_pairs(pairs, prefix):
    """Write prefix.en / prefix.fr; return (count, lines changed by cleaning)."""
    changed = 0
    count = 0
    with open(f"{prefix}.en", "w", encoding="utf-8") as fe, \
            open(f"{prefix}.fr", "w", encoding="utf-8") as ff:
        for source, target in pairs:
            s, t = _clean(source), _clean(target)
            changed += (s != source.strip()) + (t != target.strip())
            fe.write(s + "\n")
            ff.write(t + "\n")
            count += 1
    return count, changed


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="Directory to write (outside the repository).")
    p.add_argument("--data", default=os.environ.get("KERAS_SEQ2SEQ_DATA",
                                                    str(ROOT.parent / "shared" / "data")))
    p.add_argument("--max-train", type=int, help="Smoke runs: keep the first N training pairs.")
    p.add_argument("--max-valid", type=int,
                   help="Smoke runs: keep the first N pairs of each validation set.")
    args = p.parse_args(argv)

    from keras_seq2seq.data.corpora import training_data
    from keras_seq2seq.data.readers import read_parallel_files

    spec = corpus_spec(args.data)
    train, valid = training_data(spec, seed=0)
    train, valid = list(train), list(valid)
    m30k = list(read_parallel_files(spec.validation_sources[0], spec.validation_targets[0]))
    # split_corpora puts the validation files first, then the held-out Tatoeba pairs.
    if valid[:len(m30k)] != m30k:
        raise SystemExit("Unexpected validation order: Multi30k val is not first.")
    sets = {"multi30k_val": m30k, "tatoeba_valid": valid[len(m30k):]}
    full = args.max_train is None and args.max_valid is None
    if args.max_train:
        train = train[:args.max_train]
    if args.max_valid:
        sets = {k: v[:args.max_valid] for k, v in sets.items()}
        valid = sets["multi30k_val"] + sets["tatoeba_valid"]

    out = pathlib.Path(args.out)
    (out / "eval").mkdir(parents=True, exist_ok=True)
    counts, cleaned = {}, 0
    outputs = [("train", train, out / "train"), ("valid", valid, out / "valid")]
    outputs += [(k, v, out / "eval" / k) for k, v in sets.items()]
    for name, pairs, prefix in outputs:
        counts[name], changed = write_pairs(pairs, prefix)
        cleaned += changed
    if full and counts != EXPECTED:
        raise SystemExit(f"Counts {counts} differ from the expected {EXPECTED}: has the "
                         f"corpus code or the data changed?")
    files = sorted(str(f.relative_to(out)) for f in out.rglob("*")
                   if f.is_file() and f.suffix in (".en", ".fr"))
    manifest = {
        "counts": counts,
        "subset": not full,
        "lines_cleaned": cleaned,
        "data": os.path.abspath(args.data),
        "spec": {k: v for k, v in vars(spec).items() if v not in (None, [], "train")},
        "seed": 0,
        "name_augmentation": "none (part of our recipe, applied by keras-seq2seq train)",
        "sha256": {f: sha256(out / f) for f in files},
    }
    with open(out / "manifest.json", "w") as f:
        json.dump(manifest, f, indent=2)
    print(json.dumps({"out": str(out), **{k: manifest[k] for k in ("counts", "lines_cleaned")}}))


if __name__ == "__main__":
    main()
