"""Seq2SeqPreprocessor: the one text -> ids path of training and translation."""

import itertools

import keras
import keras_hub
import numpy as np
import pytest
import tensorflow as tf

from conftest import DATA_DIR, TINY_PAIRS, tiny_config
from keras_seq2seq.constants import END_ID, START_ID
from keras_seq2seq.data.pipeline import make_dataset
from keras_seq2seq.models import build_training_model
from keras_seq2seq.models.preprocessor import Seq2SeqPreprocessor, reverse_rows
from keras_seq2seq.text import WordTokenizer, build_vocabulary


@pytest.fixture(scope="module")
def preprocessor():
    source = WordTokenizer(build_vocabulary([s for s, _ in TINY_PAIRS], min_frequency=1))
    target = WordTokenizer(build_vocabulary([t for _, t in TINY_PAIRS], min_frequency=1),
                           language="fr")
    return Seq2SeqPreprocessor(source, target, max_source_length=4, max_target_length=5)


def test_reverse_rows_reverses_each_row():
    rows = [[1, 2, 3], [], [4], [5, 6]]
    got = reverse_rows(tf.ragged.constant(rows, tf.int32)).to_list()
    assert got == [r[::-1] for r in rows]


def test_encoder_tokens_truncate_then_reverse_with_padding_on_the_right(preprocessor):
    texts = tf.constant(["Nice to meet you.", "Thank you.", ""])
    ids = preprocessor.source_tokenizer.encode(texts).to_list()
    tokens, lengths = preprocessor.encoder_tokens(texts, max_tokens=3)
    assert lengths.numpy().tolist() == [min(len(r), 3) for r in ids]
    for row, original, n in zip(tokens.numpy().tolist(), ids, lengths.numpy()):
        assert row[:n] == original[:3][::-1] and set(row[n:]) <= {0}
    wide, _ = preprocessor.encoder_tokens(texts, width=8)
    assert wide.shape == (3, 8)
    as_is = Seq2SeqPreprocessor(preprocessor.source_tokenizer, reverse_source=False)
    assert as_is.encoder_tokens(texts)[0].numpy()[1, :3].tolist() == ids[1]
    empty, none = preprocessor.encoder_tokens(tf.constant(["", ""]))
    assert empty.shape == (2, 1) and none.numpy().tolist() == [0, 0]


def test_call_gives_the_keras_batch_and_keep_applies_the_limits(preprocessor):
    sources, targets = [s for s, _ in TINY_PAIRS[:4]], [t for _, t in TINY_PAIRS[:4]]
    x, y, weights = preprocessor(sources, targets)
    target_ids = preprocessor.target_tokenizer.encode(tf.constant(targets)).to_list()
    for i, ids in enumerate(target_ids):
        n = len(ids)
        assert x["decoder_tokens"].numpy()[i, : n + 1].tolist() == [START_ID, *ids]
        assert y.numpy()[i, : n + 1].tolist() == [*ids, END_ID]
        assert weights.numpy()[i].sum() == n + 1
    assert x["encoder_tokens"].shape[1] <= preprocessor.max_source_length
    # Sources alone (predict): the decoder reads `<start>` only.
    inputs = preprocessor(sources)
    assert set(inputs) == {"encoder_tokens", "decoder_tokens"}
    assert inputs["decoder_tokens"].numpy().tolist() == [[START_ID]] * 4
    assert np.array_equal(inputs["encoder_tokens"], x["encoder_tokens"])
    # keras-hub's Seq2SeqLM dict is the same batch.
    as_dict = preprocessor({"encoder_text": sources, "decoder_text": targets})
    for a, b in zip(tf.nest.flatten(as_dict), tf.nest.flatten((x, y, weights))):
        assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="once"):
        preprocessor({"encoder_text": sources, "decoder_text": targets}, targets)
    with pytest.raises(ValueError, match="encoder_text"):
        preprocessor({"source": sources})
    # Per-example weights scale the padding mask; one example comes back unbatched.
    _, _, scaled = preprocessor(sources, targets, sample_weight=[1.0, 0.0, 2.0, 1.0])
    assert np.array_equal(scaled, weights.numpy() * [[1.0], [0.0], [2.0], [1.0]])
    single = preprocessor(sources[0], targets[0])
    assert np.array_equal(single[1], y[0][: len(single[1])]) and single[1].shape.rank == 1
    encoded = preprocessor.encode_pairs(tf.constant(sources), tf.constant(targets))
    kept = [bool(preprocessor.keep(*(part[i] for part in encoded))) for i in range(4)]
    lengths = [len(r) for r in preprocessor.source_tokenizer.encode(
        tf.constant(sources)).to_list()]
    assert kept == [n <= 4 and len(t) <= 5 for n, t in zip(lengths, target_ids)]
    assert not all(kept) and any(kept)  # the limits cut something here


def test_config_round_trip_and_fit_on_raw_strings(preprocessor):
    assert isinstance(preprocessor, keras_hub.models.Preprocessor)
    config = preprocessor.get_config()
    rebuilt = Seq2SeqPreprocessor.from_config(config)
    assert (rebuilt.reverse_source, rebuilt.max_source_length) == (True, 4)
    sources, targets = [s for s, _ in TINY_PAIRS], [t for _, t in TINY_PAIRS]
    dataset = tf.data.Dataset.from_tensor_slices((sources, targets)).batch(4).map(preprocessor)
    model = build_training_model(tiny_config(), preprocessor.source_tokenizer.vocabulary_size,
                                 preprocessor.target_tokenizer.vocabulary_size)
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(dataset, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


@pytest.mark.skipif(not (DATA_DIR / "tatoeba" / "eng-fra-full.tsv.gz").exists(),
                    reason="needs ../shared/data")
def test_pipeline_ids_are_the_preprocessors_on_the_real_corpus():
    from conftest import REPO_ROOT
    from keras_seq2seq.data import read_tsv_pairs
    from keras_seq2seq.text import WordPieceTokenizer, load_vocabulary

    pairs = list(itertools.islice(read_tsv_pairs(
        str(DATA_DIR / "tatoeba" / "eng-fra-full.tsv.gz")), 0, 20000, 100))
    vocabulary = load_vocabulary(str(REPO_ROOT / "saved_models" / "en-fr" / "source_vocab.txt"))
    preprocessor = Seq2SeqPreprocessor(WordPieceTokenizer(vocabulary),
                                       WordPieceTokenizer(vocabulary, language="fr"),
                                       max_source_length=100, max_target_length=100)
    batches = make_dataset(pairs, batch_size=len(pairs), shuffle=False, bucket_boundaries=None,
                           preprocessor=preprocessor)
    (x, y, w), = list(batches)
    expected_x, expected_y, expected_w = preprocessor([s for s, _ in pairs],
                                                      [t for _, t in pairs])
    assert x["encoder_tokens"].shape[0] == len(pairs)  # none over the limits
    for key in ("encoder_tokens", "decoder_tokens"):
        np.testing.assert_array_equal(x[key], expected_x[key])
    np.testing.assert_array_equal(y, expected_y)
    np.testing.assert_array_equal(w, expected_w)
    # And the translator reads a source the way training did.
    from keras_seq2seq import load

    translator = load(str(REPO_ROOT / "saved_models" / "en-fr"))
    tokens, _ = translator.encoder_inputs(tf.constant([s for s, _ in pairs[:50]]))
    np.testing.assert_array_equal(tokens, expected_x["encoder_tokens"][:50, : tokens.shape[1]])
