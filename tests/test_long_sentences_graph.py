"""Long sentences cut in the graph (`split_long_sentences_graph`): the same
parts as the Python rules (`split_long_sentence`), and the TF Serving
SavedModel translates long sentences in parts as `Translator.translate` does."""

import gzip
import json
import random
import re

import pytest
import tensorflow as tf

from conftest import DATA_DIR, REPO_ROOT
from keras_seq2seq.constants import SPECIAL_TOKENS
from keras_seq2seq.text import WordPieceTokenizer
from keras_seq2seq.text.long_sentences import (
    piece_counter,
    split_long_sentence,
    split_long_sentences,
    split_long_sentences_graph,
)

# "unbelievable" is three pieces, "Kletterwand" two; words outside are one <unk>.
VOCAB = list(SPECIAL_TOKENS) + [
    "I", "am", "cold", "hungry", "and", "but", "we", "are", "late", "it", "is", "raining",
    "so", "which", "when", "un", "##believ", "##able", "Kletter", "##wand", ",", ";", ":",
    "-", ".", "!", "?", "(", ")", "\u2014", "\u2013", "the", "cat", "sleeps",
]

CASES = [
    "",
    "I am cold",
    # Under the limit, odd whitespace: passed through byte for byte.
    " \t I  am\ncold \x0b",
    "\u00a0I am\u3000cold ",
    # One token, long: passed through.
    "   unbelievableunbelievableunbelievable   ",
    # No boundary: the longest prefixes that fit.
    "I am cold I am hungry we are late it is raining the cat sleeps",
    "unbelievable unbelievable unbelievable unbelievable unbelievable",
    # Commas, semicolons, colons, dashes, at different places.
    "I am cold, I am hungry, we are late, it is raining, the cat sleeps",
    "I am cold; we are late: it is raining \u2014 the cat sleeps \u2013 I am hungry",
    "I am cold - we are late - it is raining - the cat sleeps",
    "I am cold , we are late ; it is raining",
    "I,am,cold, we are late it is raining the cat sleeps and",
    # Conjunctions: first word, middle, last, in other cases and punctuation.
    "and I am cold we are late it is raining the cat sleeps",
    "I am cold and we are late but it is raining so the cat sleeps",
    "I am cold AND we are late (But) it is raining \"so\" the cat sleeps",
    "I am cold which we are late When it is raining 1and2 the cat sleeps",
    "I am cold \u017fo we are late band it is raining sandwich the cat sleeps",
    # Ties in distance: the first boundary wins.
    "I am cold, we are late, it is raining, we are late",
    # Several pieces a token.
    "Kletterwand unbelievable, Kletterwand unbelievable and Kletterwand unbelievable",
    "I am unbelievable, unbelievable, and Kletterwand, Kletterwand",
    # Very long: cut recursively.
    ", ".join(["I am cold and we are late"] * 12),
    " ".join(["unbelievable Kletterwand"] * 20) + ", and I am cold",
    # Whitespace of every ASCII kind between tokens of a long sentence.
    "I\tam\ncold,\r\nwe\x0bare\x0clate  and   it is raining\u00a0the cat sleeps",
    "\u00e9t\u00e9 caf\u00e9, na\u00efve r\u00e9sum\u00e9 \u2014 \U0001f600 and I am cold",
]


def reference(sentences, tokenizer, limit, max_pieces, count=None):
    """The Python statement of the rules, over a list."""
    count = count or piece_counter(tokenizer)
    return [[s] if len(s) <= limit else split_long_sentence(s, count, limit, max_pieces)
            for s in sentences]


def graph_parts(sentences, tokenizer, limit, max_pieces):
    parts, splits = split_long_sentences_graph(
        tf.constant(sentences, tf.string), tokenizer, limit, max_pieces)
    parts = [p.decode("utf-8") for p in parts.numpy()]
    splits = splits.numpy().tolist()
    assert len(splits) == len(sentences) + 1
    return [parts[a:b] for a, b in zip(splits[:-1], splits[1:])]


def listed(sentences, tokenizer, limit, max_pieces):
    parts, groups = split_long_sentences(sentences, tokenizer, limit, max_pieces)
    return [parts[a:b] for a, b in groups]


@pytest.fixture(scope="module")
def tiny_tokenizer():
    return WordPieceTokenizer(VOCAB)


@pytest.mark.parametrize("limit, max_pieces", [(6, None), (6, 40), (6, 12), (3, 9), (1, 5),
                                               (10, 200)])
def test_graph_equals_python_on_hand_made_cases(tiny_tokenizer, limit, max_pieces):
    expected = reference(CASES, tiny_tokenizer, limit, max_pieces)
    assert graph_parts(CASES, tiny_tokenizer, limit, max_pieces) == expected
    # The list function (Decoder.translate's) runs the compiled graph.
    assert listed(CASES, tiny_tokenizer, limit, max_pieces) == expected


def test_cases_cover_what_they_claim(tiny_tokenizer):
    parts = reference(CASES, tiny_tokenizer, 6, 12)
    assert parts[2] == [CASES[2]] and parts[3] == [CASES[3]] and parts[4] == [CASES[4]]
    assert len(parts[-4]) > 2  # a recursive cut
    # max_pieces truncation drops the end.
    assert " ".join(parts[-4]) != " ".join(CASES[-4].split())
    assert all(len(p) > 1 for p in parts[5:-2])


def test_graph_in_a_tf_function_and_empty_batch(tiny_tokenizer):
    fn = tf.function(lambda s: split_long_sentences_graph(s, tiny_tokenizer, 6, 12))
    parts, splits = fn(tf.constant(CASES))
    got = [p.decode() for p in parts.numpy()]
    splits = splits.numpy().tolist()
    assert [got[a:b] for a, b in zip(splits[:-1], splits[1:])] == reference(
        CASES, tiny_tokenizer, 6, 12)
    parts, splits = split_long_sentences_graph(tf.constant([], tf.string), tiny_tokenizer, 6, 12)
    assert parts.numpy().tolist() == [] and splits.numpy().tolist() == [0]
    assert split_long_sentences([], tiny_tokenizer, 6, 12) == ([], [])


def _real_long_sentences(count=60):
    path = DATA_DIR / "multi30k" / "val.en.gz"
    if path.exists():
        with gzip.open(path, "rt", encoding="utf-8") as f:
            lines = [line.strip() for line in f if line.strip()][:2000]
    else:
        lines = ["A man in a blue shirt is standing on a ladder cleaning windows.",
                 "Two young guys with shaggy hair look at their hands while hanging out "
                 "in the yard.", "A little girl climbs into a wooden playhouse.",
                 "Several men in hard hats are operating a giant pulley system.",
                 "The dog runs along the beach - it is happy; the sun is out: summer!",
                 "Tom said that he would come, but he didn't, which surprised nobody."]
    rng = random.Random(7)
    joiners = [", and ", "; ", " ", " - ", ", but ", " which ", ": "]
    return [rng.choice(joiners).join(rng.choice(lines) for _ in range(rng.randint(1, 8)))
            for _ in range(count)]


def test_graph_equals_python_with_the_shipped_tokenizer():
    from keras_seq2seq.text import load_vocabulary, make_tokenizer

    model = REPO_ROOT / "saved_models" / "en-fr"
    if not (model / "source_vocab.txt").exists():
        pytest.skip("no shipped model in saved_models/en-fr")
    # The tokenizer alone, built as `load` builds it (no weights to read).
    record = json.loads((model / "config.json").read_text(encoding="utf-8"))
    tokenizer = make_tokenizer(record["model"]["tokenizer"],
                               load_vocabulary(str(model / "source_vocab.txt")),
                               record["model"]["lowercase"], record.get("source_language", "en"))
    sentences = _real_long_sentences()
    decoding = record["decoding"]
    limit = min(decoding["max_input_tokens"], 2 * decoding["max_output_tokens"] // 3)
    assert limit == 66
    # The pieces of every token, encoded in one batch (one eager call a
    # sentence, as `piece_counter` makes, takes seconds here).
    words = sorted({t for s in sentences for t in re.split(r"[\t\n\v\f\r ]+", s) if t})
    pieces = dict(zip(words, piece_counter(tokenizer)(words)))

    def count(tokens):
        return [pieces[t] for t in tokens]

    for max_pieces in (decoding["max_input_tokens"], None):
        expected = reference(sentences, tokenizer, limit, max_pieces, count)
        assert sum(len(p) > 1 for p in expected) > 20
        assert listed(sentences, tokenizer, limit, max_pieces) == expected


# The SavedModel: long sentences in parts, as Translator.translate.

LONG_TEXTS = [
    "I am cold, I am hungry and we are late.",
    "Nice to meet you. I love cats and she is tired, he is tall; it is raining and we are late.",
    "Thank you.",
    "",
    "   ",
    "Good morning! Come here, and come here, and come here, and come here, I am cold.",
    "I love cats I love cats I love cats I love cats I love cats",
    " ".join(["Nice"] * 40),
]


def test_saved_model_translates_long_sentences_as_translate(trained_translator, tmp_path):
    from keras_seq2seq.export.saved_model import export_saved_model

    translator, _, _ = trained_translator
    # A limit of 6 pieces: the tiny model's sentences count as long. (With
    # `split_sentences` off, `serve` runs the same cut on the whole texts.)
    changes = dict(max_input_tokens=12, max_output_tokens=9)
    settings = translator.settings(None, **changes)
    assert translator.long_sentence_limit(settings) == 6
    _, groups = split_long_sentences(LONG_TEXTS, translator.source_tokenizer, 6, 12)
    assert sum(b - a > 1 for a, b in groups) >= 3
    directory = export_saved_model(translator, str(tmp_path), name="m", **changes)
    serve = tf.saved_model.load(directory).signatures["serving_default"]
    out = serve(text=tf.constant(LONG_TEXTS))
    served = [t.decode("utf-8") for t in out["translation"].numpy()]
    assert served == translator.translate(LONG_TEXTS, **changes)
    # The score of a sentence is the sum of its parts' scores (texts of one
    # sentence, so the text's score is that sentence's).
    single = [LONG_TEXTS[i] for i in (0, 6, 7)]
    parts, groups = split_long_sentences(single, translator.source_tokenizer, 6, 12)
    scored = translator.translate(parts, n_best=1, **changes)
    sums = [sum(s for (_, s), in scored[a:b]) for a, b in groups]
    assert [out["score"].numpy().tolist()[i] for i in (0, 6, 7)] == pytest.approx(sums, abs=1e-3)
