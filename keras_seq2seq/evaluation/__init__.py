"""Evaluation: sacreBLEU BLEU and chrF (no hand-written BLEU), perplexity."""

from keras_seq2seq.evaluation.metrics import corpus_bleu, corpus_chrf, evaluate, perplexity

__all__ = ["corpus_bleu", "corpus_chrf", "evaluate", "perplexity"]
