import numpy as np
import tensorflow as tf

from keras_seq2seq.constants import END_ID, PAD_ID, START_ID
from keras_seq2seq.decoding import greedy_search

VOCAB = 8


def scripted_step(scripts):
    """A step function that emits scripts[b][t] for sentence b at step t.

    The state is a step counter; log-probs put 0.9 on the scripted token.
    """
    table = tf.constant(scripts, tf.int32)  # (batch, steps)

    def step(tokens, states):
        (t,) = states
        chosen = tf.gather(table, tf.minimum(t, table.shape[1] - 1), batch_dims=1)
        probs = tf.one_hot(chosen, VOCAB, on_value=0.9, off_value=0.1 / (VOCAB - 1))
        return tf.math.log(probs), [t + 1]

    return step


def _run(scripts, max_lengths):
    step = scripted_step(scripts)
    states = [tf.zeros([len(scripts)], tf.int32)]
    tokens, scores = tf.function(greedy_search)(step, states, tf.constant(max_lengths))
    return tokens.numpy(), scores.numpy()


def test_follows_the_best_token_and_stops_at_end():
    tokens, scores = _run([[4, 5, END_ID, 6, 6], [7, END_ID, 6, 6, 6]], [10, 10])
    assert tokens.tolist() == [[4, 5, END_ID], [7, END_ID, PAD_ID]]
    np.testing.assert_allclose(scores, [3 * np.log(0.9), 2 * np.log(0.9)], rtol=1e-5)


def test_per_sentence_length_limits():
    tokens, _ = _run([[4, 4, 4, 4, 4], [5, 5, 5, 5, 5]], [2, 4])
    assert tokens.tolist() == [[4, 4, PAD_ID, PAD_ID], [5, 5, 5, 5]]
    tokens, _ = _run([[4], [5]], [0, -3])  # at least one token
    assert tokens.tolist() == [[4], [5]]


def test_first_input_is_start_and_outputs_are_fed_back():
    seen = []

    def step(tokens, states):
        # Always predicts "input + 2": 2 (<start>) -> 4 -> 6 -> 8.
        seen.append(tokens.numpy().tolist())
        return tf.math.log(tf.one_hot(tokens + 2, 16) * 0.9 + 0.1 / 16), states

    tokens, _ = greedy_search(step, [tf.zeros([2])], tf.constant([3, 3]))
    assert seen == [[START_ID] * 2, [START_ID + 2] * 2, [START_ID + 4] * 2]
    assert tokens.numpy().tolist() == [[4, 6, 8]] * 2


def test_whole_batch_runs_in_one_graph_loop():
    step = scripted_step([[4, END_ID]] * 3)
    graph = tf.function(greedy_search).get_concrete_function(
        step, [tf.TensorSpec([None], tf.int32)], tf.TensorSpec([None], tf.int32)
    ).graph
    ops = {op.type for op in graph.get_operations()}
    assert "While" in ops or "StatelessWhile" in ops
