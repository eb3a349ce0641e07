"""Row-wise ragged operations in a few graph nodes each.

`translate` traces its whole text-in, text-out graph at start-up (tokenizing
twice, with the name placeholders, and detokenizing), and TensorFlow's
ragged dispatch wraps each of these operations in dozens of graph nodes of
shape checks: 80 for a row-wise `tf.strings.reduce_join`, 37 for
`tf.ragged.boolean_mask`, 82 for a ragged `reduce_any`, 48 for
`RaggedTensor.from_tensor`, some 350 for a column minus a ragged tensor. On
inputs built by TensorFlow's own ops those checks cannot fail, so these
helpers compute the same values from the flat values and row ids directly.
With them the shipped model's decoding graph has a third fewer nodes
(2,105 instead of 3,340), and tracing and preparing it, the first call of
`translate`, take less (benchmarks/peers/README.md, "Start-up, cut").
tests/test_text.py checks each against the ragged operation it replaces.
"""

import tensorflow as tf


def row_ids(ragged):
    """The row of each of a ragged tensor's (B, None) values, as
    `ragged.value_rowids()` gives them: the number of rows that end at or
    before the value's position. For a ragged tensor built from row splits
    or lengths, where `value_rowids()` computes them in 72 graph nodes and
    this in 33 (one built from row ids, e.g. by `tf.strings.split`, keeps
    them, at no cost: use `value_rowids()` there)."""
    splits = ragged.row_splits
    positions = tf.range(tf.shape(ragged.values, out_type=splits.dtype)[0])
    return tf.searchsorted(splits[1:], positions, side="right")


def join_rows(tokens, separator="", rows=None):
    """Ragged strings (B, None) -> tf.string (B,): each row's strings
    joined with `separator` ("" for an empty row), in order; what
    `tf.strings.reduce_join(tokens, axis=-1, separator=separator)` gives.
    `rows`: the values' row ids when the caller has them (`row_ids`);
    by default `value_rowids()`, as every helper here takes them, which is
    free for a ragged tensor built from them (`tf.strings.split`'s,
    `mask_rows`')."""
    rows = tokens.value_rowids() if rows is None else rows
    return tf.strings.unsorted_segment_join(tokens.flat_values, rows, tokens.nrows(),
                                            separator=separator)


def mask_rows(values, keep):
    """Dense (B, T) values and bool (B, T) `keep` -> ragged (B, None): each
    row's kept values, in order; what `tf.ragged.boolean_mask(values, keep)`
    gives for 2-D inputs. Built from its row ids (the kept positions, in
    row-major order), which the result keeps for `value_rowids`."""
    at = tf.where(keep)  # (kept, 2): row, column
    return tf.RaggedTensor.from_value_rowids(tf.gather_nd(values, at), at[:, 0],
                                             nrows=tf.shape(keep, out_type=tf.int64)[0],
                                             validate=False)


def any_rows(flags):
    """Ragged bool (B, None[, ...]) -> bool (B[, ...]): whether any of the
    row's entries is True (False for an empty row); `tf.reduce_any(flags,
    axis=1)` on the ragged tensor."""
    return tf.math.unsorted_segment_max(tf.cast(flags.flat_values, tf.int32),
                                        flags.value_rowids(), flags.nrows()) > 0


def exclusive_cumsum_rows(counts):
    """Ragged ints (B, None) -> the same shape: each entry replaced by the
    sum of the entries before it in its row."""
    flat = counts.flat_values
    running = tf.cumsum(flat, exclusive=True)
    row_start = tf.gather(running, tf.gather(counts.row_starts(), counts.value_rowids()))
    return counts.with_flat_values(running - row_start)
