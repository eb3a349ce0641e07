"""The OpenNMT-py systems' subwords: one joint SentencePiece model, encoded files.

Runs in the OpenNMT-py venv (its pinned sentencepiece), once per data
directory; both OpenNMT-py systems share the result:

    python benchmarks/peers/onmt/spm.py /work/peers-data

Trains a unigram model of 8,000 pieces (character_coverage 1.0) on
train.en + train.fr, the usual recipe of OpenNMT-py's SentencePiece
examples, and writes DATA/spm8k/{spm.model, train.{en,fr}.sp,
valid.{en,fr}.sp, eval/*.en.sp} (space-separated pieces). Skips the work
when spm8k/spm.model exists. Prints its wall time (setup, not race time).
"""

import json
import os
import sys
import time


def encode(sp, src, dst):
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
        lines = f.read().splitlines()
        for pieces in sp.encode(lines, out_type=str):
            out.write(" ".join(pieces) + "\n")


def main(data, vocab_size=8000):
    import sentencepiece as spm

    out = os.path.join(data, "spm8k")
    model = os.path.join(out, "spm.model")
    if os.path.exists(model):
        print(f"{model} exists; nothing to do")
        return
    os.makedirs(os.path.join(out, "eval"), exist_ok=True)
    started = time.time()
    spm.SentencePieceTrainer.train(
        input=",".join([os.path.join(data, "train.en"), os.path.join(data, "train.fr")]),
        model_prefix=os.path.join(out, "spm"), vocab_size=vocab_size, model_type="unigram",
        character_coverage=1.0, input_sentence_size=10_000_000, shuffle_input_sentence=True,
        seed_sentencepiece_size=1_000_000, num_threads=2, minloglevel=1,
        # Small smoke subsets cannot hold 8,000 pieces: allow fewer.
        hard_vocab_limit=False)
    trained = time.time() - started
    sp = spm.SentencePieceProcessor(model_file=model)
    for split in ("train", "valid"):
        for lang in ("en", "fr"):
            encode(sp, os.path.join(data, f"{split}.{lang}"),
                   os.path.join(out, f"{split}.{lang}.sp"))
    for name in sorted(os.listdir(os.path.join(data, "eval"))):
        if name.endswith(".en"):
            encode(sp, os.path.join(data, "eval", name), os.path.join(out, "eval", name + ".sp"))
    info = {"vocab_size": sp.get_piece_size(), "train_seconds": round(trained, 1),
            "total_seconds": round(time.time() - started, 1), "sentencepiece": spm.__version__}
    with open(os.path.join(out, "spm.json"), "w") as f:
        json.dump(info, f, indent=2)
    print(json.dumps(info))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
