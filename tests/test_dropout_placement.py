"""Where the decoder's dropout goes (`dropout_after_attention`): on the LSTM's
outputs (the attention's queries, the default) or on the attentional state
(Luong et al. 2015, OpenNMT-py). Training only: the same weights translate
the same either way."""

import json

import numpy as np
import pytest

from conftest import tiny_config
from keras_seq2seq.cli import main
from keras_seq2seq.models import Seq2SeqBackbone, build_training_model


def _config(**overrides):
    values = dict(attention="luong", shared_vocabulary=True, copy_attention=True,
                  embedding_dim=16, units=32, dropout=0.5)
    values.update(overrides)
    return tiny_config(**values)


def _dropout_names(model):
    return sorted(layer.name for layer in model.layers if "dropout" in layer.name)


def _inputs():
    rng = np.random.default_rng(0)
    return {"encoder_tokens": rng.integers(4, 30, (3, 6)).astype("int32"),
            "decoder_tokens": rng.integers(4, 30, (3, 5)).astype("int32")}


@pytest.mark.parametrize("num_layers", [1, 2])
def test_the_top_layers_dropout_moves_after_the_attention(num_layers):
    default = build_training_model(_config(num_layers=num_layers), 30, 30)
    moved = build_training_model(
        _config(num_layers=num_layers, dropout_after_attention=True), 30, 30)
    below = [f"decoder_dropout_{i}" for i in range(num_layers - 1)]
    assert f"decoder_dropout_{num_layers - 1}" in _dropout_names(default)
    assert "attention_dropout" not in _dropout_names(default)
    assert "attention_dropout" in _dropout_names(moved)
    assert f"decoder_dropout_{num_layers - 1}" not in _dropout_names(moved)
    # Between stacked layers it stays where it was.
    assert set(below) <= set(_dropout_names(moved))
    # The output layer reads the attentional state through the dropout.
    projection = moved.get_layer("output_projection")
    assert projection.input.name == moved.get_layer("attention_dropout").output.name


def test_same_weights_same_inference_different_training_noise():
    default = build_training_model(_config(), 30, 30)
    moved = build_training_model(_config(dropout_after_attention=True), 30, 30)
    moved.set_weights(default.get_weights())  # no dropout layer has weights
    inputs = _inputs()
    np.testing.assert_allclose(np.asarray(moved(inputs, training=False)),
                               np.asarray(default(inputs, training=False)), rtol=1e-6)
    assert not np.allclose(np.asarray(moved(inputs, training=True)),
                           np.asarray(moved(inputs, training=False)))


def test_without_attention_or_dropout_the_option_changes_nothing():
    plain = build_training_model(tiny_config(embedding_dim=8, units=16, dropout=0.3,
                                             dropout_after_attention=True), 30, 30)
    assert _dropout_names(plain) == ["decoder_dropout_0"]  # no attention to follow
    no_dropout = build_training_model(_config(dropout=0.0, dropout_after_attention=True),
                                      30, 30)
    assert "attention_dropout" not in _dropout_names(no_dropout)


def test_config_round_trip_and_backbone_config():
    config = _config(dropout_after_attention=True)
    assert type(config).from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert not tiny_config().dropout_after_attention  # off by default
    backbone = build_training_model(config, 30, 30)
    rebuilt = Seq2SeqBackbone.from_config(backbone.get_config())
    assert "attention_dropout" in _dropout_names(rebuilt)
    # A config written before the option existed loads as the default.
    values = config.to_dict()
    del values["dropout_after_attention"]
    assert not type(config).from_dict(values).dropout_after_attention


def test_train_flag_is_recorded(tmp_path, capsys):
    from conftest import TINY_PAIRS, write_tsv

    pairs = write_tsv(tmp_path / "pairs.tsv", TINY_PAIRS * 3)
    out = tmp_path / "run"
    assert main(["train", "--pairs", pairs, "--architecture", "seed_toy", "--units", "16",
                 "--epochs", "1", "--batch-size", "8", "--validation-fraction", "0.25",
                 "--attention", "luong", "--dropout", "0.2", "--dropout-after-attention",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    record = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert record["model"]["dropout_after_attention"] is True
    assert main(["translate", "--model", str(out), "Thank you."]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1  # one line per input
