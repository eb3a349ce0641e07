from keras_seq2seq.training.callbacks import TimeLimit
from keras_seq2seq.training.trainer import build_vocabularies, train

__all__ = ["TimeLimit", "build_vocabularies", "train"]
