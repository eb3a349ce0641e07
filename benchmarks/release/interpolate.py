"""Weight-space interpolation of two models of one network (the WiSE-FT of
Wortsman et al. 2022: a model and its fine-tuned copy mixed weight by
weight), for model selection. Writes the model directory OUT whose weights
are (1 - T) * A + T * B, with B's settings and vocabularies.

    python benchmarks/release/interpolate.py A_DIR B_DIR T OUT

Not a library feature: `keras-seq2seq average` averages the checkpoints of
one run with equal weights; this mixes two model directories (tried for v12,
benchmarks/release/README.md, and not shipped).
"""

import argparse

import numpy as np


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("t", type=float, help="B's share, in [0, 1].")
    p.add_argument("out")
    args = p.parse_args(argv)
    if not 0 <= args.t <= 1:
        p.error(f"T must be in [0, 1], got {args.t}")

    import keras_seq2seq

    a, b = keras_seq2seq.load(args.a), keras_seq2seq.load(args.b)
    wa, wb = a.model.get_weights(), b.model.get_weights()
    if [w.shape for w in wa] != [w.shape for w in wb]:
        p.error(f"{args.a} and {args.b} are not the same network")
    b.model.set_weights([((1 - args.t) * x.astype(np.float64)
                          + args.t * y.astype(np.float64)).astype(np.float32)
                         for x, y in zip(wa, wb)])
    b.metadata = dict(b.metadata or {}, interpolated={"a": args.a, "b": args.b, "t": args.t})
    b.save(args.out)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
