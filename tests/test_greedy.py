import numpy as np
import pytest
import tensorflow as tf

from keras_seq2seq.constants import END_ID, PAD_ID, START_ID
from keras_seq2seq.decoding import greedy_search

VOCAB = 8


def scripted_step(scripts):
    """A step function that emits scripts[b][t] for sentence b at step t.

    The states are a step counter and the sentence's index (the search may
    drop finished sentences, so a row is not always the same sentence);
    log-probs put 0.9 on the scripted token.
    """
    table = tf.constant(scripts, tf.int32)  # (batch, steps)

    def step(tokens, states):
        t, sentence = states
        at = tf.stack([sentence, tf.minimum(t, table.shape[1] - 1)], axis=1)
        probs = tf.one_hot(tf.gather_nd(table, at), VOCAB, on_value=0.9,
                           off_value=0.1 / (VOCAB - 1))
        return tf.math.log(probs), [t + 1, sentence]

    return step


def _states(batch):
    return [tf.zeros([batch], tf.int32), tf.range(batch)]


def _run(scripts, max_lengths):
    step = scripted_step(scripts)
    states = _states(len(scripts))
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
        step, [tf.TensorSpec([None], tf.int32)] * 2, tf.TensorSpec([None], tf.int32)
    ).graph
    ops = {op.type for op in graph.get_operations()}
    assert "While" in ops or "StatelessWhile" in ops


def test_finished_sentences_leave_the_search():
    # Sentence 0 ends at step 2, sentence 2 may write 3 tokens: from then
    # on the step function runs on the sentences left only.
    calls = []
    scripted = scripted_step([[4, END_ID, 6, 6, 6], [5, 5, 5, 5, END_ID], [6, 6, 6, 6, 6]])

    def step(tokens, states):
        calls.append(int(tokens.shape[0]))
        return scripted(tokens, states)

    tokens, _ = greedy_search(step, _states(3), tf.constant([10, 10, 3]))
    assert calls == [3, 3, 2, 1, 1]
    assert tokens.numpy().tolist() == [[4, END_ID, 0, 0, 0], [5, 5, 5, 5, END_ID],
                                       [6, 6, 6, 0, 0]]
    calls.clear()
    kept, _ = greedy_search(step, _states(3), tf.constant([10, 10, 3]), drop_finished=False)
    assert calls == [3] * 5
    np.testing.assert_array_equal(kept.numpy(), tokens.numpy())


@pytest.mark.parametrize("no_repeat_ngram", [0, 2])
def test_dropping_finished_sentences_changes_no_result(no_repeat_ngram):
    # A Markov table per sentence, picked by a state the step function passes
    # through unchanged (as a translator's attention memory): the batch with
    # and without dropping, and each sentence alone, all decode alike.
    rng = np.random.default_rng(1)
    tables = tf.constant(np.log(rng.dirichlet(np.ones(VOCAB) * 0.3, size=(5, VOCAB))),
                         tf.float32)  # (sentence, previous token, next token)
    max_lengths = [3, 12, 1, 8, 6]

    def step(tokens, states):
        history, memory = states
        return tf.gather_nd(tables, tf.stack([memory, tokens], axis=1)), (history + 1, memory)

    def search(sentences, drop):
        return tf.function(lambda: greedy_search(
            step, (tf.zeros([len(sentences)]), tf.constant(sentences, tf.int32)),
            tf.constant([max_lengths[i] for i in sentences]),
            no_repeat_ngram=no_repeat_ngram, drop_finished=drop))()

    tokens, scores = search([0, 1, 2, 3, 4], True)
    kept_tokens, kept_scores = search([0, 1, 2, 3, 4], False)
    np.testing.assert_array_equal(tokens.numpy(), kept_tokens.numpy())
    np.testing.assert_allclose(scores.numpy(), kept_scores.numpy(), rtol=1e-6)
    for i in range(5):
        alone_tokens, alone_scores = search([i], True)
        width = alone_tokens.shape[1]
        np.testing.assert_array_equal(tokens.numpy()[i, :width], alone_tokens.numpy()[0])
        assert not tokens.numpy()[i, width:].any()
        np.testing.assert_allclose(scores.numpy()[i], alone_scores.numpy()[0], rtol=1e-6)
