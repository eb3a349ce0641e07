from keras_seq2seq.training.callbacks import (
    StopOnInterrupt,
    TimeLimit,
    ValidationBLEU,
    step_decay,
)
from keras_seq2seq.training.trainer import (
    LR_SCHEDULES,
    CheckpointError,
    TrainingCallbacks,
    build_model,
    build_vocabularies,
    fit,
    make_callbacks,
    make_datasets,
    make_tokenizers,
    train,
)

__all__ = [
    "LR_SCHEDULES",
    "CheckpointError",
    "StopOnInterrupt",
    "TimeLimit",
    "ValidationBLEU",
    "TrainingCallbacks",
    "build_model",
    "build_vocabularies",
    "fit",
    "make_callbacks",
    "make_datasets",
    "make_tokenizers",
    "step_decay",
    "train",
]
