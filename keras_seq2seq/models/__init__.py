from keras_seq2seq.models.config import DEFAULT_PRESET, PRESETS, Seq2SeqConfig, get_preset
from keras_seq2seq.models.seq2seq import (
    build_alignment_model,
    build_inference_models,
    build_training_model,
    count_parameters,
)

__all__ = [
    "DEFAULT_PRESET",
    "PRESETS",
    "Seq2SeqConfig",
    "build_alignment_model",
    "build_inference_models",
    "build_training_model",
    "count_parameters",
    "get_preset",
]
