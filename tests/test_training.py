"""Integration tests: training on the article's example and on real pairs."""

import itertools

import keras
import pytest

from conftest import require_data
from keras_seq2seq.models import get_architecture
from keras_seq2seq.training import TrainingConfig, train


class FirstBatchLoss(keras.callbacks.Callback):
    """Records the loss of the very first training batch."""

    loss = None

    def on_train_batch_end(self, batch, logs=None):
        if self.loss is None:
            self.loss = float(logs["loss"])


def test_the_articles_single_pair_is_learned_exactly(tmp_path):
    """The article's walk-through: "nice to meet you" -> "ravi de vous rencontrer"."""
    config = get_architecture("seed_toy")  # 3-d embeddings, 16 LSTM cells
    translator, history = train(
        TrainingConfig.create(str(tmp_path / "toy"), config, epochs=10, batch_size=1,
                              learning_rate=3e-2),
        train_pairs=[("nice to meet you", "ravi de vous rencontrer")] * 20, verbose=0)
    assert translator.translate("nice to meet you") == "ravi de vous rencontrer"
    assert history.history["loss"][-1] < 0.05
    # The vocabulary is the article's: 4 special tokens and 4 words per side.
    assert translator.source_tokenizer.vocabulary_size == 8
    assert translator.target_tokenizer.vocabulary_size == 8


@pytest.mark.slow  # a training on the real corpus; the loss falls on tiny data in the default run
def test_loss_falls_on_2000_real_tatoeba_pairs(tmp_path):
    (path,) = require_data("tatoeba/eng-fra.tsv.gz")
    from keras_seq2seq.data import read_tsv_pairs

    # The file is sorted by length; take every 30th pair for a varied sample.
    pairs = list(itertools.islice(itertools.islice(read_tsv_pairs(path), 0, None, 30), 2000))
    assert len(pairs) == 2000
    config = get_architecture("cpu", units=128, embedding_dim=64, min_frequency=1, dropout=0.0)
    first_batch = FirstBatchLoss()
    _, history = train(
        TrainingConfig.create(str(tmp_path / "real"), config, epochs=5, batch_size=32,
                              learning_rate=3e-3),
        train_pairs=pairs, verbose=0, callbacks=[first_batch])
    losses = history.history["loss"]
    # From the untrained model (about ln(vocabulary size)) to the last epoch.
    assert losses[-1] <= 0.6 * first_batch.loss, (first_batch.loss, losses)
    assert losses == sorted(losses, reverse=True)


def test_time_limit_stops_after_a_whole_epoch(tmp_path):
    import json

    from conftest import TINY_PAIRS, tiny_config

    _, history = train(
        TrainingConfig.create(str(tmp_path / "run"), tiny_config(), epochs=50, max_minutes=1e-9),
        train_pairs=TINY_PAIRS, verbose=0)
    assert len(history.history["loss"]) == 1
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["metadata"]["epochs_run"] == 1 and record["metadata"]["epochs"] == 50


def test_time_limit_must_be_positive():
    import pytest

    from keras_seq2seq.training import TimeLimit

    with pytest.raises(ValueError, match="positive"):
        TimeLimit(0)


def test_optimizer_and_loss_come_from_python(tmp_path):
    import pytest

    from conftest import TINY_PAIRS, tiny_config

    class HalfLoss(keras.losses.Loss):
        """Half the token cross-entropy: the history shows it was used."""

        def call(self, y_true, y_pred):
            return 0.5 * keras.losses.sparse_categorical_crossentropy(
                y_true, y_pred, from_logits=True)

    keras.utils.set_random_seed(0)
    runs = {}
    for name, optimizer, loss in [("default", None, None),
                                  ("sgd", lambda: keras.optimizers.SGD(0.0), HalfLoss())]:
        translator, history = train(
            TrainingConfig.create(str(tmp_path / name), tiny_config(), epochs=2, bleu_sample=0,
                                  backup=False),
            train_pairs=TINY_PAIRS, verbose=0, optimizer=optimizer, loss=loss)
        runs[name] = (translator, history.history["loss"])
    assert isinstance(runs["sgd"][0].model.optimizer, keras.optimizers.SGD)
    assert isinstance(runs["default"][0].model.optimizer, keras.optimizers.Adam)
    # A zero learning rate: the loss does not move; and it is the half loss.
    sgd_losses = runs["sgd"][1]
    assert abs(sgd_losses[0] - sgd_losses[1]) < 1e-5
    assert sgd_losses[0] < 0.75 * runs["default"][1][0]
    with pytest.raises(ValueError, match="multi_worker"):
        train(
            TrainingConfig.create(str(tmp_path / "mw"), tiny_config(), strategy="multi_worker"),
            train_pairs=TINY_PAIRS, loss=HalfLoss())


def test_the_steps_of_train_compose_into_the_same_run(tmp_path):
    """train() is its public steps: the same seed through the steps gives the
    same weights as train() itself."""
    import numpy as np

    from conftest import TINY_PAIRS, tiny_config
    from keras_seq2seq import training

    config = tiny_config()
    translator, _ = train(
        TrainingConfig.create(str(tmp_path / "whole"), config, epochs=2, seed=5, bleu_sample=0,
                              backup=False),
        train_pairs=TINY_PAIRS, verbose=0)

    keras.utils.set_random_seed(5)
    src, tgt, stats = training.make_tokenizers(TINY_PAIRS, config)
    assert stats["pairs"] == len(TINY_PAIRS)
    train_ds, val_ds, count = training.make_datasets(
        TINY_PAIRS, None, config, src, tgt, training.OptimizationConfig(seed=5))
    assert val_ds is None and count == 0
    model = training.build_model(config, src, tgt)
    run = training.make_callbacks(model, config, src, tgt, str(tmp_path / "steps"),
                                  checkpoints=training.CheckpointConfig(backup=False))
    assert run.backup is None and run.best_path.endswith("best.weights.h5")
    history = training.fit(model, train_ds, None, 2, run, verbose=0)
    assert len(history.history["loss"]) == 2
    assert list(src.vocabulary) == list(translator.source_tokenizer.vocabulary)
    for a, b in zip(model.get_weights(), translator.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_fifty_steps_match_the_pipeline_before_issue_21():
    """Issue 21's equivalence test: training on the default pipeline (tf.data
    autotuning off, which made `model.fit` faster here) gives the same first
    and mean loss over 50 steps, and the same weights, as the pipeline before it
    (autotuning on), for the same seed, data and batch order."""
    import numpy as np

    from conftest import TINY_PAIRS, tiny_config
    from keras_seq2seq import training
    from keras_seq2seq.data.pipeline import make_dataset

    config = tiny_config(dropout=0.2)
    pairs = TINY_PAIRS * 8
    keras.utils.set_random_seed(0)
    source, target, _ = training.make_tokenizers(pairs, config)
    runs = []
    for autotune in (False, True):
        data = make_dataset(pairs, source, target, batch_size=8, shuffle=True, seed=3,
                            reverse_source=config.reverse_source, autotune=autotune)
        assert data.options().autotune.enabled is autotune
        keras.utils.set_random_seed(0)
        model = training.build_model(config, source, target,
                                     training.OptimizationConfig(learning_rate=1e-2))
        first = FirstBatchLoss()
        # 12 batches an epoch: the 50 steps cross four reshuffled epochs.
        history = model.fit(data.repeat(), steps_per_epoch=50, epochs=1, verbose=0,
                            callbacks=[first])
        runs.append((first.loss, history.history["loss"][-1], model.get_weights()))
    (first_new, loss_new, weights_new), (first_old, loss_old, weights_old) = runs
    assert loss_new < 0.8 * first_new  # it trained
    np.testing.assert_allclose(first_new, first_old, rtol=1e-6)
    np.testing.assert_allclose(loss_new, loss_old, rtol=1e-5)
    assert len(weights_new) == len(weights_old)
    for a, b in zip(weights_new, weights_old):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
