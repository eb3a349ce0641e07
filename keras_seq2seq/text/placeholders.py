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

There is no entity tagger here, so a *rare name* is the first run of
letters of a whitespace-separated token, not the sentence's first token,
that starts with a capital, has 2+ letters, and that the source vocabulary
cuts into `min_pieces` pieces or more or cannot spell (`<unk>`): words the
model knows whole ("Paris", "Monday", "French") are translated as before. A
capitalised word the model could have translated but knows only in pieces
(a rare capitalised noun) is copied instead: the measured trade is in RESULTS.md.
Day and month names (`CALENDAR_WORDS`, also in the plural) are never masked.
Each occurrence gets the next placeholder that the sentence does not hold
already; a sentence with more rare names than placeholders keeps the rest.

`restore_names` accepts a translation only if it holds each placeholder
used exactly once, not inside a longer word; otherwise the caller
translates the sentence again as it was (`protect_names`).

In core TensorFlow ops, for the same reason as the sentence splitter: the
TF Serving SavedModel runs them in its graph, and the Python API and the
LiteRT runner call the same functions, so all three translate alike.
"""

import re

import tensorflow as tf

from keras_seq2seq.constants import SPECIAL_TOKENS, UNK_ID
from keras_seq2seq.text.ragged import any_rows, exclusive_cumsum_rows, join_rows

# Names that Tatoeba-trained models have seen thousands of times; a model
# uses those of them that both its vocabularies hold as one token.
# A city second: the second rare name of a sentence is often a place ("My
# name is Tom and I live in Boston."), and the retry of a sentence with one
# name gives it the city ("Is it cold in Boston in winter?").
PLACEHOLDERS = ("Tom", "Boston", "Mary", "John", "Alice", "Jack", "Emma", "Bob", "Jane")
# Translations of a masked sentence tried before the sentence as it is: the
# placeholders from the first, then from the second.
ATTEMPTS = 2
MIN_PIECES = 3
# Capitalised words that are not names, however the vocabulary cuts them:
# English day and month names, also in the plural. As placeholders they came
# back untranslated ("Mon anniversaire est à July.", benchmarks/everyday:
# five of v6's day and month sentences); left alone, v6 translates two of
# those five ("en septembre", "un mercredi"). web/seq2seq.mjs has the same
# list.
CALENDAR_WORDS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                  "Sunday", "January", "February", "March", "April", "May", "June", "July",
                  "August", "September", "October", "November", "December")
_CALENDAR = "(?i)(?:" + "|".join(CALENDAR_WORDS) + ")s?"

_HAS_LETTER = r"(?s).*\pL.*"
# Leading non-letters, the first run of letters, the rest of the token.
_PREFIX, _WORD, _SUFFIX = (r"(?s)^(\PL*)\pL+.*$", r"(?s)^\PL*(\pL+).*$", r"(?s)^\PL*\pL+(.*)$")


def _sentinel(index):
    # Stands for placeholder `index` while the others are checked and
    # replaced; no vocabulary holds the control character.
    return f"\x01{index}\x01"


def usable_placeholders(source_tokenizer, target_tokenizer, candidates=PLACEHOLDERS):
    """The candidates that both vocabularies hold as one token (not `<unk>`)."""
    candidates = list(candidates)
    if not candidates:
        return ()
    tokenizers = (source_tokenizer, target_tokenizer)
    if all(re.fullmatch("[A-Za-z]+", name) for name in candidates) and all(
            isinstance(getattr(t, "vocabulary", None), list) and hasattr(t, "lowercase")
            for t in tokenizers):
        # A word of ASCII letters is normalised to itself (lowercased by a
        # lowercasing tokenizer) and is one token of either tokenizer exactly
        # when the vocabulary holds it (a word-piece tokenizer takes the
        # longest piece first): no TensorFlow call at start-up (0.09 s).
        words = [set(t.vocabulary[len(SPECIAL_TOKENS):]) for t in tokenizers]
        return tuple(name for name in candidates
                     if all((name.lower() if t.lowercase else name) in vocabulary
                            for t, vocabulary in zip(tokenizers, words)))
    # One call per tokenizer for all the candidates (a call per name took
    # 0.37 s for 4 names and 2 tokenizers, one batch 0.09).
    encoded = [tokenizer.encode(tf.constant(candidates)).to_list()
               for tokenizer in (source_tokenizer, target_tokenizer)]
    return tuple(name for name, *rows in zip(candidates, *encoded)
                 if all(len(row) == 1 and row[0] != UNK_ID for row in rows))


def mask_names(sentences, source_tokenizer, placeholders, offset=0, min_pieces=MIN_PIECES):
    """Replace the rare names of each sentence by placeholders.

    Args:
        sentences: tf.string (N,).
        source_tokenizer: the model's source tokenizer (its `encode`).
        placeholders: tuple of str, the names to use (`usable_placeholders`).
        offset: int. The k-th rare name takes the sentence's (k + offset)-th
            free placeholder (cyclically): 0 first, 1 for a retry.
        min_pieces: int. A capitalised word cut into this many pieces or
            more is rare.

    Returns:
        (masked tf.string (N,), used bool (N, P), words tf.string (N, P)):
        the sentences with their rare names replaced (tokens joined by one
        space, which the tokenizer reads as the original whitespace), which
        placeholders each sentence uses and the word each stands for.
    """
    tokens = tf.strings.split(sentences)  # (N, None), on whitespace
    flat = tokens.flat_values
    has_letter = tf.strings.regex_full_match(flat, _HAS_LETTER)
    word = tf.where(has_letter, tf.strings.regex_replace(flat, _WORD, r"\1"), "")
    prefix = tf.where(has_letter, tf.strings.regex_replace(flat, _PREFIX, r"\1"), flat)
    suffix = tf.where(has_letter, tf.strings.regex_replace(flat, _SUFFIX, r"\1"), "")
    position = tf.ragged.range(tokens.row_lengths()).flat_values
    capital = (tf.strings.regex_full_match(word, r"\p{Lu}\pL+") & (position > 0)
               & ~tf.strings.regex_full_match(word, _CALENDAR))
    # Only those words go through the vocabulary (85 of the 12,013 tokens of
    # 1,000 Multi30k val sentences; segmenting every token cost more than the
    # rest of the masking).
    at = tf.where(capital)
    pieces = source_tokenizer.encode(tf.gather_nd(word, at))
    rare = (pieces.row_lengths() >= min_pieces) | any_rows(
        pieces.with_flat_values(tf.equal(pieces.flat_values, UNK_ID)))
    candidate = tf.scatter_nd(at, tf.cast(rare, tf.int32), tf.shape(word, tf.int64)) > 0

    # Placeholders the sentence holds already are not used: (N, P).
    names = tf.constant(placeholders)
    holds = any_rows(tokens.with_flat_values(tf.equal(word[:, None], names[None, :])))
    free = tf.cast(~holds, tf.int32)
    free_rank = tf.cumsum(free, axis=1, exclusive=True)
    # The k-th candidate of a sentence takes its (k + offset)-th free
    # placeholder, cyclically; candidates beyond the free count keep their word.
    rank = exclusive_cumsum_rows(tokens.with_flat_values(tf.cast(candidate, tf.int32))).flat_values
    rows = tokens.value_rowids()
    free_count = tf.gather(tf.reduce_sum(free, axis=1), rows)
    wanted = tf.math.floormod(rank + tf.cast(offset, tf.int32), tf.maximum(free_count, 1))
    match = (tf.gather(free, rows) > 0) & tf.equal(tf.gather(free_rank, rows), wanted[:, None])
    masked_token = candidate & (rank < free_count)
    choice = tf.argmax(tf.cast(match, tf.int32), axis=1)
    replaced = tf.strings.join([prefix, tf.gather(names, choice), suffix])
    masked = join_rows(tokens.with_flat_values(tf.where(masked_token, replaced, flat)),
                       separator=" ")

    taken = match & masked_token[:, None]  # (tokens, P), one True per masked token
    used = any_rows(tokens.with_flat_values(taken))
    words = join_rows(tokens.with_flat_values(tf.where(taken, word[:, None], "")))
    return masked, used, words


def restore_names(translations, used, words, placeholders):
    """Put the names back into the translations of masked sentences.

    Returns:
        (restored tf.string (N,), ok bool (N,)): `ok` is False where a used
        placeholder is missing, repeated or inside a longer word (then
        `restored` is the translation as it came).
    """
    # Regular expressions on whole strings, not ragged splits: a few ops per
    # placeholder, so the graph (traced inside the decoding loop) stays small.
    text = translations
    ok = tf.ones_like(translations, dtype=tf.bool)
    for index, name in enumerate(placeholders):
        pattern = re.escape(name)
        # Exactly one occurrence, and not inside a longer word.
        once = tf.equal(tf.strings.length(text)
                        - tf.strings.length(tf.strings.regex_replace(text, pattern, "")),
                        len(name.encode("utf-8")))
        alone = once & tf.strings.regex_full_match(text, rf"(?s)(?:.*\PL)?{pattern}(?:\PL.*)?")
        ok &= alone | ~used[:, index]
        text = tf.where(used[:, index] & alone,
                        tf.strings.regex_replace(text, pattern, _sentinel(index),
                                                 replace_global=False), text)
    for index in range(len(placeholders)):
        sentinel = re.escape(_sentinel(index))
        before = tf.strings.regex_replace(text, rf"(?s)^(.*?){sentinel}.*$", r"\1")
        after = tf.strings.regex_replace(text, rf"(?s)^.*?{sentinel}(.*)$", r"\1")
        text = tf.where(used[:, index], tf.strings.join([before, words[:, index], after]), text)
    return tf.where(ok, text, translations), ok


def attempts(placeholders):
    """How many times `protect_names` may translate a sentence: `ATTEMPTS`
    masked (at most one per placeholder), then once as it is."""
    return min(ATTEMPTS, len(placeholders)) + 1


def translate_attempt(translate_batch, sentences, attempt, source_tokenizer, placeholders):
    """One attempt of `protect_names` on every sentence given: masked from
    placeholder `attempt` and restored, or, from `attempts(placeholders) - 1`
    on, translated as it is.

    Args:
        translate_batch: callable, tf.string (N,) -> (translations (N, K),
            scores (N, K)).
        attempt: int or int32 scalar tensor.

    Returns:
        (translations tf.string (N,), scores (N,), ok bool (N,)): `ok` is
        False where the translation lost a placeholder (`restore_names`):
        translate that sentence again with the next attempt. The last
        attempt is always ok.
    """
    masked, used, words = mask_names(sentences, source_tokenizer, placeholders, attempt)
    plain = attempt >= attempts(placeholders) - 1
    out, out_scores = translate_batch(tf.where(plain, sentences, masked))
    restored, ok = restore_names(out[:, 0], used & ~plain, words, placeholders)
    return restored, out_scores[:, 0], ok


def protect_names(translate_batch, sentences, source_tokenizer, placeholders):
    """`translate_batch` with the rare names masked and restored, in the
    graph (the SavedModel's `serving_default`): the sentences whose
    translation lost a placeholder are masked again from the next
    placeholder (`ATTEMPTS` in all), then translated as they are
    (`translate_attempt`, within this one call; `Decoder.translate` runs the
    same attempts over all of its input, batch by batch).

    Args:
        translate_batch: callable, tf.string (N,) -> (translations (N, K),
            scores (N, K)).

    Returns:
        (translations (N, 1), scores (N, 1)).
    """
    n = tf.shape(sentences)[0]

    # One loop whose body translates once, so that the search is traced
    # once in the SavedModel, not once per attempt.
    def body(attempt, pending, translations, scores):
        restored, part_scores, ok = translate_attempt(
            translate_batch, tf.gather(sentences, pending), attempt, source_tokenizer,
            placeholders)
        done = tf.boolean_mask(pending, ok)[:, None]
        return (attempt + 1, tf.boolean_mask(pending, ~ok),
                tf.tensor_scatter_nd_update(translations, done, tf.boolean_mask(restored, ok)),
                tf.tensor_scatter_nd_update(scores, done, tf.boolean_mask(part_scores, ok)))

    _, _, translations, scores = tf.while_loop(
        lambda attempt, pending, *_: tf.size(pending) > 0, body,
        (tf.constant(0), tf.range(n, dtype=tf.int64), tf.fill([n], ""), tf.zeros([n])),
        shape_invariants=(tf.TensorShape([]), tf.TensorShape([None]), tf.TensorShape([None]),
                          tf.TensorShape([None])),
    )
    return translations[:, None], scores[:, None]
