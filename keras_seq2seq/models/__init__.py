"""Model configuration and the Keras models (imported when first used)."""

from keras_seq2seq._lazy import lazy_exports

_EXPORTS = {
    "DEFAULT_PRESET": "keras_seq2seq.models.config",
    "PRESETS": "keras_seq2seq.models.config",
    "Seq2SeqConfig": "keras_seq2seq.models.config",
    "get_preset": "keras_seq2seq.models.config",
    "build_alignment_model": "keras_seq2seq.models.seq2seq",
    "build_inference_models": "keras_seq2seq.models.seq2seq",
    "build_training_model": "keras_seq2seq.models.seq2seq",
    "count_parameters": "keras_seq2seq.models.seq2seq",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
