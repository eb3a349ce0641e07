"""n-gram blocking (no_repeat_ngram) in every search, and the repetition measure."""

import numpy as np
import pytest
import tensorflow as tf

from keras_seq2seq.constants import END_ID, PAD_ID, START_ID
from keras_seq2seq.decoding import beam_search, greedy_search
from keras_seq2seq.decoding.penalties import block_repeated_ngrams
from keras_seq2seq.evaluation import repeated_ngram_share

VOCAB = 10
A, B, C, D = 4, 5, 6, 7

# A decoder stuck in a loop: A B A B A B ... ("lisent un livre et lisent un livre").
LOOP = {START_ID: {A: 0.9}, A: {B: 0.9}, B: {A: 0.8, END_ID: 0.05}, C: {END_ID: 0.5},
        D: {END_ID: 0.5}}


def loop_step():
    matrix = np.full((VOCAB, VOCAB), 1e-3)
    for prev, dist in LOOP.items():
        for nxt, p in dist.items():
            matrix[prev, nxt] = p
    matrix[:, PAD_ID] = 1e-9
    log_matrix = tf.constant(np.log(matrix / matrix.sum(1, keepdims=True)), tf.float32)
    return lambda tokens, states: (tf.gather(log_matrix, tokens), states)


def _sentence(row):
    tokens = [int(t) for t in row if t != PAD_ID]
    return tokens[: tokens.index(END_ID)] if END_ID in tokens else tokens


def _has_repeat(tokens, n):
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return len(grams) != len(set(grams))


@pytest.mark.parametrize("search", ["greedy", "beam", "greedy_graph", "beam_graph"])
@pytest.mark.parametrize("n", [2, 3, 4])
def test_no_search_repeats_an_ngram_when_asked(search, n):
    step = loop_step()

    def run(no_repeat_ngram):
        states, limits = [tf.zeros([2])], tf.constant([12, 9])

        def fn(s, m):
            if search.startswith("greedy"):
                return greedy_search(step, s, m, no_repeat_ngram=no_repeat_ngram)[0]
            return beam_search(step, s, m, beam_size=3, no_repeat_ngram=no_repeat_ngram)[0][:, 0]

        if search.endswith("graph"):
            fn = tf.function(fn)
        return [_sentence(row) for row in fn(states, limits).numpy()]

    loose = run(0)
    assert all(_has_repeat(s, n) for s in loose), loose
    blocked = run(n)
    assert not any(_has_repeat(s, n) for s in blocked), blocked
    # Blocking changes only what would repeat: the start of the loop stays.
    assert all(s[: n] == t[: n] for s, t in zip(blocked, loose))


def test_block_repeated_ngrams_forbids_exactly_the_repeating_token():
    history = tf.constant([[A, B, C, A, B, 0, 0], [A, B, C, D, A, 0, 0]])
    log_probs = tf.zeros([2, VOCAB])
    out = block_repeated_ngrams(log_probs, history, tf.constant(5), 3).numpy()
    # Row 0 ends in "A B", which was followed by C: C is forbidden, nothing else.
    assert out[0, C] < -1e8 and (np.delete(out[0], C) == 0).all()
    # Row 1 ends in "D A", never seen before: nothing is forbidden.
    assert (out[1] == 0).all()
    # With fewer tokens than n - 1, nothing to compare.
    assert (block_repeated_ngrams(log_probs, history, tf.constant(1), 3).numpy() == 0).all()
    assert (block_repeated_ngrams(log_probs, history[:, :0], tf.constant(0), 3).numpy()
            == 0).all()


def test_bad_ngram_sizes_are_refused():
    step = loop_step()
    for bad in (1, -2, 2.5, True):
        with pytest.raises(ValueError, match="no_repeat_ngram"):
            greedy_search(step, [tf.zeros([1])], tf.constant([3]), no_repeat_ngram=bad)


def test_repeated_ngram_share_counts_sentences_with_a_repeat():
    hypotheses = ["J'ai lu un livre et lu un livre.", "Cinq cinq cinq ans.", "Bonjour.", ""]
    assert repeated_ngram_share(hypotheses, 3) == 0.25
    assert repeated_ngram_share(hypotheses, 2) == 0.5
    assert repeated_ngram_share([], 3) == 0.0
    # Unknown words are not a loop.
    assert repeated_ngram_share(["Les <unk> <unk> <unk> de <unk> <unk>."], 2) == 0.0


def test_translator_option_in_keras_and_saved_model(trained_translator, tmp_path):
    from keras_seq2seq.export import export_saved_model

    translator, _, _ = trained_translator
    sources = ["Thank you. Thank you. I am cold.", "Nice to meet you."]
    plain = translator.translate(sources)
    blocked = translator.translate(sources, no_repeat_ngram=2, beam_size=2)
    assert len(blocked) == 2 and blocked[1] == translator.translate(sources[1], beam_size=2)
    with pytest.raises(ValueError, match="no_repeat_ngram"):
        translator.translate(sources, no_repeat_ngram=1)
    directory = export_saved_model(translator, str(tmp_path), name="t", no_repeat_ngram=3)
    served = tf.saved_model.load(directory).signatures["serving_default"]
    out = served(text=tf.constant(sources))["translation"].numpy()
    assert [t.decode("utf-8") for t in out] == translator.translate(sources, no_repeat_ngram=3)
    assert plain[1] == translator.translate(sources[1], no_repeat_ngram=3)


def test_names_kept_counts_names_and_numbers_the_reference_copies():
    from keras_seq2seq.evaluation import names_kept

    sources = ["My name is Alexander and I live in Toronto.", "Tom has 3 cats.",
               "Where is London?"]
    references = ["Je m'appelle Alexander et j'habite à Toronto.", "Tom a 3 chats.",
                  "Où est Londres ?"]
    hypotheses = ["Je m'appelle libé et j'habite à Toronto.", "Tom a trois chats.", "Où ?"]
    # Alexander, Toronto, 3 count ("My" and "Tom" are first, London is
    # translated); Toronto is kept.
    assert names_kept(sources, hypotheses, references) == (1, 3)
    assert names_kept(sources, references, references) == (3, 3)
