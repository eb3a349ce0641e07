"""Long sentences: cut at clause boundaries so that nothing is dropped.

The encoder reads at most `max_input_tokens` pieces (and a TFLite export
`max_source_tokens`, 100 for the shipped model), and the searches stop at
`max_output_tokens` pieces: a longer sentence used to lose its end in
every runner. A sentence whose pieces exceed `long_sentence_limit` is cut
into parts that fit, at the clause boundary nearest its middle (after a
comma, semicolon, colon or dash, or before a conjunction), recursively;
a part with no boundary is cut at the limit. The parts are translated as
sentences of their own and joined with a space. The settings'
`max_input_tokens` (200 pieces by default) still bounds a sentence as a
whole: its tokens past that many pieces are left out before the cut, so
no input can ask for unbounded work.

The limit is the input limit and two thirds of the output cap: a French
translation runs about 1.2 pieces per English piece, so a part of 66
pieces leaves the 100-piece output room. The same rules, token for token,
are the JavaScript runner's (`splitLongSentence` in web/seq2seq.mjs) and the
TF Serving SavedModel's (`split_long_sentences_graph`, core TensorFlow ops
only, in `serving_default`'s graph); `Decoder.translate` applies them for
every Python runner through the same graph function, compiled once per
tokenizer (`split_long_sentences`). `split_long_sentence` is the plain
Python statement of the rules, the reference the tests hold both to.
"""

import re
import weakref

import tensorflow as tf

from keras_seq2seq.text.compiled import EagerFirst
from keras_seq2seq.text.ragged import join_rows, row_ids

# Words before which a clause may start.
CONJUNCTIONS = frozenset((
    "and", "but", "or", "nor", "so", "yet", "because", "although", "though", "while",
    "whereas", "which", "who", "whom", "whose", "where", "when", "whenever", "unless",
    "until", "since", "if", "then",
))
_ASCII_SPACE = re.compile(r"[\t\n\v\f\r ]+")
_CLAUSE_END = re.compile(r"[,;:\u2013\u2014]$")


def long_sentence_limit(input_limit, max_output_tokens):
    """Most source pieces a sentence is translated in one piece with."""
    return max(1, min(int(input_limit), (2 * int(max_output_tokens)) // 3))


def _bare_word(token):
    # The token lowercased without its leading and trailing non-letters.
    letters = [i for i, c in enumerate(token) if c.isalpha()]
    if not letters:
        return ""
    return token[letters[0]: letters[-1] + 1].lower()


def split_long_sentence(sentence, count_pieces, limit, max_pieces=None):
    """Cut `sentence` into parts of at most `limit` pieces where it can.

    Args:
        sentence: str.
        count_pieces: callable, list of str (whitespace-separated tokens)
            -> list of int (the source pieces of each).
        limit: int.
        max_pieces: int or None. The settings' `max_input_tokens`: a
            sentence's tokens past this many pieces are left out first
            (the bound on the work one input can ask for). None: no bound.

    Returns:
        A list of str: `[sentence]` when it fits, else its parts (its
        tokens joined with single spaces).
    """
    tokens = [t for t in _ASCII_SPACE.split(sentence) if t]
    if len(tokens) < 2:
        return [sentence]
    counts = [int(c) for c in count_pieces(tokens)]
    if sum(counts) <= limit:
        return [sentence]
    if max_pieces is not None:
        kept, total = 0, 0
        while kept < len(tokens) and total + counts[kept] <= max_pieces:
            total += counts[kept]
            kept += 1
        tokens, counts = tokens[: max(kept, 1)], counts[: max(kept, 1)]
    parts = []

    def cut(begin, end):
        total = sum(counts[begin:end])
        if total <= limit or end - begin < 2:
            parts.append(" ".join(tokens[begin:end]))
            return
        best, best_distance, left = -1, None, 0
        for i in range(begin + 1, end):  # a cut before token i
            left += counts[i - 1]
            previous = tokens[i - 1]
            if (_CLAUSE_END.search(previous) or previous == "-"
                    or _bare_word(tokens[i]) in CONJUNCTIONS):
                distance = abs(2 * left - total)
                if best_distance is None or distance < best_distance:
                    best, best_distance = i, distance
        if best < 0:  # no clause boundary: the longest prefix that fits
            best, fit = begin + 1, 0
            for i in range(begin, end - 1):
                fit += counts[i]
                if fit > limit:
                    break
                best = i + 1
        cut(begin, best)
        cut(best, end)

    cut(0, len(tokens))
    return parts


# The same rules in core TensorFlow ops, for the SavedModel's graph (stock TF
# Serving: no tensorflow-text) and, compiled once, for the Python runners.
_SPACE_CLASS = r"[\t\n\v\f\r ]"
_CLAUSE_END_RE = r"(?s).*[,;:\x{2013}\x{2014}]"


def _conjunction_pattern():
    # A token whose letters, from the first to the last, spell a conjunction
    # in any case: ASCII case classes, not RE2's (?i), which also folds
    # U+017F (long s) and U+212A (Kelvin) where str.lower() does not.
    words = "|".join(
        "".join(f"[{c}{c.upper()}]" for c in word) for word in sorted(CONJUNCTIONS))
    return rf"[^\pL]*(?:{words})[^\pL]*"


_CONJUNCTION_RE = _conjunction_pattern()
_NO_BOUND = 2**62


def split_long_sentences_graph(sentences, tokenizer, limit, max_pieces=None):
    """`split_long_sentence` for a batch, in core TensorFlow ops.

    Args:
        sentences: tf.string (B,).
        tokenizer: a source tokenizer (`encode`: tf.string (N,) -> ragged
            ids (N, None)).
        limit: int or int scalar tensor.
        max_pieces: int, int scalar tensor or None (no bound).

    Returns:
        (parts tf.string (P,), row_splits int64 (B + 1,)): the parts of
        sentence b are `parts[row_splits[b]:row_splits[b + 1]]`, exactly
        `split_long_sentence`'s; a sentence that fits (or of fewer than two
        tokens, or of at most `limit` characters) is its one part, byte for
        byte.
    """
    sentences = tf.convert_to_tensor(sentences, tf.string)
    limit = tf.cast(limit, tf.int64)
    max_pieces = tf.constant(_NO_BOUND, tf.int64) if max_pieces is None else tf.cast(
        max_pieces, tf.int64)
    # Valid UTF-8 to read (what a Python str is); a sentence that is passed
    # through keeps its own bytes.
    text = tf.strings.unicode_transcode(sentences, "UTF-8", "UTF-8", errors="replace",
                                        replacement_char=0xFFFD)
    # A piece covers at least one character that is not a space: a sentence
    # of at most `limit` characters fits, without tokenizing it.
    candidate = tf.strings.length(text, unit="UTF8_CHAR") > tf.cast(limit, tf.int32)
    text = tf.where(candidate, text, "")
    words = tf.strings.split(tf.strings.regex_replace(text, _SPACE_CLASS, " "), " ")
    nonempty = tf.where(tf.not_equal(words.flat_values, ""))[:, 0]
    words = tf.RaggedTensor.from_value_rowids(  # (B, None), the empty strings left out
        tf.gather(words.flat_values, nonempty), tf.gather(words.value_rowids(), nonempty),
        nrows=words.nrows(), validate=False)
    tokens = words.flat_values  # (N,)
    starts = words.row_starts()
    n_tokens = words.row_lengths()
    counts = tf.cast(tokenizer.encode(tokens).row_lengths(), tf.int64)
    # cum[i]: the pieces of the tokens before token i (all sentences in a row).
    cum = tf.concat([[0], tf.cumsum(counts)], axis=0)
    total = tf.gather(cum, starts + n_tokens) - tf.gather(cum, starts)
    long = (n_tokens >= 2) & (total > limit)
    # Tokens past `max_pieces` pieces are left out (at least one is kept).
    rows = words.value_rowids()
    fits = tf.cast(cum[1:] - tf.gather(cum, tf.gather(starts, rows)) <= max_pieces, tf.int64)
    kept = tf.maximum(tf.math.unsorted_segment_sum(fits, rows, tf.size(n_tokens)), 1)
    # A cut may come before token i when token i - 1 ends a clause or is a
    # dash, or token i is a conjunction (i - 1 is only read inside a span).
    ends_clause = tf.strings.regex_full_match(tokens, _CLAUSE_END_RE) | tf.equal(tokens, "-")
    cut_before = tf.concat([[False], ends_clause], axis=0)[:-1] | tf.strings.regex_full_match(
        tokens, _CONJUNCTION_RE)

    def body(begin, end, sentence, through):
        span_total = tf.gather(cum, end) - tf.gather(cum, begin)
        active = ~through & (span_total > limit) & (end - begin >= 2)
        # The cuts a span may take: before each of its tokens but the first.
        at = tf.ragged.range(tf.where(active, begin + 1, 0), tf.where(active, end, 0))
        i = at.flat_values
        span = row_ids(at)
        first = tf.gather(begin, span)
        left = tf.gather(cum, i) - tf.gather(cum, first)
        boundary = tf.gather(cut_before, i)
        distance = tf.where(boundary, tf.abs(2 * left - tf.gather(span_total, span)), _NO_BOUND)
        n_spans = tf.size(begin)
        nearest = tf.math.unsorted_segment_min(distance, span, n_spans)
        # The first boundary at the nearest distance (the Python's strict <).
        chosen = tf.where(boundary & tf.equal(distance, tf.gather(nearest, span)), i, _NO_BOUND)
        best = tf.math.unsorted_segment_min(chosen, span, n_spans)
        # No boundary: the longest prefix that fits, at least one token.
        prefix = tf.math.unsorted_segment_sum(tf.cast(left <= limit, tf.int64), span, n_spans)
        best = tf.where(best < _NO_BOUND, best, begin + tf.maximum(prefix, 1))
        # Each active span becomes its two halves, in place.
        new_begin = tf.stack([begin, best], axis=1)
        new_end = tf.stack([tf.where(active, best, end), end], axis=1)
        keep = tf.stack([tf.ones_like(active), active], axis=1)
        pair = tf.stack([sentence, sentence], axis=1)
        pair_through = tf.stack([through, through], axis=1)
        kept = tf.where(keep)  # row-major: each span's halves in order
        return tuple(tf.gather_nd(x, kept) for x in (new_begin, new_end, pair, pair_through))

    def cond(begin, end, sentence, through):
        span_total = tf.gather(cum, end) - tf.gather(cum, begin)
        return tf.reduce_any(~through & (span_total > limit) & (end - begin >= 2))

    spans = (starts, starts + tf.where(long, tf.minimum(kept, n_tokens), 0),
             tf.range(tf.size(n_tokens, out_type=tf.int64), dtype=tf.int64), ~long)
    begin, end, sentence, through = tf.while_loop(
        cond, body, spans, shape_invariants=(tf.TensorShape([None]),) * 4)
    spans = tf.ragged.range(begin, end)
    joined = join_rows(spans.with_flat_values(tf.gather(tokens, spans.flat_values)),
                       separator=" ", rows=row_ids(spans))
    parts = tf.where(through, tf.gather(sentences, sentence), joined)
    row_splits = tf.RaggedTensor.from_value_rowids(
        parts, sentence, nrows=tf.size(sentences, out_type=tf.int64), validate=False).row_splits
    return parts, row_splits


def piece_counter(tokenizer):
    """`count_pieces` for a source tokenizer: tokens -> their piece counts."""
    def count(tokens):
        return tokenizer.encode(tf.constant(tokens, tf.string)).row_lengths().numpy().tolist()
    return count


_CHUNK = 4096
# The compiled `split_long_sentences_graph` of each tokenizer.
_COMPILED = weakref.WeakKeyDictionary()


def _compiled_splitter(tokenizer):
    splitter = _COMPILED.get(tokenizer)
    if splitter is None:
        # A weak reference: the cache must not keep its own key alive.
        owner = weakref.ref(tokenizer)
        # Eager at the first call (a one-shot command traces nothing), compiled after.
        splitter = EagerFirst(
            lambda sentences, limit, max_pieces: split_long_sentences_graph(
                sentences, owner(), limit, max_pieces),
            [tf.TensorSpec([None], tf.string), tf.TensorSpec([], tf.int64),
             tf.TensorSpec([], tf.int64)],
            autograph=False)
        _COMPILED[tokenizer] = splitter
    return splitter


def split_long_sentences(sentences, tokenizer, limit, max_pieces=None):
    """`split_long_sentence` over a list: (the parts of every sentence in
    order, the (start, end) slice of the parts of each sentence).

    Runs `split_long_sentences_graph` (one `EagerFirst` per tokenizer:
    eager at its first call, compiled after), the SavedModel's code, on
    the sentences longer than `limit` characters.
    """
    # A piece covers at least one character that is not a space: a sentence
    # of at most `limit` characters fits.
    long = [i for i, sentence in enumerate(sentences) if len(sentence) > limit]
    cut = {}
    if long:
        splitter = _compiled_splitter(tokenizer)
        bound = _NO_BOUND if max_pieces is None else int(max_pieces)
        for start in range(0, len(long), _CHUNK):
            chunk = long[start : start + _CHUNK]
            parts, splits = splitter(tf.constant([sentences[i] for i in chunk], tf.string),
                                     tf.constant(int(limit), tf.int64),
                                     tf.constant(bound, tf.int64))
            parts = [p.decode("utf-8") for p in parts.numpy()]
            splits = splits.numpy().tolist()
            for k, i in enumerate(chunk):
                cut[i] = parts[splits[k] : splits[k + 1]]
    parts, groups = [], []
    for i, sentence in enumerate(sentences):
        start = len(parts)
        if i in cut:
            parts.extend(cut[i])
        else:
            parts.append(sentence)
        groups.append((start, len(parts)))
    return parts, groups
