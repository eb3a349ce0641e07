import json
import os
import subprocess
import sys

import pytest

from conftest import REPO_ROOT, TINY_PAIRS, shipped_model_and_validation, write_tsv
from keras_seq2seq.cli import main
from keras_seq2seq.constants import END_ID, START_ID


def test_train_then_translate(tmp_path, capsys):
    pairs = write_tsv(tmp_path / "pairs.tsv", TINY_PAIRS * 3)
    out = tmp_path / "run"
    code = main([
        "train", "--pairs", pairs, "--architecture", "seed_toy", "--units", "16", "--epochs", "2",
        "--batch-size", "8", "--validation-fraction", "0.25", "--seed", "5",
        "--no-reverse-source", "--embedding-dropout", "0.1", "--bidirectional-encoder",
        "--out", str(out),
    ])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Validation BLEU" in printed and f"Model saved to {out}" in printed
    record = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert record["model"]["reverse_source"] is False and record["model"]["units"] == 16
    assert record["model"]["embedding_dropout"] == 0.1
    assert record["model"]["bidirectional_encoder"] is True
    assert record["metadata"]["command"].startswith("keras-seq2seq train --pairs")
    assert "validation_bleu" in record["metadata"]
    assert (out / "checkpoints" / "epoch_002.weights.h5").exists()

    assert main(["translate", "--model", str(out), "Thank you.", "Good morning!"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2


def test_translate_reads_stdin_one_line_per_line(trained_translator):
    translator, _, directory = trained_translator
    stdin = "Thank you.\n\nI am cold.\n".encode() + b"\xff bad bytes\n"
    result = subprocess.run(
        [sys.executable, "-m", "keras_seq2seq.cli", "translate", "--model", directory],
        input=stdin, capture_output=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.decode("utf-8").split("\n")[:-1]
    assert len(lines) == 4
    # The model's stored settings (beam 5), on each line.
    assert lines[0] == translator.translate("Thank you.")
    assert lines[1] == ""


def test_ctrl_c_while_reading_stdin_exits_130_without_a_traceback(trained_translator,
                                                                 monkeypatch, capsys):
    _, _, directory = trained_translator

    class CtrlCWhileReading:
        """A terminal's stdin when Ctrl-C arrives during the read: the read
        raises KeyboardInterrupt."""

        class buffer:  # noqa: N801 - stands for sys.stdin.buffer
            @staticmethod
            def read(*args):
                raise KeyboardInterrupt

    monkeypatch.setattr(sys, "stdin", CtrlCWhileReading())
    assert main(["translate", "--model", directory]) == 130
    err = capsys.readouterr().err
    assert "keras-seq2seq: interrupted" in err and "Traceback" not in err


def test_data_options_are_checked(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--out", str(tmp_path / "r")])
    assert "give a corpus" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--source", "a.en", "--out", str(tmp_path / "r")])
    assert "go together" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--source", "a.en", "--target", "a.fr", "--source", "b.en",
              "--out", str(tmp_path / "r")])
    assert "2 source and 1 target files" in capsys.readouterr().err


def test_errors_exit_with_a_message(tmp_path, capsys):
    assert main(["train", "--pairs", str(tmp_path / "missing.tsv"), "--out", str(tmp_path)]) == 1
    assert "missing.tsv" in capsys.readouterr().err
    bad = tmp_path / "bad.tsv"
    bad.write_text("no tabs at all\n", encoding="utf-8")
    assert main(["train", "--pairs", str(bad), "--out", str(tmp_path / "r"), "--epochs", "1"]) == 1
    assert "No valid" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--pairs", str(bad), "--batch-tokens", "0", "--out", str(tmp_path / "r")])
    assert "batch_tokens must be a whole number >= 1" in capsys.readouterr().err
    assert main(["translate", "--model", str(tmp_path / "none"), "hi"]) == 1
    assert "Model directory not found" in capsys.readouterr().err


def test_parallel_files_with_max_examples(tmp_path, capsys):
    source = tmp_path / "train.en"
    target = tmp_path / "train.fr"
    source.write_text("".join(s + "\n" for s, _ in TINY_PAIRS), encoding="utf-8")
    target.write_text("".join(t + "\n" for _, t in TINY_PAIRS), encoding="utf-8")
    out = tmp_path / "run"
    code = main([
        "train", "--source", str(source), "--target", str(target), "--architecture", "seed_toy",
        "--epochs", "1", "--max-examples", "6", "--validation-source", str(source),
        "--validation-target", str(target), "--batch-tokens", "12", "--out", str(out),
    ])
    assert code == 0
    record = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert record["metadata"]["train_pairs"] == 6
    assert record["metadata"]["batch_tokens"] == 12
    assert record["metadata"]["validation_pairs"] == len(TINY_PAIRS)


def _write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def test_train_on_several_corpora_with_their_validation_sets(tmp_path):
    from keras_seq2seq.data import in_validation

    tsv_pairs = [(f"{s} number {i}", f"{t} numéro {i}") for i, (s, t) in enumerate(TINY_PAIRS * 4)]
    tsv = write_tsv(tmp_path / "pairs.tsv", tsv_pairs)
    aligned = [(f"{s} again", f"{t} encore") for s, t in TINY_PAIRS]
    source = _write_lines(tmp_path / "train.en", [s for s, _ in aligned])
    target = _write_lines(tmp_path / "train.fr", [t for _, t in aligned])
    val_source = _write_lines(tmp_path / "val.en", [s for s, _ in TINY_PAIRS[:3]])
    val_target = _write_lines(tmp_path / "val.fr", [t for _, t in TINY_PAIRS[:3]])
    common = ["train", "--pairs", tsv, "--source", source, "--target", target,
              "--architecture", "seed_toy", "--epochs", "1", "--bleu-sample", "0", "--seed", "3"]

    def record(out):
        return json.loads((out / "config.json").read_text(encoding="utf-8"))["metadata"]

    # The flags reach the library's split rules: validation files + a held-out
    # share of the TSV corpus; the aligned corpus stays whole.
    out = tmp_path / "with-files"
    assert main([*common, "--validation-source", val_source, "--validation-target",
                 val_target, "--validation-fraction", "0.3", "--out", str(out)]) == 0
    held_out = sum(in_validation(s, 0.3, seed=3) for s, _ in tsv_pairs)
    assert 0 < held_out < len(tsv_pairs)
    assert record(out)["train_pairs"] == len(tsv_pairs) - held_out + len(aligned)
    assert record(out)["validation_pairs"] == 3 + held_out

    # The other split rules (files alone, no files) are the library's:
    # tests/test_corpora.py checks them without training.


def test_export_keras_with_float16_weights(trained_translator, tmp_path, capsys):
    import h5py

    from keras_seq2seq import load

    translator, _, directory = trained_translator
    out = tmp_path / "half"
    assert main(["export", "--model", directory, "--format", "keras", "--quantize", "float16",
                 "--out", str(out)]) == 0
    assert "float16 weights" in capsys.readouterr().out
    with h5py.File(out / "model.weights.h5") as f:
        dtypes = set()
        f.visititems(lambda _, item: dtypes.add(str(item.dtype))
                     if isinstance(item, h5py.Dataset) else None)
    assert dtypes == {"float16"}
    full = (tmp_path / "full").as_posix()
    translator.save(full)
    half_size = (out / "model.weights.h5").stat().st_size
    full_size = (tmp_path / "full" / "model.weights.h5").stat().st_size
    assert half_size < 0.6 * full_size
    reloaded = load(str(out))
    assert all(w.dtype == "float32" for w in reloaded.model.weights)
    sources = ["Thank you.", "Good morning!", "I am cold."]
    assert reloaded.translate(sources) == translator.translate(sources)
    assert main(["export", "--model", directory, "--format", "keras", "--quantize",
                 "dynamic-int8", "--out", str(tmp_path / "x")]) == 1
    assert "--quantize none or float16" in capsys.readouterr().err


def test_shipped_model_translates():
    model = REPO_ROOT / "saved_models" / "en-fr"
    if not (model / "config.json").exists():
        pytest.skip("no shipped model in saved_models/en-fr")
    assert (model / "README.md").exists(), "the shipped model needs a model card"
    result = subprocess.run(
        [sys.executable, "-m", "keras_seq2seq.cli", "translate", "Nice to meet you.",
         "I am cold."],
        capture_output=True, text=True, timeout=300, cwd=str(REPO_ROOT),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all(lines)
    assert "froid" in lines[1]


def test_shipped_model_in_three_formats_under_60_mb():
    import tensorflow as tf

    from keras_seq2seq import load
    from keras_seq2seq.export.runner import TFLiteTranslator

    model = REPO_ROOT / "saved_models" / "en-fr"
    if not (model / "config.json").exists():
        pytest.skip("no shipped model in saved_models/en-fr")
    # TF Serving serves the highest version; the shipped model keeps one.
    versions = [d for d in (model / "tf_serving").iterdir() if d.name.isdigit()]
    assert len(versions) == 1, versions
    serving, lite = versions[0], model / "tflite"
    assert (serving / "saved_model.pb").exists() and (lite / "model.tflite").exists()
    total = sum(f.stat().st_size for f in model.rglob("*") if f.is_file())
    assert total <= 60e6, f"the shipped model takes {total / 1e6:.1f} MB"

    sources = ["Nice to meet you.", "I am cold.", "A man is riding a bicycle down the street.",
               "Hello. How are you?\nI am Alexander, from Toronto."]
    keras_model = load(str(model))
    expected = keras_model.translate(sources)
    # The shipped SavedModel serves the CLI's default search (the model card).
    served = tf.saved_model.load(str(serving)).signatures["serving_default"]
    translations = served(text=tf.constant(sources))["translation"].numpy()
    assert [t.decode("utf-8") for t in translations] == keras_model.translate(sources)
    assert "\n" in translations[-1].decode("utf-8")
    # int8 weights may change a word here and there; the sentence mostly stays.
    on_device = TFLiteTranslator(str(lite)).translate(sources)
    assert "froid" in on_device[1]
    assert sum(a == b for a, b in zip(on_device, expected)) >= 2


def test_shipped_model_bleu_on_real_validation_split():
    from keras_seq2seq.evaluation import corpus_bleu

    translator, validation = shipped_model_and_validation(500)
    sources, references = zip(*validation)
    # Greedy, as this floor was set (beam 5 is the stored default; evaluate
    # figures with it are in the model card, measured with the CLI).
    bleu = corpus_bleu(translator.translate(list(sources), batch_size=128, beam_size=1),
                       references)
    # The model card gives BLEU on the whole split; a 500-pair sample
    # scatters a few points around it.
    assert bleu.score > 20, str(bleu)


@pytest.mark.slow  # test_paragraphs and the card-examples test (a paragraph) cover it by default
def test_shipped_model_translates_paragraphs_as_well_as_their_sentences():
    """3-sentence paragraphs of validation sentences: within 1 BLEU of the same
    sentences one by one, and 3 sentences out."""
    from keras_seq2seq.evaluation import corpus_bleu
    from keras_seq2seq.text import split_sentences_batch

    translator, validation = shipped_model_and_validation(1500)
    seen, single = set(), []
    for (source, reference), pieces in zip(validation,
                                           split_sentences_batch([s for s, _ in validation])):
        if len(pieces) == 3 and len(source.split()) >= 4 and source not in seen:
            seen.add(source)
            single.append((source, reference))
    groups = [single[i : i + 3] for i in range(0, 180, 3)]
    assert len(groups) == 60 and all(len(g) == 3 for g in groups)
    references = [" ".join(r for _, r in g) for g in groups]
    alone = translator.translate([s for g in groups for s, _ in g], batch_size=128)
    one_by_one = [" ".join(alone[i : i + 3]) for i in range(0, len(alone), 3)]
    paragraphs = translator.translate([" ".join(s for s, _ in g) for g in groups])
    assert abs(corpus_bleu(paragraphs, references).score
               - corpus_bleu(one_by_one, references).score) <= 1.0
    assert sum(len(p) == 7 for p in split_sentences_batch(paragraphs)) >= 0.95 * len(groups)


def test_evaluate_reports_sacrebleu_chrf_and_perplexity(trained_translator, tmp_path, capsys):
    import sacrebleu

    translator, _, directory = trained_translator
    sources = [s for s, _ in TINY_PAIRS]
    references = [t for _, t in TINY_PAIRS]
    references[0] = "Enchanté."  # so the score is not simply 100
    (tmp_path / "test.en").write_text("".join(s + "\n" for s in sources), encoding="utf-8")
    (tmp_path / "test.fr").write_text("".join(r + "\n" for r in references), encoding="utf-8")
    hypotheses_path = tmp_path / "hyp.txt"
    code = main([
        "evaluate", "--model", directory, "--source", str(tmp_path / "test.en"),
        "--reference", str(tmp_path / "test.fr"), "--beam-size", "2", "--json",
        "--hypotheses", str(hypotheses_path),
    ])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    hypotheses = hypotheses_path.read_text(encoding="utf-8").splitlines()
    assert hypotheses == translator.translate(sources, beam_size=2)
    expected = sacrebleu.corpus_bleu(hypotheses, [references])
    assert report["bleu"] == pytest.approx(expected.score, abs=0.01)
    assert 0 < report["bleu"] < 100
    assert report["chrf"] == pytest.approx(
        sacrebleu.corpus_chrf(hypotheses, [references]).score, abs=0.01)
    assert "tok:13a" in report["bleu_signature"] and "case:mixed" in report["bleu_signature"]
    # A model that learned these pairs is far from uniform (the vocabulary size).
    assert 1.0 < report["perplexity"] < translator.target_tokenizer.vocabulary_size / 4
    assert report["perplexity_per"] == "word"
    assert report["pairs"] == len(TINY_PAIRS) and report["decoding"]["beam_size"] == 2
    assert report["unknown_words"] == sum(h.count("<unk>") for h in hypotheses)
    # The settings used are recorded: the model's own, --beam-size changed.
    assert report["decoding"] == translator.settings(beam_size=2).to_dict()


def test_evaluate_and_translate_with_an_unk_penalty(trained_translator, tmp_path, capsys):
    _, _, directory = trained_translator
    sources = [s for s, _ in TINY_PAIRS]
    (tmp_path / "test.en").write_text("".join(s + "\n" for s in sources), encoding="utf-8")
    (tmp_path / "test.fr").write_text("".join(t + "\n" for _, t in TINY_PAIRS),
                                      encoding="utf-8")
    reports = {}
    for penalty in ("-1000", "inf"):
        assert main([
            "evaluate", "--model", directory, "--source", str(tmp_path / "test.en"),
            "--reference", str(tmp_path / "test.fr"), "--json", "--unk-penalty", penalty,
            "--hypotheses", str(tmp_path / f"hyp{penalty}.txt"),
        ]) == 0
        reports[penalty] = json.loads(capsys.readouterr().out)
    # -1000: every written word is <unk>; inf: none is.
    assert reports["-1000"]["unknown_words"] >= len(sources)
    assert reports["-1000"]["bleu"] < 1
    assert reports["inf"]["unknown_words"] == 0 and reports["inf"]["bleu"] > 50
    assert main(["translate", "--model", directory, "--unk-penalty", "-1000",
                 "Thank you."]) == 0
    assert "<unk>" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["translate", "--server", "http://localhost:1", "--unk-penalty", "inf", "Hi."])
    assert "--unk-penalty" in capsys.readouterr().err
    # Every export carries the settings it was made with: TFLite too.
    assert main(["export", "--model", directory, "--format", "tflite", "--unk-penalty", "inf",
                 "--beam-size", "2", "--out", str(tmp_path / "x")]) == 0
    record = json.loads((tmp_path / "x" / "tflite_config.json").read_text(encoding="utf-8"))
    assert record["decoding"]["unk_penalty"] == "inf" and record["decoding"]["beam_size"] == 2
    from keras_seq2seq import load

    assert load(str(tmp_path / "x")).decoding.unk_penalty == float("inf")


def test_perplexity_matches_a_hand_computation(trained_translator):
    import math

    import numpy as np
    import tensorflow as tf

    from keras_seq2seq.evaluation import perplexity

    translator, _, _ = trained_translator
    pairs = TINY_PAIRS[:3]
    value, tokens = perplexity(translator, pairs, batch_size=2)
    # By hand, one pair at a time: -log p(reference token) summed, <end> included.
    nll, count = 0.0, 0
    for source, target in pairs:
        encoder, _ = translator.encoder_inputs(tf.constant([source]))
        ids = translator.target_tokenizer.encode(tf.constant([target])).to_list()[0]
        decoder = tf.constant([[START_ID] + ids], tf.int32)
        logits = translator.model({"encoder_tokens": encoder, "decoder_tokens": decoder},
                                  training=False)
        log_probs = tf.nn.log_softmax(logits[0]).numpy()
        targets = ids + [END_ID]
        nll -= float(np.sum(log_probs[np.arange(len(targets)), targets]))
        count += len(targets)
    assert tokens == count
    assert value == pytest.approx(math.exp(nll / count), rel=1e-4)


def test_perplexity_compiles_the_model_once_not_once_per_length(trained_translator):
    # Every batch of a corpus has its own padded length; a scoring step traced
    # once per shape would compile the model again for each, and again on each
    # call.
    import gc

    from keras_seq2seq.evaluation import metrics, perplexity

    translator, _, _ = trained_translator
    pairs = [("I am cold.", " ".join(["froid"] * k)) for k in range(1, 9)]
    value, tokens = perplexity(translator, pairs, batch_size=1)
    assert tokens == sum(k + 1 for k in range(1, 9)) and value > 1.0
    step = metrics._nll_function(translator.model)
    traces = step.experimental_get_tracing_count()
    assert traces <= 3
    assert perplexity(translator, pairs, batch_size=1) == (value, tokens)
    assert step.experimental_get_tracing_count() == traces
    # The cache does not keep a model alive.
    import weakref

    import keras

    model = keras.Sequential([keras.layers.Dense(2)])
    metrics._nll_function(model)
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None


def test_translate_with_beam_n_best_and_an_ensemble(trained_translator, capsys):
    translator, _, directory = trained_translator
    code = main(["translate", "--model", directory, "--model", directory, "--beam-size", "3",
                 "--n-best", "2", "Thank you.", "I am cold."])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["0", "0", "1", "1"]
    assert lines[0].split("\t")[2] == translator.translate("Thank you.", beam_size=3)
    assert main(["translate", "--model", directory, "--beam-size", "2", "--n-best", "3",
                 "x"]) == 1
    assert "n_best" in capsys.readouterr().err


def test_evaluate_on_the_validation_side_of_a_pairs_split(trained_translator, tmp_path, capsys):
    from keras_seq2seq.data import read_tsv_pairs, split_by_source

    _, _, directory = trained_translator
    path = write_tsv(tmp_path / "pairs.tsv", TINY_PAIRS * 2)
    code = main(["evaluate", "--model", directory, "--pairs", path, "--validation-fraction",
                 "0.4", "--seed", "3", "--json", "--hypotheses", str(tmp_path / "h.txt")])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    _, validation = split_by_source(read_tsv_pairs(path), 0.4, seed=3)
    assert report["pairs"] == len(list(validation)) > 0
    with pytest.raises(SystemExit):
        main(["evaluate", "--model", directory, "--pairs", path, "--source", path])


def test_evaluate_checks_its_output_path_first_and_writes_nothing_unasked(
        trained_translator, tmp_path, capsys, monkeypatch):
    import keras_seq2seq.evaluation as evaluation

    _, _, directory = trained_translator
    (tmp_path / "test.en").write_text("Thank you.\n", encoding="utf-8")
    (tmp_path / "test.fr").write_text("Merci.\n", encoding="utf-8")
    files = ["evaluate", "--model", directory, "--source", str(tmp_path / "test.en"),
             "--reference", str(tmp_path / "test.fr")]
    calls = []
    real = evaluation.evaluate
    monkeypatch.setattr(evaluation, "evaluate", lambda *a, **k: calls.append(1) or real(*a, **k))
    for bad, why in [(tmp_path / "no" / "dir" / "h.txt", "no directory"),
                     (tmp_path, "is a directory")]:
        with pytest.raises(SystemExit):
            main([*files, "--hypotheses", str(bad)])
        assert why in capsys.readouterr().err
    assert not calls  # refused before any translation
    monkeypatch.chdir(tmp_path)
    before = sorted(os.listdir(tmp_path))
    assert main(files) == 0
    assert "Hypotheses written" not in capsys.readouterr().out
    assert sorted(os.listdir(tmp_path)) == before and calls == [1]
