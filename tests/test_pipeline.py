import os

import numpy as np
import pytest

from keras_seq2seq.constants import END_ID, PAD_ID, SPECIAL_TOKENS, START_ID
from keras_seq2seq.data.pipeline import bucket_batch_sizes, make_dataset
from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.text import WordTokenizer

WORDS = ["a", "b", "c", "d", "e", "f", "g", "h"]


@pytest.fixture
def tokenizers():
    vocab = list(SPECIAL_TOKENS) + WORDS
    return WordTokenizer(vocab), WordTokenizer(vocab)


def _ids(text):
    return [4 + WORDS.index(w) for w in text.split()]


def _batches(pairs, tokenizers, **kwargs):
    kwargs.setdefault("shuffle", False)
    dataset = make_dataset(pairs, *tokenizers, **kwargs)
    return [
        (inputs["encoder_tokens"].numpy(), inputs["decoder_tokens"].numpy(), t.numpy(), w.numpy())
        for inputs, t, w in dataset
    ]


def test_batch_contract_teacher_forcing_and_reversal(tokenizers):
    pairs = [("a b c", "d e"), ("a b", "f g h")]
    (encoder, decoder, targets, weights), = _batches(pairs, tokenizers, bucket_boundaries=None)
    # Reversed source, padding still on the right.
    assert encoder.tolist() == [_ids("c b a"), _ids("b a") + [PAD_ID]]
    assert decoder.tolist() == [[START_ID] + _ids("d e") + [PAD_ID], [START_ID] + _ids("f g h")]
    assert targets.tolist() == [_ids("d e") + [END_ID, PAD_ID], _ids("f g h") + [END_ID]]
    assert weights.tolist() == [[1, 1, 1, 0], [1, 1, 1, 1]]
    assert encoder.dtype == np.int32 and weights.dtype == np.float32


def test_no_reversal(tokenizers):
    (encoder, *_), = _batches([("a b c", "d")], tokenizers, reverse_source=False)
    assert encoder.tolist() == [_ids("a b c")]


def test_length_filter_drops_long_and_empty_pairs(tokenizers):
    pairs = [("a b c d", "e"), ("a", "b c d e"), ("a", "b"), ("!", "c")]
    batches = _batches(pairs, tokenizers, max_source_length=3, max_target_length=3)
    sources = [row.tolist() for b in batches for row in b[0]]
    # "!" is a word outside the vocabulary: <unk>, kept; lengths over the limits are dropped.
    assert sorted(sources) == sorted([_ids("a"), [1]])


def test_bucketing_groups_similar_lengths(tokenizers):
    rng = np.random.default_rng(0)
    pairs = []
    for _ in range(400):
        n = int(rng.integers(1, 30))
        pairs.append((" ".join(rng.choice(WORDS, n)), " ".join(rng.choice(WORDS, n))))
    bucketed = _batches(pairs, tokenizers, batch_size=16, bucket_boundaries=(5, 10, 20))
    padded = _batches(pairs, tokenizers, batch_size=16, bucket_boundaries=None)

    def padding_share(batches):
        return sum((w == 0).sum() for *_, w in batches) / sum(w.size for *_, w in batches)

    assert sum(len(b[0]) for b in bucketed) == 400
    assert padding_share(bucketed) < 0.5 * padding_share(padded)


def test_shuffle_is_seeded(tokenizers):
    pairs = [(w, w) for w in WORDS] * 4
    first = [b[0].tolist() for b in _batches(pairs, tokenizers, shuffle=True, seed=1, batch_size=4)]
    again = [b[0].tolist() for b in _batches(pairs, tokenizers, shuffle=True, seed=1, batch_size=4)]
    assert first == again


def test_bad_batch_size(tokenizers):
    with pytest.raises(ValueError, match="batch_size"):
        make_dataset([("a", "b")], *tokenizers, batch_size=0)


def test_batch_tokens_sizes_each_bucket_in_tokens(tokenizers):
    rng = np.random.default_rng(1)
    pairs = []
    for _ in range(600):
        n = int(rng.integers(1, 30))
        pairs.append((" ".join(rng.choice(WORDS, n)), " ".join(rng.choice(WORDS, int(n)))))
    boundaries = (5, 10, 20)
    batches = _batches(pairs, tokenizers, batch_size=16, bucket_boundaries=boundaries,
                       batch_tokens=120, max_source_length=40, max_target_length=40)
    # Every pair is in exactly one batch.
    assert sum(len(b[0]) for b in batches) == 600
    sizes = bucket_batch_sizes(120, boundaries, 41)
    assert sizes == [120 // 4, 120 // 9, 120 // 19, 120 // 41]
    partial = [0] * len(sizes)
    for encoder, decoder, *_ in batches:
        # No side holds more than the budget, padding included...
        assert encoder.size <= 120 and decoder.size <= 120
        # ...and every batch but a bucket's last is full.
        bucket = int(np.searchsorted(boundaries, max(encoder.shape[1], decoder.shape[1]),
                                     side="right"))
        assert len(encoder) <= sizes[bucket]
        partial[bucket] += len(encoder) < sizes[bucket]
    assert max(partial) <= 1
    shortest = min(batches, key=lambda b: b[1].shape[1])
    longest = max(batches, key=lambda b: b[1].shape[1])
    assert len(shortest[0]) > 2 * len(longest[0])


@pytest.mark.parametrize("prefill", [False, True])
def test_default_shuffle_mixes_a_corpus_stored_in_order(tokenizers, prefill):
    # Two corpora one after the other, as a run reads them: 300 pairs whose
    # source is "a", then 300 whose source is "h". A uniform shuffle puts both
    # in the first batch; a small buffer (the old default was 20,000 pairs,
    # here 50) only mixes neighbours, so the epoch starts with "a" alone.
    pairs = [("a", "b")] * 300 + [("h", "g")] * 300

    def first_batch_sources(**kwargs):
        dataset = make_dataset(pairs, *tokenizers, batch_size=40, bucket_boundaries=None,
                               shuffle=True, seed=1, prefill=prefill, **kwargs)
        inputs, _, _ = next(iter(dataset))
        return set(inputs["encoder_tokens"].numpy()[:, 0].tolist())

    assert first_batch_sources() == set(_ids("a h"))
    assert first_batch_sources(shuffle_buffer=50) == set(_ids("a"))
    with pytest.raises(ConfigurationError, match="shuffle_buffer"):
        make_dataset(pairs, *tokenizers, shuffle_buffer=0)


def test_autotuning_is_off_by_default_and_changes_no_batch(tokenizers):
    rng = np.random.default_rng(2)
    pairs = [(" ".join(rng.choice(WORDS, int(n))), " ".join(rng.choice(WORDS, int(n))))
             for n in rng.integers(1, 12, size=200)]
    default = make_dataset(pairs, *tokenizers, batch_size=16, shuffle=True, seed=4)
    tuned = make_dataset(pairs, *tokenizers, batch_size=16, shuffle=True, seed=4, autotune=True)
    assert default.options().autotune.enabled is False
    assert tuned.options().autotune.enabled is True
    # The same batches in the same order, only scheduled differently.
    for (x1, y1, w1), (x2, y2, w2) in zip(default, tuned, strict=True):
        assert np.array_equal(x1["encoder_tokens"], x2["encoder_tokens"])
        assert np.array_equal(y1, y2) and np.array_equal(w1, w2)


def test_batch_tokens_needs_buckets_and_a_positive_budget(tokenizers):
    with pytest.raises(ValueError, match="bucket"):
        make_dataset([("a", "b")], *tokenizers, batch_tokens=100, bucket_boundaries=None)
    with pytest.raises(ValueError, match="batch_tokens"):
        make_dataset([("a", "b")], *tokenizers, batch_tokens=0)


class _CountingPairs:
    """A re-iterable corpus that counts how often it is read."""

    def __init__(self, pairs):
        self.pairs, self.reads = pairs, 0

    def __iter__(self):
        self.reads += 1
        return iter(self.pairs)


@pytest.mark.parametrize("cache", ["memory", "file", "none"])
def test_cache_in_memory_in_files_or_not(tokenizers, tmp_path, cache):
    pairs = _CountingPairs([("a b c", "d e"), ("a b", "f g h"), ("c", "d")])
    option = {"memory": True, "file": str(tmp_path / "cache" / "train"), "none": False}[cache]
    dataset = make_dataset(pairs, *tokenizers, shuffle=False, cache=option)
    epochs = [[(i["encoder_tokens"].numpy().tolist(), t.numpy().tolist()) for i, t, _ in dataset]
              for _ in range(3)]
    assert epochs[0] == epochs[1] == epochs[2]
    # Cached: the corpus is read (and tokenized) once; uncached: every epoch.
    assert pairs.reads == (3 if cache == "none" else 1)
    if cache == "file":
        assert any(name.startswith("train") for name in os.listdir(tmp_path / "cache"))


# Keras warns at the end of each epoch of a dataset of unknown length; the
# trainer silences it the same way.
@pytest.mark.filterwarnings("ignore:Your input ran out of data")
def test_prefill_tokenizes_before_training_and_changes_no_batch(tokenizers, tmp_path):
    import keras

    rng = np.random.default_rng(3)
    pairs = [(" ".join(rng.choice(WORDS, int(n))), " ".join(rng.choice(WORDS, int(n))))
             for n in rng.integers(1, 12, size=300)]
    for cache in (True, str(tmp_path / "cache" / "train")):
        corpus = _CountingPairs(pairs)
        filled = make_dataset(corpus, *tokenizers, batch_size=16, shuffle=True, seed=4,
                              cache=cache, prefill=True)
        assert corpus.reads == 1  # read (and tokenized) before any epoch
        plain = make_dataset(pairs, *tokenizers, batch_size=16, shuffle=True, seed=4,
                             cache=cache is True)
        # Two epochs: the same batches in the same order as without prefill,
        # and the corpus is not read again.
        for _ in range(2):
            for (x1, y1, w1), (x2, y2, w2) in zip(filled, plain, strict=True):
                assert np.array_equal(x1["encoder_tokens"], x2["encoder_tokens"])
                assert np.array_equal(y1, y2) and np.array_equal(w1, w2)
        assert corpus.reads == 1
    # model.fit reads the same cache: no epoch reads the corpus.
    vocab_size = len(SPECIAL_TOKENS) + len(WORDS)
    encoder = keras.Input((None,), dtype="int32", name="encoder_tokens")
    decoder = keras.Input((None,), dtype="int32", name="decoder_tokens")
    source = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(vocab_size, 4)(encoder))
    hidden = keras.layers.Embedding(vocab_size, 4)(decoder) + keras.layers.Reshape((1, 4))(source)
    model = keras.Model({"encoder_tokens": encoder, "decoder_tokens": decoder},
                        keras.layers.Dense(vocab_size)(hidden))
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    corpus = _CountingPairs(pairs)
    model.fit(make_dataset(corpus, *tokenizers, batch_size=16, prefill=True), epochs=2,
              verbose=0)
    assert corpus.reads == 1
