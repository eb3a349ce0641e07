"""`keras-seq2seq train` with checkpoints by the clock (our systems of the race).

    python benchmarks/peers/ours_train.py --minutes 20,40,60 -- \
        --out /work/peers-runs/ours-copy-s0 --pairs ... (any `keras-seq2seq train` flags)

Runs the project's own `keras-seq2seq train` command in this process,
unchanged (same flags, same parser, same `train()`), with one extra Keras
callback (`clock.keras_callback`): at each of `--minutes` after the first
training batch starts it saves the weights to RUN/clock/minNNN.weights.h5
and records them in RUN/clock.json; at the last minute it stops training
after the current batch. Keras then finishes the epoch's bookkeeping (its
validation pass and checkpoints) and `train()` saves the run's model
directory (config, vocabularies), which `evaluate.py` loads before reading
each clock checkpoint's weights into it. The command's own `--max-minutes`
stays a backstop. Runs in the project's venv.
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import clock  # noqa: E402


def uniform_init(scale, seed):
    """A callback that re-initialises the model as OpenNMT-py does by default
    (every parameter uniform in [-scale, scale]) when training begins."""
    import keras
    import numpy as np

    class UniformInit(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            rng = np.random.default_rng(seed)
            for w in self.model.trainable_weights:
                w.assign(rng.uniform(-scale, scale, tuple(w.shape)).astype("float32"))
            print(f"[ablation] {len(self.model.trainable_weights)} weights set to "
                  f"uniform(-{scale}, {scale})", flush=True)

    return UniformInit()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if "--" not in argv:
        sys.exit(__doc__)
    split = argv.index("--")
    p = argparse.ArgumentParser()
    p.add_argument("--minutes", default="20,40,60")
    p.add_argument("--steps", help="Checkpoints after these training steps instead (e.g. "
                   "500,1000): comparisons at equal steps, on a machine that is not idle.")
    p.add_argument("--init-uniform", type=float, metavar="S",
                   help="Ablation: before the first step, set every trainable weight to "
                   "uniform(-S, S), as OpenNMT-py's default param_init 0.1 does, instead of "
                   "Keras' initialisers (Glorot, orthogonal, forget-gate bias 1).")
    args = p.parse_args(argv[:split])
    minutes = clock.parse_minutes(args.minutes)
    steps = clock.parse_steps(args.steps) if args.steps else None
    train_argv = ["train", *argv[split + 1:]]
    process_started = time.time()

    # `keras-seq2seq train` asks for TensorFlow's BFC allocator before it
    # imports TensorFlow; reading `training.train` below imports it first,
    # so do what the command does, here, before that (a race run on
    # 2026-12-05 ran without it for this reason and was stopped).
    from keras_seq2seq.training.allocator import use_bfc_allocator

    use_bfc_allocator()
    import keras_seq2seq.training as training
    from keras_seq2seq import cli

    original = training.train

    def train_with_clock(config, *a, callbacks=(), **kw):
        os.makedirs(config.out, exist_ok=True)
        clock.update_clock(config.out, system="ours", checkpoints=[],
                           process_started_unix=process_started,
                           command=["keras-seq2seq", *train_argv])
        callback = clock.keras_callback(config.out, minutes, steps=steps)
        extra = (uniform_init(args.init_uniform, config.optimization.seed),) if (
            args.init_uniform) else ()
        result = original(config, *a, callbacks=(*callbacks, *extra, callback), **kw)
        clock.update_clock(config.out, finished_unix=time.time())
        return result

    training.train = train_with_clock
    return cli.main(train_argv)


if __name__ == "__main__":
    sys.exit(main())
