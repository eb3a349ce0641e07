"""tf.distribute strategies for training: default, mirrored, multi_worker.

`mirrored` (several GPUs on one machine) trains with `model.fit`, which Keras
3 supports under MirroredStrategy. `multi_worker` (several machines, set up
by TF_CONFIG) cannot use `model.fit`: Keras 3's fit fails on the per-replica
batches of MultiWorkerMirroredStrategy (keras-team/keras#20585,
tensorflow/tensorflow#72388), so `fit_multi_worker` is a small custom loop:
`strategy.run` of a teacher-forcing step, gradients all-reduced by the
strategy, the loss normalised by the global number of target tokens, and
`get_next_as_optional` so workers with uneven shards stay in step.
"""

import json
import os
import time

import tensorflow as tf

from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.training.config import STRATEGIES
from keras_seq2seq.training.losses import token_cross_entropy


def make_strategy(name):
    """A tf.distribute strategy by name. multi_worker reads TF_CONFIG; create
    it before any other TensorFlow work in the process."""
    if name not in STRATEGIES:
        raise ConfigurationError(f"strategy must be one of {STRATEGIES}, got {name!r}.")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ConfigurationError(
                "The multi_worker strategy needs TF_CONFIG (the cluster and this "
                "worker's task); see the README's distributed training section.")
        try:
            json.loads(os.environ["TF_CONFIG"])
        except ValueError as e:
            raise ConfigurationError(f"TF_CONFIG is not valid JSON: {e}") from e
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief(strategy):
    """True on the worker that writes checkpoints and the model: the "chief"
    task, or worker 0 when the cluster has no chief (single machine: True)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    cluster = resolver.cluster_spec().as_dict()
    return "chief" not in cluster and resolver.task_type == "worker" and resolver.task_id == 0


def _shard_by_data(dataset):
    # Batches come from a generator (no files to split): each worker keeps
    # every N-th batch.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    return dataset.with_options(options)


def fit_multi_worker(model, optimizer, strategy, train_data, validation_data=None, epochs=1,
                     on_epoch_end=None, time_limit_seconds=None, verbose=True,
                     label_smoothing=0.0, log_probabilities=False):
    """Teacher-forcing training under MultiWorkerMirroredStrategy.

    `model` and `optimizer` must have been created under `strategy.scope()`.
    `on_epoch_end(epoch, logs)` runs on every worker after each epoch (write
    files only on the chief). Returns a History-like dict of lists: loss,
    val_loss (token-level cross-entropy, label-smoothed by `label_smoothing`;
    `log_probabilities`: the model outputs log-probabilities, as a
    copy-attention model does, `token_cross_entropy`).
    """
    with strategy.scope():
        optimizer.build(model.trainable_variables)
    train_iterable = strategy.experimental_distribute_dataset(_shard_by_data(train_data))
    validation_iterable = (
        strategy.experimental_distribute_dataset(_shard_by_data(validation_data))
        if validation_data is not None else None
    )

    def replica_loss(inputs, targets, weights, training):
        logits = model(inputs, training=training)
        per_token = token_cross_entropy(targets, logits, label_smoothing, log_probabilities)
        total = tf.reduce_sum(per_token * weights)
        count = tf.reduce_sum(weights)
        return total, count

    def train_replica(inputs, targets, weights):
        with tf.GradientTape() as tape:
            total, count = replica_loss(inputs, targets, weights, True)
            # Every worker divides by the token count of the global batch,
            # so the all-reduced gradient is the mean over all tokens.
            global_count = tf.distribute.get_replica_context().all_reduce("sum", count)
            loss = total / tf.maximum(global_count, 1.0)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return total, count

    def make_step(replica_fn):
        @tf.function(reduce_retracing=True)
        def step(iterator):
            batch = iterator.get_next_as_optional()
            if batch.has_value():
                total, count = strategy.run(replica_fn, args=batch.get_value())
                return (strategy.reduce("sum", total, None),
                        strategy.reduce("sum", count, None), True)
            return 0.0, 0.0, False
        return step

    train_step = make_step(train_replica)
    validation_step = make_step(lambda i, t, w: replica_loss(i, t, w, False))

    def run_epoch(step, iterable):
        iterator = iter(iterable)
        total = count = 0.0
        while True:
            batch_total, batch_count, more = step(iterator)
            if not bool(more):
                return total / max(count, 1.0)
            total += float(batch_total)
            count += float(batch_count)

    history = {"loss": []}
    started = time.monotonic()
    for epoch in range(epochs):
        logs = {"loss": run_epoch(train_step, train_iterable)}
        if validation_iterable is not None:
            logs["val_loss"] = run_epoch(validation_step, validation_iterable)
        for key, value in logs.items():
            history.setdefault(key, []).append(value)
        if verbose:
            print(f"Epoch {epoch + 1}/{epochs}: " + ", ".join(
                f"{k} {v:.4f}" for k, v in logs.items()), flush=True)
        if on_epoch_end is not None:
            on_epoch_end(epoch, logs)
        if time_limit_seconds and time.monotonic() - started >= time_limit_seconds:
            break
    return history
