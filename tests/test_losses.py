"""Label-smoothed token cross-entropy: the formula, padding, and training."""

import json

import keras
import numpy as np
import pytest

from conftest import TINY_PAIRS, tiny_config
from keras_seq2seq.training import TrainingConfig, train
from keras_seq2seq.training.losses import TokenCrossEntropy, token_cross_entropy

VALIDATION = [("I am tired.", "Je suis fatigué."), ("Where is he?", "Où est-il ?")]


def _log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def test_smoothed_loss_matches_the_formula():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 3, 7)).astype("float32") * 3
    targets = rng.integers(0, 7, size=(2, 3))
    log_p = _log_softmax(logits.astype("float64"))
    nll = -np.take_along_axis(log_p, targets[..., None], axis=-1)[..., 0]
    np.testing.assert_allclose(token_cross_entropy(targets, logits), nll, rtol=1e-5)
    for e in (0.1, 0.3):
        # (1 - e) on the reference, e / V on every token (the reference too).
        expected = (1 - e) * nll + e * (-log_p.mean(axis=-1))
        np.testing.assert_allclose(token_cross_entropy(targets, logits, e), expected, rtol=1e-5)
        assert np.all(np.asarray(token_cross_entropy(targets, logits, e)) != nll)


def test_padding_is_masked_by_sample_weights():
    logits = np.zeros((1, 4, 5), "float32")
    logits[0, :, 2] = 4.0
    targets = np.array([[2, 2, 0, 0]])
    weights = np.array([[1.0, 1.0, 0.0, 0.0]], "float32")
    loss = TokenCrossEntropy(0.1)
    per_token = np.asarray(token_cross_entropy(targets, logits, 0.1))[0]
    # The mean over real tokens: padding neither adds nor dilutes.
    assert float(loss(targets, logits, sample_weight=weights)) == pytest.approx(
        per_token[:2].mean(), rel=1e-5)
    assert per_token[2] > per_token[0]  # padding positions would have counted
    assert keras.losses.deserialize(
        keras.losses.serialize(loss), custom_objects={"TokenCrossEntropy": TokenCrossEntropy}
    ).label_smoothing == pytest.approx(0.1)
    with pytest.raises(ValueError, match="label_smoothing"):
        TokenCrossEntropy(1.0)


def test_training_with_label_smoothing_records_the_plain_cross_entropy(tmp_path):
    out = tmp_path / "run"
    _, history = train(
        TrainingConfig.create(str(out), tiny_config(), epochs=6, learning_rate=0.02,
                              label_smoothing=0.1, backup=False, bleu_sample=0),
        train_pairs=TINY_PAIRS, validation_pairs=VALIDATION, verbose=0)
    logs = history.history
    assert {"loss", "nll", "val_loss", "val_nll"} <= set(logs)
    # Once the model prefers some tokens, the smoothed loss exceeds the plain
    # cross-entropy (the e part scores every token, the unlikely ones too).
    assert logs["loss"][-1] > logs["nll"][-1]
    assert logs["nll"][-1] < logs["nll"][0]
    config = json.loads((out / "config.json").read_text())
    assert json.dumps(config).count('"label_smoothing": 0.1') == 1
    with pytest.raises(ValueError, match="label_smoothing"):
        train(
            TrainingConfig.create(str(tmp_path / "x"), tiny_config(), label_smoothing=-0.1),
            train_pairs=TINY_PAIRS)


def test_log_probabilities_gathered_give_the_sparse_cross_entropy_and_its_gradients():
    # A copy-attention model outputs log-probabilities: the loss is then the
    # reference's, gathered. Same values and (up to rounding) the same
    # gradients as Keras's sparse cross-entropy over them, whose log_softmax
    # changes nothing; the Keras loss object carries the switch.
    import tensorflow as tf

    rng = np.random.default_rng(1)
    logits = tf.Variable(rng.normal(size=(3, 4, 9)).astype("float32") * 2)
    targets = rng.integers(0, 9, size=(3, 4))
    weights = (rng.random((3, 4)) > 0.3).astype("float32")
    results = {}
    for gathered in (False, True):
        loss = TokenCrossEntropy(log_probabilities=gathered)
        with tf.GradientTape() as tape:
            value = loss(targets, tf.nn.log_softmax(logits), sample_weight=weights)
        results[gathered] = (float(value), tape.gradient(value, logits).numpy())
    assert results[True][0] == pytest.approx(results[False][0], rel=1e-6)
    np.testing.assert_allclose(results[True][1], results[False][1], atol=1e-6)
    assert np.abs(results[True][1]).max() > 1e-3
    assert keras.losses.deserialize(
        keras.losses.serialize(TokenCrossEntropy(log_probabilities=True)),
        custom_objects={"TokenCrossEntropy": TokenCrossEntropy}).log_probabilities
    # On logits that are not log-probabilities the two differ: the switch matters.
    plain = token_cross_entropy(targets, logits.numpy())
    assert not np.allclose(token_cross_entropy(targets, logits.numpy(),
                                               log_probabilities=True), plain)
