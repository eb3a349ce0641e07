"""Fine-tuning a trained model on new data, and checkpoint averaging."""

import numpy as np
import pytest

from conftest import TINY_PAIRS, tiny_config, write_tsv
from keras_seq2seq import load
from keras_seq2seq.cli import main
from keras_seq2seq.training import TrainingConfig, train
from keras_seq2seq.training.finetune import (
    FineTuneError,
    average_checkpoints,
    epoch_checkpoints,
    merge_vocabulary,
)

# New-domain pairs: words the tiny model never saw.
NEW_PAIRS = [
    ("The red train is late.", "Le train rouge est en retard."),
    ("The blue train is early.", "Le train bleu est en avance."),
    ("A red bike is here.", "Un vélo rouge est ici."),
    ("The train is here.", "Le train est ici."),
    ("A blue bike is late.", "Un vélo bleu est en retard."),
] * 4


def _loss(translator, pairs):
    """Mean token cross-entropy of the references under teacher forcing."""
    from keras_seq2seq.evaluation import evaluate

    report, _ = evaluate(translator, pairs)
    return float(np.log(report["perplexity"]))


# The default run has each policy once: keep on word pieces (the shipped model's
# kind), merge on words; the other two run with -m slow.
@pytest.mark.parametrize("tokenizer,policy", [
    pytest.param("word", "keep", marks=pytest.mark.slow), ("word", "merge"),
    ("wordpiece", "keep"), pytest.param("wordpiece", "merge", marks=pytest.mark.slow)])
def test_fine_tuning_keeps_or_merges_the_vocabulary_and_learns_the_new_data(
        trained_translator, tmp_path, policy, tokenizer):
    if tokenizer == "word":
        base, _, base_dir = trained_translator
    else:
        base_dir = str(tmp_path / "base")
        base, _ = train(
            TrainingConfig.create(base_dir, tiny_config(tokenizer="wordpiece"), epochs=2,
                                  bleu_sample=0, backup=False),
            train_pairs=TINY_PAIRS * 10, verbose=0)
    before = _loss(base, NEW_PAIRS[:5])
    tuned, history = train(
        TrainingConfig.create(str(tmp_path / "tuned"), None, epochs=6, learning_rate=5e-3,
                              bleu_sample=0, backup=False, init_from=base_dir, vocab_update=policy),
        train_pairs=NEW_PAIRS * (10 if tokenizer == "wordpiece" else 1), verbose=0)
    old_source = base.source_tokenizer.vocabulary
    old_target = base.target_tokenizer.vocabulary
    new_source = tuned.source_tokenizer.vocabulary
    new_target = tuned.target_tokenizer.vocabulary
    # Old tokens keep their ids either way.
    assert new_source[:len(old_source)] == old_source
    assert new_target[:len(old_target)] == old_target
    if policy == "keep":
        assert (new_source, new_target) == (old_source, old_target)
    else:
        added = set(new_target[len(old_target):])
        assert len(new_target) > len(old_target) and len(new_source) > len(old_source)
        assert tokenizer == "wordpiece" or {"train", "rouge", "vélo"} <= added
        embedding = tuned.model.get_layer("decoder_embedding").get_weights()[0]
        assert embedding.shape[0] == len(new_target)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert _loss(tuned, NEW_PAIRS[:5]) < before
    record = load(str(tmp_path / "tuned")).metadata
    assert record["vocab_update"] == policy and record["init_from"].endswith(
        "base" if tokenizer == "wordpiece" else base_dir.rstrip("/").split("/")[-1])


def test_merged_rows_start_from_the_trained_weights(trained_translator, tmp_path):
    base, _, base_dir = trained_translator
    tuned, _ = train(
        TrainingConfig.create(str(tmp_path / "t"), None, epochs=1, learning_rate=1e-9,
                              bleu_sample=0, backup=False, init_from=base_dir,
                              vocab_update="merge"),
        train_pairs=NEW_PAIRS, verbose=0)
    old = base.model.get_layer("output_projection").get_weights()[0]
    new = tuned.model.get_layer("output_projection").get_weights()[0]
    # A learning rate of 1e-9 leaves the carried-over columns as they were.
    np.testing.assert_allclose(new[:, :old.shape[1]], old, atol=1e-5)
    assert merge_vocabulary(["a", "b"], ["c", "a", "d"]) == ["a", "b", "c", "d"]


def test_fine_tuning_refuses_another_language_pair_or_architecture(trained_translator,
                                                                   tmp_path, capsys):
    _, _, base_dir = trained_translator
    with pytest.raises(FineTuneError, match="en->fr; the new data is de->fr"):
        train(
            TrainingConfig.create(str(tmp_path / "x"), None, init_from=base_dir,
                                  source_language="de"),
            train_pairs=NEW_PAIRS, verbose=0)
    with pytest.raises(FineTuneError, match="tokenizer 'wordpiece'"):
        train(
            TrainingConfig.create(str(tmp_path / "x"), tiny_config(tokenizer="wordpiece"),
                                  init_from=base_dir),
            train_pairs=NEW_PAIRS, verbose=0)
    with pytest.raises(ValueError, match="vocab_update"):
        train(
            TrainingConfig.create(str(tmp_path / "x"), None, init_from=base_dir,
                                  vocab_update="grow"),
            train_pairs=NEW_PAIRS)
    pairs = write_tsv(tmp_path / "new.tsv", NEW_PAIRS)
    with pytest.raises(SystemExit):
        main(["train", "--pairs", pairs, "--init-from", base_dir, "--units", "64",
              "--out", str(tmp_path / "y")])
    assert "--init-from keeps the model's settings" in capsys.readouterr().err


def test_cli_fine_tunes_and_averages(trained_translator, tmp_path, capsys):
    _, _, base_dir = trained_translator
    pairs = write_tsv(tmp_path / "new.tsv", NEW_PAIRS)
    out = tmp_path / "tuned"
    assert main(["train", "--pairs", pairs, "--init-from", base_dir, "--vocab-update",
                 "merge", "--epochs", "3", "--validation-fraction", "0.2",
                 "--learning-rate", "5e-3", "--out", str(out)]) == 0
    checkpoints = epoch_checkpoints(str(out))
    assert len(checkpoints) == 3
    averaged = tmp_path / "avg"
    assert main(["average", "--run", str(out), "--last", "2", "--out", str(averaged)]) == 0
    assert "Averaged 2 checkpoints (epoch_002.weights.h5, epoch_003.weights.h5)" in \
        capsys.readouterr().out
    model = load(str(averaged))
    assert model.metadata["averaged_checkpoints"] == ["epoch_002.weights.h5",
                                                      "epoch_003.weights.h5"]
    # The mean of the two checkpoints, weight by weight.
    parts = []
    for path in checkpoints[1:]:
        one = load(str(out))
        one.model.load_weights(path)
        parts.append(one.model.get_weights())
    for got, a, b in zip(model.model.get_weights(), *parts):
        np.testing.assert_allclose(got, (a + b) / 2, rtol=1e-6, atol=1e-7)
    assert isinstance(model.translate("The red train is late."), str)
    with pytest.raises(ValueError, match="cannot average the last 9"):
        average_checkpoints(str(out), str(tmp_path / "z"), last=9)


def test_fine_tuning_with_another_seed_warns_that_the_held_out_pairs_differ(
        trained_translator, tmp_path, caplog):
    # The seed chooses the held-out sentences of a corpus: another seed than
    # the base model's (seed 1 here) validates on pairs the model trained on.
    _, _, base_dir = trained_translator
    pairs = write_tsv(tmp_path / "new.tsv", NEW_PAIRS)
    warned = {}
    for seed in (0, 1):
        caplog.clear()
        with caplog.at_level("WARNING", logger="keras_seq2seq"):
            train(TrainingConfig.create(str(tmp_path / f"s{seed}"), None, pairs=(pairs,),
                                        epochs=1, seed=seed, bleu_sample=0, backup=False,
                                        init_from=base_dir), verbose=0)
        warned[seed] = [r.getMessage() for r in caplog.records if "held-out" in r.getMessage()]
    assert not warned[1]
    assert len(warned[0]) == 1 and "pass --seed 1 to keep its split" in warned[0][0]
