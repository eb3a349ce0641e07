from keras_seq2seq.training.callbacks import TimeLimit, ValidationBLEU, step_decay
from keras_seq2seq.training.trainer import (
    LR_SCHEDULES,
    CheckpointError,
    build_vocabularies,
    train,
)

__all__ = [
    "LR_SCHEDULES",
    "CheckpointError",
    "TimeLimit",
    "ValidationBLEU",
    "build_vocabularies",
    "step_decay",
    "train",
]
