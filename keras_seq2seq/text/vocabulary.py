"""Word vocabularies: built from training text, saved as one token per line."""

import collections
import os

from keras_seq2seq.constants import SPECIAL_TOKENS
from keras_seq2seq.errors import ConfigurationError, Seq2SeqError


class VocabularyError(Seq2SeqError, ValueError):
    """A vocabulary file is missing, malformed or does not start right."""


def count_tokens(token_lists, counts=None):
    """Add the tokens of an iterable of token lists to a Counter (str keys)."""
    counts = collections.Counter() if counts is None else counts
    for tokens in token_lists:
        counts.update(t.decode("utf-8") if isinstance(t, bytes) else t for t in tokens)
    return counts


def vocabulary_from_counts(counts, max_size=None, min_frequency=1):
    """Build a vocabulary from token counts.

    Special tokens come first with their fixed ids (0 `<pad>`, 1 `<unk>`,
    2 `<start>`, 3 `<end>`), then words by decreasing frequency, ties
    broken alphabetically so the result is deterministic.

    Args:
        counts: Mapping of str to int. Token counts.
        max_size: int or None. Maximum vocabulary size, special tokens
            included. Defaults to None (no limit).
        min_frequency: int. Words seen fewer times are left out (they map to
            `<unk>`). Defaults to 1.

    Returns:
        A list of str.
    """
    if max_size is not None and max_size <= len(SPECIAL_TOKENS):
        raise ConfigurationError(
            f"max_size={max_size} leaves no room for words: it must be more "
            f"than the {len(SPECIAL_TOKENS)} special tokens."
        )
    if min_frequency < 1:
        raise ConfigurationError(f"min_frequency must be >= 1, got {min_frequency}.")
    words = sorted(
        (w for w, c in counts.items() if c >= min_frequency and w not in SPECIAL_TOKENS),
        key=lambda w: (-counts[w], w),
    )
    if max_size is not None:
        words = words[: max_size - len(SPECIAL_TOKENS)]
    return list(SPECIAL_TOKENS) + words


def build_vocabulary(token_lists, max_size=None, min_frequency=1):
    """Build a vocabulary from an iterable of token lists (streamed).

    See `vocabulary_from_counts` for the order and limits.
    """
    return vocabulary_from_counts(count_tokens(token_lists), max_size, min_frequency)


def save_vocabulary(vocabulary, path):
    """Write a vocabulary, one token per line (UTF-8)."""
    with open(path, "w", encoding="utf-8") as f:
        for token in vocabulary:
            f.write(token + "\n")


def load_vocabulary(path):
    """Read a vocabulary written by `save_vocabulary` and check it."""
    if not os.path.exists(path):
        raise VocabularyError(f"Vocabulary file not found: {path}")
    with open(path, encoding="utf-8") as f:
        vocabulary = [line.rstrip("\n") for line in f]
    if tuple(vocabulary[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
        raise VocabularyError(
            f"{path}: the first lines must be {', '.join(SPECIAL_TOKENS)} "
            f"(ids 0-3), found {vocabulary[: len(SPECIAL_TOKENS)]}."
        )
    for line_number, token in enumerate(vocabulary, start=1):
        if not token or token != token.strip() or " " in token:
            raise VocabularyError(
                f"{path}, line {line_number}: invalid token {token!r} "
                "(tokens are non-empty and contain no spaces)."
            )
    if len(set(vocabulary)) != len(vocabulary):
        raise VocabularyError(f"{path}: contains duplicate tokens.")
    return vocabulary
