"""Exporters: SavedModel for TF Serving.

Names are imported lazily, so that `keras_seq2seq.export.limits` (which the
CLI reads for `serve --help`) does not load TensorFlow.
"""

import importlib

_EXPORTS = {
    "ExportError": "keras_seq2seq.export.saved_model",
    "export_saved_model": "keras_seq2seq.export.saved_model",
    "next_version": "keras_seq2seq.export.saved_model",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'keras_seq2seq.export' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
