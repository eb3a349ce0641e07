"""The training loss: token cross-entropy, optionally label-smoothed."""

import keras
import tensorflow as tf

from keras_seq2seq.errors import ConfigurationError


def token_cross_entropy(targets, logits, label_smoothing=0.0, log_probabilities=False):
    """Per-token cross-entropy of `logits` (B, T, V) against ids (B, T).

    With `label_smoothing` = e, the target distribution is (1 - e) on the
    reference token plus e spread evenly over the whole vocabulary
    (Szegedy et al. 2016; used for translation by Vaswani et al. 2017).
    Keras's sparse cross-entropy has no smoothing and its categorical one
    wants one-hot targets, so the ids are made one-hot here and Keras's
    categorical cross-entropy does the rest. Without smoothing this is
    Keras's sparse cross-entropy.

    `log_probabilities`: `logits` are log-probabilities already (a
    copy-attention model's output). Without smoothing the loss is then
    minus the reference's, gathered: the value the sparse cross-entropy
    gives (its log_softmax of log-probabilities changes nothing) and, in
    exact arithmetic, the same gradients, without its dense passes over
    the vocabulary: 1.02x and 1.09x the training steps/s of the race's
    recipe on a sample (`benchmarks/train_env.py`, `softmax-loss`, two
    rounds; benchmarks/RESULTS.md). `tf.gather_nd`, whose
    gradient is one ScatterNd: a batched gather's is an
    UnsortedSegmentSum four times slower at these shapes.
    """
    if not label_smoothing:
        if log_probabilities:
            ids = tf.cast(targets, tf.int32)[..., None]
            return -tf.gather_nd(logits, ids, batch_dims=len(ids.shape) - 1)
        return keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
    one_hot = tf.one_hot(tf.cast(targets, tf.int32), tf.shape(logits)[-1], dtype=logits.dtype)
    return keras.losses.categorical_crossentropy(
        one_hot, logits, from_logits=True, label_smoothing=label_smoothing
    )


@keras.saving.register_keras_serializable(package="keras_seq2seq")
class TokenCrossEntropy(keras.losses.Loss):
    """`token_cross_entropy` as a Keras loss, the mean over real tokens.

    The sample weights (1 on target tokens, 0 on padding) mask padding, and
    the batch's loss is divided by their sum, the number of real tokens, as
    in the multi-worker loop; Keras's default reduction would divide by
    every position, padding included, so the loss would shrink with the
    batch's padding.

    Args:
        label_smoothing: float in [0, 1). Defaults to 0.
        log_probabilities: bool. The model's outputs are log-probabilities
            (a copy-attention model's) rather than logits; the same loss,
            computed without a dense pass (`token_cross_entropy`). `train`
            and `Seq2SeqTranslator.compile` set it from the model. Defaults
            to False.
    """

    def __init__(self, label_smoothing=0.0, log_probabilities=False,
                 name="token_cross_entropy", reduction="mean_with_sample_weight", **kwargs):
        super().__init__(name=name, reduction=reduction, **kwargs)
        if not 0.0 <= label_smoothing < 1.0:
            raise ConfigurationError(f"label_smoothing must be in [0, 1), got {label_smoothing}.")
        self.label_smoothing = float(label_smoothing)
        self.log_probabilities = bool(log_probabilities)

    def call(self, y_true, y_pred):
        return token_cross_entropy(y_true, y_pred, self.label_smoothing, self.log_probabilities)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing,
                "log_probabilities": self.log_probabilities}
