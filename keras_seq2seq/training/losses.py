"""The training loss: token cross-entropy, optionally label-smoothed, of a
model's logits or (with copy attention) log-probabilities."""

import keras
import tensorflow as tf

from keras_seq2seq.errors import ConfigurationError


def token_cross_entropy(targets, outputs, label_smoothing=0.0, from_logits=True):
    """Per-token cross-entropy of `outputs` (B, T, V) against ids (B, T).

    `outputs` are logits, or with `from_logits=False` log-probabilities
    already (what a copy-attention model outputs: its distribution is
    normalised by construction, `keras_seq2seq.models.seq2seq.
    copy_log_probs`). For those the loss is a gather, -log p(reference):
    a log_softmax over them would change no value, and its gradient term,
    the distribution itself, adds up to zero on the weights (the total
    stays 1 whatever the weights), but it costs dense passes over (B, T, V)
    forward and back in every training step.

    With `label_smoothing` = e, the target distribution is (1 - e) on the
    reference token plus e spread evenly over the whole vocabulary
    (Szegedy et al. 2016; used for translation by Vaswani et al. 2017).
    Keras's sparse cross-entropy has no smoothing and its categorical one
    wants one-hot targets, so the ids are made one-hot here and Keras's
    categorical cross-entropy does the rest. Without smoothing this is
    Keras's sparse cross-entropy. Keras has no cross-entropy of
    log-probabilities (its `from_logits=False` takes probabilities), so
    that one is written here.
    """
    if not from_logits:
        log_probs = keras.ops.convert_to_tensor(outputs)
        ids = keras.ops.expand_dims(keras.ops.cast(targets, "int32"), -1)
        nll = -keras.ops.squeeze(keras.ops.take_along_axis(log_probs, ids, axis=-1), -1)
        if not label_smoothing:
            return nll
        uniform = -keras.ops.mean(log_probs, axis=-1)
        return (1.0 - label_smoothing) * nll + label_smoothing * uniform
    if not label_smoothing:
        return keras.losses.sparse_categorical_crossentropy(targets, outputs, from_logits=True)
    one_hot = tf.one_hot(tf.cast(targets, tf.int32), tf.shape(outputs)[-1], dtype=outputs.dtype)
    return keras.losses.categorical_crossentropy(
        one_hot, outputs, from_logits=True, label_smoothing=label_smoothing
    )


def check_label_smoothing(value):
    """A clear error for a label_smoothing outside [0, 1)."""
    if not 0.0 <= value < 1.0:
        raise ConfigurationError(f"label_smoothing must be in [0, 1), got {value}.")


@keras.saving.register_keras_serializable(package="keras_seq2seq")
class TokenCrossEntropy(keras.losses.Loss):
    """`token_cross_entropy` as a Keras loss, the mean over real tokens.

    The sample weights (1 on target tokens, 0 on padding) mask padding, and
    the batch's loss is divided by their sum, the number of real tokens, as
    in the multi-worker loop; Keras's default reduction would divide by
    every position, padding included, so the loss would shrink with the
    batch's padding.
    """

    def __init__(self, label_smoothing=0.0, name="token_cross_entropy",
                 reduction="mean_with_sample_weight", from_logits=True, **kwargs):
        super().__init__(name=name, reduction=reduction, **kwargs)
        check_label_smoothing(label_smoothing)
        self.label_smoothing = float(label_smoothing)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        return token_cross_entropy(y_true, y_pred, self.label_smoothing, self.from_logits)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing,
                "from_logits": self.from_logits}


def model_loss(config, label_smoothing=0.0):
    """The training loss of a model with Seq2SeqConfig `config`: from its
    log-probabilities with copy attention, from its logits otherwise."""
    return TokenCrossEntropy(label_smoothing, from_logits=not config.copy_attention)
