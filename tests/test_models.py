import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import tiny_config
from keras_seq2seq.models import (
    ARCHITECTURES,
    Seq2SeqConfig,
    build_inference_models,
    build_training_model,
    count_parameters,
    get_architecture,
)


def _inputs(batch=3, source=5, target=4, vocab=20, seed=0):
    rng = np.random.default_rng(seed)
    encoder = rng.integers(4, vocab, (batch, source)).astype("int32")
    encoder[0, 3:] = 0  # right padding
    decoder = rng.integers(4, vocab, (batch, target)).astype("int32")
    return {"encoder_tokens": encoder, "decoder_tokens": decoder}


@pytest.mark.parametrize("cell_type, layers", [("lstm", 1), ("lstm", 2), ("gru", 2)])
def test_training_model_shapes_and_names(cell_type, layers):
    config = tiny_config(cell_type=cell_type, num_layers=layers)
    model = build_training_model(config, 20, 30)
    logits = model(_inputs(), training=False)
    assert tuple(logits.shape) == (3, 4, 30)
    names = {layer.name for layer in model.layers}
    for i in range(layers):
        assert f"encoder_rnn_{i}" in names and f"decoder_rnn_{i}" in names


def test_decoder_starts_from_the_encoder_context():
    model = build_training_model(tiny_config(num_layers=2), 20, 30)
    a = _inputs(seed=0)
    b = dict(a, encoder_tokens=_inputs(seed=1)["encoder_tokens"])
    out_a = keras.ops.convert_to_numpy(model(a, training=False))
    out_b = keras.ops.convert_to_numpy(model(b, training=False))
    # Same decoder input, different source: outputs differ from the first step.
    assert np.abs(out_a[:, 0] - out_b[:, 0]).max() > 1e-5


def test_source_padding_does_not_change_the_context():
    model = build_training_model(tiny_config(), 20, 30)
    encoder_model, _ = build_inference_models(model, tiny_config())
    short = np.array([[5, 6, 7]], "int32")
    padded = np.array([[5, 6, 7, 0, 0, 0]], "int32")
    for s, p in zip(encoder_model(short), encoder_model(padded)):
        np.testing.assert_allclose(s, p, atol=1e-6)


@pytest.mark.parametrize("cell_type, layers", [("lstm", 2), ("gru", 1)])
def test_step_model_reproduces_teacher_forcing(cell_type, layers):
    """Running the step model token by token gives the training model's logits."""
    config = tiny_config(cell_type=cell_type, num_layers=layers)
    model = build_training_model(config, 20, 30)
    inputs = _inputs()
    expected = keras.ops.convert_to_numpy(model(inputs, training=False))
    encoder_model, step_model = build_inference_models(model, config)
    states = encoder_model(inputs["encoder_tokens"])
    states = states if isinstance(states, (list, tuple)) else [states]
    assert len(states) == layers * config.states_per_layer
    for t in range(inputs["decoder_tokens"].shape[1]):
        token = tf.constant(inputs["decoder_tokens"][:, t])
        logits, *states = step_model([token, *states])
        np.testing.assert_allclose(logits, expected[:, t], atol=1e-5)


@pytest.mark.parametrize("attention", ["none", "luong"])
def test_embedding_dropout_trains_only(attention):
    config = tiny_config(embedding_dropout=0.5, attention=attention)
    model = build_training_model(config, 20, 30)
    names = {layer.name for layer in model.layers}
    assert {"encoder_embedding_dropout", "decoder_embedding_dropout"} <= names
    inputs = _inputs()
    keras.utils.set_random_seed(0)
    first, second = (keras.ops.convert_to_numpy(model(inputs, training=True)) for _ in "ab")
    assert np.abs(first - second).max() > 1e-4  # dropped words differ between calls
    # Inference: no dropout, and the step model (which has no dropout layers)
    # gives the same logits; the weights are those of a model without it.
    expected = keras.ops.convert_to_numpy(model(inputs, training=False))
    encoder_model, step_model = build_inference_models(model, config)
    states = [tf.identity(s) for s in encoder_model(inputs["encoder_tokens"])]  # no mask
    token = tf.constant(inputs["decoder_tokens"][:, 0])
    logits, *_ = step_model([token, *states])
    np.testing.assert_allclose(logits, expected[:, 0], atol=1e-5)
    plain = build_training_model(config.replace(embedding_dropout=0.0), 20, 30)
    assert [w.shape for w in plain.weights] == [w.shape for w in model.weights]


def test_inference_models_share_the_trained_weights():
    config = tiny_config()
    model = build_training_model(config, 20, 30)
    encoder_model, step_model = build_inference_models(model, config)
    projection = model.get_layer("output_projection")
    assert any(w is projection.kernel for w in step_model.weights)
    assert len(encoder_model.weights) + len(step_model.weights) == len(model.weights)


def test_layer_settings_are_cudnn_eligible():
    # Keras runs LSTM/GRU with cuDNN only with these settings.
    model = build_training_model(ARCHITECTURES["cpu"], 100, 100)
    for layer in model.layers:
        if layer.name.startswith(("encoder_rnn", "decoder_rnn")):
            assert layer.activation is keras.activations.tanh
            assert layer.recurrent_activation is keras.activations.sigmoid
            assert layer.recurrent_dropout == 0 and layer.use_bias and not layer.unroll


def test_sutskever2014_preset_has_the_papers_size():
    config = ARCHITECTURES["sutskever2014"]
    model = build_training_model(config)
    total, recurrent = count_parameters(model)
    # The paper: "384M parameters, of which 64M are pure recurrent connections".
    assert abs(total - 384e6) / 384e6 < 0.01, total
    assert abs(recurrent - 64e6) / 64e6 < 0.01, recurrent
    assert (config.num_layers, config.units, config.embedding_dim) == (4, 1000, 1000)
    # Section 3.4: every parameter starts uniform in [-0.08, 0.08], biases
    # included (no forget-gate bias of 1).
    for weight in model.get_layer("decoder_rnn_3").weights:
        values = keras.ops.convert_to_numpy(weight)
        assert np.abs(values).max() <= 0.08 and np.abs(values).max() > 0.07, weight.path


def test_config_validation_and_round_trip():
    config = get_architecture("cpu", units=128)
    assert Seq2SeqConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="cell_type"):
        Seq2SeqConfig(cell_type="rnn")
    with pytest.raises(ValueError, match="dropout"):
        Seq2SeqConfig(dropout=1.0)
    with pytest.raises(ValueError, match="embedding_dropout"):
        Seq2SeqConfig(embedding_dropout=-0.1)
    with pytest.raises(ValueError, match="units"):
        Seq2SeqConfig(units=0)
    with pytest.raises(ValueError, match="Unknown architecture"):
        get_architecture("huge")
    with pytest.raises(ValueError, match="Unknown Seq2SeqConfig keys"):
        Seq2SeqConfig.from_dict({"unitz": 3})
    with pytest.raises(TypeError, match="Seq2SeqConfig"):
        build_training_model({"units": 3})


def test_the_backbone_checks_its_architecture_without_a_text_config():
    from keras_seq2seq.models.config import Architecture
    from keras_seq2seq.models.seq2seq import Seq2SeqBackbone

    config = tiny_config(attention="luong", shared_vocabulary=True, copy_attention=True)
    architecture = config.architecture_with(30, 30)
    assert isinstance(architecture, Architecture) and architecture.source_vocab_size == 30
    assert architecture.units == config.units and architecture.copy_attention
    # A Backbone alone needs no vocabulary sharing flag: copy attention needs
    # only attention; the shared vocabulary is the text config's rule.
    model = Seq2SeqBackbone(**architecture.to_dict())
    assert model.architecture == architecture
    with pytest.raises(ValueError, match="copy_attention needs attention"):
        Seq2SeqBackbone(20, 20, copy_attention=True)
    with pytest.raises(ValueError, match="shared_vocabulary=True"):
        tiny_config(attention="luong", copy_attention=True)
    with pytest.raises(ValueError, match="even number of units"):
        Seq2SeqBackbone(20, 20, units=7, bidirectional_encoder=True)


@pytest.mark.parametrize("overrides", [
    dict(num_layers=2, cell_type="gru"),
    dict(attention="luong", shared_vocabulary=True, copy_attention=True,
         bidirectional_encoder=True, dropout=0.1, embedding_dropout=0.1),
])
def test_backbone_config_and_keras_file_round_trip(overrides, tmp_path):
    import keras_hub

    from keras_seq2seq.models.seq2seq import Seq2SeqBackbone

    model = build_training_model(tiny_config(**overrides), 20, 20)
    assert isinstance(model, keras_hub.models.Backbone)
    # The layers are attributes: the test-phase models need no name lookup.
    assert model.encoder_embedding is model.get_layer("encoder_embedding")
    assert model.decoder_rnns[-1] is model.get_layer(f"decoder_rnn_{len(model.decoder_rnns) - 1}")
    config = model.get_config()
    rebuilt = Seq2SeqBackbone.from_config(config)
    assert rebuilt.get_config() == config and rebuilt.count_params() == model.count_params()
    inputs = _inputs()
    expected = keras.ops.convert_to_numpy(model(inputs, training=False))
    path = str(tmp_path / "backbone.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is Seq2SeqBackbone and loaded.get_config() == config
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(inputs, training=False)),
                                  expected)
