"""TFLite export: builtin ops only, LiteRT parity with the Keras model."""

import contextlib
import io
import os

import numpy as np
import pytest
import tensorflow as tf

from conftest import TINY_PAIRS, shipped_model_and_validation, tiny_config
from keras_seq2seq.cli import main
from keras_seq2seq.export.runner import TFLiteTranslator
from keras_seq2seq.export.tflite import TFLiteExportError, export_tflite

pytest.importorskip("ai_edge_litert")


def _ops(path):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        tf.lite.experimental.Analyzer.analyze(model_path=path)
    text = buffer.getvalue()
    # Lines read "  Op#3 FULLY_CONNECTED(T#1, T#2) -> [T#4]".
    ops = {line.split()[1].split("(")[0] for line in text.splitlines()
           if line.strip().startswith("Op#")}
    return text, ops


@pytest.fixture(scope="module")
def exported(trained_translator, tmp_path_factory):
    translator, _, _ = trained_translator
    out = tmp_path_factory.mktemp("tflite")
    path = export_tflite(translator, str(out), max_source_tokens=12)
    return translator, path, str(out)


def test_builtin_ops_only_and_signatures(exported):
    _, path, _ = exported
    text, ops = _ops(path)
    assert "WHILE" in ops  # the encoder's own loop
    assert not [op for op in ops if op.startswith("Flex") or op in ("CUSTOM", "DELEGATE")]
    assert not {"VAR_HANDLE", "READ_VARIABLE"} & ops  # weights are constants
    assert "TensorList" not in text
    from ai_edge_litert.interpreter import Interpreter

    signatures = Interpreter(model_path=path).get_signature_list()
    assert sorted(signatures) == ["decode_step", "encode", "greedy"]
    assert signatures["encode"]["inputs"] == ["encoder_tokens"]


def test_encode_and_decode_step_match_keras(exported):
    translator, path, _ = exported
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path)
    tokens = np.zeros((1, 12), np.int32)
    tokens[0, :4] = [7, 6, 5, 4]
    lite = interpreter.get_signature_runner("encode")(encoder_tokens=tokens)
    keras_states = translator.encoder_model(tf.constant(tokens[:, :4]))
    for name, expected in zip(["state_0_0", "state_0_1"], keras_states):
        np.testing.assert_allclose(lite[name], expected, atol=1e-5)
    step = interpreter.get_signature_runner("decode_step")
    out = step(token=np.array([2, 9], np.int32), **{k: np.repeat(v, 2, 0) for k, v in lite.items()})
    logits, *_ = translator.decoder_step_model(
        [tf.constant([2, 9]), *[tf.repeat(s, 2, 0) for s in keras_states]])
    np.testing.assert_allclose(out["logits"], logits, atol=1e-4)


def test_runner_translations_equal_keras_greedy_and_beam(exported):
    translator, _, directory = exported
    runner = TFLiteTranslator(directory)
    sources = [s for s, _ in TINY_PAIRS]
    assert runner.translate(sources) == translator.translate(sources)
    assert runner.translate(sources[:4], beam_size=3) == translator.translate(sources[:4],
                                                                               beam_size=3)


def test_runner_survives_any_string_and_truncates_long_input(exported):
    translator, _, directory = exported
    runner = TFLiteTranslator(directory)
    nasty = ["", "  ", "😀" * 40, "a\x00b\x1b[0m", b"\xff\xfe", "Nice " * 5000, "Thank you."]
    out = runner.translate(nasty)
    assert len(out) == len(nasty) and out[:2] == ["", ""]
    assert out[-1] == translator.translate("Thank you.")
    settings = runner.decoding
    parts = -(-settings.max_input_tokens // runner.long_sentence_limit(settings))
    assert all(len(t.split()) <= parts * settings.max_output_tokens for t in out)
    # Nothing silently dropped: a sentence over max_source_tokens is
    # translated in parts that fit (text/long_sentences.py).
    long = " ".join(["cold"] * 30)
    limit = runner.long_sentence_limit(settings)
    assert limit <= 12
    chunks = [" ".join(["cold"] * n) for n in (limit,) * (30 // limit) + (30 % limit,) if n]
    assert runner.translate(long) == " ".join(runner.translate(chunks))


@pytest.mark.parametrize("quantize", ["float16", "dynamic-int8"])
def test_quantized_exports_are_smaller_and_run(exported, tmp_path, quantize):
    translator, path, _ = exported
    quantized = export_tflite(translator, str(tmp_path), quantize=quantize, max_source_tokens=12)
    ratio = os.path.getsize(quantized) / os.path.getsize(path)
    # A tiny model's graph is a large share of its file; the real model's
    # ratios are in benchmarks/RESULTS.md.
    assert ratio < (0.7 if quantize == "float16" else 0.55), ratio
    _, ops = _ops(quantized)
    assert not [op for op in ops if op.startswith("Flex") or op == "CUSTOM"]
    runner = TFLiteTranslator(str(tmp_path))
    sources = [s for s, _ in TINY_PAIRS]
    same = sum(a == b for a, b in zip(runner.translate(sources), translator.translate(sources)))
    assert same >= len(sources) - 2


# LSTM with Luong attention is the shipped model's kind, exported in the default run by
# tests/test_cli.py (three formats) and tests/test_web.py; so only the GRU runs by default.
@pytest.mark.parametrize("cell_type, attention", [
    pytest.param("lstm", "luong", marks=pytest.mark.slow), ("gru", "none")])
def test_attention_and_gru_models_export(tmp_path, cell_type, attention):
    from keras_seq2seq.training import TrainingConfig, train

    config = tiny_config(attention=attention, num_layers=2, cell_type=cell_type)
    translator, _ = train(
        TrainingConfig.create(str(tmp_path / "m"), config, epochs=3),
        train_pairs=TINY_PAIRS, verbose=0)
    export_tflite(translator, str(tmp_path / "lite"), max_source_tokens=10)
    runner = TFLiteTranslator(str(tmp_path / "lite"))
    sources = [s for s, _ in TINY_PAIRS[:5]]
    assert runner.translate(sources) == translator.translate(sources)
    assert runner.translate(sources, beam_size=2) == translator.translate(sources, beam_size=2)
    if cell_type == "gru":
        # The JavaScript runner (web/) on a word-level GRU without attention: the
        # same output as the Python LiteRT runner, greedy and beam 2 (issue 35).
        from test_web import node_translate

        for beam in (1, 2):
            js = node_translate(sources, model=str(tmp_path / "lite"),
                                extra=["--beam-size", str(beam)])
            assert [r["text"] for r in js] == runner.translate(sources, beam_size=beam)


def test_errors(exported, tmp_path):
    translator, _, _ = exported
    with pytest.raises(TFLiteExportError, match="quantize"):
        export_tflite(translator, str(tmp_path), quantize="int4")
    from keras_seq2seq.model_directory import ModelDirectoryError

    with pytest.raises(ModelDirectoryError, match="not found"):
        TFLiteTranslator(str(tmp_path / "none"))


def test_cli_export_and_translate(trained_translator, tmp_path, capsys):
    translator, _, directory = trained_translator
    out = tmp_path / "lite"
    assert main(["export", "--model", directory, "--format", "tflite", "--out", str(out),
                 "--quantize", "dynamic-int8"]) == 0
    assert "TFLite model written" in capsys.readouterr().out
    assert main(["translate", "--model", str(out / "model.tflite"), "Thank you."]) == 0
    assert capsys.readouterr().out.strip()


# 35 s on 500 real sentences: behind the slow marker to keep the default run
# under 10 minutes.
@pytest.mark.slow
def test_shipped_model_tflite_parity_on_500_real_sentences(tmp_path):
    translator, validation = shipped_model_and_validation(500)
    sources = [s for s, _ in validation]
    export_tflite(translator, str(tmp_path))
    runner = TFLiteTranslator(str(tmp_path))
    same = sum(a == b for a, b in zip(runner.translate(sources), translator.translate(sources)))
    assert same >= 0.98 * len(sources), same
