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

# An "infinite" penalty as a finite number: -inf log-probabilities would
# turn beam-search sums into nan where a beam has no other choice.
_FORBID = 1e9


def check_penalty(penalty):
    """The penalty as a float; ValueError for nan or a non-number."""
    try:
        value = float(penalty)
    except (TypeError, ValueError) as e:
        raise ValueError(f"A token penalty must be a number, got {penalty!r}.") from e
    if math.isnan(value):
        raise ValueError("A token penalty must be a number, got nan.")
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
