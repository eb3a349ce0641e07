"""keras-seq2seq: the encoder-decoder of Sutskever et al. (2014) in Keras 3.

The public API is imported lazily, so `import keras_seq2seq` (and the CLI's
start-up) does not load TensorFlow until a name is used.
"""

from keras_seq2seq._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "PRESETS": "keras_seq2seq.models",
    "Seq2SeqConfig": "keras_seq2seq.models",
    "get_preset": "keras_seq2seq.models",
    "train": "keras_seq2seq.training",
    "Translator": "keras_seq2seq.translator",
    "Ensemble": "keras_seq2seq.translator",
    "load": "keras_seq2seq.translator",
    "evaluate": "keras_seq2seq.evaluation",
    # The keras-hub classes (using one registers all three with Keras, so
    # that `keras.saving.load_model` can read a `.keras` file).
    "Seq2SeqBackbone": "keras_seq2seq.models",
    "Seq2SeqPreprocessor": "keras_seq2seq.models",
    "Seq2SeqTranslator": "keras_seq2seq.models",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
