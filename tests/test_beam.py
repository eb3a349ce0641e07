import math

import numpy as np
import pytest
import tensorflow as tf

from keras_seq2seq.constants import END_ID, PAD_ID, START_ID, UNK_ID
from keras_seq2seq.decoding import beam_search, greedy_search, length_penalty, penalize_token
from keras_seq2seq.decoding.beam import top_k_rows

A, B, C = 4, 5, 6
VOCAB = 8


def markov_step(table, calls=None):
    """A step function whose next-token distribution depends on the last token.

    `table` maps a token to {next token: probability}; the rest of the mass
    is spread over the other tokens. States are a dummy (N,) tensor.
    """
    matrix = np.full((VOCAB, VOCAB), 1e-6)
    for prev, dist in table.items():
        for nxt, p in dist.items():
            matrix[prev, nxt] = p
    log_matrix = tf.constant(np.log(matrix / matrix.sum(1, keepdims=True)), tf.float32)

    def step(tokens, states):
        if calls is not None:
            calls.append(1)
        return tf.gather(log_matrix, tokens), states

    return step


def _search(table, max_lengths, calls=None, **kwargs):
    n = len(max_lengths)
    return beam_search(markov_step(table, calls), [tf.zeros([n])], tf.constant(max_lengths),
                       **kwargs)


# Greedy takes A (0.6) and then wanders; the best sentence is B <end> (0.36).
GARDEN_PATH = {
    START_ID: {A: 0.6, B: 0.4},
    A: {A: 0.4, C: 0.3, END_ID: 0.3},
    B: {END_ID: 0.9, C: 0.1},
    C: {END_ID: 0.9, A: 0.1},
}


def test_beam_finds_the_best_sequence_that_greedy_misses():
    tokens, scores, log_probs = _search(GARDEN_PATH, [10], beam_size=2, alpha=0.0)
    best = tokens.numpy()[0, 0].tolist()
    # The second beam (A A ...) lives on to the limit; the winner is padded.
    assert best[:2] == [B, END_ID] and set(best[2:]) == {PAD_ID}
    np.testing.assert_allclose(log_probs.numpy()[0, 0], math.log(0.36), rtol=1e-4)
    greedy, _ = greedy_search(markov_step(GARDEN_PATH), [tf.zeros([1])], tf.constant([10]))
    assert greedy.numpy()[0, :2].tolist() == [A, A]


def test_length_penalty_prefers_longer_hypotheses():
    table = {START_ID: {END_ID: 0.5, A: 0.5}, A: {END_ID: 0.9, C: 0.1}}
    short, *_ = _search(table, [5], beam_size=2, alpha=0.0)
    assert short.numpy()[0, 0].tolist() == [END_ID, PAD_ID]
    # log(0.45) / ((5 + 2) / 6) > log(0.5) / 1 once alpha = 1.
    long, scores, log_probs = _search(table, [5], beam_size=2, alpha=1.0)
    assert long.numpy()[0, 0].tolist() == [A, END_ID]
    np.testing.assert_allclose(
        scores.numpy()[0, 0], math.log(0.45) / float(length_penalty(2, 1.0)), rtol=1e-4
    )


def test_n_best_are_sorted_and_distinct():
    tokens, scores, _ = _search(GARDEN_PATH, [6], beam_size=4, alpha=0.6)
    scores = scores.numpy()[0]
    assert np.all(np.diff(scores) <= 1e-6)
    hypotheses = [tuple(row) for row in tokens.numpy()[0].tolist()]
    assert len(set(hypotheses)) == 4
    assert hypotheses[0][:2] == (B, END_ID)


def test_stops_as_soon_as_every_beam_has_ended():
    calls = []
    table = {START_ID: {A: 0.5, B: 0.5}, A: {END_ID: 1.0}, B: {END_ID: 1.0}}
    tokens, *_ = _search(table, [50, 50], calls=calls, beam_size=2)
    assert tokens.shape[-1] == 2  # A <end> and B <end>
    assert len(calls) == 2


def test_per_sentence_limits_and_padding_after_end():
    table = {START_ID: {A: 0.9}, A: {A: 0.9}}
    tokens, *_ = _search(table, [3, 1], beam_size=3)
    tokens = tokens.numpy()
    assert tokens.shape == (2, 3, 3)
    assert tokens[0, 0].tolist() == [A, A, A]
    assert tokens[1, 0].tolist() == [A, PAD_ID, PAD_ID]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beam_size_one_equals_greedy(seed):
    rng = np.random.default_rng(seed)
    table = {t: dict(zip(range(VOCAB), rng.dirichlet(np.ones(VOCAB) * 0.5))) for t in range(VOCAB)}
    step = markov_step(table)
    max_lengths = tf.constant([4, 7, 9])
    states = [tf.zeros([3])]
    beam, _, beam_log_probs = beam_search(step, states, max_lengths, beam_size=1)
    greedy, greedy_log_probs = greedy_search(step, states, max_lengths)
    assert beam.numpy()[:, 0].tolist() == greedy.numpy().tolist()
    np.testing.assert_allclose(beam_log_probs.numpy()[:, 0], greedy_log_probs.numpy(), rtol=1e-5)


def reference_beam_search(log_matrix, max_lengths, beam_size, alpha, stop="all"):
    """The search `beam_search` documents, written the plain way: one
    sentence at a time, every (beam, token) candidate scored and ranked at
    each step, in float32 (ties: lower beam, then lower token). `beam_search`
    ranks a top_k per beam, and searches a batch whose sentences leave as
    they are done; the two must agree."""
    results = []
    for limit in max_lengths:
        beams = [([], np.float32(0.0 if j == 0 else -1e9), 0, False) for j in range(beam_size)]
        for t in range(max(limit, 1)):
            done = beams[0][3] if stop == "best" else all(f for *_, f in beams)
            if done:
                break
            candidates = []
            for j, (tokens, log_prob, length, finished) in enumerate(beams):
                row = log_matrix[tokens[-1] if tokens else START_ID]
                if finished:
                    row = np.full(VOCAB, -1e9, np.float32)
                    row[PAD_ID] = 0.0
                new_length = length + (not finished)
                penalty = np.float32(((5.0 + new_length) / 6.0) ** alpha)
                for token in range(VOCAB):
                    total = np.float32(log_prob + row[token])
                    candidates.append((-(total / penalty), j * VOCAB + token, j, token, total,
                                       new_length))
            candidates.sort(key=lambda c: c[:2])
            beams = [(beams[j][0] + [token], total, new_length,
                      beams[j][3] or token == END_ID or t + 1 >= limit)
                     for _, _, j, token, total, new_length in candidates[:beam_size]]
        results.append(beams)
    return results


@pytest.mark.parametrize("stop", ["all", "best"])
@pytest.mark.parametrize("seed,beam_size,alpha", [(0, 2, 0.6), (1, 5, 0.6), (2, 5, 0.0),
                                                  (3, 10, 0.6)])
def test_ranking_a_top_k_per_beam_equals_ranking_every_candidate(seed, beam_size, alpha, stop):
    # beam_size 10 is more than the 8 tokens: the first step then has fewer
    # real candidates than beams and also keeps some of the k - 1 beams that
    # start out of reach (-1e9); which of those is an arbitrary tie, so only
    # the hypotheses within reach are compared.
    rng = np.random.default_rng(seed)
    matrix = rng.dirichlet(np.ones(VOCAB) * 0.7, size=VOCAB).astype(np.float32)
    log_matrix = np.log(matrix).astype(np.float32)
    max_lengths = [1, 4, 7, 9, 3]
    table = tf.constant(log_matrix)

    def step(ids, states):
        return tf.gather(table, ids), states

    tokens, scores, log_probs = beam_search(step, [tf.zeros([len(max_lengths)])],
                                            tf.constant(max_lengths), beam_size=beam_size,
                                            alpha=alpha, stop=stop)
    expected_beams = reference_beam_search(log_matrix, max_lengths, beam_size, alpha, stop)
    for i, beams in enumerate(expected_beams):
        np.testing.assert_allclose(scores.numpy()[i, 0], beams[0][1] / length_penalty(
            beams[0][2], alpha).numpy(), rtol=1e-4)
        for j, (expected, log_prob, _, _) in enumerate(beams):
            if log_prob < -1e8:
                continue
            row = tokens.numpy()[i, j].tolist()
            assert row[:len(expected)] == expected and set(row[len(expected):]) <= {PAD_ID}
            np.testing.assert_allclose(log_probs.numpy()[i, j], log_prob, rtol=1e-4)


def test_done_sentences_leave_the_search():
    # Sentence 0 may write 2 tokens, sentence 1 ten: after step 2 the step
    # function only runs on sentence 1's beams. With stop="best", sentence 1
    # is done as soon as its best hypothesis (B <end>) is finished, while
    # the second beam (A A ...) would live on to the limit.
    calls = []

    def step(tokens, states):
        calls.append(int(tokens.shape[0]))
        return markov_step(GARDEN_PATH)(tokens, states)

    def search(stop):
        calls.clear()
        tokens, *_ = beam_search(step, [tf.zeros([2])], tf.constant([2, 10]), beam_size=2,
                                 alpha=0.0, stop=stop)
        return tokens.numpy()

    tokens = search("all")
    assert calls == [4, 4] + [2] * 8
    assert tokens[1, 0, :2].tolist() == [B, END_ID]
    best = search("best")
    assert calls == [4, 4]
    assert best[1, 0, :2].tolist() == [B, END_ID] and best.shape[2] == 2
    with pytest.raises(ValueError, match="stop"):
        beam_search(step, [tf.zeros([1])], tf.constant([3]), stop="first")


def test_the_trace_of_a_batch_rebuilds_each_sentence_best_hypothesis():
    search = tf.function(lambda limits: beam_search(
        markov_step(GARDEN_PATH), [tf.zeros([2])], limits, beam_size=2, alpha=0.0, trace=True))
    tokens, _, _, trace = search(tf.constant([2, 10]))
    trace = {key: value.numpy() for key, value in trace.items()}
    for i, steps in enumerate([2, 10]):
        beam, path = 0, []
        for t in reversed(range(steps)):  # follow the parents back from the best
            path.append(trace["tokens"][i, beam, t])
            beam = trace["parents"][i, beam, t]
        assert path[::-1] == tokens.numpy()[i, 0, :steps].tolist()
        assert trace["finished"][i, :, steps - 1].all()
    # Sentence 0 left after two steps: its later steps are zeros.
    assert not trace["tokens"][0, :, 2:].any() and not trace["finished"][0, :, 2:].any()


def test_nested_states_are_reordered_with_their_beams():
    # The state remembers the path taken; the step function checks it.
    def step(tokens, states):
        history, = states
        history = history * 10 + tokens
        dist = tf.where(tokens[:, None] == START_ID,
                        tf.math.log([[1e-6, 1e-6, 1e-6, 1e-6, 0.5, 0.5, 1e-6, 1e-6]]),
                        tf.math.log([[1e-6, 1e-6, 1e-6, 0.99, 1e-6, 1e-6, 1e-6, 1e-6]]))
        return dist, (history,)

    tokens, *_ = beam_search(step, (tf.zeros([1], tf.int32),), tf.constant([5]), beam_size=2)
    assert sorted(r[0] for r in tokens.numpy()[0].tolist()) == [A, B]


def test_graph_mode_and_bad_beam_size():
    fn = tf.function(lambda m: beam_search(markov_step(GARDEN_PATH), [tf.zeros([2])], m,
                                           beam_size=3))
    tokens, scores, _ = fn(tf.constant([5, 5]))
    assert tokens.shape[:2] == (2, 3)
    with pytest.raises(ValueError, match="beam_size"):
        beam_search(markov_step(GARDEN_PATH), [tf.zeros([1])], tf.constant([3]), beam_size=0)


# The model's favourite is <unk> (0.5), then A (0.3); after each, <end>.
UNKNOWN_FIRST = {
    START_ID: {UNK_ID: 0.5, A: 0.3, B: 0.2},
    UNK_ID: {END_ID: 1.0},
    A: {END_ID: 1.0},
    B: {END_ID: 1.0},
}


@pytest.mark.parametrize("search", ["greedy", "beam"])
def test_unk_penalty_steers_every_search_to_a_real_word(search):
    def run(penalty):
        step = penalize_token(markov_step(UNKNOWN_FIRST), UNK_ID, penalty)
        if search == "greedy":
            tokens, scores = greedy_search(step, [tf.zeros([1])], tf.constant([5]))
            return tokens.numpy()[0, :2].tolist(), float(scores[0])
        tokens, scores, _ = beam_search(step, [tf.zeros([1])], tf.constant([5]), beam_size=3,
                                        alpha=0.0)
        return tokens.numpy()[0, 0, :2].tolist(), float(scores[0, 0])

    assert run(0.0)[0] == [UNK_ID, END_ID]
    # log 0.5 - 0.4 < log 0.3 is false: a small penalty does not change the choice...
    assert run(0.4)[0] == [UNK_ID, END_ID]
    # ...a larger one does (log 0.5 - 0.6 < log 0.3), and so does "never".
    for penalty in (0.6, math.inf):
        tokens, score = run(penalty)
        assert tokens == [A, END_ID]
        # The chosen path's score has no penalty in it: A was not penalised
        # (markov_step normalises the rows: <end> after A is ~1).
        assert score == pytest.approx(math.log(0.3), abs=1e-3)
    # A negative penalty makes <unk> more likely.
    step = penalize_token(markov_step({START_ID: {A: 0.6, UNK_ID: 0.4}}), UNK_ID, -1.0)
    tokens, _ = greedy_search(step, [tf.zeros([1])], tf.constant([1]))
    assert tokens.numpy()[0].tolist() == [UNK_ID]


def test_unk_penalty_zero_is_the_step_function_and_nan_is_refused():
    step = markov_step(UNKNOWN_FIRST)
    assert penalize_token(step, UNK_ID, 0.0) is step
    for bad in (float("nan"), "a lot"):
        with pytest.raises(ValueError, match="penalty must be a number"):
            penalize_token(step, UNK_ID, bad)


@pytest.mark.parametrize("vocab_size,k", [(7875, 5), (4096, 1), (1000, 3), (2000, 5),
                                          (1000, 10), (8, 5), (997, 3)])
def test_top_k_in_blocks_equals_top_k(vocab_size, k):
    # Values on a coarse grid, so that ties are everywhere; rows of -inf
    # (a forbidden token) and rows whose best values share one block.
    rng = np.random.default_rng(vocab_size)
    x = np.round(rng.normal(size=(6, vocab_size)), 1).astype(np.float32)
    x[1, :] = -np.inf
    x[1, 5] = 0.0
    x[2, 200:200 + k + 2] = 50.0
    x[3, :] = 1.0
    values, indices = top_k_rows(tf.constant(x), k)
    expected_values, expected_indices = tf.math.top_k(tf.constant(x), k=k)
    np.testing.assert_array_equal(values.numpy(), expected_values.numpy())
    np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())


@pytest.mark.parametrize("stop", ["all", "best"])
def test_memory_passed_through_leaves_with_its_sentence(stop):
    # A state the step function returns unchanged (a translator's attention
    # memory) is only dropped with the sentences that leave, not reordered
    # by parent. Here it picks each sentence's own Markov table: decoding
    # the batch must give what decoding each sentence alone gives, and the
    # same as a step function that returns a copy (the general path).
    rng = np.random.default_rng(0)
    tables = tf.constant(np.log(rng.dirichlet(np.ones(VOCAB) * 0.5, size=(4, VOCAB))),
                         tf.float32)  # (sentence, previous token, next token)
    max_lengths = [2, 9, 5, 7]

    def step(copy):
        def run(tokens, states):
            history, memory = states
            log_probs = tf.gather_nd(tables, tf.stack([memory, tokens], axis=1))
            return log_probs, (history + 1, tf.identity(memory) if copy else memory)
        return run

    def search(copy, sentences):
        n = len(sentences)
        return tf.function(lambda: beam_search(
            step(copy), (tf.zeros([n]), tf.constant(sentences, tf.int32)),
            tf.constant([max_lengths[i] for i in sentences]), beam_size=3, stop=stop))()

    fast = search(False, [0, 1, 2, 3])
    general = search(True, [0, 1, 2, 3])
    for a, b in zip(fast, general):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for i in range(4):
        alone = search(False, [i])
        width = alone[0].shape[2]
        np.testing.assert_array_equal(fast[0].numpy()[i, :, :width], alone[0].numpy()[0])
        np.testing.assert_allclose(fast[1].numpy()[i], alone[1].numpy()[0], rtol=1e-6)


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.5])
@pytest.mark.parametrize("seed", [0, 1])
def test_settled_stops_early_with_the_best_hypothesis_of_all(seed, alpha):
    # stop="settled" drops a sentence once no live hypothesis can overtake
    # its best finished one: the best hypothesis and its score are those of
    # stop="all", in fewer (or as many) rows stepped.
    rng = np.random.default_rng(seed)
    matrix = rng.dirichlet(np.ones(VOCAB) * 0.4, size=VOCAB)
    matrix[:, END_ID] += 0.3  # sentences that end, with loops that do not
    table = {t: dict(enumerate(row / row.sum())) for t, row in enumerate(matrix)}
    max_lengths = [3, 30, 12, 1, 25, 8]
    rows = {}
    results = {}
    for stop in ("all", "settled"):
        calls = []

        def step(tokens, states, calls=calls):
            calls.append(int(tokens.shape[0]))
            return markov_step(table)(tokens, states)

        results[stop] = beam_search(step, [tf.zeros([len(max_lengths)])],
                                    tf.constant(max_lengths), beam_size=4, alpha=alpha,
                                    stop=stop)
        rows[stop] = sum(calls)
    (all_tokens, all_scores, _), (tokens, scores, _) = results["all"], results["settled"]
    for i in range(len(max_lengths)):
        best = all_tokens.numpy()[i, 0]
        width = min(tokens.shape[2], best.shape[0])
        assert tokens.numpy()[i, 0, :width].tolist() == best[:width].tolist()
        assert not best[width:].any()  # "all" wrote only padding after that
    np.testing.assert_allclose(scores.numpy()[:, 0], all_scores.numpy()[:, 0], rtol=1e-6)
    assert rows["settled"] <= rows["all"]


def test_settled_drops_a_sentence_whose_other_hypotheses_cannot_catch_up():
    # GARDEN_PATH, sentence limit 10: B <end> (0.36) is finished after two
    # steps; the other beam, A A ..., could only fall below it, so "settled"
    # stops there, where "all" searches on to the limit.
    calls = []
    tokens, scores, _ = _search(GARDEN_PATH, [10], calls, beam_size=2, alpha=0.0,
                                stop="settled")
    assert len(calls) == 2
    assert tokens.numpy()[0, 0].tolist() == [B, END_ID]
    np.testing.assert_allclose(scores.numpy()[0, 0], math.log(0.4 * 0.9), rtol=1e-4)


def test_settled_waits_for_a_hypothesis_that_the_length_penalty_lifts():
    # With a strong length penalty a hypothesis scored below the finished
    # B <end> can overtake it by growing: A C C ... (each C at 0.999) is
    # finished by the limit, 30 tokens, with a better normalised score.
    # "settled" must search on, as "all" does.
    table = {START_ID: {A: 0.3, B: 0.4}, A: {C: 0.3}, B: {END_ID: 0.5}, C: {C: 0.999}}
    results = {stop: _search(table, [30], beam_size=2, alpha=1.5, stop=stop)
               for stop in ("all", "settled")}
    for tokens, *_ in results.values():
        assert tokens.numpy()[0, 0, :3].tolist() == [A, C, C]
    np.testing.assert_allclose(results["settled"][1].numpy()[0, 0],
                               results["all"][1].numpy()[0, 0], rtol=1e-6)


def test_a_bonus_for_unk_makes_the_decoder_search_settled_as_all():
    # With a negative unk_penalty a step can add a positive log-probability,
    # so the ceiling of "settled" no longer holds: A C, below the finished
    # B <end> after two steps, then gains at every <unk>. Decoder.search
    # searches such settings with "all" and finds it.
    from keras_seq2seq.decoder import Decoder

    matrix = markov_step({START_ID: {A: 0.05, B: 0.9}, A: {C: 0.9}, B: {END_ID: 0.9},
                          C: {UNK_ID: 0.6}, UNK_ID: {UNK_ID: 0.6}})

    class Scripted(Decoder):
        def __init__(self):
            self._init_decoding(None)

        def encode(self, inputs, max_tokens=None):
            count = tf.shape(inputs)[0]
            return [tf.zeros([count])], tf.fill([count], 0)

        def step(self, tokens, states):
            return matrix(tokens, states)

    decoder = Scripted()
    settings = decoder.settings(beam_size=2, alpha=0.0, unk_penalty=-5.0, length_offset=6,
                                protect_names=False)
    tokens, *_ = decoder.search(tf.constant(["x"]), settings)
    assert tokens.numpy()[0, 0, :3].tolist() == [A, C, UNK_ID]
    # The rule alone, on the penalised step, would have stopped at B <end>.
    step = penalize_token(decoder.step, UNK_ID, -5.0)
    alone, *_ = beam_search(step, [tf.zeros([1])], tf.constant([6]), beam_size=2, alpha=0.0,
                            stop="settled")
    assert alone.numpy()[0, 0, :2].tolist() == [B, END_ID]
