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
from keras_seq2seq.decoder import fit_verbosity
from keras_seq2seq.errors import ConfigurationError, Seq2SeqError, TrainingInterrupted
from keras_seq2seq.models import build_training_model, count_parameters
from keras_seq2seq.text import (
    learn_wordpiece_vocabulary,
    make_tokenizer,
    split_words,
    vocabulary_from_counts,
)
from keras_seq2seq.training.callbacks import (
    AtomicBackupAndRestore,
    StopOnInterrupt,
    TimeLimit,
    TrainingState,
    ValidationBLEU,
    learning_rate_callbacks,
)
from keras_seq2seq.training.config import (
    TRAINING_CONFIG_FILE,
    CheckpointConfig,
    DataConfig,
    OptimizationConfig,
    TrainingConfig,
)
from keras_seq2seq.training.distributed import fit_multi_worker, is_chief, make_strategy
from keras_seq2seq.training.finetune import (
    load_base,
    merge_vocabulary,
    transfer_weights,
)
from keras_seq2seq.training.losses import TokenCrossEntropy
from keras_seq2seq.translator import Translator

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

    def read(name, item):
        if isinstance(item, h5py.Dataset):
            item[()]

    try:
        # Every array is read: a file cut while it was written (by Keras's
        # own BackupAndRestore, or on a full disk) can still open, and fail
        # only when a weight past the cut is read ("addr overflow").
        with h5py.File(weights, "r") as f:
            f.visititems(read)
        with open(metadata) as f:
            return int(json.load(f)["epoch"]), None
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as e:
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


def train(config, *, train_pairs=None, validation_pairs=None, callbacks=(), optimizer=None,
          loss=None, verbose="auto", metadata=None, strategy=None):
    """Build vocabularies and a model, train it with `model.fit`, save it.

    The steps, each public for a script that wants to change one: the data
    (`make_tokenizers`, `make_datasets`), the model (`build_model`), the
    callbacks (`make_callbacks`) and the fit (`fit`); `train` adds the
    checks, resuming, the model's record and the save.

    The run directory `config.out` gets `training_config.json` (`config`
    itself: `TrainingConfig.load(out)` and `keras-seq2seq train --config`
    repeat the run), `checkpoints/` (weights each epoch, and the best on
    validation loss), `logs/` (TensorBoard) and the trained model itself
    (`config.json`, vocabularies, weights), loadable with
    `keras_seq2seq.load(out)`. With validation pairs, the saved model has
    the weights of the epoch with the lowest validation loss. A killed run
    resumes from its backup when called again (`config.checkpoints.backup`).

    Args:
        config: TrainingConfig. Every setting of the run (see its sections).
        train_pairs: re-iterable of (source, target) strings, or None to
            read the corpora of `config.data` (split and augmented by
            `keras_seq2seq.data.corpora.training_data`).
        validation_pairs: re-iterable of pairs or None. With `train_pairs`
            None, the pairs held out from `config.data` when not given.
        callbacks: extra Keras callbacks.
        optimizer: keras.optimizers.Optimizer, a function returning one
            (called under the distribution strategy's scope), or None for
            the paper's recipe: Adam at the learning rate, the gradient
            norm clipped at `clipnorm`. The learning-rate schedules set the
            given optimizer's rate.
        loss: keras.losses.Loss or None. The training loss, given the
            logits (B, T, V), the target ids and sample weights that are 0
            on padding; None is the token cross-entropy averaged over real
            tokens (`label_smoothing` applies to it only). Not with the
            multi_worker strategy, whose loop computes its own.
        verbose: Keras fit verbosity ("auto", 0, 1, 2).
        metadata: dict or None. Saved in config.json (e.g. the command).
        strategy: a tf.distribute.Strategy or None for the one
            `config.optimization.strategy` names.

    Returns:
        (translator, history): the trained `Translator` and the Keras
        `History`.
    """
    if not isinstance(config, TrainingConfig):
        raise ConfigurationError(
            f"train() takes a TrainingConfig (e.g. TrainingConfig.create(out, model, "
            f"epochs=10)), got {type(config).__name__}.")
    opt, checkpoints, data, tune = (config.optimization, config.checkpoints, config.data,
                                    config.finetune)
    out_dir = config.out
    # First: MultiWorkerMirroredStrategy must exist before other TF work.
    strategy = opt.strategy if strategy is None else strategy
    multi_worker = strategy == "multi_worker" or isinstance(
        strategy, tf.distribute.MultiWorkerMirroredStrategy)
    if loss is not None and multi_worker:
        raise ConfigurationError("The multi_worker strategy computes its own token loss: "
                                 "train without loss=.")
    if isinstance(strategy, str):
        strategy = make_strategy(strategy)
    chief = is_chief(strategy)
    if multi_worker:
        if opt.lr_schedule != "constant" or opt.patience:
            raise ConfigurationError(
                "The multi_worker strategy trains with a constant learning rate "
                "and without early stopping.")
        if checkpoints.backup or checkpoints.bleu_sample:
            logger.info("multi_worker: no backup and no validation BLEU sample "
                        "(epoch checkpoints only).")
        checkpoints = checkpoints.replace(backup=False, bleu_sample=0)
    if chief:
        check_output_directory(out_dir)
        config.save(os.path.join(out_dir, TRAINING_CONFIG_FILE))
    # Checked now so that a bad label_smoothing fails before any corpus work.
    if loss is None:
        TokenCrossEntropy(opt.label_smoothing)
    base = None
    model_config = config.model
    if tune.init_from is not None:
        base = load_base(tune.init_from, model_config, data.source_language,
                         data.target_language)
        model_config = base.config
        logger.info("Fine-tuning %s.", tune.init_from)
        _warn_other_split(base, data, opt.seed, train_pairs, validation_pairs)
    backup_dir = os.path.join(out_dir, BACKUP_DIR)
    resume_epoch = _check_backup(backup_dir) if checkpoints.backup else None
    if resume_epoch is not None:
        logger.info("Resuming from the backup in %s (after epoch %d).", backup_dir, resume_epoch)
    augmentation = {}
    if train_pairs is None:
        train_pairs, validation_pairs = read_training_data(data, opt.seed, validation_pairs)
        augmentation = {name: getattr(data, name) for name in
                        ("name_augmentation", "concatenate_pairs") if getattr(data, name)}
    keras.utils.set_random_seed(opt.seed)

    started = time.time()
    source_tokenizer, target_tokenizer, stats = make_tokenizers(
        train_pairs, model_config, data, base=base, vocab_update=tune.vocab_update)
    tokenizing = time.time()
    train_data, validation_data, validation_count = make_datasets(
        train_pairs, validation_pairs, model_config, source_tokenizer, target_tokenizer,
        opt, cache_dir=checkpoints.cache_dir)
    logger.info("Tokenized the training and validation pairs in %.0f s.",
                time.time() - tokenizing)
    model = build_model(model_config, source_tokenizer, target_tokenizer, opt,
                        strategy=strategy, optimizer=optimizer, loss=loss, base=base)
    total_params, recurrent_params = count_parameters(model)
    if chief:
        # float32 weights: each epoch checkpoint, the best one, the model and
        # the backup (weights + Adam's two moments, twice while it rotates).
        weight_bytes = 4 * total_params
        check_free_space(out_dir, weight_bytes * (opt.epochs + 2
                                                  + (6 if checkpoints.backup else 0)))
    logger.info("Model: %d parameters (%d recurrent).", total_params, recurrent_params)

    run = make_callbacks(
        model, model_config, source_tokenizer, target_tokenizer, out_dir,
        validation_pairs=validation_pairs, optimization=opt, checkpoints=checkpoints,
        extra=callbacks, make_directories=chief)
    if multi_worker:
        history = keras.callbacks.History()
        history.history = fit_multi_worker(
            model, model.optimizer, strategy, train_data, validation_data, opt.epochs,
            on_epoch_end=(_chief_checkpoints(model, run.checkpoint_dir, run.best_path)
                          if chief else None),
            time_limit_seconds=opt.max_minutes * 60 if opt.max_minutes else None,
            verbose=verbose != 0, label_smoothing=opt.label_smoothing,
            log_probabilities=model_config.copy_attention,
        )
    else:
        history = fit(model, train_data, validation_data, opt.epochs, run, verbose=verbose)
    if validation_data is not None and os.path.exists(run.best_path):
        model.load_weights(run.best_path)

    record = {
        **training_record(history, opt.seed, opt.epochs, opt.batch_size, opt.learning_rate,
                          opt.clipnorm),
        "batch_tokens": opt.batch_tokens,
        "shuffle_buffer": opt.shuffle_buffer,
        "train_pairs": stats["pairs"],
        "validation_pairs": validation_count,
        "pairs_over_length_limit": stats["too_long"],
        "parameters": total_params,
        "recurrent_parameters": recurrent_params,
        "training_seconds": round(time.time() - started, 1),
        "resumed_after_epoch": resume_epoch,
        "dtype_policy": opt.mixed_precision or "float32",
        "lr_schedule": opt.lr_schedule,
        "label_smoothing": opt.label_smoothing,
        **({"init_from": os.path.abspath(tune.init_from), "vocab_update": tune.vocab_update}
           if tune.init_from else {}),
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        **(metadata or {}),
        **augmentation,
    }
    record["strategy"] = type(strategy).__name__
    record["replicas"] = strategy.num_replicas_in_sync
    translator = Translator(
        model, model_config, source_tokenizer, target_tokenizer, metadata=record
    )
    interrupted = False
    if chief and checkpoints.validation_bleu and validation_pairs is not None:
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


def _warn_other_split(base, data, seed, train_pairs, validation_pairs):
    # The seed chooses which source sentences are held out: fine-tuning on
    # the base model's corpora with another seed validates on pairs the
    # base model trained on, and its validation figures then overstate.
    held_out_by_seed = train_pairs is None and validation_pairs is None and (
        data.validation_fraction or not data.validation_source)
    trained_with = base.metadata.get("seed")
    if held_out_by_seed and trained_with is not None and trained_with != seed:
        logger.warning(
            "The model to fine-tune was trained with seed %s, which chose its held-out "
            "validation pairs; seed %s holds out others. If these are the corpora it was "
            "trained on, some validation pairs are pairs it trained on and the validation "
            "figures overstate: pass --seed %s to keep its split.", trained_with, seed,
            trained_with)


def read_training_data(data, seed=0, validation_pairs=None):
    """(train_pairs, validation_pairs) from the corpora of a `DataConfig`
    (`keras_seq2seq.data.corpora.training_data`); `validation_pairs`, when
    given, replace the held-out ones."""
    from keras_seq2seq.data.corpora import training_data

    if not data.has_corpus:
        raise ConfigurationError(
            "No training data: give train_pairs, or name a corpus in the config's data "
            "(pairs, source and target files, or tfds).")
    train_pairs, held_out = training_data(
        data.corpus_spec(), seed=seed, concatenate=data.concatenate_pairs,
        name_augmentation=data.name_augmentation)
    return train_pairs, held_out if validation_pairs is None else validation_pairs


# The steps of `train`, each usable on its own from Python: data
# (make_tokenizers, make_datasets), model (build_model), callbacks
# (make_callbacks) and fit (fit). Each takes the sections of a
# TrainingConfig it reads (the defaults when None).


def make_tokenizers(train_pairs, config, data=None, base=None, vocab_update="keep"):
    """Step 1: the source and target tokenizers for `config` (a
    Seq2SeqConfig) in the languages of `data` (a DataConfig), learnt from
    the training pairs (or, to fine-tune, the `base` translator's, kept or
    merged with the new data's tokens).

    Returns:
        (source_tokenizer, target_tokenizer, stats): stats has "pairs" and
        "too_long" (pairs over the length limits, in words).
    """
    data = data or DataConfig()
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
                                      data.source_language)
    target_tokenizer = make_tokenizer(config.tokenizer, target_vocab, config.lowercase,
                                      data.target_language)
    return source_tokenizer, target_tokenizer, stats


def make_datasets(train_pairs, validation_pairs, config, source_tokenizer, target_tokenizer,
                  optimization=None, cache_dir=None):
    """Step 2: the tf.data pipelines (bucketed by length, teacher forcing),
    batched and shuffled as `optimization` (an OptimizationConfig) says:
    its `batch_tokens` sizes the training batches in tokens (`make_dataset`);
    `cache_dir` keeps the tokenized pairs in files.

    Returns:
        (train_data, validation_data or None, validation_count).
    """
    optimization = optimization or OptimizationConfig()

    def dataset(pairs, shuffle):
        cache = True
        if cache_dir:
            cache = os.path.join(cache_dir, "train" if shuffle else "validation")
        return make_dataset(
            pairs,
            source_tokenizer,
            target_tokenizer,
            batch_size=optimization.batch_size,
            reverse_source=config.reverse_source,
            max_source_length=config.max_source_length,
            max_target_length=config.max_target_length,
            shuffle=shuffle,
            shuffle_buffer=optimization.shuffle_buffer,
            seed=optimization.seed,
            cache=cache,
            batch_tokens=optimization.batch_tokens if shuffle else None,
            # Tokenize now, not in the first epoch beside training.
            prefill=True,
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


def build_model(config, source_tokenizer, target_tokenizer, optimization=None, strategy=None,
                optimizer=None, loss=None, base=None):
    """Step 3: the compiled training model (a `Seq2SeqBackbone`), built under
    the strategy's scope, with the learning rate, clipping, label smoothing
    and precision of `optimization` (an OptimizationConfig); see `train`
    for `optimizer` and `loss`. With `base`, its weights are copied in
    (fine-tuning)."""
    opt = optimization or OptimizationConfig()
    strategy = strategy or tf.distribute.get_strategy()
    label_smoothing = opt.label_smoothing
    if loss is None:
        # A copy-attention model outputs log-probabilities.
        loss = TokenCrossEntropy(label_smoothing, log_probabilities=config.copy_attention)
    with strategy.scope(), _dtype_policy(opt.mixed_precision):
        model = build_training_model(config, source_tokenizer.vocabulary_size,
                                     target_tokenizer.vocabulary_size)
        if base is not None:
            transfer_weights(base.model, model)
        if optimizer is None:
            optimizer = keras.optimizers.Adam(learning_rate=opt.learning_rate,
                                              clipnorm=opt.clipnorm)
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
                   validation_pairs=None, optimization=None, checkpoints=None, extra=(),
                   make_directories=True):
    """Step 4: the run's callbacks, in the order they must run: the BLEU
    sample, the learning-rate schedule and early stopping (`optimization`,
    an OptimizationConfig), checkpoints, TensorBoard, the time limit, the
    caller's `extra`, then the backup (`checkpoints`, a CheckpointConfig)."""
    opt = optimization or OptimizationConfig()
    checkpoints = checkpoints or CheckpointConfig()
    checkpoint_dir = os.path.join(out_dir, "checkpoints")
    if make_directories:
        os.makedirs(checkpoint_dir, exist_ok=True)
    best_path = os.path.join(checkpoint_dir, "best.weights.h5")
    backup_dir = os.path.join(out_dir, BACKUP_DIR)
    with_validation = validation_pairs is not None
    fit_callbacks = []
    if with_validation and checkpoints.bleu_sample:
        sample = [pair for pair, _ in zip(validation_pairs, range(checkpoints.bleu_sample))]
        # Before TensorBoard, which then logs the score it adds.
        fit_callbacks.append(ValidationBLEU(
            lambda: Translator(model, config, source_tokenizer, target_tokenizer), sample
        ))
    fit_callbacks += learning_rate_callbacks(
        opt.lr_schedule, opt.learning_rate, with_validation, opt.lr_decay_start,
        opt.lr_decay, opt.patience,
    )
    fit_callbacks += standard_callbacks(out_dir, best_path, with_validation, opt.max_minutes,
                                        extra)
    state = backup_callback = None
    if checkpoints.backup:
        # After every callback whose state it keeps, before the backup that
        # refers to that state (see TrainingState).
        state = TrainingState(backup_dir, fit_callbacks)
        backup_callback = AtomicBackupAndRestore(
            # double_checkpoint keeps the previous backup too, for a crash
            # in the middle of writing the latest one.
            backup_dir, save_freq=checkpoints.backup_every or "epoch", double_checkpoint=True,
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
        interrupt = StopOnInterrupt(run.backup.save if run.backup is not None else None)
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
                    run.backup.save()
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
    record entries `train` keeps (`checkpoints.validation_bleu`) with the model."""
    from keras_seq2seq.evaluation import corpus_bleu

    sources, references = zip(*validation_pairs)
    started = time.time()
    # Greedy, as the per-epoch `val_bleu` (see ValidationBLEU): comparable with
    # it and cheap on a large validation set; `evaluate` scores the settings.
    hypotheses = translator.translate(list(sources), batch_size=128, progress=True, beam_size=1)
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
