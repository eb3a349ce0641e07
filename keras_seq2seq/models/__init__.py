"""Model configuration and the Keras models (imported when first used)."""

from keras_seq2seq._lazy import lazy_exports

_EXPORTS = {
    "DEFAULT_ARCHITECTURE": "keras_seq2seq.models.config",
    "ARCHITECTURES": "keras_seq2seq.models.config",
    "Seq2SeqConfig": "keras_seq2seq.models.config",
    "get_architecture": "keras_seq2seq.models.config",
    "build_alignment_model": "keras_seq2seq.models.seq2seq",
    "build_inference_models": "keras_seq2seq.models.seq2seq",
    "build_training_model": "keras_seq2seq.models.seq2seq",
    "count_parameters": "keras_seq2seq.models.seq2seq",
    "Seq2SeqBackbone": "keras_seq2seq.models.seq2seq",
    "Seq2SeqPreprocessor": "keras_seq2seq.models.preprocessor",
    "Seq2SeqTranslator": "keras_seq2seq.models.task",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
