"""Training: `train(config)` and its steps (imported when first used, so the
CLI reads `keras_seq2seq.training.config` for `--help` without TensorFlow)."""

from keras_seq2seq._lazy import lazy_exports

_EXPORTS = {
    "CheckpointConfig": "keras_seq2seq.training.config",
    "DataConfig": "keras_seq2seq.training.config",
    "FinetuneConfig": "keras_seq2seq.training.config",
    "LR_SCHEDULES": "keras_seq2seq.training.config",
    "OptimizationConfig": "keras_seq2seq.training.config",
    "TRAINING_CONFIG_FILE": "keras_seq2seq.training.config",
    "TrainingConfig": "keras_seq2seq.training.config",
    "StopOnInterrupt": "keras_seq2seq.training.callbacks",
    "TimeLimit": "keras_seq2seq.training.callbacks",
    "ValidationBLEU": "keras_seq2seq.training.callbacks",
    "step_decay": "keras_seq2seq.training.callbacks",
    "CheckpointError": "keras_seq2seq.training.trainer",
    "TrainingCallbacks": "keras_seq2seq.training.trainer",
    "build_model": "keras_seq2seq.training.trainer",
    "build_vocabularies": "keras_seq2seq.training.trainer",
    "fit": "keras_seq2seq.training.trainer",
    "make_callbacks": "keras_seq2seq.training.trainer",
    "make_datasets": "keras_seq2seq.training.trainer",
    "make_tokenizers": "keras_seq2seq.training.trainer",
    "train": "keras_seq2seq.training.trainer",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
