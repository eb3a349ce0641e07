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
from keras_seq2seq.settings import BEAM_STOP_RULES

_NEG_INF = -1e9


def length_penalty(lengths, alpha):
    """GNMT length penalty ((5 + |Y|) / 6) ** alpha (Wu et al. 2016, eq. 14)."""
    return tf.pow((5.0 + tf.cast(lengths, tf.float32)) / 6.0, alpha)


def top_k_rows(x, k):
    """`tf.math.top_k(x, k)` for a (N, V) tensor, computed in two stages:
    the k blocks of the vocabulary with the highest maxima, then the k best
    of their values. The same values and indices in the same order (ties
    to the lower index, as `top_k` breaks them): every one of the k best
    values lies in a block whose maximum is at least the k-th best, and
    there are at most k such blocks once ties go to the lower block.

    Written here because TensorFlow's CPU `TopKV2` scans every row with a
    heap: over (320, 8,000) log-probabilities (a batch of 64 with beam 5)
    it took 6.2 ms per search step where a max over the same values took
    0.4, a quarter of the shipped model's whole step.
    """
    vocab_size = x.shape[-1]
    block = _block_size(vocab_size)
    if not isinstance(k, int) or block is None or vocab_size // block <= k:
        return tf.math.top_k(x, k=k)
    blocks = vocab_size // block
    grouped = tf.reshape(x, [-1, blocks, block])
    _, best_blocks = tf.math.top_k(tf.reduce_max(grouped, axis=-1), k=k)  # (N, k)
    best_blocks = tf.sort(best_blocks, axis=-1)  # vocabulary order: ties to the lower index
    candidates = tf.reshape(tf.gather(grouped, best_blocks, batch_dims=1), [-1, k * block])
    values, at = tf.math.top_k(candidates, k=k)
    indices = tf.gather(best_blocks, at // block, batch_dims=1) * block + at % block
    return values, indices


def _block_size(vocab_size):
    # The divisor of the vocabulary size closest to 128 within [32, 512]
    # (7,875 word pieces: 125), so the rows reshape into blocks without a
    # padded copy; None when there is none (then plain top_k).
    if not vocab_size:
        return None
    divisors = [d for d in range(32, 513) if vocab_size % d == 0]
    return min(divisors, key=lambda d: abs(d - 128)) if divisors else None


def _tile_beams(x, beam_size):
    # (batch, ...) -> (batch * beam, ...), each sentence repeated beam times:
    # `tf.repeat(x, beam_size, axis=0)`, as a tile and a reshape (8 graph
    # nodes for a (B, units) state, 15 for the (B, S, units) memory, where
    # tf.repeat's general case takes 29-30; the decoding graph is traced at
    # start-up).
    rest = x.shape[1:]  # the states' rank is static; their sizes may not be
    tiled = tf.tile(x[:, None], [1, beam_size] + [1] * len(rest))
    return tf.reshape(tiled, [-1] + [size if size is not None else tf.shape(x)[i + 1]
                                     for i, size in enumerate(rest)])


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
    stop="all",
):
    """Beam search for a batch of sentences.

    Hypotheses are ranked by `sum of log-probabilities / length_penalty(len,
    alpha)`. A hypothesis is finished when it emits `end_id` or reaches its
    sentence's maximum length; a finished one keeps its slot and score and
    competes with the live ones. A sentence is done when `stop` says so;
    done sentences leave the search (the step function runs on the others
    only), and the loop ends when every sentence is done.

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
        stop: "all", "settled" or "best". When a sentence is done: "all"
            when every hypothesis of its beam is finished; "settled" also
            as soon as no live hypothesis can overtake the best finished
            one (`_settled`: the same best hypothesis as "all", the others
            possibly unfinished); "best" as soon as the best one by score
            is (OpenNMT-py's rule: fewer steps, but a live hypothesis that
            could still have overtaken it is dropped, and the others may be
            returned unfinished). Defaults to "all".

    Returns:
        (tokens, scores, log_probs): int32 (B, beam_size, T) hypotheses
        best first (`<end>` included when emitted, `<pad>` after it);
        float32 (B, beam_size) length-normalised scores; float32
        (B, beam_size) summed log-probabilities. With `trace`, a fourth
        item: a dict of (B, beam_size, T) tensors, step t's beams in the
        order of that step's top-k: "tokens" (the token each beam added),
        "parents" (the beam of step t - 1 it extends), "log_probs" (summed),
        "scores" (length-normalised) and "finished" (bool); a sentence's
        steps after it is done are zeros.
    """
    if beam_size < 1:
        raise ConfigurationError(f"beam_size must be >= 1, got {beam_size}.")
    if stop not in BEAM_STOP_RULES:
        raise ConfigurationError(
            f"stop must be one of {', '.join(BEAM_STOP_RULES)}, got {stop!r}.")
    no_repeat_ngram = check_ngram_size(no_repeat_ngram)
    k = beam_size
    max_lengths = tf.maximum(tf.cast(max_lengths, tf.int32), 1)
    batch_size = tf.shape(max_lengths)[0]
    limit = tf.reduce_max(max_lengths)
    states = tf.nest.map_structure(lambda s: _tile_beams(s, k), initial_states)

    # The records of every sentence, (batch, beam[, time]). The search itself
    # runs on the sentences still being searched (`live`, their indices):
    # a sentence leaves as soon as it is done, and the step function, the
    # costly part, then runs on fewer rows. On Multi30k val with the shipped
    # model (beam 5, batches of 32 sorted by length) this leaves 35% fewer
    # rows to step than running every sentence until the batch is done.
    # Only the first beam of each sentence is live at the start, so the first
    # step does not pick the same token k times.
    first = tf.concat([[0.0], tf.fill([k - 1], _NEG_INF)], axis=0)
    log_probs = tf.tile(first[None, :], [batch_size, 1])  # (batch, beam)
    lengths = tf.zeros([batch_size, k], tf.int32)
    finished = tf.zeros([batch_size, k], tf.bool)
    sequences = tf.zeros([batch_size, k, 0], tf.int32)
    tokens = tf.fill([batch_size * k], tf.constant(start_id, tf.int32))
    live = tf.range(batch_size)

    trace_keys = ("tokens", "parents", "log_probs", "scores", "finished")
    trace_start = {
        "tokens": tf.zeros([batch_size, k, 0], tf.int32),
        "parents": tf.zeros([batch_size, k, 0], tf.int32),
        "log_probs": tf.zeros([batch_size, k, 0], tf.float32),
        "scores": tf.zeros([batch_size, k, 0], tf.float32),
        "finished": tf.zeros([batch_size, k, 0], tf.bool),
    } if trace else {}

    def cond(t, live, tokens, states, log_probs, lengths, finished, sequences, steps):
        return (t < limit) & (tf.size(live) > 0)

    def body(t, live, tokens, states, log_probs, lengths, finished, sequences, steps):
        old_states = tf.nest.flatten(states)
        step_log_probs, states = step_fn(tokens, states)  # (live * beam, vocab)
        passed = passed_through(states, old_states)
        count = tf.shape(live)[0]
        vocab_size = tf.shape(step_log_probs)[-1]
        now_log_probs, now_lengths, now_finished, now_sequences = (
            tf.gather(x, live) for x in (log_probs, lengths, finished, sequences))
        if no_repeat_ngram:
            history = tf.reshape(now_sequences, [count * k, -1])  # (live * beam, t)
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
        static_vocab_size = step_log_probs.shape[-1]
        width = min(k, static_vocab_size) if static_vocab_size else tf.minimum(k, vocab_size)
        top_log_probs, top_tokens = top_k_rows(step_log_probs, width)  # (live * beam, width)
        top_log_probs = tf.reshape(top_log_probs, [count, k, width])
        top_tokens = tf.reshape(top_tokens, [count, k, width])
        # A finished hypothesis can only be continued by <pad>, at no cost:
        # its candidates are <pad> (PAD_ID, 0) at 0, then ids 1, 2, ... out of
        # reach, as a top_k over its row of the vocabulary would give.
        pad_only = tf.concat([[0.0], tf.fill([width - 1], _NEG_INF)], axis=0)
        top_log_probs = tf.where(now_finished[..., None], pad_only, top_log_probs)
        top_tokens = tf.where(now_finished[..., None], tf.range(width), top_tokens)

        total = now_log_probs[..., None] + top_log_probs  # (live, beam, width)
        new_lengths = now_lengths + tf.cast(tf.logical_not(now_finished), tf.int32)
        normalised = total / length_penalty(new_lengths, alpha)[..., None]
        flat = tf.reshape(normalised, [count, k * width])
        _, best = tf.math.top_k(flat, k=k)  # (live, beam), sorted
        parents = best // width
        next_tokens = tf.gather(tf.reshape(top_tokens, [count, -1]), best, batch_dims=1)

        def pick(x):  # (live, beam, ...) -> chosen parents' values
            return tf.gather(x, parents, axis=1, batch_dims=1)

        now_log_probs = tf.gather(tf.reshape(total, [count, -1]), best, batch_dims=1)
        now_lengths = pick(new_lengths)
        now_sequences = tf.concat([pick(now_sequences), next_tokens[..., None]], axis=2)
        now_finished = (
            pick(now_finished)
            | tf.equal(next_tokens, end_id)
            | (t + 1 >= tf.gather(max_lengths, live)[:, None])
        )
        # The live sentences' records are replaced; the others' hypotheses
        # are extended with <pad> (as a finished hypothesis is).
        at = live[:, None]
        log_probs = tf.tensor_scatter_nd_update(log_probs, at, now_log_probs)
        lengths = tf.tensor_scatter_nd_update(lengths, at, now_lengths)
        finished = tf.tensor_scatter_nd_update(finished, at, now_finished)
        sequences = tf.tensor_scatter_nd_update(
            tf.pad(sequences, [[0, 0], [0, 0], [0, 1]]), at, now_sequences)
        if trace:
            now = {"tokens": next_tokens, "parents": parents, "log_probs": now_log_probs,
                   "scores": now_log_probs / length_penalty(now_lengths, alpha),
                   "finished": now_finished}
            steps = {key: tf.tensor_scatter_nd_update(
                tf.pad(steps[key], [[0, 0], [0, 0], [0, 1]]), at,
                tf.concat([tf.gather(steps[key], live), now[key][..., None]], axis=2))
                for key in trace_keys}
        # Done sentences leave: "all" when every hypothesis is finished (the
        # whole beam is final), "settled" also when the best finished one
        # can no longer be overtaken, "best" when the best one is finished
        # (the beams are sorted by score, best first).
        if stop == "best":
            done = now_finished[:, 0]
        else:
            done = tf.reduce_all(now_finished, axis=1)
            if stop == "settled":
                done |= _settled(now_log_probs, now_lengths, now_finished,
                                 tf.gather(max_lengths, live), alpha)
        keep = tf.cast(tf.where(tf.logical_not(done))[:, 0], tf.int32)
        offsets = tf.range(count)[:, None] * k  # (live, 1): sentence -> first row
        rows = tf.reshape(tf.gather(parents + offsets, keep), [-1])  # (kept * beam,)
        states = select_rows(states, passed, rows, keep, count, k)
        return (t + 1, tf.gather(live, keep), tf.reshape(tf.gather(next_tokens, keep), [-1]),
                states, log_probs, lengths, finished, sequences, steps)

    _, _, _, _, log_probs, lengths, _, sequences, steps = tf.while_loop(
        cond,
        body,
        (tf.constant(0), live, tokens, states, log_probs, lengths, finished, sequences,
         trace_start),
        shape_invariants=(
            tf.TensorShape([]),
            tf.TensorShape([None]),
            tf.TensorShape([None]),
            tf.nest.map_structure(loose_shape, states),
            tf.TensorShape([None, k]),
            tf.TensorShape([None, k]),
            tf.TensorShape([None, k]),
            tf.TensorShape([None, k, None]),
            {key: tf.TensorShape([None, k, None]) for key in trace_start},
        ),
    )
    # The loop runs at least once (every limit is >= 1), and each sentence's
    # last top_k left its beams sorted by normalised score, best first.
    scores = log_probs / length_penalty(lengths, alpha)
    if trace:
        return sequences, scores, log_probs, steps
    return sequences, scores, log_probs


def _settled(log_probs, lengths, finished, max_lengths, alpha):
    """(sentence,) bool: whether no live hypothesis can overtake the best
    finished one any more, so that searching on cannot change the best
    hypothesis (the `stop="settled"` rule).

    A live hypothesis's summed log-probability can only fall (every step
    adds a log-probability, <= 0; a negative `unk_penalty` breaks this, and
    `Decoder.search` then searches with "all"), and its length penalty is
    largest at its sentence's length limit: so `log_probs /
    length_penalty(max_length)` is the best score any of its continuations
    can reach. Once the best finished score is above that ceiling for every
    live hypothesis, no candidate can ever push it out of the beam, and it
    is what `stop="all"` would return first; the other hypotheses returned
    may be unfinished. On Multi30k val with the shipped model this steps 5%
    fewer rows than "all" with the same 1,000 translations
    (benchmarks/peers/README.md, "Decoding: fewer rows").
    """
    scores = log_probs / length_penalty(lengths, alpha)
    ceiling = tf.maximum(log_probs / length_penalty(max_lengths[:, None], alpha), scores)
    best_finished = tf.reduce_max(tf.where(finished, scores, -float("inf")), axis=1)
    best_live = tf.reduce_max(tf.where(finished, -float("inf"), ceiling), axis=1)
    return best_finished > best_live


def passed_through(states, old_states):
    """Which of the step function's new states (flattened) are its old ones,
    returned unchanged. In graph mode the loop body is traced once, so a
    state passed through here is passed through at every step; run eagerly
    the body is plain Python and could differ between steps, so then none
    counts as passed through (every state is reordered)."""
    if tf.executing_eagerly():
        return []
    return [new is old for new, old in zip(tf.nest.flatten(states), old_states)]


def select_rows(states, passed, rows, keep, count, k):
    """The states of the kept hypotheses: `rows` of every state (`keep`:
    the kept sentences among the `count` searched, `k` rows each).

    A state that the step function passed through unchanged (a
    translator's attention memory, (rows, source length, units)) is still
    the tiled initial state, the same in every beam of a sentence: it needs
    no reordering by parent, only the leaving sentences' rows dropped, and
    no copy at all on the steps where no sentence leaves (OpenNMT-py does
    the same). It saves memory bandwidth, not arithmetic: with the shipped
    model no faster on an idle machine, 1.09-1.35x while a training
    shared the cores (`benchmarks/peers/decode_profile.py`).
    """
    flat = tf.nest.flatten(states)
    if len(passed) != len(flat):
        passed = [False] * len(flat)
    if any(passed):
        sentence_rows = tf.reshape(keep[:, None] * k + tf.range(k)[None, :], [-1])
    out = []
    for state, same in zip(flat, passed):
        if same:
            out.append(tf.cond(tf.size(keep) < count,
                               lambda s=state: tf.gather(s, sentence_rows),
                               lambda s=state: tf.identity(s)))
        else:
            out.append(tf.gather(state, rows))
    return tf.nest.pack_sequence_as(states, out)


def loose_shape(tensor):
    shape = tensor.shape
    return tf.TensorShape([None] + list(shape[1:]))
