"""Name placeholders (`protect_names`): rare capitalised words are translated
as a name the model copies whole, then put back, alike in Python, the
SavedModel graph and the LiteRT runner."""

import pathlib
import random
import string

import pytest
import tensorflow as tf

from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.text import placeholders
from keras_seq2seq.text.placeholders import mask_names, restore_names, usable_placeholders
from keras_seq2seq.text.wordpiece import WordPieceTokenizer

SHIPPED = pathlib.Path(__file__).resolve().parents[1] / "saved_models" / "en-fr"
NAMES = ("Tom", "Mary")

# Whole words, and single letters (every other word is cut letter by
# letter, so a word of 3+ letters outside this list is rare). No "ü": a word
# holding it cannot be spelled (<unk>).
WORDS = ["Tom", "Mary", "My", "name", "is", "and", "I", "live", "in", "Oslo", "Ask", "about",
         "told", "that", "dog", "ran", "We", "saw", "Al"]
LETTERS = list(string.ascii_letters) + [f"##{c}" for c in string.ascii_letters]
TOKENIZER = WordPieceTokenizer(list(dict.fromkeys(
    ["<pad>", "<unk>", "<start>", "<end>", *WORDS, *LETTERS, ".", ",", "'", "«", "»"])))


def mask(sentences, names=NAMES):
    masked, used, words = mask_names(tf.constant(sentences), TOKENIZER, names)
    return ([m.decode() for m in masked.numpy()], used.numpy().tolist(),
            [[w.decode() for w in row] for row in words.numpy()])


@pytest.mark.parametrize("sentence, masked, words", [
    ("My name is Alexander and I live in Toronto.",
     "My name is Tom and I live in Mary.", ["Alexander", "Toronto"]),
    # Oslo is one piece: the model knows it. A placeholder the sentence holds
    # is not used; each occurrence takes the next free one.
    ("Tom told Alexander that Oslo ran.", "Tom told Mary that Oslo ran.", ["", "Alexander"]),
    ("We saw Alexander and Alexander's dog.", "We saw Tom and Mary's dog.",
     ["Alexander", "Alexander"]),
    # The first token is never masked; lowercase, one-letter and two-piece
    # ("Al") words stay; quotes and punctuation around a name stay.
    ("Alexander is in Oslo.", "Alexander is in Oslo.", ["", ""]),
    ("Ask Al about «Zürich», kofi.", "Ask Al about «Tom», kofi.", ["Zürich", ""]),
    # More rare names than placeholders: the rest are kept as they are.
    ("We saw Alexander, Svetlana and Beatrice.", "We saw Tom, Mary and Beatrice.",
     ["Alexander", "Svetlana"]),
    # Day and month names are never masked, in any case, also in the plural
    # (in this vocabulary they are letters: rare); a word holding one is.
    ("Closed on Tuesdays and in JULY, said Alexander.",
     "Closed on Tuesdays and in JULY, said Tom.", ["Alexander", ""]),
    ("We met Mayday in Septembers.", "We met Tom in Septembers.", ["Mayday", ""]),
    ("", "", ["", ""]),
])
def test_mask_names(sentence, masked, words):
    out, used, found = mask([sentence])
    assert out == [masked]
    assert found == [words]
    assert used == [[bool(w) for w in words]]


def test_restore_names_or_not_ok_when_a_placeholder_is_lost_or_repeated():
    _, used, words = mask(["My name is Alexander and I live in Toronto."] * 5)
    translations = tf.constant([
        "Je m'appelle Tom et j'habite à Mary.",
        "Je m'appelle Tom et j'habite ici.",        # Mary lost
        "Tom Tom et j'habite à Mary.",              # Tom twice
        "Je m'appelle Tommy et j'habite à Mary.",   # inside a longer word
        "Mary, Tom.",                               # order does not matter
    ])
    restored, ok = restore_names(translations, tf.constant(used), tf.constant(words), NAMES)
    restored = [r.decode() for r in restored.numpy()]
    assert ok.numpy().tolist() == [True, False, False, False, True]
    assert restored[0] == "Je m'appelle Alexander et j'habite à Toronto."
    assert restored[1] == "Je m'appelle Tom et j'habite ici."  # as it came
    assert restored[4] == "Toronto, Alexander."


def test_a_restored_name_holding_a_placeholder_is_not_replaced_again():
    # "Maryland" holds "Mary": the names go back in one pass.
    used = tf.constant([[True, True]])
    words = tf.constant([["Maryland", "Alexander"]])
    restored, ok = restore_names(tf.constant(["Tom et Mary."]), used, words, NAMES)
    assert ok.numpy().tolist() == [True]
    assert restored.numpy()[0].decode() == "Maryland et Alexander."


def _restore_reference(text, used, words, names):
    # The rule in plain Python: each used placeholder exactly once, no letter
    # touching it; names back in one pass (sentinels), else the text as it came.
    out, ok = text, True
    for index, name in enumerate(names):
        parts = out.split(name)
        alone = (len(parts) == 2 and not parts[0][-1:].isalpha()
                 and not parts[1][:1].isalpha())
        ok = ok and (alone or not used[index])
        if used[index] and alone:
            out = parts[0] + f"\x01{index}\x01" + parts[1]
    for index, word in enumerate(words):
        if used[index]:
            out = out.replace(f"\x01{index}\x01", word, 1)
    return (out if ok else text), ok


def test_restore_names_agrees_with_the_rule_on_random_translations():
    # Placeholders at either end, twice, inside longer words, beside accented
    # letters and punctuation; replacement words that hold another placeholder.
    rng = random.Random(0)
    pieces = ["Tom", "Mary", "Tommy", "Maryland", "é", "à", "x", " ", ", ", "-", "'", ".", "«"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 6))) for _ in range(400)]
    used = [[rng.random() < 0.7, rng.random() < 0.5] for _ in texts]
    words = [[rng.choice(["Alexander", "Mary", "Zoé", ""]), rng.choice(["Toronto", "Tom", "Ås"])]
             for _ in texts]
    restored, ok = restore_names(tf.constant(texts), tf.constant(used), tf.constant(words), NAMES)
    got = list(zip([r.decode() for r in restored.numpy()], ok.numpy().tolist()))
    expected = [_restore_reference(*case, NAMES) for case in zip(texts, used, words)]
    assert got == expected
    assert 50 < sum(flag for _, flag in expected) < 350  # both outcomes are exercised


def test_usable_placeholders_are_whole_in_both_vocabularies():
    target = WordPieceTokenizer(["<pad>", "<unk>", "<start>", "<end>", "Tom", "Ma", "##ry"])
    assert usable_placeholders(TOKENIZER, target, ("Tom", "Mary", "Oslo")) == ("Tom",)
    # ASCII names are looked up in the vocabularies; others go through the
    # tokenizers (here "Zoë" is one token of neither). Both ways agree.
    from keras_seq2seq.text import WordTokenizer

    lower = WordTokenizer(["<pad>", "<unk>", "<start>", "<end>", "tom", "mary", "zoë"],
                          lowercase=True)
    assert usable_placeholders(lower, TOKENIZER, ("Tom", "Mary", "Oslo")) == ("Tom", "Mary")
    assert usable_placeholders(lower, TOKENIZER, ("Tom", "Zoë")) == ("Tom",)
    assert usable_placeholders(lower, lower, ("Zoë", "Tom")) == ("Zoë", "Tom")


def test_a_model_without_placeholder_names(trained_translator):
    translator, _, _ = trained_translator
    assert not translator.has_name_placeholders()
    # The default follows the model: off here, so this translates as before.
    assert (translator.translate("I love Alexander.")
            == translator.translate("I love Alexander.", protect_names=False))
    with pytest.raises(ConfigurationError, match="placeholder name"):
        translator.translate("I love Alexander.", protect_names=True)


@pytest.fixture(scope="module")
def shipped():
    if not (SHIPPED / "config.json").exists():
        pytest.skip("no shipped model in saved_models/en-fr")
    from keras_seq2seq import load

    return load(str(SHIPPED))


def test_a_lost_placeholder_is_retried_from_the_next_then_translated_as_it_is(shipped):
    """The one retry (`placeholders.protect_names`, what every entry point
    runs), with a scripted search."""
    texts = ["My name is Alexander.", "We met Svetlana in Toronto.", "I am cold."]
    calls = []

    def translate_batch(inputs):
        inputs = [t.decode("utf-8") for t in inputs.numpy()]
        calls.append(inputs)
        if len(calls) == 1:  # keeps the first input's placeholder, drops the second's
            out = [inputs[0], "Nous nous sommes rencontrés.", *inputs[2:]]
        elif len(calls) == 2:  # the retry drops it again
            out = ["Nous." for _ in inputs]
        else:
            out = [f"again: {text}" for text in inputs]
        return tf.constant(out)[:, None], tf.zeros([len(out), 1])

    translations, _ = placeholders.protect_names(
        translate_batch, tf.constant(texts), shipped.source_tokenizer,
        shipped.name_placeholders())
    out = [t.decode("utf-8") for t in translations[:, 0].numpy()]
    first, second, third = shipped.name_placeholders()[:3]
    assert calls[0][:2] == [f"My name is {first}.", f"We met {first} in {second}."]
    assert calls[1] == [f"We met {second} in {third}."]  # from the next placeholder
    assert calls[2] == [texts[1]]  # then as it was
    assert out == ["My name is Alexander.", "again: We met Svetlana in Toronto.", "I am cold."]


def test_translate_retries_the_lost_names_of_all_batches_together(shipped):
    """`Decoder.translate` runs `protect_names`'s attempts over its whole
    input: the sentences of different batches whose placeholder was lost
    share one retry batch, and each translation is the one that the
    SavedModel's single call (`translate_batch`, the loop in the graph) gives."""
    texts = ["Przemyslaw met Xiomara at the Kowalski bakery.", "I am cold.",
             "Yesterday Przemyslaw met Xiomara at the Kowalski bakery.", "My name is Alexander.",
             "We met Svetlana in Toronto."]
    settings = shipped.settings(None)
    assert settings.protect_names
    key = ("attempt", settings)
    graph = shipped._attempt_graph(settings)
    calls = []

    def spy(chunk, attempt):
        if chunk.numpy().tolist() != [b""]:  # not `_compile_ahead`'s call
            calls.append((int(attempt), len(chunk)))
        return graph(chunk, attempt)

    shipped._graphs[key] = spy
    try:
        out = shipped.translate(texts, batch_size=2)
    finally:
        shipped._graphs[key] = graph
    # Sorted by length in batches of two: [cold, Alexander], [Svetlana,
    # Przemyslaw], [Yesterday Przemyslaw]; the shipped model loses a
    # placeholder of both Przemyslaw sentences, twice: retried together.
    assert calls == [(0, 2), (0, 2), (0, 1), (1, 2), (2, 2)]
    one_call = shipped._graph(settings)
    assert out == [one_call(tf.constant([t]))[0].numpy()[0, 0].decode() for t in texts]
    assert "Alexander" in out[3] and "Svetlana" in out[4]


def test_offset_starts_from_the_next_placeholder():
    masked, used, words = mask_names(tf.constant(["We saw Alexander and Svetlana."]), TOKENIZER,
                                     ("Tom", "Mary", "John"), offset=1)
    assert masked.numpy()[0].decode() == "We saw Mary and John."
    assert used.numpy().tolist() == [[False, True, True]]


SENTENCES = [
    "My name is Alexander and I live in Toronto.",
    "Have you ever been to Winnipeg? Svetlana has.",
    "I am cold.",
    "Tom lives in Paris.",
    "",
]


def test_the_shipped_model_keeps_long_names(shipped):
    out = shipped.translate(SENTENCES[:2], beam_size=5)  # on by default for this model
    assert "Alexander" in out[0] and "Toronto" in out[0]
    assert "Winnipeg" in out[1] and "Svetlana" in out[1]
    # Sentences without a rare name translate exactly as without the option.
    plain = SENTENCES[2:]
    assert shipped.translate(plain) == shipped.translate(plain, protect_names=False)
    with pytest.raises(ConfigurationError, match="n_best"):
        shipped.translate("Hello.", beam_size=2, n_best=2, protect_names=True)


def test_saved_model_protects_names_in_the_graph_like_python(shipped, tmp_path):
    from keras_seq2seq.export import export_saved_model

    directory = export_saved_model(shipped, str(tmp_path), name="names")
    serve = tf.saved_model.load(directory).signatures["serving_default"]
    served = serve(text=tf.constant(SENTENCES))["translation"].numpy()
    assert [t.decode() for t in served] == shipped.translate(SENTENCES)
    assert "Alexander" in served[0].decode()


def test_cli_protect_names_flags(shipped, capsys):
    from keras_seq2seq.cli import main

    sentence = "Have you ever been to Winnipeg?"
    main(["translate", "--model", str(SHIPPED), "--beam-size", "1", sentence])
    assert "Winnipeg" in capsys.readouterr().out
    main(["translate", "--model", str(SHIPPED), "--beam-size", "1", "--no-protect-names",
          sentence])
    assert capsys.readouterr().out.strip() == shipped.translate(sentence, protect_names=False)
    with pytest.raises(SystemExit):
        main(["translate", "--server", "http://localhost:1", "--protect-names", "Hello."])
    assert "protect-names" in capsys.readouterr().err


def test_the_litert_runner_protects_names_the_same_way(shipped):
    from keras_seq2seq.export.runner import TFLiteTranslator

    lite = SHIPPED / "tflite"
    if not (lite / "model.tflite").exists():
        pytest.skip("no shipped TFLite model")
    runner = TFLiteTranslator(str(lite))
    assert runner.name_placeholders() == shipped.name_placeholders()
    out = runner.translate(SENTENCES[0])
    assert "Alexander" in out and "Toronto" in out
