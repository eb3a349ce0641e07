"""Batched greedy search, in the graph.

The contract shared by every search: a step function
`step_fn(tokens (B,) int32, states) -> (log_probs (B, V), new_states)`,
where `states` is any nest of tensors with the batch as first dimension.
The search knows nothing about text, images or LSTMs.
"""

import tensorflow as tf

from keras_seq2seq.constants import END_ID, PAD_ID, START_ID
from keras_seq2seq.decoding.beam import loose_shape, passed_through, select_rows
from keras_seq2seq.decoding.penalties import block_repeated_ngrams, check_ngram_size


def greedy_search(step_fn, initial_states, max_lengths, start_id=START_ID, end_id=END_ID,
                  no_repeat_ngram=0, drop_finished=True):
    """Pick the most likely token at every step until `<end>` or the limit.

    One `tf.while_loop` for the whole batch: it stops as soon as every
    sentence has emitted `end_id` or reached its own maximum length. Wrap
    the caller in `tf.function` to run it as one graph.

    Args:
        step_fn: callable. `(tokens, states) -> (log_probs, states)`.
        initial_states: nest of tensors (B, ...). The decoder's first states.
        max_lengths: int32 tensor (B,). Most tokens to generate per sentence
            (`<end>` included); values below 1 are treated as 1.
        start_id: int. First input token. Defaults to `<start>`.
        end_id: int. Token that ends a sentence. Defaults to `<end>`.
        no_repeat_ngram: int. When >= 2, no n-gram of this many tokens is
            written twice in a sentence (`block_repeated_ngrams`). Defaults
            to 0 (off).
        drop_finished: bool. A finished sentence leaves the search, so the
            step function runs on the unfinished ones only (as in
            `beam_search`). False runs every sentence until the batch is
            done, with TFLite builtin ops only (the TFLite export's
            one-sentence search, where there is nothing to drop). The same
            tokens and scores either way. Defaults to True.

    Returns:
        (tokens, scores): int32 (B, T) generated tokens, `<end>` included
        when it was emitted, `<pad>` after it; float32 (B,) sums of the
        chosen tokens' log-probabilities.
    """
    no_repeat_ngram = check_ngram_size(no_repeat_ngram)
    max_lengths = tf.maximum(tf.cast(max_lengths, tf.int32), 1)
    if drop_finished:
        return _greedy_dropping(step_fn, initial_states, max_lengths, start_id, end_id,
                                no_repeat_ngram)
    batch_size = tf.shape(max_lengths)[0]
    limit = tf.reduce_max(max_lengths)
    # A fixed (batch, limit) buffer written with a one-hot column mask rather
    # than a TensorArray: TensorList ops do not convert to TFLite builtins,
    # and this way the same search runs inside an exported TFLite graph.
    output = tf.zeros([batch_size, limit], tf.int32)

    def cond(t, tokens, states, finished, scores, output):
        return (t < limit) & tf.logical_not(tf.reduce_all(finished))

    def body(t, tokens, states, finished, scores, output):
        log_probs, states = step_fn(tokens, states)  # (batch, vocab)
        if no_repeat_ngram:
            log_probs = block_repeated_ngrams(log_probs, output, t, no_repeat_ngram)
        next_tokens = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
        best = tf.reduce_max(log_probs, axis=-1)
        next_tokens = tf.where(finished, PAD_ID, next_tokens)
        scores += tf.where(finished, tf.zeros_like(best), best)
        column = tf.one_hot(t, limit, dtype=tf.int32)[None, :]  # (1, limit)
        output += column * next_tokens[:, None]
        finished = finished | tf.equal(next_tokens, end_id) | (t + 1 >= max_lengths)
        return t + 1, next_tokens, states, finished, scores, output

    steps, _, _, _, scores, output = tf.while_loop(
        cond,
        body,
        (
            tf.constant(0),
            tf.fill([batch_size], tf.constant(start_id, tf.int32)),
            initial_states,
            tf.zeros([batch_size], tf.bool),
            tf.zeros([batch_size], tf.float32),
            output,
        ),
    )
    return output[:, :steps], scores  # (batch, steps taken), (batch,)


def _greedy_dropping(step_fn, initial_states, max_lengths, start_id, end_id, no_repeat_ngram):
    # The search on the sentences still unfinished (`live`, their indices):
    # the records (tokens written, scores) cover the whole batch, the step
    # function and its states only the live sentences. On Multi30k val with
    # the shipped model (batches of 32 sorted by length) this steps 31%
    # fewer rows than running every sentence until the batch is done.
    batch_size = tf.shape(max_lengths)[0]
    limit = tf.reduce_max(max_lengths)
    output = tf.zeros([batch_size, limit], tf.int32)

    def cond(t, live, tokens, states, scores, output):
        return (t < limit) & (tf.size(live) > 0)

    def body(t, live, tokens, states, scores, output):
        old_states = tf.nest.flatten(states)
        log_probs, states = step_fn(tokens, states)  # (live, vocab)
        passed = passed_through(states, old_states)
        if no_repeat_ngram:
            log_probs = block_repeated_ngrams(log_probs, tf.gather(output, live), t,
                                              no_repeat_ngram)
        next_tokens = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
        at = live[:, None]
        scores = tf.tensor_scatter_nd_add(scores, at, tf.reduce_max(log_probs, axis=-1))
        output = tf.tensor_scatter_nd_update(
            output, tf.stack([live, tf.fill(tf.shape(live), t)], axis=1), next_tokens)
        done = tf.equal(next_tokens, end_id) | (t + 1 >= tf.gather(max_lengths, live))
        keep = tf.cast(tf.where(tf.logical_not(done))[:, 0], tf.int32)
        states = select_rows(states, passed, keep, keep, tf.size(live), 1)
        return t + 1, tf.gather(live, keep), tf.gather(next_tokens, keep), states, scores, output

    steps, _, _, _, scores, output = tf.while_loop(
        cond,
        body,
        (
            tf.constant(0),
            tf.range(batch_size),
            tf.fill([batch_size], tf.constant(start_id, tf.int32)),
            initial_states,
            tf.zeros([batch_size], tf.float32),
            output,
        ),
        shape_invariants=(
            tf.TensorShape([]),
            tf.TensorShape([None]),
            tf.TensorShape([None]),
            tf.nest.map_structure(loose_shape, initial_states),
            tf.TensorShape([None]),
            tf.TensorShape([None, None]),
        ),
    )
    return output[:, :steps], scores  # (batch, steps taken), (batch,)
