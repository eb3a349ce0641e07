"""Keras callbacks that Keras itself does not ship."""

import time

import keras


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
            raise ValueError(f"The time limit must be positive, got {seconds} seconds.")
        self.seconds = seconds
        self.stopped_epoch = None

    def on_train_begin(self, logs=None):
        self._started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        if time.monotonic() - self._started >= self.seconds:
            self.model.stop_training = True
            self.stopped_epoch = epoch + 1
