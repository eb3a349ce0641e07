"""Evaluation with sacreBLEU (no hand-written BLEU)."""

import sacrebleu


def corpus_bleu(hypotheses, references, tokenize="13a"):
    """Corpus BLEU of detokenized hypotheses against one reference each.

    Returns a `sacrebleu.BLEUScore` (`.score` is the usual 0-100 number).
    """
    hypotheses, references = list(hypotheses), list(references)
    if len(hypotheses) != len(references):
        raise ValueError(
            f"{len(hypotheses)} hypotheses but {len(references)} references."
        )
    return sacrebleu.corpus_bleu(hypotheses, [references], tokenize=tokenize)


def corpus_chrf(hypotheses, references):
    """Corpus chrF (sacreBLEU) against one reference each."""
    return sacrebleu.corpus_chrf(list(hypotheses), [list(references)])


__all__ = ["corpus_bleu", "corpus_chrf"]
