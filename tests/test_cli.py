import json
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
        "train", "--pairs", pairs, "--preset", "seed_toy", "--units", "16", "--epochs", "2",
        "--batch-size", "8", "--validation-fraction", "0.25", "--seed", "5",
        "--no-reverse-source", "--out", str(out),
    ])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Validation BLEU" in printed and f"Model saved to {out}" in printed
    record = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert record["model"]["reverse_source"] is False and record["model"]["units"] == 16
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
    assert lines[0] == translator.translate("Thank you.") and lines[1] == ""


def test_data_options_are_checked(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--out", str(tmp_path / "r")])
    assert "exactly one of" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--source", "a.en", "--out", str(tmp_path / "r")])
    assert "go together" in capsys.readouterr().err


def test_errors_exit_with_a_message(tmp_path, capsys):
    assert main(["train", "--pairs", str(tmp_path / "missing.tsv"), "--out", str(tmp_path)]) == 1
    assert "missing.tsv" in capsys.readouterr().err
    bad = tmp_path / "bad.tsv"
    bad.write_text("no tabs at all\n", encoding="utf-8")
    assert main(["train", "--pairs", str(bad), "--out", str(tmp_path / "r"), "--epochs", "1"]) == 1
    assert "No valid" in capsys.readouterr().err
    assert main(["translate", "--model", str(tmp_path / "none"), "hi"]) == 1
    assert "Model directory not found" in capsys.readouterr().err


def test_parallel_files_with_max_examples(tmp_path, capsys):
    source = tmp_path / "train.en"
    target = tmp_path / "train.fr"
    source.write_text("".join(s + "\n" for s, _ in TINY_PAIRS), encoding="utf-8")
    target.write_text("".join(t + "\n" for _, t in TINY_PAIRS), encoding="utf-8")
    out = tmp_path / "run"
    code = main([
        "train", "--source", str(source), "--target", str(target), "--preset", "seed_toy",
        "--epochs", "1", "--max-examples", "6", "--validation-source", str(source),
        "--validation-target", str(target), "--out", str(out),
    ])
    assert code == 0
    record = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert record["metadata"]["train_pairs"] == 6
    assert record["metadata"]["validation_pairs"] == len(TINY_PAIRS)


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


def test_shipped_model_bleu_on_real_validation_split():
    from keras_seq2seq.evaluation import corpus_bleu

    translator, validation = shipped_model_and_validation(500)
    sources, references = zip(*validation)
    bleu = corpus_bleu(translator.translate(list(sources), batch_size=128), references)
    # The model card gives BLEU on the whole split; a 500-pair sample
    # scatters a few points around it.
    assert bleu.score > 20, str(bleu)


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
    assert report["pairs"] == len(TINY_PAIRS) and report["beam_size"] == 2


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
