"""keras-seq2seq: the encoder-decoder of Sutskever et al. (2014) in Keras 3.

The public API is imported lazily, so `import keras_seq2seq` (and the CLI's
start-up) does not load TensorFlow until a name is used. The Keras classes
are registered with Keras all the same (by stand-ins that import them when
a file needs them), so that after `import keras_seq2seq`,
`keras.saving.load_model("model.keras")` reads a saved `Seq2SeqTranslator`.
"""

from keras_seq2seq._lazy import lazy_exports, register_keras_proxies

__version__ = "0.1.0"

_EXPORTS = {
    "ARCHITECTURES": "keras_seq2seq.models",
    "Seq2SeqConfig": "keras_seq2seq.models",
    "get_architecture": "keras_seq2seq.models",
    "TrainingConfig": "keras_seq2seq.training",
    "train": "keras_seq2seq.training",
    "Translator": "keras_seq2seq.translator",
    "Ensemble": "keras_seq2seq.translator",
    "load": "keras_seq2seq.model_directory",
    "DecodingConfig": "keras_seq2seq.settings",
    "list_presets": "keras_seq2seq.presets",
    "evaluate": "keras_seq2seq.evaluation",
    # The keras-hub classes.
    "Seq2SeqBackbone": "keras_seq2seq.models",
    "Seq2SeqPreprocessor": "keras_seq2seq.models",
    "Seq2SeqTranslator": "keras_seq2seq.models",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

# What a `.keras` file may name, registered without importing it now.
KERAS_CLASSES = {
    "Seq2SeqBackbone": "keras_seq2seq.models.seq2seq",
    "Seq2SeqPreprocessor": "keras_seq2seq.models.preprocessor",
    "Seq2SeqTranslator": "keras_seq2seq.models.task",
    "TokenCrossEntropy": "keras_seq2seq.training.losses",  # a compiled model's loss
}
register_keras_proxies(KERAS_CLASSES)
