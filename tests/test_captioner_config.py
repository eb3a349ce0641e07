"""Captioner training settings as objects: CaptionerTrainingConfig, the
train-captioner flags generated from it, and a run repeated from its saved
training_config.json."""

import argparse
import dataclasses
import json
import subprocess
import sys

import pytest

from conftest import REPO_ROOT
from keras_seq2seq.captioning.config import (
    SECTIONS,
    UNSUPPORTED_OPTIMIZATION,
    CaptionerConfig,
    CaptionerDataConfig,
    CaptionerOptimizationConfig,
    CaptionerTrainingConfig,
)
from keras_seq2seq.cli import captioning as captioning_cli
from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.settings import flag_names


def _parser():
    parser = argparse.ArgumentParser(prog="keras-seq2seq")
    subparsers = parser.add_subparsers(dest="command", required=True)
    captioning_cli.add_parsers(subparsers)
    return parser, subparsers.choices["train-captioner"]


def _config(argv):
    parser, _ = _parser()
    args = parser.parse_args(["train-captioner", *argv])
    return captioning_cli.captioner_training_config(args, parser)


def _field_sets():
    """{class: fields with a flag}: every field of the data section and the
    model; the optimisation's but those the captioner trainer has not."""
    return {CaptionerDataConfig: (), CaptionerConfig: (),
            CaptionerOptimizationConfig: UNSUPPORTED_OPTIMIZATION}


def test_every_train_captioner_flag_maps_to_a_field():
    _, parser = _parser()
    options = {o for action in parser._actions for o in action.option_strings}
    expected = set(flag_names(CaptionerTrainingConfig, only=("out",)))
    fields = {"out"}
    for cls, exclude in _field_sets().items():
        expected.update(flag_names(cls, exclude=exclude))
        fields.update(f.name for f in dataclasses.fields(cls) if f.name not in exclude)
        # Booleans also get --no-FLAG.
        bools = [f.name for f in dataclasses.fields(cls) if f.type in (bool, "bool")]
        expected.update(flag.replace("--", "--no-", 1) for flag in flag_names(cls, only=bools))
    extra = {"-h", "--help", captioning_cli.CONFIG_FLAG, captioning_cli.IMAGE_SIZE_FLAG}
    assert options - extra == expected  # no flag dropped, none without a field
    dests = {a.dest for a in parser._actions} - {"help", "config", "image_size"}
    assert dests == fields
    # The flags of before the settings became objects still parse.
    for flag in ("--flickr8k", "--coco", "--image-list", "--captions", "--images", "--digits",
                 "--digits-train", "--digits-augment", "--validation-fraction", "--backbone",
                 "--weights", "--train-backbone", "--image-size", "--pooling", "--units",
                 "--embedding-dim", "--layers", "--dropout", "--feature-cache", "--epochs",
                 "--max-minutes", "--batch-size", "--learning-rate", "--lr-schedule",
                 "--lr-patience", "--patience", "--seed", "--out"):
        assert flag in options, flag
    # Field names are unique across the sections and the model (flat fields).
    names = [f.name for cls in (*SECTIONS.values(), CaptionerConfig)
             for f in dataclasses.fields(cls)]
    assert len(names) == len(set(names))


def test_help_does_not_import_tensorflow():
    code = ("import sys, argparse\n"
            "from keras_seq2seq.cli import captioning\n"
            "p = argparse.ArgumentParser(); captioning.add_parsers(p.add_subparsers())\n"
            "p.format_help()\n"
            "from keras_seq2seq.captioning.config import CaptionerTrainingConfig\n"
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=str(REPO_ROOT), timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_data_source_sets_the_model_fields_not_given(tmp_path):
    digits = _config(["--digits", "--out", "r"])
    assert (digits.model.image_height, digits.model.image_width, digits.model.pooling,
            digits.model.max_target_length) == (32, 96, "flatten", 12)
    assert (digits.model.units, digits.model.embedding_dim, digits.model.dropout) == (
        256, 128, 0.2)
    photos = _config(["--coco", "c.json", "--images", "img", "--out", "r"])
    assert (photos.model.image_height, photos.model.image_width, photos.model.pooling,
            photos.model.max_target_length) == (224, 224, "avg", 40)
    assert photos.data.validation_fraction == 0.1
    mixed = _config(["--digits", "--image-size", "16", "48", "--pooling", "avg",
                     "--cnn-filters", "4", "--cnn-filters", "8", "--layers", "2", "--cell",
                     "gru", "--no-lowercase", "--out", "r"])
    assert (mixed.model.image_height, mixed.model.image_width, mixed.model.pooling) == (
        16, 48, "avg")
    assert mixed.model.max_target_length == 12  # not given: --digits'
    assert mixed.model.cnn_filters == (4, 8)
    assert (mixed.model.num_layers, mixed.model.cell_type, mixed.model.lowercase) == (
        2, "gru", False)
    # --image-height beats --image-size.
    assert _config(["--digits", "--image-size", "16", "48", "--image-height", "20",
                    "--out", "r"]).model.image_height == 20
    # The library takes the same fields flat.
    assert CaptionerTrainingConfig.create("r", digits=True) == digits
    assert CaptionerTrainingConfig(out="r", data=CaptionerDataConfig(digits=True)) == digits


def test_flags_override_a_saved_config(tmp_path):
    config = _config(["--digits", "--digits-train", "50", "--units", "16", "--epochs", "3",
                      "--lr-schedule", "plateau", "--lr-patience", "2", "--patience", "3",
                      "--seed", "5", "--out", str(tmp_path / "r")])
    assert config.optimization == CaptionerOptimizationConfig(
        epochs=3, lr_schedule="plateau", lr_patience=2, patience=3, seed=5)
    saved = config.save(str(tmp_path / "saved.json"))
    assert CaptionerTrainingConfig.load(saved) == config
    assert json.loads(open(saved, encoding="utf-8").read())["model"]["cnn_filters"] == [
        32, 64, 128]
    again = _config(["--config", saved, "--units", "24", "--epochs", "5"])
    assert again.model == config.model.replace(units=24)
    assert again.optimization.epochs == 5 and again.data == config.data
    assert again.out == config.out
    moved = _config(["--config", saved, "--out", "elsewhere", "--digits-augment"])
    assert moved.out == "elsewhere" and moved.data.digits_augment is True


def test_flag_errors_are_usage_errors(tmp_path, capsys):
    out = ["--out", str(tmp_path / "r")]
    for argv, message in [
        ([*out], "give one data source"),
        (["--digits"], "--out"),
        (["--digits", "--coco", "c.json", "--images", "i", *out],
         "Give one data source, not coco and digits"),
        (["--flickr8k", "t.txt", *out], "images (the image directory) is needed with flickr8k"),
        (["--image-list", "l.txt", "--images", "i", *out], "image_list and captions go together"),
        (["--digits", "--validation-fraction", "1", *out], "validation_fraction must be in"),
        (["--digits", "--weights", "imagenet", *out], "small_cnn is trained from scratch"),
        (["--digits", "--units", "0", *out], "units must be a whole number >= 1"),
        (["--digits", "--lr-patience", "0", *out], "lr_patience must be a whole number >= 1"),
        (["--digits", "--pooling", "sum", *out], "invalid choice"),
    ]:
        with pytest.raises(SystemExit):
            _config(argv)
        assert message in capsys.readouterr().err, argv


def test_settings_are_checked_once_with_clear_messages():
    for build, message in [
        (lambda: CaptionerTrainingConfig(), "CaptionerTrainingConfig.out must be a run directory"),
        (lambda: CaptionerTrainingConfig.create("r", epoch=3),
         "Unknown CaptionerTrainingConfig field 'epoch'"),
        (lambda: CaptionerTrainingConfig.from_dict({"out": "r", "data": {"digit": True}}),
         "Unknown CaptionerDataConfig keys: ['digit']"),
        (lambda: CaptionerTrainingConfig.from_dict({"out": "r", "model": {"unit": 3}}),
         "Unknown CaptionerConfig keys: ['unit']"),
        (lambda: CaptionerOptimizationConfig(strategy="mirrored"),
         "The captioner trainer has no strategy"),
        (lambda: CaptionerOptimizationConfig(batch_tokens=100, mixed_precision="mixed_float16"),
         "has no batch_tokens, mixed_precision"),
        (lambda: CaptionerOptimizationConfig(learning_rate=0), "learning_rate must be > 0"),
        (lambda: CaptionerDataConfig(digits_train=0), "digits_train must be a whole number"),
        (lambda: CaptionerConfig(train_backbone="yes"), "train_backbone must be true or false"),
    ]:
        with pytest.raises(ConfigurationError, match=message.replace("[", r"\[")
                           .replace("(", r"\(").replace(")", r"\)")):
            build()
    model = CaptionerConfig(units=8, cnn_filters=[4])
    config = CaptionerTrainingConfig.create("r", model, coco="c.json", images="img",
                                            validation_fraction=0.2, epochs=2)
    assert config.model is model  # given: used as it is
    assert CaptionerTrainingConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert config.replace(epochs=4, units=16).optimization.epochs == 4
    assert config.replace(units=16).model.units == 16 and model.units == 8


# The same mechanism (SectionedConfig) is repeated by tests/test_training_config.py by default.
@pytest.mark.slow
def test_a_run_repeated_from_its_training_config_gives_the_same_weights(tmp_path, capsys):
    pytest.importorskip("sklearn")
    import keras
    import numpy as np
    from tensorflow.python.framework import config as tf_config

    from keras_seq2seq.captioning import load_captioner
    from keras_seq2seq.cli import main
    from keras_seq2seq.training.config import TRAINING_CONFIG_FILE

    first = str(tmp_path / "first")
    argv = ["train-captioner", "--digits", "--digits-train", "40", "--image-size", "16", "48",
            "--cnn-filters", "4", "--units", "8", "--embedding-dim", "4", "--epochs", "1",
            "--batch-size", "16", "--seed", "3", "--out", first]
    was_deterministic = tf_config.is_op_determinism_enabled()
    tf_config.enable_op_determinism()
    try:
        keras.utils.set_random_seed(3)
        assert main(argv) == 0
        saved = CaptionerTrainingConfig.load(first)
        assert saved == _config(argv[1:])
        keras.utils.set_random_seed(3)
        again = str(tmp_path / "again")
        assert main(["train-captioner", "--config", str(tmp_path / "first" /
                                                        TRAINING_CONFIG_FILE),
                     "--out", again]) == 0
    finally:
        if not was_deterministic:
            tf_config.disable_op_determinism()
    assert "Captioner saved to" in capsys.readouterr().out
    weights = load_captioner(first).model.get_weights()
    repeated = load_captioner(again).model.get_weights()
    assert len(weights) == len(repeated)
    for a, b in zip(weights, repeated):
        np.testing.assert_array_equal(a, b)
    assert CaptionerTrainingConfig.load(again) == saved.replace(out=again)
    record = json.loads((tmp_path / "again" / "config.json").read_text(encoding="utf-8"))
    assert record["metadata"]["command"].startswith("keras-seq2seq train-captioner --config")
