"""Token penalties that wrap a step function, so every search can use them.

A word-level model (the paper's: 80k target words) writes `<unk>` for every
word outside its vocabulary. fairseq calls the remedy `--unkpen`: lower the
log-probability of `<unk>` at every step, so the search prefers a real word
when one is nearly as likely; an infinite penalty never emits `<unk>`.
Decoding here works on the step-function contract, so the penalty is a
wrapper around the step function rather than an option of each search.
"""

import math

import tensorflow as tf

from keras_seq2seq.errors import ConfigurationError

# An "infinite" penalty as a finite number: -inf log-probabilities would
# turn beam-search sums into nan where a beam has no other choice.
_FORBID = 1e9


def check_penalty(penalty):
    """The penalty as a float; ValueError for nan or a non-number."""
    try:
        value = float(penalty)
    except (TypeError, ValueError) as e:
        raise ConfigurationError(f"A token penalty must be a number, got {penalty!r}.") from e
    if math.isnan(value):
        raise ConfigurationError("A token penalty must be a number, got nan.")
    return value


def penalize_token(step_fn, token_id, penalty):
    """A step function that subtracts `penalty` from `token_id`'s log-probability.

    Args:
        step_fn: callable. `(tokens, states) -> (log_probs (B, V), states)`.
        token_id: int. The token to penalise (`<unk>`: `UNK_ID`).
        penalty: float. Subtracted at every step; `inf` means the token is
            never chosen (unless every other token is forbidden too), a
            negative value makes it more likely. 0 returns `step_fn` itself.

    Returns:
        A step function with the same contract. The searches' scores
        include the penalty wherever the token was chosen.
    """
    penalty = check_penalty(penalty)
    if penalty == 0.0:
        return step_fn
    penalty = max(min(penalty, _FORBID), -_FORBID)

    def step(tokens, states):
        log_probs, states = step_fn(tokens, states)
        column = tf.one_hot(token_id, tf.shape(log_probs)[-1], dtype=log_probs.dtype)
        return log_probs - penalty * column, states

    return step


def check_ngram_size(size):
    """`no_repeat_ngram` as an int >= 0 (0: off); ValueError otherwise."""
    if isinstance(size, bool) or not hasattr(size, "__index__"):
        raise ConfigurationError(f"no_repeat_ngram must be an integer >= 0, got {size!r}.")
    size = int(size)
    if size < 0 or size == 1:
        raise ConfigurationError(
            f"no_repeat_ngram must be 0 (off) or >= 2, got {size} (1 would forbid "
            "every token already written)."
        )
    return size


def block_repeated_ngrams(log_probs, history, length, ngram_size):
    """Forbid tokens that would repeat an n-gram already in the hypothesis.

    fairseq's and CTranslate2's `no_repeat_ngram_size`: if the last n-1
    tokens of a hypothesis already occurred earlier, followed by token w,
    then w is forbidden now, so no n-gram appears twice. This is what stops
    the degenerate loops of an under-trained decoder ("cinq cinq cinq").
    Vectorised over the whole history, inside the search's while loop.

    Args:
        log_probs: float tensor (N, V). This step's log-probabilities.
        history: int32 tensor (N, >= length). The tokens generated so far
            (only the first `length` columns are read).
        length: int32 scalar tensor. Tokens generated so far.
        ngram_size: int >= 2. The n of the n-grams that may not repeat.

    Returns:
        log_probs with the forbidden tokens at a very low value (finite, so
        beam sums stay numbers).
    """
    n = ngram_size
    # One more (unread) column, so that an empty history can be indexed.
    history = tf.pad(history, [[0, 0], [0, 1]])
    # Windows j = 0 .. length - n: tokens j .. j+n-2, followed by j+n-1.
    windows = tf.maximum(length - n + 1, 0)
    starts = tf.range(windows)  # (W,)
    offsets = tf.range(n - 1)  # (n-1,)
    prefix_index = starts[:, None] + offsets[None, :]  # (W, n-1)
    prefixes = tf.gather(history, prefix_index, axis=1)  # (N, W, n-1)
    # The last n-1 tokens; with fewer than n-1 tokens there is no window.
    last_index = tf.maximum(length - n + 1, 0) + offsets  # (n-1,)
    last = tf.gather(history, tf.minimum(last_index, tf.shape(history)[1] - 1), axis=1)
    matches = tf.reduce_all(tf.equal(prefixes, last[:, None, :]), axis=-1)  # (N, W)
    following = tf.gather(history, starts + n - 1, axis=1)  # (N, W)
    rows = tf.broadcast_to(tf.range(tf.shape(history)[0])[:, None], tf.shape(following))
    indices = tf.stack([rows, following], axis=-1)  # (N, W, 2)
    banned = tf.scatter_nd(
        tf.reshape(indices, [-1, 2]),
        tf.reshape(tf.cast(matches, log_probs.dtype), [-1]),
        tf.shape(log_probs),
    )  # (N, V): > 0 where forbidden
    return tf.where(banned > 0, tf.cast(-_FORBID, log_probs.dtype), log_probs)
