"""Train a translation model with `model.fit`."""

import collections
import contextlib
import json
import logging
import os
import shutil
import time
import warnings

import keras
import numpy as np
import tensorflow as tf

from keras_seq2seq.data.pipeline import make_dataset
from keras_seq2seq.data.readers import CorpusError
from keras_seq2seq.errors import ConfigurationError, Seq2SeqError, TrainingInterrupted
from keras_seq2seq.models import build_training_model, count_parameters
from keras_seq2seq.text import (
    learn_wordpiece_vocabulary,
    make_tokenizer,
    split_words,
    vocabulary_from_counts,
)
from keras_seq2seq.training.callbacks import (
    LR_SCHEDULES,
    StopOnInterrupt,
    TimeLimit,
    TrainingState,
    ValidationBLEU,
    learning_rate_callbacks,
)
from keras_seq2seq.training.distributed import fit_multi_worker, is_chief, make_strategy
from keras_seq2seq.training.finetune import (
    VOCAB_UPDATES,
    load_base,
    merge_vocabulary,
    transfer_weights,
)
from keras_seq2seq.training.losses import TokenCrossEntropy
from keras_seq2seq.translator import Translator, fit_verbosity

logger = logging.getLogger("keras_seq2seq")


def _chunks(pairs, size):
    chunk = []
    for pair in pairs:
        chunk.append(pair)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def build_vocabularies(pairs, config, chunk_size=2048):
    """Build (source, target) vocabularies from training pairs in one pass.

    Tokenization is the graph tokenizer's, so the vocabulary matches what
    the model will see. The pairs are read in Python (so a `CorpusError`
    reaches the caller as itself, not wrapped by tf.data) and tokenized in
    chunks; only token counts are kept in memory.

    Returns:
        (source_vocab, target_vocab, stats) where stats counts the pairs
        seen and those longer than the config's length limits (which the
        training pipeline leaves out).
    """
    source_counts, target_counts = collections.Counter(), collections.Counter()
    stats = {"pairs": 0, "too_long": 0}
    for chunk in _chunks(pairs, chunk_size):
        sources, targets = zip(*chunk)
        source_words = split_words(tf.constant(sources), config.lowercase)
        target_words = split_words(tf.constant(targets), config.lowercase)
        source_lengths = source_words.row_lengths().numpy()
        target_lengths = target_words.row_lengths().numpy()
        stats["pairs"] += len(chunk)
        stats["too_long"] += int(
            np.sum(
                (source_lengths > config.max_source_length)
                | (target_lengths > config.max_target_length)
            )
        )
        source_counts.update(w.decode("utf-8") for w in source_words.flat_values.numpy())
        target_counts.update(w.decode("utf-8") for w in target_words.flat_values.numpy())
    if not stats["pairs"]:
        raise CorpusError("The training corpus is empty: no (source, target) pair to learn from.")
    if config.shared_vocabulary:
        # One vocabulary from both sides' counts; both tokenizers use it.
        joint_counts = source_counts + target_counts
        if config.tokenizer == "wordpiece":
            vocab = learn_wordpiece_vocabulary(joint_counts, config.source_vocab_size)
        else:
            vocab = vocabulary_from_counts(
                joint_counts, config.source_vocab_size, config.min_frequency
            )
        return vocab, list(vocab), stats
    if config.tokenizer == "wordpiece":
        source_vocab = learn_wordpiece_vocabulary(source_counts, config.source_vocab_size)
        target_vocab = learn_wordpiece_vocabulary(target_counts, config.target_vocab_size)
    else:
        source_vocab = vocabulary_from_counts(
            source_counts, config.source_vocab_size, config.min_frequency
        )
        target_vocab = vocabulary_from_counts(
            target_counts, config.target_vocab_size, config.min_frequency
        )
    return source_vocab, target_vocab, stats


BACKUP_DIR = "backup"


class CheckpointError(Seq2SeqError, ValueError):
    """A checkpoint to resume from is missing or unreadable; names the file."""


def _read_backup(weights, metadata):
    """The epoch recorded by a backup pair of files, or an error message."""
    import h5py

    try:
        with h5py.File(weights, "r"):
            pass
        with open(metadata) as f:
            return int(json.load(f)["epoch"]), None
    except (OSError, ValueError, KeyError, TypeError) as e:
        return None, str(e)


def _check_backup(backup_dir):
    """Check an existing `BackupAndRestore` backup before training.

    Returns the epoch to resume after (None without a backup). A backup
    whose latest files are unreadable (the process was killed while writing
    them) is replaced by the previous copy that `double_checkpoint` keeps;
    when neither is readable, CheckpointError names the files.
    """
    weights = os.path.join(backup_dir, "latest.weights.h5")
    metadata = os.path.join(backup_dir, "training_metadata.json")
    if not os.path.isdir(backup_dir):
        return None
    if not os.path.exists(weights):
        if os.path.exists(metadata):
            raise CheckpointError(
                f"{metadata} refers to a backup but {weights} is missing; delete {backup_dir} "
                "to start over."
            )
        return None
    epoch, problem = _read_backup(weights, metadata)
    if problem is None:
        return epoch
    previous_epoch, _ = _read_backup(weights + ".bkp", metadata + ".bkp")
    if previous_epoch is None:
        raise CheckpointError(
            f"Cannot resume: the backup checkpoint {weights} (or {metadata}) is unreadable "
            f"({problem}) and there is no readable previous copy. Delete {backup_dir} to "
            "start over."
        )
    logger.warning("The latest backup in %s is unreadable (%s), probably cut by a crash "
                   "while it was written; resuming from the previous one.", backup_dir, problem)
    shutil.copyfile(weights + ".bkp", weights)
    shutil.copyfile(metadata + ".bkp", metadata)
    return previous_epoch


def check_free_space(path, bytes_needed):
    """Raise OSError before training when `path`'s disk cannot hold `bytes_needed`."""
    free = shutil.disk_usage(path).free
    if free < bytes_needed:
        raise OSError(
            f"Not enough disk space in {path}: {free / 1e6:.0f} MB free, training writes about "
            f"{bytes_needed / 1e6:.0f} MB (checkpoints, backup, model). Free some space or "
            "choose another --out."
        )


def standard_callbacks(out_dir, best_path, with_validation, max_minutes=None, extra=()):
    """The callbacks every training here runs: a checkpoint each epoch,
    TensorBoard, TerminateOnNaN, the caller's `extra`, the time budget, and
    the best validation-loss weights at `best_path`."""
    callbacks = [
        keras.callbacks.ModelCheckpoint(
            os.path.join(os.path.dirname(best_path), "epoch_{epoch:03d}.weights.h5"),
            save_weights_only=True,
        ),
        keras.callbacks.TensorBoard(os.path.join(out_dir, "logs")),
        keras.callbacks.TerminateOnNaN(),
        *extra,
    ]
    if max_minutes:
        callbacks.append(TimeLimit(max_minutes * 60))
    if with_validation:
        callbacks.append(keras.callbacks.ModelCheckpoint(
            best_path, monitor="val_loss", save_best_only=True, save_weights_only=True
        ))
    return callbacks


def training_record(history, seed, epochs, batch_size, learning_rate, clipnorm):
    """The part of a model's training record that every trainer writes."""
    return {
        "seed": seed,
        "epochs": epochs,
        "epochs_run": len(history.history.get("loss", [])),
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "clipnorm": clipnorm,
    }


def check_output_directory(path):
    # Fail before any training if the run directory cannot be written.
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, ".write_test")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as e:
        raise OSError(f"Cannot write to the output directory {path}: {e}") from e


def train(
    train_pairs,
    config,
    out_dir,
    validation_pairs=None,
    epochs=10,
    batch_size=64,
    learning_rate=1e-3,
    clipnorm=5.0,
    label_smoothing=0.0,
    seed=0,
    source_language="en",
    target_language="fr",
    verbose="auto",
    callbacks=(),
    metadata=None,
    max_minutes=None,
    lr_schedule="constant",
    lr_decay_start=5,
    lr_decay_factor=0.5,
    early_stopping_patience=None,
    backup=True,
    backup_every_batches=None,
    bleu_sample=200,
    strategy="default",
    cache_dir=None,
    dtype_policy=None,
    init_from=None,
    vocab_update="keep",
    optimizer=None,
    loss=None,
    validation_bleu=False,
    batch_tokens=None,
):
    """Build vocabularies and a model, train it with `model.fit`, save it.

    The steps, each public for a script that wants to change one: the data
    (`make_tokenizers`, `make_datasets`), the model (`build_model`), the
    callbacks (`make_callbacks`) and the fit (`fit`); `train` adds the
    checks, resuming, the model's record and the save.

    The run directory gets `checkpoints/` (weights each epoch, and the best
    on validation loss), `logs/` (TensorBoard) and the trained model itself
    (`config.json`, vocabularies, weights), loadable with
    `keras_seq2seq.load(out_dir)`. When validation pairs are given, the
    saved model has the weights of the epoch with the lowest validation
    loss.

    Args:
        train_pairs: re-iterable of (source, target) strings.
        config: Seq2SeqConfig.
        out_dir: str. Run directory (created).
        validation_pairs: re-iterable of pairs or None.
        epochs: int. Defaults to 10.
        batch_size: int. Defaults to 64.
        learning_rate: float. Adam learning rate. Defaults to 1e-3.
        clipnorm: float or None. Gradient norm clipping; the paper clips
            at 5. Defaults to 5.0.
        label_smoothing: float. Train against (1 - e) on the reference
            token plus e spread over the vocabulary (not in the paper).
            The loss and `val_loss` (which picks the best epoch) are then
            smoothed; the history also has the plain cross-entropy as
            `nll` and `val_nll`. Defaults to 0.0.
        seed: int. Seeds weights, dropout and shuffling. Defaults to 0.
        source_language: str. Language code of the source. Defaults to "en".
        target_language: str. Language code of the target. Defaults to "fr".
        verbose: Keras fit verbosity ("auto", 0, 1, 2). Defaults to "auto".
        callbacks: extra Keras callbacks.
        metadata: dict or None. Saved in config.json (e.g. the command).
        max_minutes: float or None. Stop after the epoch during which this
            much training time has passed. Defaults to None (no limit).
        lr_schedule: str. "constant"; "step" (multiply by
            `lr_decay_factor` each epoch from epoch `lr_decay_start`, the
            paper's recipe); or "plateau" (halve when validation loss stops
            improving). Defaults to "constant".
        lr_decay_start: int. First decayed epoch (1-based) of "step".
            Defaults to 5.
        lr_decay_factor: float. Per-epoch factor of "step". Defaults to 0.5.
        early_stopping_patience: int or None. Stop after this many epochs
            without a better validation loss. Defaults to None (off).
        backup: bool. Keep a `BackupAndRestore` backup in `out_dir/backup`,
            so the same call after a crash (or kill -9) resumes from the last
            backup instead of starting over. Defaults to True.
        backup_every_batches: int or None. Also back up every N batches
            (else at the end of each epoch). Defaults to None.
        bleu_sample: int. Validation pairs translated (greedy) after each
            epoch for `val_bleu` in the history and TensorBoard; 0 turns it
            off. Defaults to 200.
        strategy: str or tf.distribute.Strategy. "default", "mirrored"
            (the GPUs of one machine) or "multi_worker" (machines listed in
            TF_CONFIG; a custom loop, as Keras 3's fit does not run under
            it: no backup, schedules, early stopping or BLEU sample). Only
            the chief writes checkpoints and the model. Defaults to
            "default".
        cache_dir: str or None. Keep the tokenized corpus in files there
            (`train`, `validation`) instead of in memory. Defaults to None.
        dtype_policy: str or None. Keras dtype policy for training:
            "mixed_float16" on GPU (Keras then scales the loss), or
            "mixed_bfloat16"; weights stay float32 and the output layer
            computes in float32. Defaults to None (float32).

        init_from: str or None. A trained model directory to fine-tune:
            its config, vocabularies and weights are the start (`config`
            may then be None; if given, its architecture must be the
            model's). Defaults to None (a new model).
        vocab_update: "keep" the model's vocabularies, or "merge" in the
            new data's tokens (old ids unchanged, new rows initialised).
            Only with `init_from`. Defaults to "keep".
        optimizer: keras.optimizers.Optimizer, a function returning one
            (called under the distribution strategy's scope), or None for
            the paper's recipe here: Adam at `learning_rate`, the gradient
            norm clipped at `clipnorm`. The learning-rate schedules set the
            given optimizer's rate. Defaults to None.
        loss: keras.losses.Loss or None. The training loss, given the
            logits (B, T, V), the target ids and sample weights that are 0
            on padding; None is the token cross-entropy averaged over real
            tokens (`label_smoothing` applies to it only). Not with the
            multi_worker strategy, whose loop computes its own. Defaults
            to None.
        validation_bleu: bool. After training, translate the whole
            validation set (greedy) and keep its sacreBLEU score in the
            model's record (`validation_bleu`, with its details and
            signature), which `keras-seq2seq train` prints. Defaults to
            False.
        batch_tokens: int or None. Batches of at most this many tokens per
            side instead of `batch_size` sentences (see `make_dataset`).
            Defaults to None.

    Returns:
        (translator, history): the trained `Translator` and the Keras
        `History`.
    """
    # First: MultiWorkerMirroredStrategy must exist before other TF work.
    multi_worker = strategy == "multi_worker" or isinstance(
        strategy, tf.distribute.MultiWorkerMirroredStrategy)
    if loss is not None and multi_worker:
        raise ConfigurationError("The multi_worker strategy computes its own token loss: "
                                 "train without loss=.")
    if isinstance(strategy, str):
        strategy = make_strategy(strategy)
    chief = is_chief(strategy)
    if multi_worker:
        if lr_schedule != "constant" or early_stopping_patience:
            raise ConfigurationError(
                "The multi_worker strategy trains with a constant learning rate "
                "and without early stopping.")
        if backup or bleu_sample:
            logger.info("multi_worker: no backup and no validation BLEU sample "
                        "(epoch checkpoints only).")
        backup, bleu_sample = False, 0
    if chief:
        check_output_directory(out_dir)
    # Built now so that a bad label_smoothing fails before any corpus work.
    if loss is None:
        loss = TokenCrossEntropy(label_smoothing)
    base = None
    if init_from is not None:
        if vocab_update not in VOCAB_UPDATES:
            raise ConfigurationError(f"vocab_update must be one of {VOCAB_UPDATES}, got "
                                     f"{vocab_update!r}.")
        base = load_base(init_from, config, source_language, target_language)
        config = base.config
        logger.info("Fine-tuning %s.", init_from)
    elif config is None:
        raise ConfigurationError("train() needs a config (or init_from, a model to fine-tune).")
    if lr_schedule not in LR_SCHEDULES:
        raise ConfigurationError(f"lr_schedule must be one of {LR_SCHEDULES}, got {lr_schedule!r}.")
    backup_dir = os.path.join(out_dir, BACKUP_DIR)
    resume_epoch = _check_backup(backup_dir) if backup else None
    if resume_epoch is not None:
        logger.info("Resuming from the backup in %s (after epoch %d).", backup_dir, resume_epoch)
    keras.utils.set_random_seed(seed)

    started = time.time()
    source_tokenizer, target_tokenizer, stats = make_tokenizers(
        train_pairs, config, base=base, vocab_update=vocab_update,
        source_language=source_language, target_language=target_language)
    train_data, validation_data, validation_count = make_datasets(
        train_pairs, validation_pairs, config, source_tokenizer, target_tokenizer,
        batch_size=batch_size, seed=seed, cache_dir=cache_dir, batch_tokens=batch_tokens)
    model = build_model(
        config, source_tokenizer, target_tokenizer, strategy=strategy, optimizer=optimizer,
        loss=loss, learning_rate=learning_rate, clipnorm=clipnorm,
        label_smoothing=label_smoothing, dtype_policy=dtype_policy, base=base)
    total_params, recurrent_params = count_parameters(model)
    if chief:
        # float32 weights: each epoch checkpoint, the best one, the model and
        # the backup (weights + Adam's two moments, twice while it rotates).
        weight_bytes = 4 * total_params
        check_free_space(out_dir, weight_bytes * (epochs + 2 + (6 if backup else 0)))
    logger.info("Model: %d parameters (%d recurrent).", total_params, recurrent_params)

    run = make_callbacks(
        model, config, source_tokenizer, target_tokenizer, out_dir,
        validation_pairs=validation_pairs, bleu_sample=bleu_sample,
        lr_schedule=lr_schedule, learning_rate=learning_rate, lr_decay_start=lr_decay_start,
        lr_decay_factor=lr_decay_factor, early_stopping_patience=early_stopping_patience,
        max_minutes=max_minutes, backup=backup, backup_every_batches=backup_every_batches,
        extra=callbacks, make_directories=chief)
    if multi_worker:
        history = keras.callbacks.History()
        history.history = fit_multi_worker(
            model, model.optimizer, strategy, train_data, validation_data, epochs,
            on_epoch_end=(_chief_checkpoints(model, run.checkpoint_dir, run.best_path)
                          if chief else None),
            time_limit_seconds=max_minutes * 60 if max_minutes else None,
            verbose=verbose != 0, label_smoothing=label_smoothing,
        )
    else:
        history = fit(model, train_data, validation_data, epochs, run, verbose=verbose)
    if validation_data is not None and os.path.exists(run.best_path):
        model.load_weights(run.best_path)

    record = {
        **training_record(history, seed, epochs, batch_size, learning_rate, clipnorm),
        "batch_tokens": batch_tokens,
        "train_pairs": stats["pairs"],
        "validation_pairs": validation_count,
        "pairs_over_length_limit": stats["too_long"],
        "parameters": total_params,
        "recurrent_parameters": recurrent_params,
        "training_seconds": round(time.time() - started, 1),
        "resumed_after_epoch": resume_epoch,
        "dtype_policy": dtype_policy or "float32",
        "lr_schedule": lr_schedule,
        "label_smoothing": label_smoothing,
        **({"init_from": os.path.abspath(init_from), "vocab_update": vocab_update}
           if init_from else {}),
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        **(metadata or {}),
    }
    record["strategy"] = type(strategy).__name__
    record["replicas"] = strategy.num_replicas_in_sync
    translator = Translator(
        model, config, source_tokenizer, target_tokenizer, metadata=record
    )
    interrupted = False
    if chief and validation_bleu and validation_pairs is not None:
        try:
            translator.metadata.update(score_validation(translator, validation_pairs))
        except KeyboardInterrupt:
            # Training is over and its backup gone: keep the model rather
            # than lose the run for a score.
            interrupted = True
    if chief:
        translator.save(out_dir)
        with open(os.path.join(out_dir, "history.json"), "w") as f:
            json.dump(record["history"], f, indent=2)
    if interrupted:
        raise TrainingInterrupted(
            f"Interrupted while scoring the validation set; training had finished and the "
            f"model is saved in {out_dir}, without its validation BLEU.")
    return translator, history


# The steps of `train`, each usable on its own from Python: data
# (make_tokenizers, make_datasets), model (build_model), callbacks
# (make_callbacks) and fit (fit).


def make_tokenizers(train_pairs, config, base=None, vocab_update="keep", source_language="en",
                    target_language="fr"):
    """Step 1: the source and target tokenizers for `config`, learnt from the
    training pairs (or, to fine-tune, the `base` translator's, kept or merged
    with the new data's tokens).

    Returns:
        (source_tokenizer, target_tokenizer, stats): stats has "pairs" and
        "too_long" (pairs over the length limits, in words).
    """
    source_vocab, target_vocab, stats = build_vocabularies(train_pairs, config)
    if base is not None:
        new_source, new_target = source_vocab, target_vocab
        source_vocab = list(base.source_tokenizer.vocabulary)
        target_vocab = list(base.target_tokenizer.vocabulary)
        if vocab_update == "merge":
            source_vocab = merge_vocabulary(source_vocab, new_source)
            target_vocab = (list(source_vocab) if config.shared_vocabulary
                            else merge_vocabulary(target_vocab, new_target))
        logger.info("Fine-tuning: vocabularies %s (%d and %d new tokens).", vocab_update,
                    len(source_vocab) - base.source_tokenizer.vocabulary_size,
                    len(target_vocab) - base.target_tokenizer.vocabulary_size)
    # stats["too_long"] counts words; a word-piece model's limits are in
    # pieces, so a few more pairs may be left out than it says.
    logger.info(
        "Vocabularies: %d source, %d target %s from %d pairs (%d longer than "
        "the length limits in words, left out).",
        len(source_vocab), len(target_vocab),
        "word pieces" if config.tokenizer == "wordpiece" else "words",
        stats["pairs"], stats["too_long"],
    )
    source_tokenizer = make_tokenizer(config.tokenizer, source_vocab, config.lowercase,
                                      source_language)
    target_tokenizer = make_tokenizer(config.tokenizer, target_vocab, config.lowercase,
                                      target_language)
    return source_tokenizer, target_tokenizer, stats


def make_datasets(train_pairs, validation_pairs, config, source_tokenizer, target_tokenizer,
                  batch_size=64, seed=0, cache_dir=None, batch_tokens=None):
    """Step 2: the tf.data pipelines (bucketed by length, teacher forcing);
    `batch_tokens` sizes the training batches in tokens (`make_dataset`).

    Returns:
        (train_data, validation_data or None, validation_count).
    """
    def dataset(pairs, shuffle):
        cache = True
        if cache_dir:
            cache = os.path.join(cache_dir, "train" if shuffle else "validation")
        return make_dataset(
            pairs,
            source_tokenizer,
            target_tokenizer,
            batch_size=batch_size,
            reverse_source=config.reverse_source,
            max_source_length=config.max_source_length,
            max_target_length=config.max_target_length,
            shuffle=shuffle,
            seed=seed,
            cache=cache,
            batch_tokens=batch_tokens if shuffle else None,
        )

    validation_count = 0
    if validation_pairs is not None:
        # Read once here so that an unusable validation corpus is a clear
        # error now, not an exception wrapped by tf.data after an epoch.
        validation_count = sum(1 for _ in validation_pairs)
        if not validation_count:
            raise CorpusError("The validation corpus is empty.")
    train_data = dataset(train_pairs, shuffle=True)
    validation_data = dataset(validation_pairs, shuffle=False) if validation_pairs else None
    return train_data, validation_data, validation_count


def build_model(config, source_tokenizer, target_tokenizer, strategy=None, optimizer=None,
                loss=None, learning_rate=1e-3, clipnorm=5.0, label_smoothing=0.0,
                dtype_policy=None, base=None):
    """Step 3: the compiled training model (a `Seq2SeqBackbone`), built under
    the strategy's scope; see `train` for `optimizer` and `loss`. With
    `base`, its weights are copied in (fine-tuning)."""
    strategy = strategy or tf.distribute.get_strategy()
    if loss is None:
        loss = TokenCrossEntropy(label_smoothing)
    with strategy.scope(), _dtype_policy(dtype_policy):
        model = build_training_model(config, source_tokenizer.vocabulary_size,
                                     target_tokenizer.vocabulary_size)
        if base is not None:
            transfer_weights(base.model, model)
        if optimizer is None:
            optimizer = keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=clipnorm)
        elif not isinstance(optimizer, keras.optimizers.Optimizer):
            optimizer = optimizer()
        metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        if label_smoothing:
            metrics.append(keras.metrics.SparseCategoricalCrossentropy(
                name="nll", from_logits=True))
        model.compile(optimizer=optimizer, loss=loss, weighted_metrics=metrics)
    return model


TrainingCallbacks = collections.namedtuple(
    "TrainingCallbacks", "callbacks state backup checkpoint_dir best_path backup_dir")
TrainingCallbacks.__doc__ = """What `make_callbacks` returns: the Keras callbacks for `fit`, the
TrainingState and BackupAndRestore callbacks (None without backup) and the
run's checkpoint paths."""


def make_callbacks(model, config, source_tokenizer, target_tokenizer, out_dir,
                   validation_pairs=None, bleu_sample=200, lr_schedule="constant",
                   learning_rate=1e-3, lr_decay_start=5, lr_decay_factor=0.5,
                   early_stopping_patience=None, max_minutes=None, backup=True,
                   backup_every_batches=None, extra=(), make_directories=True):
    """Step 4: the run's callbacks, in the order they must run: the BLEU
    sample, the learning-rate schedule and early stopping, checkpoints,
    TensorBoard, the time limit, the caller's `extra`, then the backup."""
    checkpoint_dir = os.path.join(out_dir, "checkpoints")
    if make_directories:
        os.makedirs(checkpoint_dir, exist_ok=True)
    best_path = os.path.join(checkpoint_dir, "best.weights.h5")
    backup_dir = os.path.join(out_dir, BACKUP_DIR)
    with_validation = validation_pairs is not None
    fit_callbacks = []
    if with_validation and bleu_sample:
        sample = [pair for pair, _ in zip(validation_pairs, range(bleu_sample))]
        # Before TensorBoard, which then logs the score it adds.
        fit_callbacks.append(ValidationBLEU(
            lambda: Translator(model, config, source_tokenizer, target_tokenizer), sample
        ))
    fit_callbacks += learning_rate_callbacks(
        lr_schedule, learning_rate, with_validation, lr_decay_start,
        lr_decay_factor, early_stopping_patience,
    )
    fit_callbacks += standard_callbacks(out_dir, best_path, with_validation, max_minutes, extra)
    state = backup_callback = None
    if backup:
        # After every callback whose state it keeps, before the backup that
        # refers to that state (see TrainingState).
        state = TrainingState(backup_dir, fit_callbacks)
        backup_callback = keras.callbacks.BackupAndRestore(
            # double_checkpoint keeps the previous backup too, for a crash
            # in the middle of writing the latest one.
            backup_dir, save_freq=backup_every_batches or "epoch", double_checkpoint=True,
        )
        fit_callbacks += [state, backup_callback, state.restorer()]
    return TrainingCallbacks(fit_callbacks, state, backup_callback, checkpoint_dir, best_path,
                             backup_dir)


def fit(model, train_data, validation_data, epochs, run, verbose="auto"):
    """Step 5: `model.fit` with the run's callbacks (`make_callbacks`); Ctrl-C
    leaves a backup to resume from. Returns the History, the epochs before
    a resume included."""
    with warnings.catch_warnings():
        # The bucketed dataset's length is unknown until the first epoch
        # ends, and Keras warns then that the input "ran out of data";
        # that end is expected, so the warning only alarms users.
        warnings.filterwarnings("ignore", message=r"Your input ran out of data")
        # Last, so that an epoch's own backup is written before it stops.
        interrupt = StopOnInterrupt(run.backup._save_model if run.backup is not None else None)
        interrupt.install()
        try:
            history = model.fit(
                train_data,
                validation_data=validation_data,
                epochs=epochs,
                callbacks=[*run.callbacks, interrupt],
                verbose=fit_verbosity(verbose),
                shuffle=False,  # the dataset shuffles itself, within length buckets
            )
        except KeyboardInterrupt:
            if run.backup is None:
                raise TrainingInterrupted(
                    "Training interrupted; there is no backup (--no-backup).") from None
            if not interrupt.saved:
                # A second Ctrl-C, or one outside the callbacks' reach: the
                # weights as they are now, with the number of epochs
                # completed (the same call replays the epoch that was cut).
                # The write itself may have been what was cut; the previous
                # backup then stays.
                try:
                    run.backup._save_model()
                except Exception as e:  # noqa: BLE001 - any failure: the old backup stays
                    raise TrainingInterrupted(
                        f"Training interrupted; the latest backup could not be written ({e}); "
                        f"the previous one in {run.backup_dir} is kept. Run the same command "
                        "again to resume from it.") from None
            raise TrainingInterrupted(
                f"Training interrupted; a backup is in {run.backup_dir}. Run the same "
                "command again to resume.") from None
        finally:
            interrupt.uninstall()
    if run.state is not None:
        # The whole run's history, the epochs before a resume included.
        history.history = run.state.history
    return history


def score_validation(translator, validation_pairs):
    """Greedy sacreBLEU of `translator` on every validation pair: the
    record entries `train(validation_bleu=True)` keeps with the model."""
    from keras_seq2seq.evaluation import corpus_bleu

    sources, references = zip(*validation_pairs)
    started = time.time()
    hypotheses = translator.translate(list(sources), batch_size=128, progress=True)
    bleu, signature = corpus_bleu(hypotheses, references, with_signature=True)
    return {"validation_bleu": round(bleu.score, 2), "validation_bleu_details": str(bleu),
            "validation_bleu_signature": signature, "validation_pairs": len(sources),
            "validation_bleu_seconds": round(time.time() - started, 1)}


@contextlib.contextmanager
def _dtype_policy(name):
    """Build layers under a Keras dtype policy, then restore the global one."""
    if not name:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _chief_checkpoints(model, checkpoint_dir, best_path):
    """Epoch and best-validation-loss weights, for the custom multi-worker loop."""
    best = [float("inf")]

    def on_epoch_end(epoch, logs):
        model.save_weights(os.path.join(checkpoint_dir, f"epoch_{epoch + 1:03d}.weights.h5"))
        if logs.get("val_loss", float("inf")) < best[0]:
            best[0] = logs["val_loss"]
            model.save_weights(best_path)

    return on_epoch_end
