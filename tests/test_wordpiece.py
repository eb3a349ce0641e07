"""The core-ops WordPiece tokenizer: keras-hub parity, edge cases, models."""

import collections
import gzip

import numpy as np
import pytest
import tensorflow as tf

from conftest import DATA_DIR
from keras_seq2seq.constants import SPECIAL_TOKENS, UNK_ID
from keras_seq2seq.text import WordPieceTokenizer, learn_wordpiece_vocabulary, split_words
from keras_seq2seq.text.wordpiece import MAX_PIECES_PER_WORD

VOCAB = list(SPECIAL_TOKENS) + [
    "Kletter", "Wand", "Berg", "##wand", "##berg", "##e", "##n", "##s", "ein", "e", "n",
    "s", "!", ".", ",", "-", "K", "W", "B", "##l", "##a", "##t", "##r", "##d",
]


def _ids(tokenizer, texts):
    return tokenizer.encode(tf.constant(texts)).to_list()


def _pieces(ids):
    return [[VOCAB[i] for i in row] for row in ids]


def test_longest_match_first_and_continuation_pieces():
    tok = WordPieceTokenizer(VOCAB, language="de")
    got = _pieces(_ids(tok, ["Kletterwand Bergwand Wandberge !", "ein Kletterwande"]))
    assert got == [
        ["Kletter", "##wand", "Berg", "##wand", "Wand", "##berg", "##e", "!"],
        ["ein", "Kletter", "##wand", "##e"],
    ]


def test_a_word_that_cannot_be_cut_is_one_unk():
    tok = WordPieceTokenizer(VOCAB)
    # "x" is in no piece; "Kletterx" can start but not finish.
    ids = _ids(tok, ["ein x Kletterx ein", "Ω"])
    assert ids == [[VOCAB.index("ein"), UNK_ID, UNK_ID, VOCAB.index("ein")], [UNK_ID]]


def test_empty_inputs_and_runaway_words():
    tok = WordPieceTokenizer(VOCAB)
    assert _ids(tok, ["", "   "]) == [[], []]
    assert tok.encode(tf.constant([], dtype=tf.string)).to_list() == []
    # Cut in single letters, a word needs one piece per letter: past the
    # limit it becomes <unk> instead of looping on.
    fits = "K" + "l" * (MAX_PIECES_PER_WORD - 1)
    too_long = fits + "l"
    ids = _ids(tok, [fits, too_long])
    assert len(ids[0]) == MAX_PIECES_PER_WORD and UNK_ID not in ids[0]
    assert ids[1] == [UNK_ID]


def test_decode_joins_pieces_cuts_at_end_and_spaces_punctuation():
    tok = WordPieceTokenizer(VOCAB, language="de")
    ids = _ids(tok, ["ein Kletterwand , Bergwand !"])[0]
    end = SPECIAL_TOKENS.index("<end>")
    decoded = tok.decode(tf.constant([[2] + ids + [end, 5, 6]])).numpy()[0].decode()
    assert decoded == "ein Kletterwand, Bergwand!"
    # A continuation piece written first (a model may) loses its marker.
    assert tok.decode(tf.constant([[VOCAB.index("##wand"), VOCAB.index("##e")]])).numpy()[0] \
        == b"wande"
    assert tok.ids_to_tokens(tf.constant([[4, 7, 3, 8]])).to_list() == [[b"Kletter", b"##wand"]]


def test_vocabulary_must_hold_pieces():
    with pytest.raises(ValueError, match="pieces besides the special tokens"):
        WordPieceTokenizer(list(SPECIAL_TOKENS))


def _corpus():
    # keras-hub keeps pieces seen at least 10 times, so repeat the sentences.
    sentences = ["Ein Kletterer klettert an einer Kletterwand .",
                 "Zwei Bergsteiger steigen auf einen Berg .",
                 "Ein Hund läuft über die Wiese !"] * 12
    return collections.Counter(
        w.decode() for w in split_words(tf.constant(sentences)).flat_values.numpy())


def test_learned_vocabulary_starts_with_specials_and_matches_keras_hub():
    import keras_hub

    vocab = learn_wordpiece_vocabulary(_corpus(), 200)
    assert tuple(vocab[:4]) == SPECIAL_TOKENS
    assert "##" not in vocab and len(vocab) == len(set(vocab)) and len(vocab) <= 200
    assert any(t.startswith("##") for t in vocab)
    words = ["Kletterwand", "Bergwiese", "Hundeklettern", "Zwei", "läuft", "Xylophon", "€",
             "Wiesenberg", "klettert"]
    ours = WordPieceTokenizer(vocab)._segment(tf.constant(words)).to_list()
    reference = keras_hub.tokenizers.WordPieceTokenizer(
        vocabulary=vocab, split=False, oov_token="<unk>", lowercase=False, strip_accents=False,
    )(tf.constant(words)[:, None])
    assert ours == [list(map(int, row)) for row in reference]


def test_learning_needs_words():
    with pytest.raises(ValueError, match="No words"):
        learn_wordpiece_vocabulary({}, 100)


def test_the_tokenizer_travels_in_a_saved_model(tmp_path):
    tok = WordPieceTokenizer(VOCAB, language="de")
    module = tf.Module()
    module.tok = tok
    module.encode = tf.function(
        lambda text: tok.encode(text).to_tensor(-1),
        input_signature=[tf.TensorSpec([None], tf.string)],
    )
    tf.saved_model.save(module, str(tmp_path / "m"))
    restored = tf.saved_model.load(str(tmp_path / "m"))
    texts = tf.constant(["Kletterwand Bergwand !", "x"])
    np.testing.assert_array_equal(restored.encode(texts), tok.encode(texts).to_tensor(-1))


@pytest.mark.skipif(not (DATA_DIR / "multi30k" / "train.de.gz").exists(),
                    reason="needs ../shared/data/multi30k")
def test_segmentation_matches_keras_hub_on_real_german_words():
    import keras_hub

    with gzip.open(DATA_DIR / "multi30k" / "val.de.gz", "rt", encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f]
    words = split_words(tf.constant(lines)).flat_values.numpy()
    vocab = learn_wordpiece_vocabulary(collections.Counter(w.decode() for w in words), 2000)
    unique = np.unique(words)
    # Score words the vocabulary never saw whole, too: the test split's.
    with gzip.open(DATA_DIR / "multi30k" / "test_2016_flickr.de.gz", "rt",
                   encoding="utf-8") as f:
        test_words = split_words(tf.constant([line.rstrip("\n") for line in f])).flat_values
    unique = np.unique(np.concatenate([unique, test_words.numpy()]))
    ours = WordPieceTokenizer(vocab)._segment(tf.constant(unique)).to_list()
    reference = keras_hub.tokenizers.WordPieceTokenizer(
        vocabulary=vocab, split=False, oov_token="<unk>", lowercase=False, strip_accents=False,
    )(tf.constant(unique)[:, None])
    mismatches = [w for w, a, b in zip(unique, ours, reference) if a != list(map(int, b))]
    assert len(unique) > 3000 and not mismatches, mismatches[:5]


# Slow: a training; word-piece models are served and run on LiteRT in test_copy_attention
# and test_parity
@pytest.mark.slow
def test_a_wordpiece_model_trains_reloads_serves_and_runs_on_litert(tmp_path):
    """The whole path: config -> learned pieces -> training -> load ->
    SavedModel in plain TensorFlow -> TFLite/LiteRT, all with the same text."""
    from test_export_saved_model import _run_plain_tf

    from conftest import TINY_PAIRS, tiny_config
    from keras_seq2seq import load
    from keras_seq2seq.evaluation import evaluate
    from keras_seq2seq.export import export_saved_model
    from keras_seq2seq.export.runner import TFLiteTranslator
    from keras_seq2seq.export.tflite import export_tflite
    from keras_seq2seq.training import TrainingConfig, train

    # Ten copies: keras-hub keeps pieces seen at least 10 times.
    pairs = TINY_PAIRS * 10
    out = str(tmp_path / "wp")
    translator, _ = train(
        TrainingConfig.create(out, tiny_config(tokenizer="wordpiece", units=64, embedding_dim=32),
                              epochs=15, batch_size=12, learning_rate=1e-2, seed=1),
        train_pairs=pairs, verbose=0)
    target_vocab = translator.target_tokenizer.vocabulary
    assert isinstance(translator.target_tokenizer, WordPieceTokenizer)
    assert tuple(target_vocab[:4]) == SPECIAL_TOKENS
    assert any(t.startswith("##") for t in target_vocab)
    sources = [s for s, _ in TINY_PAIRS]
    hypotheses = translator.translate(sources)
    assert sum(h == t for h, (_, t) in zip(hypotheses, TINY_PAIRS)) >= len(TINY_PAIRS) - 2
    # A word never seen whole is spelled from pieces, not <unk>.
    unseen = translator.source_tokenizer.tokenize(tf.constant(["Nicer"])).to_list()[0]
    assert unseen and b"<unk>" not in unseen

    # Evaluation detokenizes the pieces and says what its perplexity counts.
    report, evaluated = evaluate(translator, TINY_PAIRS, beam_size=1)
    assert evaluated == hypotheses and report["perplexity_per"] == "word piece"
    assert 1.0 < report["perplexity"] < len(target_vocab) / 4

    reloaded = load(out)
    assert reloaded.config.tokenizer == "wordpiece"
    assert reloaded.target_tokenizer.vocabulary == target_vocab
    assert reloaded.translate(sources) == hypotheses

    directory = export_saved_model(translator, str(tmp_path / "serving"))
    assert _run_plain_tf(directory, sources)["translations"] == hypotheses

    export_tflite(translator, str(tmp_path / "lite"), max_source_tokens=16)
    runner = TFLiteTranslator(str(tmp_path / "lite"))
    assert isinstance(runner.target_tokenizer, WordPieceTokenizer)
    assert runner.translate(sources) == hypotheses
