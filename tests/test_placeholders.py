"""Name placeholders (`protect_names`): rare capitalised words are translated
as a name the model copies whole, then put back."""

import pathlib

import pytest

from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.text.placeholders import (
    mask_names,
    name_candidates,
    rare_word_test,
    restore_names,
    usable_placeholders,
)
from keras_seq2seq.text.wordpiece import WordPieceTokenizer

SHIPPED = pathlib.Path(__file__).resolve().parents[1] / "saved_models" / "en-fr"


def long_words(words):
    return [len(word) > 5 for word in words]


def test_candidates_are_capitalised_words_after_the_first():
    assert name_candidates("Alexander lives in Toronto, says Alexander.") == ["Toronto",
                                                                              "Alexander"]
    assert name_candidates("I met Åsa and Zoë in Ōsaka.") == ["Åsa", "Zoë", "Ōsaka"]
    # "I" is one letter; lowercase words are never names.
    assert name_candidates("Yes, I know kofi.") == []


@pytest.mark.parametrize("sentence, masked, names", [
    ("My name is Alexander and I live in Toronto.",
     "My name is Tom and I live in Mary.", (("Tom", "Alexander"), ("Mary", "Toronto"))),
    # A placeholder the sentence holds is not used; the same name twice gets
    # the same placeholder.
    ("Tom told Alexander that Alexander's dog ran.",
     "Tom told Mary that Mary's dog ran.", (("Mary", "Alexander"),)),
    # Whole words only: "Tommy" holds no "Tom"; short or lowercase words stay.
    ("Ask Tommy about Helsinki and Oslo.", "Ask Tommy about Tom and Oslo.",
     (("Tom", "Helsinki"),)),
    # The first word of a sentence is never masked.
    ("Alexander is here.", "Alexander is here.", ()),
])
def test_mask_names(sentence, masked, names):
    (mask,) = mask_names([sentence], long_words, ("Tom", "Mary"))
    assert mask.text == masked
    assert mask.names == names


def test_more_names_than_placeholders_keeps_the_rest():
    (mask,) = mask_names(["We saw Alexander, Svetlana and Beatrice."], long_words, ("Tom",))
    assert mask.text == "We saw Tom, Svetlana and Beatrice."


def test_restore_names_or_none_when_a_placeholder_is_lost_or_repeated():
    (mask,) = mask_names(["My name is Alexander and I live in Toronto."], long_words,
                         ("Tom", "Mary"))
    assert (restore_names("Je m'appelle Tom et j'habite à Mary.", mask)
            == "Je m'appelle Alexander et j'habite à Toronto.")
    assert restore_names("Je m'appelle Tom et j'habite ici.", mask) is None
    assert restore_names("Tom Tom et j'habite à Mary.", mask) is None
    # Letters of any script come back as they were.
    (mask,) = mask_names(["We love Dvořák."], lambda words: [True for _ in words], ("Tom",))
    assert restore_names("Nous aimons Tom.", mask) == "Nous aimons Dvořák."


def test_rare_words_are_those_cut_into_three_pieces_or_unknown():
    vocabulary = ["<pad>", "<unk>", "<start>", "<end>", "Paris", "A", "##le", "##x", "To",
                  "##ron", "##to", "Tom"]
    tokenizer = WordPieceTokenizer(vocabulary)
    is_rare = rare_word_test(tokenizer)
    # Paris: one piece; Alex: 3; Toron: 2; Zürich: a character outside the
    # vocabulary (<unk>).
    assert is_rare(["Paris", "Alex", "Toron", "Zürich"]) == [False, True, False, True]
    target = WordPieceTokenizer(["<pad>", "<unk>", "<start>", "<end>", "Tom", "Mary"])
    assert usable_placeholders(tokenizer, target, ("Tom", "Mary", "Alex")) == ("Tom",)


def test_a_model_without_placeholder_names_says_so(trained_translator):
    translator, _, _ = trained_translator
    with pytest.raises(ConfigurationError, match="placeholder name"):
        translator.translate("I love Alexander.", protect_names=True)
    with pytest.raises(ConfigurationError, match="n_best"):
        translator.translate("I love cats.", beam_size=2, n_best=2, protect_names=True)


@pytest.fixture(scope="module")
def shipped():
    if not (SHIPPED / "config.json").exists():
        pytest.skip("no shipped model in saved_models/en-fr")
    from keras_seq2seq import load

    return load(str(SHIPPED))


def test_fallback_translates_again_the_sentences_that_lost_a_placeholder(shipped):
    texts = ["My name is Alexander.", "We met Svetlana in Toronto.", "I am cold."]
    calls = []

    def echo(inputs, progress):
        calls.append(list(inputs))
        # A "translation" that keeps the first input's placeholder and drops
        # the second input's.
        return [inputs[0], "Nous nous sommes rencontrés.", *inputs[2:]] if len(calls) == 1 \
            else [f"again: {text}" for text in inputs]

    out = shipped._translate_protecting_names(texts, echo, False)
    assert calls[0][0] != texts[0] and "Alexander" not in calls[0][0]
    assert out[0] == "My name is Alexander."
    assert calls[1] == [texts[1]]  # only the sentence that lost its names, as it was
    assert out[1] == "again: We met Svetlana in Toronto."
    assert out[2] == "I am cold."


def test_the_shipped_model_keeps_a_long_name(shipped):
    sentence = "My name is Alexander and I live in Toronto."
    out = shipped.translate(sentence, beam_size=5, protect_names=True)
    assert "Alexander" in out and "Toronto" in out
    # Sentences without a rare name translate exactly as without the option.
    plain = ["I am cold.", "Tom lives in Paris."]
    assert shipped.translate(plain, protect_names=True) == shipped.translate(plain)


def test_cli_protect_names(shipped, capsys):
    from keras_seq2seq.cli import main

    main(["translate", "--model", str(SHIPPED), "--beam-size", "1", "--protect-names",
          "Have you ever been to Winnipeg?"])
    assert "Winnipeg" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["translate", "--server", "http://localhost:1", "--protect-names", "Hello."])
    assert "--protect-names" in capsys.readouterr().err
