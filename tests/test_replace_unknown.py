"""<unk> replacement from the attention (word-level models with attention)."""

import numpy as np
import pytest
import tensorflow as tf

from conftest import TINY_PAIRS, tiny_config
from keras_seq2seq.constants import START_ID, UNK


@pytest.fixture(scope="module")
def attention_translator(tmp_path_factory):
    from keras_seq2seq.training import TrainingConfig, train

    out = tmp_path_factory.mktemp("attention_unk")
    translator, _ = train(
        TrainingConfig.create(str(out), tiny_config(units=32, embedding_dim=16,
                              attention="luong"), epochs=4, batch_size=12, learning_rate=1e-2,
                              seed=2),
        train_pairs=TINY_PAIRS * 10, verbose=0)
    return translator


def test_alignments_are_the_attention_the_search_computed(attention_translator):
    """The teacher-forced alignment pass gives, at every step, the argmax of
    the attention scores h_t . keys that the greedy search's steps used."""
    from keras_seq2seq.models import build_alignment_model

    t = attention_translator
    texts = tf.constant(["Nice to meet you.", "I love cats and I am cold."])
    tokens, _, _ = t.search(texts, t.settings(beam_size=1))
    tokens = tokens[:, 0]
    (states, memory), _ = t.encode(texts)
    _, keys, mask = memory
    inputs = tf.concat([tf.fill([2, 1], START_ID), tokens[:, :-1]], axis=1)
    aligned = build_alignment_model(t.model, t.config)([inputs, *states, keys, mask]).numpy()
    # Step by step: the top layer's new h is the attention query.
    token = tf.fill([2], START_ID)
    rnn = (list(states), memory)
    for step in range(tokens.shape[1]):
        _, rnn = t.step(token, rnn)
        h = rnn[0][0].numpy()  # (batch, units): new h of the only layer
        scores = np.einsum("bu,bsu->bs", h, keys.numpy())
        scores = np.where(mask.numpy() > 0, scores, -1e9)
        np.testing.assert_array_equal(aligned[:, step], scores.argmax(-1))
        token = tokens[:, step]


def test_every_unk_becomes_a_source_word(attention_translator):
    t = attention_translator
    sources = ["Alexander is cold.", "I love Toronto.", "Kowalski and Zorgon are late."]
    # A strong negative penalty makes the model write <unk> often.
    plain = t.translate(sources, unk_penalty=-3.0)
    replaced = t.translate(sources, unk_penalty=-3.0, replace_unknown=True)
    assert any(UNK in p for p in plain)
    for source, before, after in zip(sources, plain, replaced):
        assert UNK not in after
        source_words = set(t.source_tokenizer.tokenize(tf.constant([source])).to_list()[0])
        # Every token that was <unk> is now a word of its source.
        for old, new in zip(before.split(), after.split()):
            if old == UNK:
                assert new.encode() in source_words, (source, before, after)
    # Beam search too, and the words that were not <unk> stay.
    beam = t.translate(sources, beam_size=3, unk_penalty=-3.0, replace_unknown=True)
    assert all(UNK not in b for b in beam)
    assert t.translate("Thank you.", replace_unknown=True) == t.translate("Thank you.")
    assert t.translate("", replace_unknown=True) == ""


def test_replace_unknown_is_refused_where_it_cannot_work(trained_translator):
    translator, _, _ = trained_translator  # no attention
    with pytest.raises(ValueError, match="word-level model with attention"):
        translator.translate("Thank you.", replace_unknown=True)
