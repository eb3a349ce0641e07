"""The optimizer update alone: Keras 3's Adam against TensorFlow's fused Adam kernel.

Not a test, and not library code: an experiment of issue 21. The training
profile puts about 12% of a `cpu`-preset step's op time in the Adam update
(`benchmarks/profile_training.py`). Keras 3 writes Adam as separate
element-wise ops per variable (two moment updates, then the weight update:
several passes over memory); TensorFlow has one fused kernel per variable,
`ResourceApplyAdam`, computing the same formula. `FusedAdam` below is the
optimizer built on that kernel. This times one update of every variable of
the `cpu` preset's training model (no attention, the profile's
vocabularies) with Keras' Adam and with `FusedAdam`, alternating, and prints
milliseconds per update. Nothing is written; the figure is quoted in
RESULTS.md. `benchmarks/train_variants.py` times `FusedAdam` in whole
training steps. It did not
make `model.fit` faster on this machine (RESULTS.md), so the library keeps
`keras.optimizers.Adam`.

    python benchmarks/adam_update.py
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


class FusedAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam` whose update is TensorFlow's `ResourceApplyAdam`.

    Same arguments, variables and checkpoints. Keras' own update where the
    kernel does not apply (another backend, a distribution strategy,
    AMSGrad, non-float32 weights) and for an embedding's IndexedSlices
    gradient, whose moments Keras moves only on the rows a batch used (a
    scatter-add; the dense kernel would move them all, another optimiser).
    """

    def _fused(self, variable):
        return (keras.backend.backend() == "tensorflow" and not self.amsgrad
                and not tf.distribute.has_strategy()
                and variable.dtype == tf.float32 and hasattr(variable, "handle"))

    def update_step(self, gradient, variable, learning_rate):
        if isinstance(gradient, tf.IndexedSlices) or not self._fused(variable):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=m.handle, v=v.handle,
            beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype))


# The `cpu` preset's variables (1 x 384 LSTM, 256-d embeddings) with the
# profile's vocabularies, 3,762 source and 4,974 target words.
SHAPES = [(3762, 256), (4974, 256), (256, 1536), (384, 1536), (1536,), (256, 1536),
          (384, 1536), (1536,), (384, 4974), (4974,)]


def main(rounds=3, repeats=50):
    rng = np.random.default_rng(0)
    values = [0.01 * rng.normal(size=s).astype("float32") for s in SHAPES]
    grads = [tf.constant(0.01 * rng.normal(size=s).astype("float32")) for s in SHAPES]

    def updater(cls):
        variables = [keras.Variable(v) for v in values]
        optimizer = cls(1e-3)
        optimizer.build(variables)

        @tf.function
        def update():
            optimizer.apply_gradients(zip(grads, variables))

        return variables, update

    runs = {"keras.optimizers.Adam": updater(keras.optimizers.Adam),
            "FusedAdam (ResourceApplyAdam)": updater(FusedAdam)}
    for _, update in runs.values():
        for _ in range(5):
            update()
    # The same formula: after the same updates from the same start, the same weights.
    (keras_vars, _), (fused_vars, _) = runs.values()
    worst = max(float(np.max(np.abs(a.numpy() - b.numpy())))
                for a, b in zip(keras_vars, fused_vars))
    print(f"largest weight difference after 5 updates: {worst:.2e}")
    times = {name: [] for name in runs}
    for _ in range(rounds):
        for name, (_, update) in runs.items():
            started = time.perf_counter()
            for _ in range(repeats):
                update()
            times[name].append((time.perf_counter() - started) / repeats * 1000)
    for name, ms in times.items():
        print(f"{name}: {sorted(ms)[len(ms) // 2]:.2f} ms per update (median of {rounds})")


if __name__ == "__main__":
    main()
