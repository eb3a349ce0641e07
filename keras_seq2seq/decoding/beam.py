"""Batched beam search, in the graph, with GNMT length normalisation.

Same step-function contract as `greedy_search`:
`step_fn(tokens (N,) int32, states) -> (log_probs (N, V), new_states)`, where
`states` is any nest of tensors with N first. Beams are folded into the batch
(N = batch * beam_size), so one call of the step function advances every beam
of every sentence, and the whole search is one `tf.while_loop`.

Why not keras_hub.samplers.BeamSampler: it decodes into a fixed-length
prompt tensor with a `next(prompt, cache, index)` model contract, keeps
extending (and scoring) beams after their end token, has no length penalty
and no per-sentence length limit. Translation needs all four (finished
hypotheses must stop accumulating cost, GNMT normalisation, limits tied to
each source's length), so this file implements the search over our own
step-function contract instead; greedy, beam and ensembles all share it.
"""

import tensorflow as tf

from keras_seq2seq.constants import END_ID, START_ID
from keras_seq2seq.decoding.penalties import block_repeated_ngrams, check_ngram_size
from keras_seq2seq.errors import ConfigurationError

_NEG_INF = -1e9


def length_penalty(lengths, alpha):
    """GNMT length penalty ((5 + |Y|) / 6) ** alpha (Wu et al. 2016, eq. 14)."""
    return tf.pow((5.0 + tf.cast(lengths, tf.float32)) / 6.0, alpha)


def _tile_beams(x, beam_size):
    # (batch, ...) -> (batch * beam, ...), each sentence repeated beam times.
    return tf.repeat(x, beam_size, axis=0)


def beam_search(
    step_fn,
    initial_states,
    max_lengths,
    beam_size=5,
    alpha=0.6,
    start_id=START_ID,
    end_id=END_ID,
    no_repeat_ngram=0,
    trace=False,
):
    """Beam search for a batch of sentences.

    Hypotheses are ranked by `sum of log-probabilities / length_penalty(len,
    alpha)`. A hypothesis is finished when it emits `end_id` or reaches its
    sentence's maximum length; a finished one keeps its slot and score and
    competes with the live ones. The loop stops as soon as every beam of
    every sentence is finished.

    Args:
        step_fn: callable. `(tokens, states) -> (log_probs, states)`.
        initial_states: nest of tensors (B, ...). The decoder's first states.
        max_lengths: int32 tensor (B,). Most tokens per hypothesis (`<end>`
            included); values below 1 are treated as 1.
        beam_size: int. Hypotheses kept per sentence. Defaults to 5.
        alpha: float. Length-penalty strength; 0 ranks by raw
            log-probability. Defaults to 0.6.
        start_id: int. First input token. Defaults to `<start>`.
        end_id: int. Token that ends a hypothesis. Defaults to `<end>`.
        no_repeat_ngram: int. When >= 2, no hypothesis writes an n-gram of
            this many tokens twice (`block_repeated_ngrams`). Defaults to 0
            (off).
        trace: bool. Also return the beams of every step (the beam tree,
            for `keras-seq2seq explore`). Defaults to False.

    Returns:
        (tokens, scores, log_probs): int32 (B, beam_size, T) hypotheses
        best first (`<end>` included when emitted, `<pad>` after it);
        float32 (B, beam_size) length-normalised scores; float32
        (B, beam_size) summed log-probabilities. With `trace`, a fourth
        item: a dict of (B, beam_size, T) tensors, step t's beams in the
        order of that step's top-k: "tokens" (the token each beam added),
        "parents" (the beam of step t - 1 it extends), "log_probs" (summed),
        "scores" (length-normalised) and "finished" (bool).
    """
    if beam_size < 1:
        raise ConfigurationError(f"beam_size must be >= 1, got {beam_size}.")
    no_repeat_ngram = check_ngram_size(no_repeat_ngram)
    k = beam_size
    max_lengths = tf.maximum(tf.cast(max_lengths, tf.int32), 1)
    batch_size = tf.shape(max_lengths)[0]
    limit = tf.reduce_max(max_lengths)
    beam_limits = _tile_beams(max_lengths, k)  # (batch * beam,)
    states = tf.nest.map_structure(lambda s: _tile_beams(s, k), initial_states)

    # Only the first beam of each sentence is live at the start, so the first
    # step does not pick the same token k times.
    first = tf.concat([[0.0], tf.fill([k - 1], _NEG_INF)], axis=0)
    log_probs = tf.tile(first[None, :], [batch_size, 1])  # (batch, beam)
    lengths = tf.zeros([batch_size, k], tf.int32)
    finished = tf.zeros([batch_size, k], tf.bool)
    sequences = tf.zeros([batch_size, k, 0], tf.int32)
    tokens = tf.fill([batch_size * k], tf.constant(start_id, tf.int32))
    # Batch offsets to turn (sentence, beam) into a row of the folded batch.
    offsets = tf.range(batch_size)[:, None] * k  # (batch, 1)

    trace_keys = ("tokens", "parents", "log_probs", "scores", "finished")
    trace_start = {
        "tokens": tf.zeros([batch_size, k, 0], tf.int32),
        "parents": tf.zeros([batch_size, k, 0], tf.int32),
        "log_probs": tf.zeros([batch_size, k, 0], tf.float32),
        "scores": tf.zeros([batch_size, k, 0], tf.float32),
        "finished": tf.zeros([batch_size, k, 0], tf.bool),
    } if trace else {}

    def cond(t, tokens, states, log_probs, lengths, finished, sequences, steps):
        return (t < limit) & tf.logical_not(tf.reduce_all(finished))

    def body(t, tokens, states, log_probs, lengths, finished, sequences, steps):
        step_log_probs, states = step_fn(tokens, states)  # (batch * beam, vocab)
        vocab_size = tf.shape(step_log_probs)[-1]
        if no_repeat_ngram:
            history = tf.reshape(sequences, [batch_size * k, -1])  # (batch * beam, t)
            step_log_probs = block_repeated_ngrams(step_log_probs, history, t, no_repeat_ngram)
        # A beam's length penalty is the same whatever token it adds, so its
        # k best continuations by score are its k best by log-probability:
        # take those first (a top_k over the vocabulary per beam), then rank
        # the k * k candidates of each sentence. The sums, the penalty and
        # the ranking then touch k * k values per sentence instead of
        # k * vocabulary, with the same values and the same order as a
        # top_k over every (beam, token) (ties go to the lower beam, then
        # the lower token, in both; a vocabulary smaller than the beam
        # differs only in which out-of-reach candidates fill it).
        width = tf.minimum(k, vocab_size)
        top_log_probs, top_tokens = tf.math.top_k(step_log_probs, k=width)  # (B * beam, width)
        top_log_probs = tf.reshape(top_log_probs, [batch_size, k, width])
        top_tokens = tf.reshape(top_tokens, [batch_size, k, width])
        # A finished hypothesis can only be continued by <pad>, at no cost:
        # its candidates are <pad> (PAD_ID, 0) at 0, then ids 1, 2, ... out of
        # reach, as a top_k over its row of the vocabulary would give.
        pad_only = tf.concat([[0.0], tf.fill([width - 1], _NEG_INF)], axis=0)
        top_log_probs = tf.where(finished[..., None], pad_only, top_log_probs)
        top_tokens = tf.where(finished[..., None], tf.range(width), top_tokens)

        total = log_probs[..., None] + top_log_probs  # (batch, beam, width)
        new_lengths = lengths + tf.cast(tf.logical_not(finished), tf.int32)
        normalised = total / length_penalty(new_lengths, alpha)[..., None]
        flat = tf.reshape(normalised, [batch_size, k * width])
        _, best = tf.math.top_k(flat, k=k)  # (batch, beam), sorted
        parents = best // width
        next_tokens = tf.gather(tf.reshape(top_tokens, [batch_size, -1]), best, batch_dims=1)

        def pick(x):  # (batch, beam, ...) -> chosen parents' values
            return tf.gather(x, parents, axis=1, batch_dims=1)

        log_probs = tf.gather(tf.reshape(total, [batch_size, -1]), best, batch_dims=1)
        was_finished = pick(finished)
        lengths = pick(new_lengths)
        sequences = tf.concat([pick(sequences), next_tokens[..., None]], axis=2)
        rows = tf.reshape(parents + offsets, [-1])  # (batch * beam,)
        states = tf.nest.map_structure(lambda s: tf.gather(s, rows), states)
        finished = (
            was_finished
            | tf.equal(next_tokens, end_id)
            | (t + 1 >= tf.reshape(beam_limits, [batch_size, k]))
        )
        if trace:
            now = {"tokens": next_tokens, "parents": parents, "log_probs": log_probs,
                   "scores": log_probs / length_penalty(lengths, alpha), "finished": finished}
            steps = {key: tf.concat([steps[key], now[key][..., None]], axis=2)
                     for key in trace_keys}
        return (t + 1, tf.reshape(next_tokens, [-1]), states, log_probs, lengths, finished,
                sequences, steps)

    _, _, _, log_probs, lengths, _, sequences, steps = tf.while_loop(
        cond,
        body,
        (tf.constant(0), tokens, states, log_probs, lengths, finished, sequences, trace_start),
        shape_invariants=(
            tf.TensorShape([]),
            tf.TensorShape([None]),
            tf.nest.map_structure(_loose_shape, states),
            tf.TensorShape([None, k]),
            tf.TensorShape([None, k]),
            tf.TensorShape([None, k]),
            tf.TensorShape([None, k, None]),
            {key: tf.TensorShape([None, k, None]) for key in trace_start},
        ),
    )
    # The loop runs at least once (every limit is >= 1), and its last top_k
    # left the beams sorted by normalised score, best first.
    scores = log_probs / length_penalty(lengths, alpha)
    if trace:
        return sequences, scores, log_probs, steps
    return sequences, scores, log_probs


def _loose_shape(tensor):
    shape = tensor.shape
    return tf.TensorShape([None] + list(shape[1:]))
