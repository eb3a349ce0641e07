"""The bidirectional bottom encoder layer (GNMT's): the same model in every
format, and encoder outputs that know the words on both sides."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import TINY_PAIRS, tiny_config
from keras_seq2seq.models import build_inference_models, build_training_model, count_parameters


def _config(**overrides):
    values = dict(attention="luong", shared_vocabulary=True, copy_attention=True,
                  bidirectional_encoder=True, embedding_dim=16, units=32)
    values.update(overrides)
    return tiny_config(**values)


def _encode(model, config, tokens):
    encoder_model, _ = build_inference_models(model, config)
    return [keras.ops.convert_to_numpy(t) for t in encoder_model(tokens)]


def test_config_checks_units_and_round_trips():
    with pytest.raises(ValueError, match="even number of units"):
        _config(units=33)
    config = _config()
    assert type(config).from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert not tiny_config().bidirectional_encoder  # off by default: the paper's encoder


@pytest.mark.parametrize("cell_type", ["lstm", "gru"])
def test_outputs_see_both_sides_and_ignore_padding(cell_type):
    config = _config(cell_type=cell_type, num_layers=2, copy_attention=False,
                     shared_vocabulary=False)
    model = build_training_model(config, 30, 30)
    rnn = model.get_layer("encoder_rnn_0")
    assert isinstance(rnn, keras.layers.Bidirectional)
    one_way = build_training_model(config.replace(bidirectional_encoder=False), 30, 30)
    assert count_parameters(model)[1] < count_parameters(one_way)[1]  # half the units each way

    tokens = np.array([[5, 6, 7, 8, 0, 0]], "int32")
    changed_last = tokens.copy()
    changed_last[0, 3] = 9
    changed_first = tokens.copy()
    changed_first[0, 0] = 9
    k = config.states_per_layer
    base = _encode(model, config, tokens)
    outputs = base[2 * k]  # after the states of the two layers
    assert outputs.shape == (1, 6, config.units)
    # The first position's output changes with the last word and the last
    # one's with the first word: it read both ways.
    assert not np.allclose(_encode(model, config, changed_last)[2 * k][0, 0], outputs[0, 0])
    assert not np.allclose(_encode(model, config, changed_first)[2 * k][0, 3], outputs[0, 3])
    # A one-way encoder's first output knows only the first word.
    plain = _encode(one_way, config.replace(bidirectional_encoder=False), tokens)[2 * k]
    plain_changed = _encode(one_way, config.replace(bidirectional_encoder=False),
                            changed_last)[2 * k]
    np.testing.assert_allclose(plain_changed[0, 0], plain[0, 0], atol=1e-6)
    # Padding changes nothing: the backward direction starts at the last word.
    unpadded = _encode(model, config, tokens[:, :4])
    for got, expected in zip(base[: 2 * k], unpadded[: 2 * k]):
        np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(outputs[:, :4], unpadded[2 * k], atol=1e-5)


def test_step_model_reproduces_teacher_forcing():
    config = _config(num_layers=2)
    model = build_training_model(config, 20, 20)
    rng = np.random.default_rng(0)
    encoder = rng.integers(4, 20, (3, 5)).astype("int32")
    encoder[0, 3:] = 0
    decoder = rng.integers(4, 20, (3, 4)).astype("int32")
    expected = keras.ops.convert_to_numpy(
        model({"encoder_tokens": encoder, "decoder_tokens": decoder}, training=False))
    encoder_model, step_model = build_inference_models(model, config)
    outputs = [tf.identity(s) for s in encoder_model(encoder)]
    states, memory = outputs[:4], outputs[4:]
    assert all(s.shape == (3, config.units) for s in states)
    for t in range(decoder.shape[1]):
        logits, *states = step_model([tf.constant(decoder[:, t]), *states, *memory])
        np.testing.assert_allclose(logits, expected[:, t], atol=1e-5)


@pytest.fixture(scope="module")
def bidirectional_translator(tmp_path_factory):
    from keras_seq2seq.training import TrainingConfig, train

    out = tmp_path_factory.mktemp("bidirectional")
    translator, _ = train(
        TrainingConfig.create(str(out), _config(units=64, embedding_dim=32), epochs=12,
                              batch_size=16, learning_rate=1e-2, bleu_sample=0),
        train_pairs=TINY_PAIRS * 10, verbose=0)
    return translator, str(out)


def test_learns_loads_and_exports_the_same(bidirectional_translator, tmp_path):
    from keras_seq2seq import load
    from keras_seq2seq.export import export_saved_model

    translator, directory = bidirectional_translator
    sources = [s for s, _ in TINY_PAIRS]
    expected = translator.translate(sources)
    assert sum(out == t for out, (_, t) in zip(expected, TINY_PAIRS)) >= 8  # it learned
    reloaded = load(directory)
    assert reloaded.config.bidirectional_encoder
    assert reloaded.translate(sources) == expected
    serving = tf.saved_model.load(export_saved_model(translator, str(tmp_path / "serving")))
    out = serving.signatures["serving_default"](text=tf.constant(sources))
    assert [t.decode() for t in out["translation"].numpy()] == expected


def test_tflite_encoder_matches_keras(bidirectional_translator, tmp_path):
    pytest.importorskip("ai_edge_litert")
    from ai_edge_litert.interpreter import Interpreter

    from keras_seq2seq.export.runner import TFLiteTranslator
    from keras_seq2seq.export.tflite import export_tflite

    translator, _ = bidirectional_translator
    path = export_tflite(translator, str(tmp_path), max_source_tokens=12)
    tokens = np.zeros((1, 12), np.int32)
    tokens[0, :5] = [7, 6, 5, 4, 8]
    lite = Interpreter(model_path=path).get_signature_runner("encode")(encoder_tokens=tokens)
    expected = translator.encoder_model(tf.constant(tokens[:, :5]))
    names = ["state_0_0", "state_0_1", "encoder_outputs"]
    for name, value in zip(names, expected):
        got = lite[name][:, :5] if name == "encoder_outputs" else lite[name]
        np.testing.assert_allclose(got, value, atol=1e-5)
    sources = [s for s, _ in TINY_PAIRS]
    assert TFLiteTranslator(str(tmp_path)).translate(sources) == translator.translate(sources)
