"""Training a user can rely on: seeds, schedules, early stopping, validation
BLEU in TensorBoard, resuming after kill -9, clear checkpoint errors."""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import REPO_ROOT, TINY_PAIRS, tiny_config, write_tsv
from keras_seq2seq import load
from keras_seq2seq.cli import main
from keras_seq2seq.errors import TrainingInterrupted
from keras_seq2seq.training import CheckpointError, TrainingConfig, step_decay, train

VALIDATION = [("I am tired.", "Je suis fatigué."), ("Thank you very much.", "Merci beaucoup."),
              ("Where is he?", "Où est-il ?")]


@pytest.mark.slow  # the default run has tests/test_training_config.py's repeated run
def test_same_seed_same_weights_on_cpu(tmp_path):
    runs = {}
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        translator, _ = train(
            TrainingConfig.create(str(tmp_path / name), tiny_config(dropout=0.1), epochs=3,
                                  seed=seed, backup=False, bleu_sample=0),
            train_pairs=TINY_PAIRS, verbose=0)
        runs[name] = translator.model.get_weights()
    for a, b in zip(runs["a"], runs["b"]):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in zip(runs["a"], runs["c"]))


def test_step_schedule_and_validation_bleu_in_tensorboard(tmp_path):
    assert [step_decay(1.0, 3, 0.5)(e) for e in range(5)] == [1.0, 1.0, 0.5, 0.25, 0.125]
    out = tmp_path / "run"
    _, history = train(
        TrainingConfig.create(str(out), tiny_config(), epochs=4, learning_rate=0.01,
                              lr_schedule="step", lr_decay_start=3, lr_decay=0.5),
        train_pairs=TINY_PAIRS, validation_pairs=VALIDATION, verbose=0)
    np.testing.assert_allclose(history.history["learning_rate"], [0.01, 0.01, 0.005, 0.0025])
    bleu = history.history["val_bleu"]
    assert len(bleu) == 4 and all(0.0 <= b <= 100.0 for b in bleu)
    tags = set()
    for path in glob.glob(str(out / "logs" / "validation" / "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(v.tag for v in event.summary.value)
    assert {"epoch_bleu", "epoch_loss"} <= tags
    with pytest.raises(ValueError, match="lr_schedule"):
        train(
            TrainingConfig.create(str(tmp_path / "x"), tiny_config(), lr_schedule="cosine"),
            train_pairs=TINY_PAIRS)


def test_plateau_and_early_stopping(tmp_path):
    # The validation sentences share nothing with training: once the tiny
    # corpus is learned by heart, validation loss only rises.
    _, history = train(
        TrainingConfig.create(str(tmp_path / "run"), tiny_config(), epochs=200, learning_rate=0.02,
                              lr_schedule="plateau", patience=2, bleu_sample=0),
        train_pairs=TINY_PAIRS, validation_pairs=VALIDATION, verbose=0)
    epochs = len(history.history["loss"])
    assert epochs < 200
    val = history.history["val_loss"]
    assert min(val[-2:]) >= min(val)  # stopped after epochs without improvement
    assert history.history["learning_rate"][-1] < 0.02  # the plateau schedule cut it
    with pytest.raises(ValueError, match="needs validation data"):
        train(
            TrainingConfig.create(str(tmp_path / "x"), tiny_config(), patience=2),
            train_pairs=TINY_PAIRS)


def _backup_epoch(out):
    try:
        with open(os.path.join(out, "backup", "training_metadata.json")) as f:
            return json.load(f)["epoch"]
    except (OSError, ValueError, KeyError):
        return -1


# 20 s, behind the slow marker: the default run kills a training with -9 in
# the middle of an epoch and resumes it in
# test_a_resumed_run_keeps_the_best_epoch_and_the_whole_history[True].
@pytest.mark.slow
def test_kill_9_mid_training_then_the_same_command_resumes(tmp_path):
    # Enough epochs that the run is still going when the backup of epoch 3
    # appears (the first epochs include tracing); the rest run after the resume.
    epochs = 24
    pairs = write_tsv(tmp_path / "pairs.tsv", TINY_PAIRS)
    out = str(tmp_path / "run")
    command = [sys.executable, "-m", "keras_seq2seq.cli", "train", "--pairs", pairs,
               "--architecture", "seed_toy", "--units", "32", "--embedding-dim", "16",
               "--validation-fraction", "0", "--epochs", str(epochs), "--batch-size", "4",
               "--backup-every", "2", "--out", out]
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while _backup_epoch(out) < 3 and time.time() < deadline and first.poll() is None:
        time.sleep(0.2)
    assert first.poll() is None, "the run ended before it could be killed"
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    killed_at = _backup_epoch(out)
    assert killed_at >= 3
    assert not os.path.exists(os.path.join(out, "config.json"))  # it never finished

    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Resuming from the backup" in second.stderr
    record = json.loads(open(os.path.join(out, "config.json")).read())["metadata"]
    assert record["resumed_after_epoch"] >= killed_at
    assert record["epochs_run"] == epochs  # the whole run, before and after the resume
    assert len(record["history"]["loss"]) == epochs
    # The backup is removed once training has finished; the model works.
    assert not os.path.exists(os.path.join(out, "backup", "latest.weights.h5"))
    assert isinstance(load(out).translate("Thank you."), str)


def _validated_command(tmp_path, out, *extra):
    pairs = write_tsv(tmp_path / "pairs.tsv", TINY_PAIRS)
    (tmp_path / "val.en").write_text("".join(s + "\n" for s, _ in VALIDATION), encoding="utf-8")
    (tmp_path / "val.fr").write_text("".join(t + "\n" for _, t in VALIDATION), encoding="utf-8")
    # Validation shares nothing with training: its loss falls, then rises
    # once the tiny corpus is learned by heart, so the best epoch is early.
    return [sys.executable, "-m", "keras_seq2seq.cli", "train", "--pairs", pairs,
            "--validation-source", str(tmp_path / "val.en"),
            "--validation-target", str(tmp_path / "val.fr"), "--architecture", "seed_toy",
            "--units", "32", "--embedding-dim", "16", "--epochs", "10", "--batch-size", "4",
            "--learning-rate", "0.02", "--lr-schedule", "plateau", "--bleu-sample", "0",
            "--out", str(out), *extra]


def _record(out):
    with open(os.path.join(out, "config.json")) as f:
        return json.load(f)["metadata"]


def _weights(path):
    import h5py

    arrays = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, item: arrays.append((name, item[()]))
                     if isinstance(item, h5py.Dataset) and name.startswith("layers") else None)
    return arrays


def _kill_after(command, out, epoch, sig=signal.SIGKILL, mid_epoch=False):
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    # The child gets the default Ctrl-C behaviour, as from a shell: a
    # process inherits an *ignored* SIGINT, and something earlier in a test
    # worker can leave it ignored.
    run = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 300
    while time.time() < deadline and run.poll() is None:
        metadata = os.path.join(out, "backup", "training_metadata.json")
        try:
            with open(metadata) as f:
                saved = json.load(f)
        except (OSError, ValueError):
            saved = {"epoch": -1, "batch": 0}
        if saved["epoch"] >= epoch and (not mid_epoch or saved.get("batch", 0) > 0):
            break
        time.sleep(0.05)
    assert run.poll() is None, "the run ended before it could be stopped"
    os.kill(run.pid, sig)
    _, stderr = run.communicate(timeout=120)
    return run.returncode, stderr


@pytest.fixture(scope="module")
def uninterrupted_history(tmp_path_factory):
    """The history of the run both resumed runs below are compared with
    (backing up every batch writes files; it changes no number)."""
    tmp_path = tmp_path_factory.mktemp("uninterrupted")
    whole = tmp_path / "whole"
    assert subprocess.run(_validated_command(tmp_path, whole), timeout=600,
                          capture_output=True).returncode == 0
    return _record(whole)["history"]


# The epoch-end variant (40 s) is behind the slow marker to keep the default
# run under 10 minutes; the Ctrl-C test resumes from an epoch-end backup.
@pytest.mark.parametrize("mid_epoch", [pytest.param(False, marks=pytest.mark.slow), True])
def test_a_resumed_run_keeps_the_best_epoch_and_the_whole_history(tmp_path, mid_epoch,
                                                                  uninterrupted_history):
    extra = ("--backup-every", "1") if mid_epoch else ()
    reference = uninterrupted_history
    best_epoch = int(np.argmin(reference["val_loss"])) + 1
    assert best_epoch <= 6, reference["val_loss"]  # the kill comes after it

    out = tmp_path / "killed"
    command = _validated_command(tmp_path, out, *extra)
    _kill_after(command, str(out), best_epoch + 2, mid_epoch=mid_epoch)
    resumed = subprocess.run(command, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)),
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0 and "Resuming from the backup" in resumed.stderr
    record = _record(out)
    resumed_after = record["resumed_after_epoch"]
    assert resumed_after >= best_epoch + 1
    history = record["history"]
    assert len(history["val_loss"]) == record["epochs_run"] == 10
    with open(out / "history.json") as f:
        assert json.load(f) == history
    # Up to the resume, the same run as the uninterrupted one.
    np.testing.assert_allclose(history["val_loss"][:resumed_after],
                               reference["val_loss"][:resumed_after], rtol=1e-6)
    # The weights kept (and shipped) are the best epoch's of the whole run,
    # not the first epoch after the resume.
    best = int(np.argmin(history["val_loss"])) + 1
    assert best == best_epoch
    kept = _weights(out / "checkpoints" / "best.weights.h5")
    for (_, a), (_, b) in zip(kept, _weights(out / "checkpoints" / f"epoch_{best:03d}.weights.h5")):
        np.testing.assert_array_equal(a, b)
    for (_, a), (_, b) in zip(_weights(out / "model.weights.h5"), kept):
        np.testing.assert_array_equal(a, b)


# The default run has the in-process Ctrl-C test below and the resumed-run test above.
@pytest.mark.slow
def test_ctrl_c_saves_a_backup_and_the_same_command_resumes(tmp_path):
    out = tmp_path / "run"
    command = _validated_command(tmp_path, out)
    code, stderr = _kill_after(command, str(out), 2, sig=signal.SIGINT)
    assert code == 130, (signal.getsignal(signal.SIGINT), stderr[-2000:])
    assert "Stopping after this step" in stderr
    assert "Run the same command again to resume" in stderr and "Traceback" not in stderr
    assert os.path.exists(out / "backup" / "latest.weights.h5")
    resumed = subprocess.run(command, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)),
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0 and "Resuming from the backup" in resumed.stderr
    assert len(_record(out)["history"]["loss"]) == 10


def test_ctrl_c_stops_between_steps_with_a_backup_and_restores_the_handler(tmp_path):
    """The signal arrives in the middle of an epoch, from inside `fit`; the
    run stops at the next step boundary (not wherever Python happened to
    be), writes the backup and raises TrainingInterrupted."""

    class CtrlC(keras.callbacks.Callback):
        ended = []

        def on_train_batch_begin(self, batch, logs=None):
            if batch == 1:
                os.kill(os.getpid(), signal.SIGINT)

        def on_train_batch_end(self, batch, logs=None):
            self.ended.append(batch)

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        out = tmp_path / "run"
        with pytest.raises(TrainingInterrupted, match="Run the same command again"):
            train(
                TrainingConfig.create(str(out), tiny_config(), epochs=3, batch_size=4,
                                      bleu_sample=0),
                train_pairs=TINY_PAIRS, verbose=0, callbacks=[CtrlC()])
        assert CtrlC.ended == [0, 1]  # the step that was running finished
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        with open(out / "backup" / "training_metadata.json") as f:
            assert json.load(f)["epoch"] == 0  # the cut epoch is replayed
        assert os.path.exists(out / "backup" / "latest.weights.h5")
        # The same call resumes and finishes.
        _, history = train(
            TrainingConfig.create(str(out), tiny_config(), epochs=3, batch_size=4, bleu_sample=0),
            train_pairs=TINY_PAIRS, verbose=0)
        assert len(history.history["loss"]) == 3
        assert not os.path.exists(out / "backup")
    finally:
        signal.signal(signal.SIGINT, previous)


def test_unreadable_backup_is_a_clear_error_naming_the_file(tmp_path, capsys):
    out = tmp_path / "run"
    (out / "backup").mkdir(parents=True)
    (out / "backup" / "latest.weights.h5").write_bytes(b"not an hdf5 file")
    (out / "backup" / "training_metadata.json").write_text('{"epoch": 3}')
    with pytest.raises(CheckpointError, match="latest.weights.h5"):
        train(
            TrainingConfig.create(str(out), tiny_config(), epochs=1),
            train_pairs=TINY_PAIRS, verbose=0)
    pairs = write_tsv(tmp_path / "pairs.tsv", TINY_PAIRS)
    assert main(["train", "--pairs", pairs, "--architecture", "seed_toy", "--out", str(out)]) == 1
    assert "latest.weights.h5" in capsys.readouterr().err
    (out / "backup" / "latest.weights.h5").unlink()
    with pytest.raises(CheckpointError, match="is missing"):
        train(
            TrainingConfig.create(str(out), tiny_config(), epochs=1),
            train_pairs=TINY_PAIRS, verbose=0)


def test_a_backup_write_cut_by_a_kill_leaves_the_last_complete_backup(tmp_path):
    from keras_seq2seq.training.callbacks import AtomicBackupAndRestore

    def small_model():
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])

    model = small_model()
    backup = tmp_path / "backup"
    callback = AtomicBackupAndRestore(str(backup), double_checkpoint=True)
    callback.set_model(model)
    callback.on_epoch_end(0)  # a complete backup after epoch 1
    saved = [w.copy() for w in model.get_weights()]
    model.set_weights([w + 1 for w in saved])

    def killed_while_writing(path, overwrite=True):
        with open(path, "wb") as f:
            f.write(b"\x89HDF\r\n\x1a\n the first bytes of a weights file")
        raise KeyboardInterrupt  # the process dies here

    model.save_weights = killed_while_writing
    with pytest.raises(KeyboardInterrupt):
        callback.on_epoch_end(1)
    # The backup is still epoch 1's, whole: its files were never opened for writing.
    assert json.loads((backup / "training_metadata.json").read_text())["epoch"] == 1
    restored = small_model()
    restored.load_weights(backup / "latest.weights.h5")
    for a, b in zip(restored.get_weights(), saved, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_backup_within_the_first_epoch_after_a_resume_keeps_the_epoch(tmp_path):
    from keras_seq2seq.training.callbacks import AtomicBackupAndRestore

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    backup = tmp_path / "backup"
    first = AtomicBackupAndRestore(str(backup), save_freq=2)
    first.set_model(model)
    for epoch in range(3):
        first.on_epoch_end(epoch)
    first.save()  # a backup after epoch 3
    # The resumed run: the backup restored, then a batch backup within epoch 4.
    resumed = AtomicBackupAndRestore(str(backup), save_freq=2)
    resumed.set_model(model)
    resumed.on_train_begin()
    assert model._initial_epoch == 3
    resumed.on_train_batch_end(0)
    resumed.on_train_batch_end(1)
    metadata = json.loads((backup / "training_metadata.json").read_text())
    # Cut here, the run resumes after epoch 3 again, not from the start.
    assert metadata == {"epoch": 3, "batch": 1}


# 64 s: behind the slow marker to keep the default run under 10 minutes.
@pytest.mark.slow
def test_a_backup_cut_while_written_falls_back_to_the_previous_copy(tmp_path, caplog):
    out = tmp_path / "run"
    # A real backup: train with one every batch and keep it (the process
    # "dies" before the end, so simulate that by copying it mid-way).
    keep = tmp_path / "kept"

    class CopyBackup(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                shutil.copytree(out / "backup", keep)

    train(
        TrainingConfig.create(str(out), tiny_config(), epochs=4, bleu_sample=0),
        train_pairs=TINY_PAIRS, verbose=0, callbacks=[CopyBackup()])
    shutil.rmtree(out)
    shutil.copytree(keep, out / "backup")
    backup = out / "backup"
    assert (backup / "latest.weights.h5.bkp").exists()
    # The latest file is cut in the middle, as a kill -9 during the write does.
    data = (backup / "latest.weights.h5").read_bytes()
    (backup / "latest.weights.h5").write_bytes(data[: len(data) // 2])
    previous = json.loads((backup / "training_metadata.json.bkp").read_text())["epoch"]
    translator, history = train(
        TrainingConfig.create(str(out), tiny_config(), epochs=4, bleu_sample=0),
        train_pairs=TINY_PAIRS, verbose=0)
    assert "resuming from the previous one" in caplog.text
    assert translator.metadata["resumed_after_epoch"] == previous
    # The history covers the whole run: the epochs before the resume too.
    assert len(history.history["loss"]) == 4


def test_output_directory_that_cannot_be_created_fails_before_training(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    started = time.time()
    with pytest.raises(OSError, match="Cannot write to the output directory"):
        train(
            TrainingConfig.create(str(blocker / "run"), tiny_config(), epochs=1),
            train_pairs=TINY_PAIRS)
    assert time.time() - started < 5  # before vocabularies or a model are built


def test_not_enough_disk_space_is_a_clear_error(tmp_path):
    import shutil

    from keras_seq2seq.training.trainer import check_free_space

    free = shutil.disk_usage(tmp_path).free
    check_free_space(str(tmp_path), free // 2)
    with pytest.raises(OSError, match="Not enough disk space"):
        check_free_space(str(tmp_path), free * 2)


def test_mixed_precision_training_keeps_float32_weights_and_logits(tmp_path):
    import keras

    translator, history = train(
        TrainingConfig.create(str(tmp_path / "run"), tiny_config(), epochs=3, learning_rate=0.01,
                              bleu_sample=0, mixed_precision="mixed_bfloat16"),
        train_pairs=TINY_PAIRS, verbose=0)
    assert keras.config.dtype_policy().name == "float32"  # restored afterwards
    layer = translator.model.get_layer("decoder_rnn_0")
    assert layer.dtype_policy.name == "mixed_bfloat16" and layer.compute_dtype == "bfloat16"
    assert translator.model.get_layer("output_projection").compute_dtype == "float32"
    assert all(w.dtype == "float32" for w in translator.model.weights)
    losses = history.history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    # The saved model loads and translates under the default float32 policy.
    assert isinstance(load(str(tmp_path / "run")).translate("Thank you."), str)


def test_learning_rate_callbacks_shared_by_the_trainers():
    from keras_seq2seq.training.callbacks import learning_rate_callbacks

    assert learning_rate_callbacks("constant", 1e-3, True) == []
    (plateau,) = learning_rate_callbacks("plateau", 1e-3, True, plateau_patience=3)
    assert isinstance(plateau, keras.callbacks.ReduceLROnPlateau)
    assert (plateau.monitor, plateau.patience, plateau.factor) == ("val_loss", 3, 0.5)
    assert plateau.min_lr == pytest.approx(1e-3 / 64)
    (plateau,) = learning_rate_callbacks("plateau", 1e-3, False)
    assert (plateau.monitor, plateau.patience) == ("loss", 1)
    step, stop = learning_rate_callbacks("step", 1.0, True, 3, 0.5, early_stopping_patience=2)
    assert step.schedule(3) == 0.25 and stop.patience == 2
    with pytest.raises(ValueError, match="lr_schedule"):
        learning_rate_callbacks("cosine", 1e-3, True)


def test_the_training_commands_keep_large_allocations_on_glibc():
    import platform


    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt is glibc's; elsewhere keep_large_allocations does nothing")
    # In a fresh process: glibc takes both thresholds.
    result = subprocess.run([sys.executable, "-c",
                             "from keras_seq2seq.training.allocator import "
                             "keep_large_allocations as k; print(k())"],
                            capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
    assert result.stdout.strip() == "True", result.stderr[-2000:]


def test_the_training_commands_ask_tensorflow_for_its_bfc_allocator(monkeypatch):
    import tensorflow  # noqa: F401  (imported already: nothing changes)

    from keras_seq2seq.training.allocator import use_bfc_allocator

    # After TensorFlow is imported, the variable is left as it is and the
    # answer says whether it holds.
    monkeypatch.delenv("TF_CPU_ALLOCATOR_USE_BFC", raising=False)
    assert use_bfc_allocator() is False and "TF_CPU_ALLOCATOR_USE_BFC" not in os.environ
    monkeypatch.setenv("TF_CPU_ALLOCATOR_USE_BFC", "1")
    assert use_bfc_allocator() is True
    # Before: it is set, in a fresh process (importing only the allocator).
    code = ("import os; from keras_seq2seq.training.allocator import use_bfc_allocator as u; "
            "print(u(), os.environ.get('TF_CPU_ALLOCATOR_USE_BFC'))")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPU_ALLOCATOR_USE_BFC"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, env=dict(env, PYTHONPATH=str(REPO_ROOT)))
    assert result.stdout.strip() == "True true", result.stderr[-2000:]
