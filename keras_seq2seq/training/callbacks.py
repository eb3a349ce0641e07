"""Keras callbacks that Keras itself does not ship."""

import json
import logging
import os
import shutil
import signal
import sys
import threading
import time

import keras

from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.training.config import LR_SCHEDULES

logger = logging.getLogger("keras_seq2seq")


class TimeLimit(keras.callbacks.Callback):
    """Stop training once a wall-clock budget is spent.

    Keras has EarlyStopping on a metric but no time budget (TensorFlow
    Addons' TimeStopping was the usual one; that package is no longer
    maintained). The current epoch is finished, so the run ends with a whole
    epoch, its checkpoint and its validation numbers.

    Args:
        seconds: float. The budget, counted from the start of training.
    """

    def __init__(self, seconds):
        super().__init__()
        if seconds <= 0:
            raise ConfigurationError(f"The time limit must be positive, got {seconds} seconds.")
        self.seconds = seconds
        self.stopped_epoch = None

    def on_train_begin(self, logs=None):
        self._started = time.monotonic()

    def elapsed(self):
        return time.monotonic() - self._started

    def resume(self, elapsed):
        """Count `elapsed` seconds spent before a resume against the budget."""
        self._started = time.monotonic() - elapsed

    def on_epoch_end(self, epoch, logs=None):
        if self.elapsed() >= self.seconds:
            self.model.stop_training = True
            self.stopped_epoch = epoch + 1


class ValidationBLEU(keras.callbacks.Callback):
    """sacreBLEU of greedy translations of a fixed validation sample, each epoch.

    Keras computes validation loss but no decoding metric. The score goes
    into the epoch logs as `val_bleu`, so History records it and a
    TensorBoard callback placed after this one plots it (as `epoch_bleu`
    under validation).

    Args:
        make_translator: callable () -> Translator over the model being
            trained (its inference models share the training weights, so it
            is built once).
        pairs: list of (source, reference) strings, the fixed sample.
        batch_size: int. Defaults to 128.
    """

    def __init__(self, make_translator, pairs, batch_size=128):
        super().__init__()
        if not pairs:
            raise ConfigurationError("ValidationBLEU needs at least one (source, reference) pair.")
        self.make_translator = make_translator
        self.sources = [s for s, _ in pairs]
        self.references = [r for _, r in pairs]
        self.batch_size = batch_size
        self._translator = None

    def on_epoch_end(self, epoch, logs=None):
        from keras_seq2seq.evaluation.metrics import corpus_bleu

        if self._translator is None:
            self._translator = self.make_translator()
        # Greedy, whatever the model's decoding settings: a cheap trend line,
        # comparable from epoch to epoch and run to run (beam 5 costs 3-5x);
        # `evaluate` is where the model's own settings are scored.
        hypotheses = self._translator.translate(self.sources, batch_size=self.batch_size,
                                                beam_size=1)
        bleu = corpus_bleu(hypotheses, self.references).score
        if logs is not None:
            logs["val_bleu"] = bleu


def step_decay(learning_rate, start_epoch=5, factor=0.5):
    """Epoch -> learning rate for `keras.callbacks.LearningRateScheduler`:
    constant, then multiplied by `factor` each epoch from epoch `start_epoch`
    (1-based) on. Sutskever et al. trained 5 epochs at a fixed rate and then
    halved it every half epoch (factor 0.25 per epoch)."""

    def schedule(epoch, _current=None):
        # Keras passes the 0-based epoch index.
        return float(learning_rate * factor ** max(0, epoch + 2 - start_epoch))

    return schedule




def learning_rate_callbacks(lr_schedule, learning_rate, has_validation, decay_start=5,
                            decay_factor=0.5, early_stopping_patience=None,
                            plateau_patience=1):
    """The Keras callbacks of a learning-rate schedule and early stopping,
    shared by the translation and captioning trainers.

    Args:
        lr_schedule: "constant"; "step" (`step_decay(learning_rate,
            decay_start, decay_factor)`); or "plateau" (halve the rate when
            the monitored loss has not improved for `plateau_patience`
            epochs, down to 1/64 of `learning_rate`).
        learning_rate: float. The initial rate.
        has_validation: bool. "plateau" and early stopping monitor
            `val_loss` when there is validation data, else `loss`.
        early_stopping_patience: int or None. Stop after this many epochs
            without a lower validation loss (needs validation data).
    """
    if lr_schedule not in LR_SCHEDULES:
        raise ConfigurationError(f"lr_schedule must be one of {LR_SCHEDULES}, got {lr_schedule!r}.")
    callbacks = []
    if lr_schedule == "step":
        callbacks.append(keras.callbacks.LearningRateScheduler(
            step_decay(learning_rate, decay_start, decay_factor)
        ))
    elif lr_schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss" if has_validation else "loss", factor=0.5,
            patience=plateau_patience,
            min_lr=learning_rate / 64,
        ))
    if early_stopping_patience:
        if not has_validation:
            raise ConfigurationError("early_stopping_patience needs validation data.")
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=early_stopping_patience
        ))
    return callbacks


# What each stateful callback keeps in memory between epochs; Keras writes
# none of it with a BackupAndRestore backup.
_STATE_ATTRIBUTES = {
    keras.callbacks.ModelCheckpoint: ("best",),
    keras.callbacks.ReduceLROnPlateau: ("wait", "best", "cooldown_counter"),
    keras.callbacks.EarlyStopping: ("wait", "best", "best_epoch", "stopped_epoch"),
}
STATE_FILE = "training_state.json"


def _write_then_replace(path, write, suffix=""):
    """Write a file with `write(temporary path)`, then rename it to `path`
    (atomic on one filesystem): a kill leaves the old file or the new one."""
    temporary = (path[: -len(suffix)] if suffix else path) + ".partial" + suffix
    write(temporary)
    os.replace(temporary, path)


def _write_json_then_replace(path, value):
    def write(temporary):
        with open(temporary, "w") as f:
            json.dump(value, f)

    _write_then_replace(path, write)


class TrainingState(keras.callbacks.Callback):
    """The training state that Keras's BackupAndRestore leaves out, kept next
    to its backup: the full history, the best validation loss that
    `ModelCheckpoint(save_best_only=True)` compares against, the plateau
    schedule's and early stopping's counters, and the time spent.

    Without it, a resumed run forgets them: its first epoch overwrites the
    best weights even when an earlier epoch was better, the history covers
    only the epochs after the resume, and the counters restart.

    Place this callback just before BackupAndRestore (so an epoch's state is
    on disk before the backup that refers to it) and after every callback it
    tracks; `restorer()` returns the callback to put last, which restores
    the state once those callbacks have reset themselves in on_train_begin.
    The state of every completed epoch is written (the file is small), so
    whichever backup survives a kill finds its own.

    Args:
        backup_dir: str. The BackupAndRestore directory.
        callbacks: the callbacks whose state is kept (others are ignored).
    """

    def __init__(self, backup_dir, callbacks):
        super().__init__()
        self.path = os.path.join(backup_dir, STATE_FILE)
        self.tracked = [c for c in callbacks
                        if isinstance(c, (*_STATE_ATTRIBUTES, TimeLimit))]
        self.history = {}
        self._states = {}

    @staticmethod
    def _attributes(callback):
        for cls, names in _STATE_ATTRIBUTES.items():
            if isinstance(callback, cls):
                return names
        return ()

    def _capture(self):
        states = []
        for callback in self.tracked:
            if isinstance(callback, TimeLimit):
                states.append({"elapsed": callback.elapsed()})
            else:
                states.append({name: _json_number(getattr(callback, name))
                               for name in self._attributes(callback)})
        return states

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self._states[epoch + 1] = {"history": {k: list(v) for k, v in self.history.items()},
                                   "callbacks": self._capture()}
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        _write_json_then_replace(self.path, {"epochs": self._states})

    def restore(self):
        """Restore the state of the epoch the backup resumes after."""
        epoch = int(getattr(self.model, "_initial_epoch", 0) or 0)
        if not epoch:
            return
        try:
            with open(self.path) as f:
                saved = json.load(f)["epochs"]
            state = saved[str(epoch)]
        except (OSError, ValueError, KeyError) as e:
            logger.warning("No training state for epoch %d in %s (%s): the best validation "
                           "loss, history and schedule counters start afresh.", epoch,
                           self.path, e)
            return
        self._states = {int(k): v for k, v in saved.items() if int(k) <= epoch}
        self.history = {k: list(v) for k, v in state["history"].items()}
        for callback, values in zip(self.tracked, state["callbacks"]):
            if isinstance(callback, TimeLimit):
                callback.resume(values["elapsed"])
            else:
                for name, value in values.items():
                    setattr(callback, name, value)

    def restorer(self):
        state = self

        class Restore(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                state.restore()

        return Restore()


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` whose files are replaced, not
    rewritten where they stand.

    Keras writes `latest.weights.h5` in place: a process killed while it
    writes leaves a file that may open and fail only when a weight is read
    ("addr overflow" from HDF5), and the resumed run stops there. Here each
    file (and, with `double_checkpoint`, each previous copy) is written
    under a temporary name and renamed over the old one. Keras has no
    option for that, so this overrides its `_save_model` (Keras 3), with
    the paths and counters that method uses.
    """

    def save(self):
        """Write the backup now (`StopOnInterrupt` calls it on Ctrl-C)."""
        self._save_model()

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)  # restores the backup, if any
        # Keras 3 (3.15) gives the restored epoch to the model
        # (`_initial_epoch`) but not to this callback's own counter, which
        # stays 0 until the epoch ends: a backup written within the first
        # epoch after a resume said epoch 0, and a run cut again before that
        # epoch ended resumed from the start (epoch checkpoints overwritten,
        # history, best loss and clock lost).
        self._current_epoch = int(getattr(self.model, "_initial_epoch", 0) or 0)

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint:
            for path, previous in ((self._weights_path, self._prev_weights_path),
                                   (self._training_metadata_path,
                                    self._prev_training_metadata_path)):
                if os.path.exists(path):
                    _write_then_replace(
                        previous, lambda temporary, path=path: shutil.copyfile(path, temporary))
        _write_then_replace(
            self._weights_path,
            lambda temporary: self.model.save_weights(temporary, overwrite=True),
            suffix=".weights.h5")
        _write_json_then_replace(self._training_metadata_path,
                                 {"epoch": self._current_epoch, "batch": self._last_batch_seen})


class StopOnInterrupt(keras.callbacks.Callback):
    """Ctrl-C during `fit`: stop at the next batch boundary, save the backup,
    then raise KeyboardInterrupt from there; a second Ctrl-C stops at once.

    Python raises KeyboardInterrupt wherever the main thread happens to be,
    which in `fit` is often inside TensorFlow (tracing a function, writing an
    HDF5 file, a C++ call): the backup written next can then fail ("file
    already open") or the process abort at exit. Keras has no callback for
    this, so this one catches the signal, lets the step that is running end,
    and stops between steps, where the weights and files are consistent.

    Only installed from the main thread, and only where SIGINT has Python's
    default handler (so an ignored SIGINT, or the caller's own handler, is
    left alone); the previous handler is back once `fit` ends.

    Args:
        save: callable or None. Writes the backup (BackupAndRestore's own
            save); None when the run keeps no backup.
    """

    def __init__(self, save=None):
        super().__init__()
        self.save = save
        self.requested = False
        self.saved = False
        self._previous = None

    def install(self):
        if (threading.current_thread() is not threading.main_thread()
                or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
            return
        self._previous = signal.signal(signal.SIGINT, self._handle)

    def uninstall(self):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def _handle(self, signum, frame):
        if self.requested:  # the second Ctrl-C: at once
            self.uninstall()
            raise KeyboardInterrupt
        self.requested = True
        print("\nStopping after this step (Ctrl-C again to stop at once)...",
              file=sys.stderr, flush=True)

    def _stop(self):
        self.uninstall()
        if self.save is not None:
            self.save()
            self.saved = True
        raise KeyboardInterrupt

    def on_train_batch_end(self, batch, logs=None):
        if self.requested:
            self._stop()

    def on_test_batch_end(self, batch, logs=None):
        if self.requested:
            self._stop()

    def on_epoch_end(self, epoch, logs=None):
        if self.requested:
            self._stop()


def _json_number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value
