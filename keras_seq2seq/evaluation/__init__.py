"""Evaluation: sacreBLEU BLEU and chrF (no hand-written BLEU), perplexity."""

from keras_seq2seq.evaluation.metrics import (
    bleu_by_length,
    corpus_bleu,
    corpus_chrf,
    evaluate,
    format_report,
    names_kept,
    perplexity,
    repeated_ngram_share,
)

__all__ = [
    "bleu_by_length",
    "corpus_bleu",
    "corpus_chrf",
    "evaluate",
    "format_report",
    "perplexity",
    "names_kept",
    "repeated_ngram_share",
]
