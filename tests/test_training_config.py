"""Training settings as objects: TrainingConfig, the train flags generated
from it, and a run repeated from its saved training_config.json."""

import argparse
import dataclasses
import json
import subprocess
import sys

import pytest

from conftest import REPO_ROOT, TINY_PAIRS, tiny_config, write_tsv
from keras_seq2seq.cli import train as train_cli
from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.models.config import Seq2SeqConfig
from keras_seq2seq.settings import flag_names
from keras_seq2seq.training.config import (
    SECTIONS,
    CheckpointConfig,
    DataConfig,
    OptimizationConfig,
    TrainingConfig,
)


def _parser():
    parser = argparse.ArgumentParser(prog="keras-seq2seq")
    subparsers = parser.add_subparsers(dest="command", required=True)
    train_cli.add_parser(subparsers)
    train_cli.add_average_parser(subparsers)
    return parser, subparsers.choices["train"]


def _config(argv):
    parser, _ = _parser()
    args = parser.parse_args(["train", *argv])
    return train_cli.training_config(args, parser)


def test_every_train_flag_maps_to_a_field():
    _, train_parser = _parser()
    options = {o for action in train_parser._actions for o in action.option_strings}
    classes = [*SECTIONS.values(), Seq2SeqConfig]
    expected = set(flag_names(TrainingConfig, only=("out", "architecture")))
    fields = {"out", "architecture"}
    for cls in classes:
        expected.update(flag_names(cls))
        fields.update(f.name for f in dataclasses.fields(cls))
        # Booleans also get --no-FLAG.
        bools = [f.name for f in dataclasses.fields(cls) if f.type in (bool, "bool")]
        expected.update(flag.replace("--", "--no-", 1) for flag in flag_names(cls, only=bools))
    extra = {"-h", "--help", train_cli.CONFIG_FLAG, train_cli.MAX_LENGTH_FLAG}
    assert options - extra == expected  # no flag dropped, none without a field
    # Every flag's value lands on its field (the dest is the field's name).
    dests = {a.dest for a in train_parser._actions} - {"help", "config", "max_length"}
    assert dests == fields
    # Field names are unique across the sections (TrainingConfig.create takes them flat).
    names = [f.name for cls in classes for f in dataclasses.fields(cls)]
    assert len(names) == len(set(names))


def test_help_does_not_import_tensorflow():
    code = ("import sys\n"
            "from keras_seq2seq.cli import train\n"
            "import argparse\n"
            "p = argparse.ArgumentParser(); train.add_parser(p.add_subparsers())\n"
            "p.format_help()\n"
            "import keras_seq2seq.training as t; t.TrainingConfig\n"
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=str(REPO_ROOT), timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_flags_override_the_defaults_or_a_saved_config(tmp_path):
    config = _config(["--pairs", "a.tsv", "--pairs", "b.tsv", "--architecture", "seed_toy",
                      "--units", "32", "--layers", "2", "--cell", "gru", "--max-length", "20",
                      "--no-reverse-source", "--epochs", "3", "--lr-decay", "0.7",
                      "--patience", "2", "--no-backup", "--out", str(tmp_path / "r")])
    assert config.data.pairs == ("a.tsv", "b.tsv")
    assert config.architecture == "seed_toy" and config.model.embedding_dim == 3
    assert (config.model.units, config.model.num_layers, config.model.cell_type) == (32, 2, "gru")
    assert config.model.max_source_length == config.model.max_target_length == 20
    assert config.model.reverse_source is False
    assert (config.optimization.epochs, config.optimization.lr_decay,
            config.optimization.patience) == (3, 0.7, 2)
    assert config.checkpoints.backup is False
    assert config.checkpoints.validation_bleu is True  # the command prints it
    # Untouched fields keep the library's defaults.
    assert config.optimization == OptimizationConfig(epochs=3, lr_decay=0.7, patience=2)

    saved = config.save(str(tmp_path / "saved.json"))
    again = _config(["--config", saved, "--units", "48", "--epochs", "5"])
    assert again.model == config.model.replace(units=48)
    assert again.optimization.epochs == 5 and again.data == config.data
    assert again.out == config.out
    other = _config(["--config", saved, "--architecture", "cpu", "--out", "elsewhere"])
    assert other.model.units == 384 and other.out == "elsewhere"
    tuned = _config(["--config", saved, "--init-from", "some/model"])
    assert tuned.model is None and tuned.finetune.init_from == "some/model"


def test_flag_errors_are_usage_errors(tmp_path, capsys):
    out = ["--out", str(tmp_path / "r")]
    for argv, message in [
        ([*out], "give a corpus"),
        (["--pairs", "a.tsv"], "--out"),
        (["--source", "a.en", *out], "source and target files go together"),
        (["--pairs", "a", "--batch-tokens", "0", *out], "batch_tokens must be"),
        (["--pairs", "a", "--validation-fraction", "1", *out], "validation_fraction"),
        (["--pairs", "a", "--name-augmentation", "1.5", *out], "name_augmentation"),
        (["--pairs", "a", "--copy-attention", *out], "copy_attention needs"),
        (["--pairs", "a", "--init-from", "m", "--units", "8", *out],
         "--init-from keeps the model's settings; drop --units"),
    ]:
        with pytest.raises(SystemExit):
            _config(argv)
        assert message in capsys.readouterr().err, argv


def test_settings_are_checked_once_with_clear_messages(tmp_path):
    for build, message in [
        (lambda: OptimizationConfig(batch_tokens=0), "batch_tokens must be a whole number >= 1"),
        (lambda: OptimizationConfig(lr_schedule="cosine"), "lr_schedule must be one of"),
        (lambda: OptimizationConfig(label_smoothing=1.0), "label_smoothing must be in [0, 1)"),
        (lambda: DataConfig(concatenate_pairs=2), "concatenate_pairs must be in [0, 1]"),
        (lambda: DataConfig(validation_source=["v"]), "validation_source and validation_target"),
        (lambda: CheckpointConfig(bleu_sample=-1), "bleu_sample"),
        (lambda: TrainingConfig(), "TrainingConfig.out must be a run directory"),
        (lambda: TrainingConfig.create("r", architecture="huge"), "Unknown architecture"),
        (lambda: TrainingConfig.create("r", epoch=3), "Unknown TrainingConfig field 'epoch'"),
        (lambda: TrainingConfig.from_dict({"out": "r", "optimization": {"epoch": 1}}),
         "Unknown OptimizationConfig keys: ['epoch']"),
    ]:
        with pytest.raises(ConfigurationError, match=message.replace("[", r"\[")
                           .replace("(", r"\(").replace(")", r"\)")):
            build()
    config = TrainingConfig.create(tmp_path / "r", tiny_config(), pairs=tmp_path / "a.tsv",
                                   epochs=2, backup=False, init_from=None)
    assert config.data.pairs == (str(tmp_path / "a.tsv"),)
    assert TrainingConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert config.replace(epochs=4).optimization.epochs == 4
    # Fine-tuning: the model is the trained one's.
    assert TrainingConfig.create("r", init_from="m").model is None


def test_a_run_repeated_from_its_training_config_gives_the_same_weights(tmp_path, capsys):
    import keras
    import numpy as np
    from tensorflow.python.framework import config as tf_config

    from keras_seq2seq import load
    from keras_seq2seq.training import TRAINING_CONFIG_FILE, train

    pairs = write_tsv(tmp_path / "pairs.tsv", TINY_PAIRS * 2)
    config = TrainingConfig.create(str(tmp_path / "first"), tiny_config(dropout=0.1),
                                   pairs=[pairs], epochs=2, batch_size=8, seed=7,
                                   bleu_sample=0, backup=False)
    was_deterministic = tf_config.is_op_determinism_enabled()
    tf_config.enable_op_determinism()
    try:
        keras.utils.set_random_seed(7)
        first, _ = train(config, verbose=0)
        saved = tmp_path / "first" / TRAINING_CONFIG_FILE
        assert TrainingConfig.load(str(saved)) == config
        keras.utils.set_random_seed(7)
        parser, _ = _parser()
        argv = ["train", "--config", str(saved), "--out", str(tmp_path / "again")]
        args = parser.parse_args(argv)
        args.argv = argv
        args.func(args, parser)
    finally:
        if not was_deterministic:
            tf_config.disable_op_determinism()
    assert "Model saved to" in capsys.readouterr().out
    again = load(str(tmp_path / "again"))
    weights, repeated = first.model.get_weights(), again.model.get_weights()
    assert len(weights) == len(repeated)
    for a, b in zip(weights, repeated):
        np.testing.assert_array_equal(a, b)
    record = json.loads((tmp_path / "again" / "config.json").read_text(encoding="utf-8"))
    assert record["metadata"]["command"].startswith("keras-seq2seq train --config")
