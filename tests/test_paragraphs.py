"""Several sentences in one input: every path splits, translates and joins the same way."""

import gzip
import json
import subprocess
import sys

import pytest
import tensorflow as tf

from keras_seq2seq.cli import main
from keras_seq2seq.export import export_saved_model

PARAGRAPHS = [
    "Thank you. I am cold.",
    "Nice to meet you!  Where are you?\nI am hungry.",
    "  It is raining...  Come here. ",
    "Mr. Smith is tall. He is tired.",
    "",
    "Good morning!",
]


def _by_sentence(translator, text):
    """The expected translation: each sentence alone, joined with the text's separators."""
    from keras_seq2seq.text import join_translations, split_sentences

    pieces = split_sentences(text)
    return join_translations(pieces, [translator.translate(s, split_sentences=False)
                                      for s in pieces[1::2]])


def test_keras_translator_translates_sentence_by_sentence(trained_translator):
    translator, _, _ = trained_translator
    out = translator.translate(PARAGRAPHS)
    assert out == [_by_sentence(translator, p) for p in PARAGRAPHS]
    assert out[0] == translator.translate("Thank you.") + " " + translator.translate("I am cold.")
    assert "\n" in out[1] and out[1].count("  ") >= 1
    assert out[2].startswith("  ") and out[2].endswith(" ")
    assert out[4] == ""
    # Off: each input is one sequence for the model, as it was trained.
    whole = translator.translate(PARAGRAPHS[0], split_sentences=False)
    states, lengths = translator.encode(tf.constant([PARAGRAPHS[0]]))
    assert int(lengths[0]) == 7  # the whole paragraph is one encoder input
    searched, _ = translator.translate_batch(tf.constant([PARAGRAPHS[0]]),
                                             translator.settings(split_sentences=False))
    assert whole == searched[0, 0].numpy().decode("utf-8")


def test_batching_sorted_by_length_keeps_the_input_order(trained_translator):
    translator, _, _ = trained_translator
    texts = ["Thank you.", "Nice to meet you. We are late. He is tall.", "I am cold."] * 7
    batched = translator.translate(texts, batch_size=4)
    assert batched == [translator.translate(t) for t in texts]


def test_saved_model_splits_in_the_graph_like_the_keras_model(trained_translator, tmp_path):
    translator, _, _ = trained_translator
    directory = export_saved_model(translator, str(tmp_path), name="p")
    script = (
        "import json, sys\nimport tensorflow as tf\n"
        "m = tf.saved_model.load(sys.argv[1]).signatures['serving_default']\n"
        "out = m(text=tf.constant(json.loads(sys.argv[2])))\n"
        "assert 'keras_seq2seq' not in sys.modules\n"
        "print(json.dumps({'t': [t.decode() for t in out['translation'].numpy()],"
        " 's': out['score'].numpy().tolist()}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, directory, json.dumps(PARAGRAPHS)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert served["t"] == translator.translate(PARAGRAPHS)
    # A paragraph's score is the sum of its sentences' scores.
    _, first = translator.translate_batch(tf.constant(["Thank you.", "I am cold."]),
                                          translator.settings())
    assert served["s"][0] == pytest.approx(float(tf.reduce_sum(first[:, 0])), abs=1e-4)
    # Exported without splitting: the whole text is one sequence, as in Keras.
    whole = export_saved_model(translator, str(tmp_path), name="w", split_sentences=False)
    out = tf.saved_model.load(whole).signatures["serving_default"](text=tf.constant(PARAGRAPHS))
    assert [t.decode() for t in out["translation"].numpy()] == translator.translate(
        PARAGRAPHS, split_sentences=False)


def test_tflite_runner_splits_the_same_way(trained_translator, tmp_path):
    pytest.importorskip("ai_edge_litert")
    from keras_seq2seq.export.runner import TFLiteTranslator
    from keras_seq2seq.export.tflite import export_tflite

    translator, _, _ = trained_translator
    export_tflite(translator, str(tmp_path), max_source_tokens=12)
    runner = TFLiteTranslator(str(tmp_path))
    assert runner.translate(PARAGRAPHS) == translator.translate(PARAGRAPHS)
    assert runner.translate(PARAGRAPHS[:2], no_repeat_ngram=2) == translator.translate(
        PARAGRAPHS[:2], no_repeat_ngram=2)


def test_cli_input_output_files_one_line_per_line(trained_translator, tmp_path, capsys):
    translator, _, directory = trained_translator
    lines = ["Thank you. I am cold.", "", "Where are you?", "   ", "Good morning!"] * 60
    source = tmp_path / "in.txt.gz"
    with gzip.open(source, "wt", encoding="utf-8") as f:
        f.write("\r\n".join(lines) + "\r\n")
    target = tmp_path / "out.txt"
    assert main(["translate", "--model", directory, "--input", str(source),
                 "--output", str(target), "--batch-size", "16",
                 "--no-repeat-ngram", "3"]) == 0
    captured = capsys.readouterr()
    written = target.read_text(encoding="utf-8").split("\n")
    assert written[-1] == "" and len(written) - 1 == len(lines)
    assert written[0] == translator.translate(lines[0], no_repeat_ngram=3)
    assert written[1] == "" and written[3].strip() == ""
    assert captured.out == ""  # translations went to the file
    # 60 x (2 + 1 + 1) sentences; empty and blank lines have none.
    assert "Translated 300 lines (240 sentences)" in captured.err
    assert "sentences/s" in captured.err
    # --no-split-sentences: the whole line is one sequence.
    assert main(["translate", "--model", directory, "--no-split-sentences", lines[0]]) == 0
    assert capsys.readouterr().out.strip() == translator.translate(
        lines[0], split_sentences=False)


def test_cli_refuses_an_unwritable_output_before_translating(trained_translator, tmp_path,
                                                             capsys):
    _, _, directory = trained_translator
    with pytest.raises(SystemExit):
        main(["translate", "--model", directory, "--output", str(tmp_path / "no" / "x.txt"),
              "Thank you."])
    assert "cannot write --output" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["translate", "--model", directory, "--input", "x", "Thank you."])
