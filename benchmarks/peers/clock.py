"""Checkpoints by the wall clock, for the Keras systems of the race.

Every system of the race saves at the same minutes of training (20, 40 and
60 by default), whatever its epochs or steps. The clock starts when the
training loop starts (Keras: `on_train_begin`; OpenNMT-py: the first call
of `Trainer.train`, see onmt/clock_train.py), so data reading, vocabulary
learning and model building are not in the 60 minutes; they are timed and
written to `clock.json` as `setup_seconds` where the script knows them.

After each save, a line is appended to RUN/clock.json's "checkpoints":
`{"minute": 20, "elapsed_s": 1200.3, "step": 4321, "path": ...}`; the last
minute also stops training. `evaluate.py` reads that file. This module
imports Keras only inside `keras_callback`, so the renderer and the tests
can read clock files without it.
"""

import json
import os
import time

DEFAULT_MINUTES = (20.0, 40.0, 60.0)
CLOCK_FILE = "clock.json"


def parse_minutes(text):
    """'20,40,60' -> (20.0, 40.0, 60.0), increasing and positive."""
    minutes = tuple(float(m) for m in str(text).split(",") if m.strip())
    if not minutes or any(m <= 0 for m in minutes) or list(minutes) != sorted(set(minutes)):
        raise ValueError(f"minutes must be positive and increasing, got {text!r}")
    return minutes


def minute_tag(minute):
    """20.0 -> 'min020', 0.5 -> 'min000.5' (file names that sort by time)."""
    whole = int(minute)
    return f"min{whole:03d}" if minute == whole else f"min{whole:03d}{str(minute - whole)[1:5]}"


def read_clock(run_dir):
    path = os.path.join(run_dir, CLOCK_FILE)
    if not os.path.exists(path):
        return {"checkpoints": []}
    with open(path) as f:
        return json.load(f)


def update_clock(run_dir, **fields):
    """Merge `fields` into RUN/clock.json (written atomically)."""
    clock = read_clock(run_dir)
    clock.update(fields)
    tmp = os.path.join(run_dir, CLOCK_FILE + ".tmp")
    with open(tmp, "w") as f:
        json.dump(clock, f, indent=2)
    os.replace(tmp, os.path.join(run_dir, CLOCK_FILE))
    return clock


def add_checkpoint(run_dir, minute, elapsed, step, path, **extra):
    clock = read_clock(run_dir)
    entry = {"minute": minute, "elapsed_s": round(elapsed, 1), "step": int(step),
             "path": os.path.abspath(path), **extra}
    return update_clock(run_dir, checkpoints=clock["checkpoints"] + [entry])


class Clock:
    """The schedule: which minutes are due at `elapsed` seconds."""

    def __init__(self, minutes=DEFAULT_MINUTES):
        self.minutes = tuple(minutes)
        self.done = 0

    def due(self, elapsed):
        """Minutes passed since the last call (usually none or one)."""
        due = []
        while self.done < len(self.minutes) and elapsed >= self.minutes[self.done] * 60:
            due.append(self.minutes[self.done])
            self.done += 1
        return due

    @property
    def finished(self):
        return self.done == len(self.minutes)


def parse_steps(text):
    """'300,600' -> (300, 600), increasing and positive."""
    steps = tuple(int(s) for s in str(text).split(",") if s.strip())
    if not steps or any(s <= 0 for s in steps) or list(steps) != sorted(set(steps)):
        raise ValueError(f"steps must be positive and increasing, got {text!r}")
    return steps


def keras_callback(run_dir, minutes=DEFAULT_MINUTES, save=None, stop=True, steps=None):
    """A Keras callback that saves the weights at each of `minutes` (checked
    after every training and validation batch) and, with `stop`, ends
    training at the last one (after the current training batch, or at the
    end of the current validation pass).

    With `steps` (increasing training-step counts) it saves after those
    steps instead, whatever the clock says: comparisons at equal steps,
    which another job on the machine does not change. Their entries in
    clock.json carry the minute at which they were reached.

    `save(model, path)` defaults to `model.save_weights(path)`; files go to
    RUN/clock/minNNN.weights.h5 (stepNNNNNN.weights.h5 with `steps`).
    """
    import keras

    class ClockCheckpoints(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.clock = Clock(minutes)
            self.step = 0

        def on_train_begin(self, logs=None):
            self.started = time.monotonic()
            os.makedirs(os.path.join(run_dir, "clock"), exist_ok=True)
            schedule = {"steps": list(steps)} if steps else {"minutes": list(minutes)}
            update_clock(run_dir, started_unix=time.time(), **schedule)

        def on_train_batch_end(self, batch, logs=None):
            self.step += 1
            if steps is None:
                self._check(logs)
            elif self.step in steps:
                elapsed = time.monotonic() - self.started
                self._save(f"step{self.step:06d}", round(elapsed / 60, 2), elapsed, logs)
                if stop and self.step == steps[-1]:
                    self.model.stop_training = True

        def on_test_batch_end(self, batch, logs=None):
            # A minute that passes during a validation pass is saved then
            # (the weights are those of the last training step), not after it.
            if steps is None:
                self._check(None)

        def _check(self, logs):
            elapsed = time.monotonic() - self.started
            for minute in self.clock.due(elapsed):
                self._save(minute_tag(minute), minute, elapsed, logs)
            if stop and self.clock.finished:
                self.model.stop_training = True

        def _save(self, tag, minute, elapsed, logs):
            path = os.path.join(run_dir, "clock", f"{tag}.weights.h5")
            (save or (lambda m, p: m.save_weights(p)))(self.model, path)
            add_checkpoint(run_dir, minute, elapsed, self.step, path,
                           loss=float(logs["loss"]) if logs and "loss" in logs else None)
            print(f"[clock] {minute:g} min: step {self.step}, saved {path}", flush=True)

    return ClockCheckpoints()
