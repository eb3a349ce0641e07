"""Shared vocabularies and copy attention (pointer-generator).

The copy task below is built so that only copying can solve it: a set of
names appears in training only on the source side of pairs whose
translation leaves the name out, so the output layer never learns to write
them, and the test asks for exactly those names.
"""

import json
import random

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import tiny_config
from keras_seq2seq.models import build_inference_models, build_training_model
from keras_seq2seq.models.seq2seq import copy_log_probs
from keras_seq2seq.training.trainer import build_vocabularies

NAMES = [f"Nom{chr(65 + i // 26)}{chr(97 + i % 26)}" for i in range(48)]
WRITTEN, NEVER_WRITTEN = NAMES[:32], NAMES[32:]


def _copy_task_pairs():
    rng = random.Random(0)
    pairs = []
    for name in WRITTEN:
        pairs += [(f"my name is {name} .", f"je m'appelle {name} ."),
                  (f"where is {name} ?", f"où est {name} ?")]
    for name in NEVER_WRITTEN:
        # The name is read, never written: its output row is never a target.
        pairs += [(f"{name} says hello .", "il dit bonjour ."),
                  (f"{name} is tired .", "il est fatigué .")]
    rng.shuffle(pairs)
    return pairs


def _copy_config(**overrides):
    values = dict(attention="luong", shared_vocabulary=True, copy_attention=True,
                  embedding_dim=32, units=64, source_vocab_size=200, target_vocab_size=200)
    values.update(overrides)
    return tiny_config(**values)


def _train_copy_task(out, copy):
    from keras_seq2seq.training import TrainingConfig, train

    translator, _ = train(
        TrainingConfig.create(str(out), _copy_config(copy_attention=copy), epochs=40,
                              batch_size=16, learning_rate=1e-2, bleu_sample=0),
        train_pairs=_copy_task_pairs(), verbose=0)
    return translator


@pytest.fixture(scope="module")
def copy_model(tmp_path_factory):
    """The copy task trained with copy attention: (translator, its directory)."""
    out = tmp_path_factory.mktemp("copy")
    return _train_copy_task(out, True), str(out)


def test_config_needs_attention_and_a_shared_vocabulary():
    with pytest.raises(ValueError, match="copy_attention needs attention"):
        tiny_config(copy_attention=True, shared_vocabulary=True)  # attention "none"
    with pytest.raises(ValueError, match="shared_vocabulary=True"):
        tiny_config(copy_attention=True, attention="luong")
    config = _copy_config()
    assert type(config).from_dict(json.loads(json.dumps(config.to_dict()))) == config


@pytest.mark.parametrize("tokenizer", ["word", "wordpiece"])
def test_shared_vocabulary_is_learned_from_both_sides(tokenizer):
    pairs = _copy_task_pairs() * 10  # keras-hub keeps pieces seen 10 times
    config = _copy_config(tokenizer=tokenizer, source_vocab_size=300)
    source, target, stats = build_vocabularies(pairs, config)
    assert source == target and stats["pairs"] == len(pairs)
    assert {"my", "je", "bonjour"} <= set(source)  # English and French words
    separate, _, _ = build_vocabularies(pairs, config.replace(copy_attention=False,
                                                              shared_vocabulary=False))
    assert "bonjour" not in separate


def test_copy_log_probs_mixes_softmax_and_attention_on_source_ids():
    logits = np.array([[[0.0, 1.0, 2.0, 0.5, -1.0]]], "float32")  # (1, 1, 5)
    weights = np.array([[[0.5, 0.2, 0.3]]], "float32")  # (1, 1, 3)
    sources = np.array([[4, 2, 4]], "float32")  # token 4 twice: weights add up
    gate = np.array([[[0.25]]], "float32")
    got = np.exp(keras.ops.convert_to_numpy(copy_log_probs(logits, weights, gate, sources)))
    softmax = np.exp(logits) / np.exp(logits).sum()
    copy = np.array([0.0, 0.0, 0.2, 0.0, 0.8])
    np.testing.assert_allclose(got[0, 0], 0.25 * softmax[0, 0] + 0.75 * copy, rtol=1e-5)
    assert abs(got.sum() - 1.0) < 1e-5


def test_step_model_reproduces_teacher_forcing_with_copy():
    config = _copy_config(embedding_dim=16, units=32, num_layers=2)
    model = build_training_model(config, 20, 20)
    assert "copy_gate" in {layer.name for layer in model.layers}
    rng = np.random.default_rng(0)
    encoder = rng.integers(4, 20, (3, 5)).astype("int32")
    encoder[0, 3:] = 0
    decoder = rng.integers(4, 20, (3, 4)).astype("int32")
    expected = keras.ops.convert_to_numpy(
        model({"encoder_tokens": encoder, "decoder_tokens": decoder}, training=False)
    )
    # Log-probabilities: each position's distribution sums to one.
    np.testing.assert_allclose(np.exp(expected).sum(-1), 1.0, rtol=1e-4)
    encoder_model, step_model = build_inference_models(model, config)
    outputs = [tf.identity(s) for s in encoder_model(encoder)]
    np.testing.assert_array_equal(outputs[-1], encoder.astype("float32"))  # the source ids
    states, memory = outputs[:4], outputs[4:]
    for t in range(decoder.shape[1]):
        logits, *states = step_model([tf.constant(decoder[:, t]), *states, *memory])
        np.testing.assert_allclose(logits, expected[:, t], atol=1e-5)


def _name_accuracy(translator, names):
    outputs = translator.translate([f"my name is {n} ." for n in names])
    return sum(n in out for n, out in zip(names, outputs)) / len(names), outputs


def test_copy_attention_writes_names_the_decoder_never_wrote(copy_model):
    copy, _ = copy_model
    # It trained on its log-probabilities gathered (`TokenCrossEntropy`).
    assert copy.model.loss.log_probabilities
    vocabulary = copy.target_tokenizer.vocabulary
    assert set(NEVER_WRITTEN) <= set(vocabulary)
    copied, outputs = _name_accuracy(copy, NEVER_WRITTEN)
    assert copied >= 0.8, outputs
    # And it still translates the template around the name.
    assert sum(out.startswith("je m'appelle") for out in outputs) >= 0.8 * len(outputs)


# The control: the same task, seed and epochs without copy attention cannot
# write those names (the task needs copying). Behind `slow` to keep the
# default run under 10 minutes; the test above is the default run's.
@pytest.mark.slow
def test_without_copy_attention_the_names_are_not_written(tmp_path):
    plain = _train_copy_task(tmp_path / "nocopy", False)
    not_copied, plain_outputs = _name_accuracy(plain, NEVER_WRITTEN)
    assert not_copied <= 0.2, plain_outputs


def test_copy_model_loads_exports_and_serves_the_same(copy_model, tmp_path):
    from keras_seq2seq import load
    from keras_seq2seq.export import export_saved_model
    from keras_seq2seq.export.runner import TFLiteTranslator
    from keras_seq2seq.export.tflite import export_tflite

    translator, directory = copy_model
    sources = [f"my name is {n} ." for n in NEVER_WRITTEN[:6]] + ["where is NomAa ?"]
    expected = translator.translate(sources)
    assert load(directory).translate(sources) == expected
    assert load(directory).translate(sources, beam_size=3) == translator.translate(
        sources, beam_size=3)

    serving = export_saved_model(translator, str(tmp_path / "serving"))
    loaded = tf.saved_model.load(serving)
    out = loaded.signatures["serving_default"](text=tf.constant(sources))
    assert [t.decode() for t in out["translation"].numpy()] == expected
    assert "source_tokens" in loaded.signatures["encode"](
        encoder_tokens=tf.constant([[5, 6, 0]]))

    export_tflite(translator, str(tmp_path / "lite"), quantize="none", max_source_tokens=12)
    assert TFLiteTranslator(str(tmp_path / "lite")).translate(sources) == expected
    # The copy distribution is a scatter-add (TFLite's SCATTER_ND): LiteRT.js
    # in Node runs it too, to the same translations.
    from test_web import node_translate

    js = node_translate(sources, model=str(tmp_path / "lite"))  # its stored settings
    assert [r["text"] for r in js] == expected
