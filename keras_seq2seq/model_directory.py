"""The model directory: `config.json`, the vocabularies and the weights.

`Translator.save` writes one and `load` reads it (`translator.py`); the
captioner's directory has the same shape. Every problem with a directory is
a `ModelDirectoryError` that names the file.
"""

import json
import os
import re

from keras_seq2seq.errors import ConfigurationError, Seq2SeqError
from keras_seq2seq.text import save_vocabulary

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
SOURCE_VOCAB_FILE = "source_vocab.txt"
TARGET_VOCAB_FILE = "target_vocab.txt"


class ModelDirectoryError(Seq2SeqError, ValueError):
    """A model directory is missing a file or has an invalid one."""


WEIGHTS_DTYPES = ("float32", "float16")


def _store_weights_as_float16(path):
    """Rewrite the float32 arrays of a Keras weights file as float16.

    Keras has no option to save weights in another dtype than the
    variables', so the file is copied with h5py, groups and attributes as
    they are, float32 datasets converted (a copy, because HDF5 does not
    give back the space of deleted datasets). `load_weights` casts them
    back into the float32 variables, so the model still computes in
    float32; the file is half the size.
    """
    import h5py

    def copy(source, target):
        target.attrs.update(source.attrs)
        for name, item in source.items():
            if isinstance(item, h5py.Group):
                copy(item, target.create_group(name))
            else:
                values = item[()]
                if item.dtype == "float32":
                    values = values.astype("float16")
                target.create_dataset(name, data=values).attrs.update(item.attrs)

    converted = path + ".float16"
    with h5py.File(path, "r") as source, h5py.File(converted, "w") as target:
        copy(source, target)
    os.replace(converted, path)


def write_vocabulary_and_weights(
    directory, record, vocabularies, fresh_model, model, weights_dtype="float32"
):
    """Write config.json, the vocabularies {file name: list} and the weights of
    `model` through `fresh_model` (an uncompiled copy, so the weights file
    holds no optimizer state). `weights_dtype="float16"` stores the weights
    at half size (they are loaded back into float32 variables)."""
    if weights_dtype not in WEIGHTS_DTYPES:
        raise ConfigurationError(
            f"weights_dtype must be one of {WEIGHTS_DTYPES}, got {weights_dtype!r}.")
    os.makedirs(directory, exist_ok=True)
    record = dict(record, weights_dtype=weights_dtype)
    with open(os.path.join(directory, CONFIG_FILE), "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2, ensure_ascii=False)
    for name, vocabulary in vocabularies.items():
        save_vocabulary(vocabulary, os.path.join(directory, name))
    # Keras writes a compiled model's optimizer state (Adam: two more
    # copies of every weight) into the weights file; a fresh, uncompiled
    # copy of the model keeps the file to the weights alone.
    fresh_model.set_weights(model.get_weights())
    fresh_model.save_weights(os.path.join(directory, WEIGHTS_FILE))
    if weights_dtype == "float16":
        _store_weights_as_float16(os.path.join(directory, WEIGHTS_FILE))


def read_model_record(directory):
    """config.json of a model directory, checked for format; ModelDirectoryError if not."""
    config_path = os.path.join(directory, CONFIG_FILE)
    if not os.path.isdir(directory):
        raise ModelDirectoryError(f"Model directory not found: {directory}")
    if not os.path.isfile(config_path):
        raise ModelDirectoryError(f"{directory} is not a model directory: no {CONFIG_FILE}.")
    try:
        with open(config_path, encoding="utf-8") as f:
            record = json.load(f)
        version = record.get("format_version")
    except (json.JSONDecodeError, AttributeError) as e:
        raise ModelDirectoryError(f"{config_path} is invalid: {e}") from e
    if version != FORMAT_VERSION:
        raise ModelDirectoryError(
            f"{config_path}: format_version {version}, this library reads {FORMAT_VERSION}."
        )
    return record


def _weight_shapes(weights_path):
    """{dataset path: shape} of a Keras `.weights.h5` file."""
    import h5py

    shapes = {}
    with h5py.File(weights_path, "r") as f:
        f.visititems(lambda name, item: shapes.__setitem__(name, tuple(item.shape))
                     if isinstance(item, h5py.Dataset) else None)
    return shapes


def check_weights_match(model, config, directory, source_vocab_size, target_vocab_size):
    """Raise one clear ModelDirectoryError when the weights file does not fit
    the model that config.json and the vocabularies describe.

    Keras would load what fits, warn in 25-30 lines about "freshly
    initialized" variables and then blame the weights file; this compares
    the shapes first and names the files that disagree. Keras names the
    layers in the file by class and creation order (`embedding`,
    `embedding_1`: encoder then decoder), which is what the checks read.
    """
    path = os.path.join(directory, WEIGHTS_FILE)
    if not os.path.isfile(path):
        raise ModelDirectoryError(f"Weights file not found: {path}")
    try:
        found = _weight_shapes(path)
    except OSError as e:
        raise ModelDirectoryError(f"Cannot read {path}: {e}") from e
    expected = sorted(tuple(w.shape) for w in model.weights)
    if sorted(found.values()) == expected:
        return
    config_file = os.path.join(directory, CONFIG_FILE)
    embeddings = [found[k] for k in sorted(found)
                  if re.fullmatch(r"layers/embedding(_\d+)?/vars/0", k)]
    vocab_files = [(SOURCE_VOCAB_FILE, source_vocab_size), (TARGET_VOCAB_FILE, target_vocab_size)]
    for (name, size), shape in zip(vocab_files, embeddings):
        if shape[0] != size:
            raise ModelDirectoryError(
                f"{os.path.join(directory, name)} has {size} tokens but {path} was trained "
                f"with {shape[0]}: the vocabulary and the weights are from different models "
                "(or the vocabulary file was edited).")
    if embeddings and embeddings[0][1] != config.embedding_dim:
        raise ModelDirectoryError(
            f"{config_file} says embedding_dim {config.embedding_dim} but {path} has "
            f"{embeddings[0][1]}-wide embeddings.")
    cells = {k.split("/")[1]: v for k, v in found.items()
             if re.fullmatch(r"layers/(lstm|gru)(_\d+)?/cell/vars/1", k)}
    kinds = {re.sub(r"_\d+$", "", name) for name in cells}
    if kinds and kinds != {config.cell_type}:
        raise ModelDirectoryError(
            f"{config_file} says cell_type {config.cell_type!r} but {path} holds "
            f"{'/'.join(sorted(kinds))} weights.")
    if cells and len(cells) != 2 * config.num_layers:
        raise ModelDirectoryError(
            f"{config_file} says num_layers {config.num_layers} but {path} has "
            f"{len(cells) // 2} encoder and decoder layers.")
    units = {shape[0] for shape in cells.values()}
    if units and units != {config.units}:
        raise ModelDirectoryError(
            f"{config_file} says units {config.units} but {path} has "
            f"{'/'.join(map(str, sorted(units)))}-unit layers.")
    raise ModelDirectoryError(
        f"{path} does not match {config_file}: the file holds {len(found)} weight arrays, "
        f"the configured model has {len(expected)} (attention {config.attention!r}, "
        f"copy_attention {config.copy_attention}); were they saved from the same model?")


def load_weights_file(model, directory):
    weights_path = os.path.join(directory, WEIGHTS_FILE)
    if not os.path.isfile(weights_path):
        raise ModelDirectoryError(f"Weights file not found: {weights_path}")
    try:
        model.load_weights(weights_path)
    except Exception as e:  # h5py and Keras raise several types
        raise ModelDirectoryError(f"Cannot load weights from {weights_path}: {e}") from e


# Model kinds -> what loads them ("module:callable", imported when used, so
# this module loads no TensorFlow): a model directory's config.json says
# "kind" (a translator when absent), a TFLite export's tflite_config.json too.
LOADERS = {
    ("model", "translator"): "keras_seq2seq.translator:load_translator",
    ("model", "captioner"): "keras_seq2seq.captioning.captioner:load_captioner",
    ("tflite", "translator"): "keras_seq2seq.export.runner:TFLiteTranslator",
    ("tflite", "captioner"): "keras_seq2seq.export.runner:TFLiteCaptioner",
}
TFLITE_CONFIG_FILE = "tflite_config.json"


def model_kind(path):
    """("model" or "tflite", "translator" or "captioner") of a directory (a
    preset name, or a path to a directory or to its .tflite file)."""
    from keras_seq2seq.presets import resolve_preset

    directory = resolve_preset(path)
    if os.path.isfile(directory) and directory.endswith(".tflite"):
        directory = os.path.dirname(directory) or "."
    tflite_config = os.path.join(directory, TFLITE_CONFIG_FILE)
    if os.path.isfile(tflite_config) and not os.path.isfile(os.path.join(directory, CONFIG_FILE)):
        try:
            with open(tflite_config, encoding="utf-8") as f:
                kind = json.load(f).get("kind", "translator")
        except (OSError, ValueError) as e:
            raise ModelDirectoryError(f"{tflite_config} is invalid: {e}") from e
        return directory, ("tflite", kind)
    return directory, ("model", read_model_record(directory).get("kind", "translator"))


def load(path: str, **kwargs):
    """Load whatever a directory holds: a translator or a captioner, as a
    Keras model directory (`Translator`, `Captioner`) or a TFLite export
    (`TFLiteTranslator`, `TFLiteCaptioner`).

    Args:
        path: str. A preset name ("en-fr": the shipped model of a checkout;
            `keras_seq2seq.presets`), a model directory, a TFLite export
            directory or its `.tflite` file.
        **kwargs: passed to the loader (e.g. `num_threads` for TFLite).

    Raises:
        ModelDirectoryError: naming the missing or invalid file.

    Example:

    >>> import keras_seq2seq
    >>> type(keras_seq2seq.load("en-fr")).__name__
    'Translator'
    """
    import importlib

    directory, kind = model_kind(path)
    if kind not in LOADERS:
        raise ModelDirectoryError(f"{directory} holds a {kind[1]!r} model, which this library "
                                  f"cannot load (kinds: {sorted(k for _, k in LOADERS)}).")
    module, name = LOADERS[kind].split(":")
    return getattr(importlib.import_module(module), name)(directory, **kwargs)
