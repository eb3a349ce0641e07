"""Where training starts (`init_scale`): every weight uniform in [-S, S], as
Sutskever et al. 2014 (0.08) and OpenNMT-py (0.1) start, or Keras'
initialisers (unset or 0). The `cpu` architecture starts at 0.1,
`sutskever2014` at 0.08, `seed_toy` (the article's walk-through) from
Keras'."""

import json

import numpy as np
import pytest

from conftest import tiny_config
from keras_seq2seq.cli import main
from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.models import Seq2SeqBackbone, build_training_model, get_architecture


def _config(**overrides):
    values = dict(attention="luong", shared_vocabulary=True, copy_attention=True,
                  bidirectional_encoder=True, embedding_dim=16, units=32)
    values.update(overrides)
    return tiny_config(**values)


def _forget_biases(model, name="decoder_rnn_0"):
    bias = model.get_layer(name).cell.bias.numpy()
    units = bias.shape[0] // 4
    return bias[units:2 * units]  # Keras' gate order: input, forget, cell, output


def test_every_weight_starts_uniform_in_the_range():
    model = build_training_model(_config(init_scale=0.08), 40, 40)
    values = np.concatenate([w.numpy().ravel() for w in model.trainable_weights])
    assert values.size == model.count_params()
    assert np.abs(values).max() <= 0.08
    # Biases too: none of Keras' zeros, no forget-gate bias of 1.
    assert np.abs(values).min() > 0 and values.std() > 0.04
    assert np.abs(_forget_biases(model)).max() <= 0.08


@pytest.mark.parametrize("scale", [None, 0.0])
def test_unset_or_zero_keeps_keras_initialisers(scale):
    model = build_training_model(_config(init_scale=scale), 40, 40)
    np.testing.assert_array_equal(_forget_biases(model), 1.0)  # unit_forget_bias
    assert np.all(model.get_layer("output_projection").bias.numpy() == 0)


def test_architectures_start_where_their_recipes_do():
    assert get_architecture("seed_toy").init_scale is None
    assert get_architecture("sutskever2014").init_scale == 0.08  # the paper, section 3.4
    cpu = get_architecture("cpu", units=32, embedding_dim=16)
    assert cpu.init_scale == 0.1  # OpenNMT-py's start
    model = build_training_model(cpu, 60, 60)
    values = np.concatenate([w.numpy().ravel() for w in model.trainable_weights])
    assert np.abs(values).max() <= 0.1 and values.std() > 0.05
    # A model trained before the default changed reruns with --init-scale 0.
    plain = build_training_model(get_architecture("cpu", units=32, embedding_dim=16,
                                                  init_scale=0.0), 60, 60)
    np.testing.assert_array_equal(_forget_biases(plain), 1.0)


def test_config_round_trip_checks_and_backbone_config():
    config = _config(init_scale=0.1)
    assert type(config).from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert tiny_config().init_scale is None
    rebuilt = Seq2SeqBackbone.from_config(build_training_model(config, 40, 40).get_config())
    assert rebuilt.architecture.init_scale == 0.1
    values = config.to_dict()
    del values["init_scale"]  # a config written before the option: Keras' initialisers
    assert type(config).from_dict(values).init_scale is None
    with pytest.raises(ConfigurationError, match="init_scale must be in"):
        _config(init_scale=2.0)


# A training run: with -m slow (the flag comes from the same settings field
# as every model flag, whose parsing the default run tests).
@pytest.mark.slow
def test_train_flag_is_recorded_and_the_model_translates(tmp_path, capsys):
    from conftest import TINY_PAIRS, write_tsv

    pairs = write_tsv(tmp_path / "pairs.tsv", TINY_PAIRS * 3)
    out = tmp_path / "run"
    assert main(["train", "--pairs", pairs, "--architecture", "seed_toy", "--units", "16",
                 "--epochs", "1", "--batch-size", "8", "--validation-fraction", "0.25",
                 "--init-scale", "0.08", "--out", str(out)]) == 0
    capsys.readouterr()
    record = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert record["model"]["init_scale"] == 0.08
    assert main(["translate", "--model", str(out), "Thank you."]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
