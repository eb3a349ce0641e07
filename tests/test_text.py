import pytest
import tensorflow as tf

from keras_seq2seq.constants import END_ID, PAD_ID, SPECIAL_TOKENS, START_ID, UNK_ID
from keras_seq2seq.text import (
    VocabularyError,
    WordTokenizer,
    build_vocabulary,
    detokenize_words,
    load_vocabulary,
    normalize,
    save_vocabulary,
    split_words,
    vocabulary_from_counts,
)


def _words(text, lowercase=False):
    rows = split_words(tf.constant(text), lowercase).to_list()
    return [[w.decode() for w in row] for row in rows]


def test_split_words_splits_punctuation_and_keeps_accents():
    assert _words(["Où es-tu ? J'ai froid, très froid!"]) == [
        ["Où", "es", "-", "tu", "?", "J", "'", "ai", "froid", ",", "très", "froid", "!"]
    ]
    assert _words(["Élève ÇA"], lowercase=True) == [["élève", "ça"]]
    assert _words(["Élève"]) == [["Élève"]]


def test_normalize_maps_typographic_forms_and_drops_controls():
    text = tf.constant(["l\u2019heure\u00a0!", "a\x00b\x07c", "tab\there"])
    assert [t.decode() for t in normalize(text).numpy()] == ["l ' heure !", "abc", "tab here"]


def test_normalize_never_fails_on_invalid_utf8():
    out = normalize(tf.constant([b"ok \xff\xfe bytes", b"\xc3"])).numpy()
    # U+FFFD is a symbol, so each one is a token of its own.
    assert out[0].decode("utf-8") == "ok \ufffd \ufffd bytes"
    assert out[1].decode("utf-8") == "\ufffd"


def test_empty_and_whitespace_give_no_words():
    assert _words(["", "   \t "]) == [[], []]


@pytest.mark.parametrize(
    "tokens, language, expected",
    [
        (["Où", "es", "-", "tu", "?"], "fr", "Où es-tu ?"),
        (["J", "'", "ai", "froid", "."], "fr", "J'ai froid."),
        (["Il", "a", "dit", ":", "«", "non", "»", "!"], "fr", "Il a dit : « non » !"),
        (["Where", "are", "you", "?"], "en", "Where are you?"),
        (["Tom", "'", "s", "cat", ",", "I", "think", "."], "en", "Tom's cat, I think."),
        (["It", "costs", "3", ".", "5", "(", "or", "$", "4", ")", "!"], "en",
         "It costs 3.5 (or $4)!"),
        (["Wait", ":", "what", ";", "no", "?"], "en", "Wait: what; no?"),
        (["C", "'", "est", "à", "3", ",", "5", "km", "."], "fr", "C'est à 3,5 km."),
    ],
)
def test_detokenize_spacing(tokens, language, expected):
    out = detokenize_words(tf.ragged.constant([tokens]), language=language)
    assert out.numpy()[0].decode() == expected


@pytest.mark.parametrize(
    "text, language",
    [("Où es-tu ?", "fr"), ("J'ai froid, mais ça va.", "fr"), ("Don't go!", "en"),
     ("Is it 3.5 (or 4)?", "en")],
)
def test_tokenize_then_detokenize_round_trips(text, language):
    tokens = split_words(tf.constant([text]))
    assert detokenize_words(tokens, language).numpy()[0].decode() == text


@pytest.mark.parametrize(
    "text, language, expected",
    [("The boys' toys are here.", "en", None),
     ("A T-shirt, Tom's and the Smiths' car; don't, we'll, I'm, you're.", "en", None),
     ("'Hello,' he said.", "en", None),
     # A hyphen between spaces is a dash, written as one.
     ("Paris - Lyon, then Lyon - Nice.", "en", "Paris \u2013 Lyon, then Lyon \u2013 Nice."),
     ("It was - I think - a T-shirt.", "en", "It was \u2013 I think \u2013 a T-shirt."),
     ("Le TGV Paris - Lyon part à l'heure, n'est-ce pas ?", "fr",
      "Le TGV Paris \u2013 Lyon part à l'heure, n'est-ce pas ?")],
)
def test_english_apostrophes_and_spaced_dashes_round_trip(text, language, expected):
    # Issue 18: the detokenizer glued every apostrophe and hyphen, right for
    # French elision ("l'heure") and compounds, wrong for English
    # possessives ("boys'toys") and for a dash between spaces ("Paris-Lyon").
    tokens = split_words(tf.constant([text]))
    assert detokenize_words(tokens, language).numpy()[0].decode() == (expected or text)


@pytest.mark.parametrize("space", ["\u2003", "\u3000", "\u2002", "\u205f", "\u1680",
                                   "\u2028", "\u2029", "\u200a", "\x85"])
def test_every_unicode_space_separates_words_and_vocabularies_load(space, tmp_path):
    # Issue 18: normalize mapped only some Unicode spaces to " ", and
    # load_vocabulary refuses a token with a space at its end, so such a
    # corpus made a model that saved but could not be loaded.
    text = f"Hello,{space}world{space}!{space}again"
    words = _words([text])[0]
    assert words == ["Hello", ",", "world", "!", "again"], words
    vocabulary = build_vocabulary(_words([text, f"more{space}text"]), max_size=50,
                                  min_frequency=1)
    save_vocabulary(vocabulary, tmp_path / "vocab.txt")
    assert load_vocabulary(tmp_path / "vocab.txt") == vocabulary


def test_vocabulary_order_limits_and_special_ids():
    counts = {"b": 3, "a": 3, "c": 5, "d": 1, "<unk>": 9}
    vocab = vocabulary_from_counts(counts)
    assert vocab[:4] == list(SPECIAL_TOKENS)
    assert vocab.index("<pad>") == PAD_ID and vocab.index("<unk>") == UNK_ID
    assert vocab.index("<start>") == START_ID and vocab.index("<end>") == END_ID
    assert vocab[4:] == ["c", "a", "b", "d"]  # by count, ties alphabetical
    assert vocabulary_from_counts(counts, min_frequency=2)[4:] == ["c", "a", "b"]
    assert vocabulary_from_counts(counts, max_size=6)[4:] == ["c", "a"]
    with pytest.raises(ValueError, match="special tokens"):
        vocabulary_from_counts(counts, max_size=4)
    with pytest.raises(ValueError, match="min_frequency"):
        vocabulary_from_counts(counts, min_frequency=0)
    assert build_vocabulary([["x", "y"], [b"y"]])[4:] == ["y", "x"]


def test_vocabulary_save_load_and_errors(tmp_path):
    vocab = list(SPECIAL_TOKENS) + ["élève", "!"]
    path = tmp_path / "v.txt"
    save_vocabulary(vocab, path)
    assert load_vocabulary(str(path)) == vocab
    with pytest.raises(VocabularyError, match="not found"):
        load_vocabulary(str(tmp_path / "missing.txt"))
    bad = tmp_path / "bad.txt"
    bad.write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(VocabularyError, match="first lines"):
        load_vocabulary(str(bad))
    bad.write_text("\n".join(SPECIAL_TOKENS) + "\nok\ntwo words\n", encoding="utf-8")
    with pytest.raises(VocabularyError, match="line 6"):
        load_vocabulary(str(bad))
    bad.write_text("\n".join(SPECIAL_TOKENS) + "\nx\nx\n", encoding="utf-8")
    with pytest.raises(VocabularyError, match="duplicate"):
        load_vocabulary(str(bad))


def test_tokenizer_encode_decode():
    tok = WordTokenizer(list(SPECIAL_TOKENS) + ["ravi", "de", "vous", "."], language="fr")
    ids = tok.encode(tf.constant(["Ravi de vous voir.", ""]))
    assert ids.to_list() == [[UNK_ID, 5, 6, UNK_ID, 7], []]
    lower = WordTokenizer(tok.vocabulary, lowercase=True)
    assert lower.encode(tf.constant(["Ravi"])).to_list() == [[4]]
    # Decoding stops at the first <end> and drops <pad>/<start>; <unk> stays.
    ids = [[START_ID, 4, 5, UNK_ID, 7, END_ID, 4], [END_ID, 4, 4, 4, 4, 4, 4]]
    out = tok.decode(tf.constant(ids))
    assert [t.decode() for t in out.numpy()] == ["ravi de <unk>.", ""]
    ragged = tok.decode(tf.ragged.constant([[4, 5, 6], [4]]))
    assert [t.decode() for t in ragged.numpy()] == ["ravi de vous", "ravi"]


def _random_rows(seed, rows=40):
    """Ragged int64 ids (rows, None) with empty rows, from a seed."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, 6, size=rows)
    lengths[rng.integers(0, rows, size=5)] = 0
    values = rng.integers(0, 9, size=int(lengths.sum()))
    return tf.RaggedTensor.from_row_lengths(values, lengths)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ragged_helpers_give_what_the_ragged_ops_they_replace_give(seed):
    from keras_seq2seq.models.preprocessor import reverse_rows
    from keras_seq2seq.text.ragged import (
        any_rows,
        exclusive_cumsum_rows,
        join_rows,
        mask_rows,
        row_ids,
    )

    ids = _random_rows(seed)
    words = tf.strings.as_string(ids)
    assert row_ids(ids).numpy().tolist() == ids.value_rowids().numpy().tolist()
    assert (join_rows(words, " ").numpy().tolist()
            == tf.strings.reduce_join(words, axis=-1, separator=" ").numpy().tolist())
    assert (join_rows(words, " ", rows=row_ids(words)).numpy().tolist()
            == tf.strings.reduce_join(words, axis=-1, separator=" ").numpy().tolist())
    flags = ids.with_flat_values(tf.equal(ids.flat_values, 3))
    assert any_rows(flags).numpy().tolist() == tf.reduce_any(flags.to_tensor(), axis=1).numpy(
        ).tolist()
    pairs = ids.with_flat_values(tf.stack([ids.flat_values > 4, ids.flat_values < 2], axis=1))
    assert any_rows(pairs).numpy().tolist() == tf.reduce_any(pairs.to_tensor(), axis=1).numpy(
        ).tolist()
    dense = tf.cumsum(ids.to_tensor(), axis=1, exclusive=True)
    assert exclusive_cumsum_rows(ids).to_list() == tf.RaggedTensor.from_tensor(
        dense, lengths=ids.row_lengths()).to_list()
    values = ids.to_tensor(-1)
    masked = mask_rows(values, values > 2)
    assert masked.to_list() == tf.ragged.boolean_mask(values, values > 2).to_list()
    assert reverse_rows(ids).to_list() == [row[::-1] for row in ids.to_list()]
    # All rows empty, and no rows at all.
    none = tf.RaggedTensor.from_row_lengths(tf.constant([], tf.int64), [0, 0])
    assert join_rows(tf.strings.as_string(none)).numpy().tolist() == [b"", b""]
    assert reverse_rows(none).to_list() == [[], []]
    assert mask_rows(tf.zeros([0, 3], tf.int32), tf.zeros([0, 3], tf.bool)).to_list() == []
