"""Exporters: SavedModel for TF Serving, TFLite, model directories (imported
when first used, so that `keras_seq2seq.export.limits` loads no TensorFlow).
"""

from keras_seq2seq._lazy import lazy_exports

_EXPORTS = {
    "ExportError": "keras_seq2seq.export.saved_model",
    "export_saved_model": "keras_seq2seq.export.saved_model",
    "next_version": "keras_seq2seq.export.saved_model",
    "FORMATS": "keras_seq2seq.export.formats",
    "export_model": "keras_seq2seq.export.formats",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
