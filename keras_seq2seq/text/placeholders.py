"""Name placeholders: keep the names a model would misspell or lose.

A word-piece model with copy attention copies a name piece by piece, and a
name that its vocabulary cuts into many rare pieces ("Alexander" -> "A
##le ##x ##and ##er") often comes out a piece off ("Alex Alex"); a
word-level model writes `<unk>`. The names the model has seen thousands of
times ("Tom", "Mary") it copies whole. `mask_names` swaps each rare
capitalised word of a sentence for such a name, the sentence is translated,
and `restore_names` puts the original word back: the placeholder technique
of production translation systems (Crego et al. 2016, "SYSTRAN's Pure
Neural Machine Translation Systems", for named entities and numbers).

There is no entity tagger here, so a *rare name* is a capitalised word,
not the first word of its sentence, that the source vocabulary cuts into
`min_pieces` pieces or more or cannot spell (`<unk>`): words the model
knows whole ("Paris", "Monday", "French") are translated as before. A
capitalised word the model could have translated but knows only in pieces
("Tu ##es ##day") is copied instead: the measured trade is in RESULTS.md.

`restore_names` gives None when the translation does not hold every
placeholder exactly as often as the masked sentence did (the model dropped
or repeated it); the caller then translates the sentence as it was.
"""

import re
from typing import NamedTuple

# Names that Tatoeba-trained models have seen thousands of times; a model
# uses those of them that both its vocabularies hold as one token.
PLACEHOLDERS = ("Tom", "Mary", "John", "Alice", "Jack", "Emma")
MIN_PIECES = 3

# A word: a run of letters (any script); digits, apostrophes and hyphens
# end it, so "Alexander's" holds the word "Alexander".
_WORD = re.compile(r"[^\W\d_]+")


class NameMask(NamedTuple):
    """A sentence with its rare names replaced: `text`, and `names`, the
    (placeholder, original word) pairs in order of first appearance."""

    text: str
    names: tuple


def name_candidates(sentence):
    """The capitalised words of a sentence that are not its first word, in
    order, each once."""
    words = [match.group() for match in _WORD.finditer(sentence)][1:]
    seen = []
    for word in words:
        if len(word) >= 2 and word[0].isupper() and word not in seen:
            seen.append(word)
    return seen


def _whole_word(word):
    # Not inside a longer word: "Tom" is not in "Tommy" or "Atom".
    return re.compile(rf"(?<![^\W\d_]){re.escape(word)}(?![^\W\d_])")


def mask_names(sentences, is_rare, placeholders=PLACEHOLDERS):
    """Replace the rare names of each sentence by placeholders.

    Args:
        sentences: list of str.
        is_rare: callable, list of words -> list of bool (one call for the
            whole batch's candidates).
        placeholders: the names to use, in order; a sentence never gets one
            that it already holds, and keeps its rare names beyond the
            placeholders' count as they are.

    Returns:
        A `NameMask` per sentence (`names` empty where nothing was masked).
    """
    candidates = [name_candidates(sentence) for sentence in sentences]
    words = sorted({word for found in candidates for word in found})
    rare = dict(zip(words, is_rare(words))) if words else {}
    masks = []
    for sentence, found in zip(sentences, candidates):
        free = [p for p in placeholders if not _whole_word(p).search(sentence)]
        names = tuple(zip(free, [word for word in found if rare[word]]))
        text = sentence
        for placeholder, word in names:
            text = _whole_word(word).sub(placeholder, text)
        masks.append(NameMask(text, names))
    return masks


def restore_names(translation, mask):
    """The translation of `mask.text` with the original names back, or
    None when a placeholder is missing or repeated in it."""
    for placeholder, word in mask.names:
        expected = len(_whole_word(placeholder).findall(mask.text))
        pattern = _whole_word(placeholder)
        if len(pattern.findall(translation)) != expected:
            return None
        # A function, so that the word is written as it is (no \\1 escapes).
        translation = pattern.sub(lambda _, word=word: word, translation)
    return translation


def usable_placeholders(source_tokenizer, target_tokenizer, candidates=PLACEHOLDERS):
    """The candidates that both vocabularies hold as one token (not `<unk>`)."""
    import tensorflow as tf

    from keras_seq2seq.constants import UNK_ID

    usable = []
    for name in candidates:
        ids = [tokenizer.encode(tf.constant([name]))[0].numpy().tolist()
               for tokenizer in (source_tokenizer, target_tokenizer)]
        if all(len(row) == 1 and row[0] != UNK_ID for row in ids):
            usable.append(name)
    return tuple(usable)


def rare_word_test(source_tokenizer, min_pieces=MIN_PIECES):
    """`is_rare` for `mask_names`: a word the source tokenizer cuts into
    `min_pieces` pieces or more, or spells with `<unk>`."""
    import tensorflow as tf

    from keras_seq2seq.constants import UNK_ID

    def is_rare(words):
        pieces = source_tokenizer.encode(tf.constant(words, dtype=tf.string)).to_list()
        return [len(row) >= min_pieces or UNK_ID in row for row in pieces]

    return is_rare
