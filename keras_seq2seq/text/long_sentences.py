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
are the JavaScript runner's (`splitLongSentence` in web/seq2seq.mjs), and
`Decoder.translate` applies them for every Python runner.
"""

import re

import tensorflow as tf

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


def piece_counter(tokenizer):
    """`count_pieces` for a source tokenizer: tokens -> their piece counts."""
    def count(tokens):
        return tokenizer.encode(tf.constant(tokens, tf.string)).row_lengths().numpy().tolist()
    return count


def split_long_sentences(sentences, tokenizer, limit, max_pieces=None):
    """`split_long_sentence` over a list: (the parts of every sentence in
    order, the (start, end) slice of the parts of each sentence)."""
    count = piece_counter(tokenizer)
    parts, groups = [], []
    for sentence in sentences:
        start = len(parts)
        # A piece covers at least one character that is not a space.
        if len(sentence) <= limit:
            parts.append(sentence)
        else:
            parts.extend(split_long_sentence(sentence, count, limit, max_pieces))
        groups.append((start, len(parts)))
    return parts, groups
