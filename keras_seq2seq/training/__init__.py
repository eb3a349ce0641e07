from keras_seq2seq.training.trainer import build_vocabularies, train

__all__ = ["build_vocabularies", "train"]
