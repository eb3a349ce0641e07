"""Presets: named, trained model bundles (keras-hub's meaning of the word).

A preset is a model directory (`config.json`, vocabularies, weights). The
shipped ones live in `saved_models/` of a checkout (an editable install, as
the README's quick start makes); `$KERAS_SEQ2SEQ_MODELS` names another
folder of them. Anything that is not a preset name is taken as a path.
Untrained network shapes are not presets: they are *architectures*
(`keras_seq2seq.models.config.ARCHITECTURES`).

No TensorFlow here (the CLI resolves `--model` with it).
"""

from __future__ import annotations

import os

from keras_seq2seq.errors import ConfigurationError

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The model every command uses when none is named.
DEFAULT_PRESET = "en-fr"


def presets_dir() -> str:
    """Where the named presets are: $KERAS_SEQ2SEQ_MODELS, else the checkout's
    saved_models/."""
    return os.environ.get("KERAS_SEQ2SEQ_MODELS", os.path.join(_REPO_ROOT, "saved_models"))


def list_presets() -> list[str]:
    """The preset names available here (folders holding a config.json)."""
    base = presets_dir()
    if not os.path.isdir(base):
        return []
    return sorted(name for name in os.listdir(base)
                  if os.path.isfile(os.path.join(base, name, "config.json")))


def default_model() -> str:
    """The model directory used when none is named: $KERAS_SEQ2SEQ_MODEL, else
    the `en-fr` preset."""
    return os.environ.get("KERAS_SEQ2SEQ_MODEL") or os.path.join(presets_dir(), DEFAULT_PRESET)


def resolve_preset(name_or_path) -> str:
    """A preset name or a path -> a directory path.

    A name (no path separator, not an existing path) must be one of
    `list_presets()`; otherwise a ConfigurationError lists the valid ones.
    """
    text = os.fspath(name_or_path)
    if os.path.exists(text) or os.sep in text or (os.altsep and os.altsep in text):
        return text
    if text in list_presets():
        return os.path.join(presets_dir(), text)
    known = list_presets()
    raise ConfigurationError(
        f"Unknown preset {text!r} and no such path; presets here: "
        f"{', '.join(known) if known else 'none'} (in {presets_dir()}). Untrained network "
        "shapes are architectures: keras_seq2seq.models.config.ARCHITECTURES.")
