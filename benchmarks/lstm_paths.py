"""The LSTM's CPU training paths, each checked against Keras, then timed.

Not a test, and not library code: an experiment of issue 21, kept so that
its figures can be re-measured. `FastLSTM` below is a `keras.layers.LSTM`
(same cell, weights and config, so checkpoints move between the two and
cuDNN on a GPU would be untouched) whose recurrence, on CPU with the
TensorFlow backend, runs a loop of our own with a hand-written backward
pass:

- forward: every time step's input projection `x_t W + b` is one matrix
  product over the whole sequence before the loop; the loop keeps only
  `h_{t-1} U` and the gates;
- backward: the loop carries only the gradients of `h`, `c` and the output
  (one product with `U^T` a step); the gradients of `W`, `U`, `b` and of the
  inputs are then a few large matrix products over all steps at once.

Keras' own CPU path differentiates TensorFlow's `while_loop`, which stacks
every step's intermediates and adds up the weight gradients step by step.
Keras' fused kernel exists only for cuDNN, and TensorFlow's CPU `BlockLSTM`
op has no masking (padded batches carry the state over padding), hence a
loop of our own. Its semantics are Keras' with `zero_output_for_mask=False`:
at a masked step the states are carried over and the output repeats the
last output (zeros before the first real step, which a reversed,
right-padded sequence starts with).

The script checks outputs and gradients of every path against
`keras.layers.LSTM` (masked batch, both directions), then times forward +
backward of one layer, the paths alternating in rounds:

    python benchmarks/lstm_paths.py                        # the `cpu` preset's layer
    python benchmarks/lstm_paths.py --units 1000 --embedding 1000   # sutskever2014's

Writes benchmarks/results/lstm_paths.json (`python benchmarks/report.py` renders RESULTS.md).
"""

import argparse
import json
import os
import pathlib
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402


def _gpu_visible():
    return bool(tf.config.list_logical_devices("GPU"))


def lstm_sequence(x, h0, c0, mask, kernel, recurrent_kernel, bias):
    """The LSTM over a batch-major sequence, with its own gradient.

    x (B, T, E), h0 and c0 (B, U), mask (B, T) bool or None; Keras' gate
    order (input, forget, cell, output). Returns (outputs (B, T, U), h, c).
    """
    if mask is None:
        mask = tf.ones(tf.shape(x)[:2], dtype=tf.bool)
    return _lstm(x, h0, c0, tf.cast(mask, x.dtype), kernel, recurrent_kernel, bias)


@tf.custom_gradient
def _lstm(x, h0, c0, mask, kernel, recurrent_kernel, bias):
    batch, steps = tf.shape(x)[0], tf.shape(x)[1]
    units = tf.shape(recurrent_kernel)[0]
    # Time-major from here on.
    xs = tf.transpose(x, [1, 0, 2])
    ms = tf.transpose(mask, [1, 0])[:, :, None]  # (T, B, 1), 1.0 real, 0.0 padding
    projected = tf.reshape(
        tf.matmul(tf.reshape(xs, [-1, tf.shape(x)[2]]), kernel) + bias,
        [steps, batch, 4 * units],
    )

    def forward_step(t, h, c, out, hs, cs, outs, gates):
        z = projected[t] + tf.matmul(h, recurrent_kernel)
        zi, zf, zg, zo = tf.split(z, 4, axis=1)
        i, f, g, o = tf.sigmoid(zi), tf.sigmoid(zf), tf.tanh(zg), tf.sigmoid(zo)
        c_new = f * c + i * g
        h_new = o * tf.tanh(c_new)
        m = ms[t]
        h_next = h + m * (h_new - h)
        c_next = c + m * (c_new - c)
        out_next = out + m * (h_new - out)
        return (t + 1, h_next, c_next, out_next, hs.write(t, h_next), cs.write(t, c_next),
                outs.write(t, out_next), gates.write(t, tf.concat([i, f, g, o], axis=1)))

    def array(dtype=x.dtype):
        return tf.TensorArray(dtype, size=steps)

    _, h, c, _, hs, cs, outs, gates = tf.while_loop(
        lambda t, *_: t < steps, forward_step,
        (tf.constant(0), h0, c0, tf.zeros_like(h0), array(), array(), array(), array()),
    )
    hs, cs, gates = hs.stack(), cs.stack(), gates.stack()  # (T, B, U), (T, B, U), (T, B, 4U)
    outputs = tf.transpose(outs.stack(), [1, 0, 2])

    def grad(d_outputs, d_h, d_c):
        d_hs = tf.transpose(d_outputs, [1, 0, 2])
        h_prev = tf.concat([h0[None], hs[:-1]], axis=0)
        c_prev = tf.concat([c0[None], cs[:-1]], axis=0)

        def backward_step(t, dh, dc, d_out, dzs):
            m = ms[t]
            d_out = d_out + d_hs[t]
            i, f, g, o = tf.split(gates[t], 4, axis=1)
            tanh_c = tf.tanh(cs[t])
            # At a real step (m = 1) h_t, c_t and the output came from the
            # gates; at padding (m = 0) they are h_{t-1}, c_{t-1} and the
            # output before, passed through.
            dh_real, dc_real = m * (dh + d_out), m * dc
            d_o = dh_real * tanh_c
            d_cell = dc_real + dh_real * o * (1.0 - tanh_c * tanh_c)
            dz = tf.concat([
                d_cell * g * i * (1.0 - i),
                d_cell * c_prev[t] * f * (1.0 - f),
                d_cell * i * (1.0 - g * g),
                d_o * o * (1.0 - o),
            ], axis=1)
            keep = 1.0 - m
            dh_prev = tf.matmul(dz, recurrent_kernel, transpose_b=True) + keep * dh
            dc_prev = d_cell * f + keep * dc
            return t - 1, dh_prev, dc_prev, keep * d_out, dzs.write(t, dz)

        _, dh0, dc0, _, dzs = tf.while_loop(
            lambda t, *_: t >= 0, backward_step,
            (steps - 1, d_h, d_c, tf.zeros_like(d_h), array()),
        )
        dzs = tf.reshape(dzs.stack(), [-1, 4 * units])  # (T * B, 4U)
        d_kernel = tf.matmul(tf.reshape(xs, [-1, tf.shape(x)[2]]), dzs, transpose_a=True)
        d_recurrent = tf.matmul(tf.reshape(h_prev, [-1, units]), dzs, transpose_a=True)
        d_bias = tf.reduce_sum(dzs, axis=0)
        dx = tf.reshape(tf.matmul(dzs, kernel, transpose_b=True), [steps, batch, -1])
        return (tf.transpose(dx, [1, 0, 2]), dh0, dc0, tf.zeros_like(mask),
                d_kernel, d_recurrent, d_bias)

    return (outputs, h, c), grad


class FastLSTM(keras.layers.LSTM):
    """`keras.layers.LSTM` with `lstm_sequence` as its CPU training path.

    Same arguments, weights and outputs as the parent; `fast=False` (or a
    configuration the fast loop does not cover) gives the parent's path.
    """

    def __init__(self, units, fast=True, **kwargs):
        super().__init__(units, **kwargs)
        self.fast = fast

    def _fast_path(self):
        cell = self.cell
        return (self.fast and keras.backend.backend() == "tensorflow"
                and not _gpu_visible() and not self.unroll and not self.stateful
                and not cell.dropout and not cell.recurrent_dropout and cell.use_bias
                and cell.activation is keras.activations.tanh
                and cell.recurrent_activation is keras.activations.sigmoid)

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not self._fast_path():
            return super().inner_loop(sequences, initial_state, mask, training=training)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        dtype = sequences.dtype
        if self.go_backwards:
            sequences = tf.reverse(sequences, [1])
            mask = None if mask is None else tf.reverse(mask, [1])
        outputs, h, c = lstm_sequence(
            sequences, initial_state[0], initial_state[1], mask,
            tf.cast(self.cell.kernel, dtype), tf.cast(self.cell.recurrent_kernel, dtype),
            tf.cast(self.cell.bias, dtype))
        last_output = outputs[:, -1]
        if not self.return_sequences:
            outputs = last_output
        return last_output, outputs, [h, c]

    def get_config(self):
        return {**super().get_config(), "fast": self.fast}


def check_against_keras(make, x, mask, h0, c0):
    """Max |difference| of outputs, states and all gradients, per path."""
    worst = 0.0
    for go_backwards in (False, True):
        reference = make(keras.layers.LSTM, go_backwards=go_backwards)
        layer = make(FastLSTM, go_backwards=go_backwards)
        layer.set_weights(reference.get_weights())

        def run(lstm):
            with tf.GradientTape() as tape:
                tape.watch([x, h0, c0])
                y, h, c = lstm(x, initial_state=[h0, c0], mask=mask)
                loss = tf.reduce_sum(y * tf.sin(y)) + tf.reduce_sum(2.0 * h) + tf.reduce_sum(c * c)
            return [y, h, c, *tape.gradient(loss, [x, h0, c0, *lstm.trainable_variables])]

        for a, b in zip(run(reference), run(layer)):
            scale = float(tf.reduce_max(tf.abs(a))) or 1.0
            worst = max(worst, float(tf.reduce_max(tf.abs(a - b))) / scale)
    return worst


def main(argv=None):
    import numpy as np

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=20, help="Time steps.")
    p.add_argument("--embedding", type=int, default=256)
    p.add_argument("--units", type=int, default=384)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--repeats", type=int, default=10, help="Calls per path per round.")
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    batch, steps, units = args.batch, args.steps, args.units
    x = tf.constant(rng.normal(size=(batch, steps, args.embedding)).astype("float32"))
    lengths = rng.integers(1, steps + 1, size=batch)
    mask = tf.constant(np.arange(steps)[None] < lengths[:, None])
    h0 = tf.constant(0.1 * rng.normal(size=(batch, units)).astype("float32"))
    c0 = tf.constant(0.1 * rng.normal(size=(batch, units)).astype("float32"))

    def make(cls, dtype=None, **kwargs):
        keras.utils.set_random_seed(0)
        layer = cls(units, return_sequences=True, return_state=True, dtype=dtype, **kwargs)
        layer(x[:, :2])
        return layer

    worst = check_against_keras(make, x, mask, h0, c0)
    print(f"FastLSTM against keras.layers.LSTM: largest relative difference {worst:.2e}")
    if worst > 1e-4:
        sys.exit("FastLSTM does not compute what keras.layers.LSTM does; not timing it")

    paths = {
        "keras.layers.LSTM (today's path)": make(keras.layers.LSTM),
        "FastLSTM: input projection hoisted, own backward": make(FastLSTM),
        "keras.layers.LSTM, unroll=True": make(keras.layers.LSTM, unroll=True),
        "keras.layers.LSTM, mixed_bfloat16": make(keras.layers.LSTM, dtype="mixed_bfloat16"),
    }
    functions = {}
    for name, layer in paths.items():
        @tf.function
        def train_step(x, mask, layer=layer):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y, h, c = layer(x, mask=mask)
                loss = tf.reduce_sum(tf.cast(y, "float32") ** 2)
            return tape.gradient(loss, [x, *layer.trainable_variables])

        functions[name] = train_step
        for _ in range(3):  # tracing and warm-up
            train_step(x, mask)
    seconds = {name: [] for name in functions}
    for _ in range(args.rounds):
        for name, step in functions.items():
            started = time.perf_counter()
            for _ in range(args.repeats):
                grads = step(x, mask)
            grads[0].numpy()
            seconds[name].append((time.perf_counter() - started) / args.repeats)
    # 2 FLOPs per multiply-add; forward x W and h U, backward twice that.
    flops = 3 * 2 * batch * steps * 4 * units * (args.embedding + units)
    reference = "keras.layers.LSTM (today's path)"
    results = {"batch": batch, "steps": steps, "embedding": args.embedding, "units": units,
               "largest_relative_difference": worst, "paths": {}}
    for name, times in seconds.items():
        median = sorted(times)[len(times) // 2]
        results["paths"][name] = {
            "median_ms": 1000 * median, "gflops": flops / median / 1e9,
            "speedup": sorted(seconds[reference])[len(times) // 2] / median}
    print(json.dumps(results, indent=2))
    (HERE / "results").mkdir(exist_ok=True)
    out = HERE / "results" / "lstm_paths.json"
    previous = json.loads(out.read_text()) if out.exists() else {}
    previous[f"B{batch}-T{steps}-E{args.embedding}-U{units}"] = results
    out.write_text(json.dumps(previous, indent=2))
    print("Results written; render RESULTS.md with: python benchmarks/report.py")


if __name__ == "__main__":
    main()
