"""Train a translation model with `model.fit`."""

import collections
import json
import logging
import os
import time

import keras
import numpy as np
import tensorflow as tf

from keras_seq2seq.data.pipeline import make_dataset
from keras_seq2seq.data.readers import CorpusError
from keras_seq2seq.models import build_training_model, count_parameters
from keras_seq2seq.text import WordTokenizer, split_words, vocabulary_from_counts
from keras_seq2seq.training.callbacks import TimeLimit
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
    source_vocab = vocabulary_from_counts(
        source_counts, config.source_vocab_size, config.min_frequency
    )
    target_vocab = vocabulary_from_counts(
        target_counts, config.target_vocab_size, config.min_frequency
    )
    return source_vocab, target_vocab, stats


def _check_output_directory(path):
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
    seed=0,
    source_language="en",
    target_language="fr",
    verbose="auto",
    callbacks=(),
    metadata=None,
    max_minutes=None,
):
    """Build vocabularies and a model, train it with `model.fit`, save it.

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
        seed: int. Seeds weights, dropout and shuffling. Defaults to 0.
        source_language: str. Language code of the source. Defaults to "en".
        target_language: str. Language code of the target. Defaults to "fr".
        verbose: Keras fit verbosity ("auto", 0, 1, 2). Defaults to "auto".
        callbacks: extra Keras callbacks.
        metadata: dict or None. Saved in config.json (e.g. the command).
        max_minutes: float or None. Stop after the epoch during which this
            much training time has passed. Defaults to None (no limit).

    Returns:
        (translator, history): the trained `Translator` and the Keras
        `History`.
    """
    _check_output_directory(out_dir)
    keras.utils.set_random_seed(seed)

    started = time.time()
    source_vocab, target_vocab, stats = build_vocabularies(train_pairs, config)
    logger.info(
        "Vocabularies: %d source, %d target words from %d pairs (%d longer than "
        "the length limits, left out).",
        len(source_vocab), len(target_vocab), stats["pairs"], stats["too_long"],
    )
    source_tokenizer = WordTokenizer(source_vocab, config.lowercase, source_language)
    target_tokenizer = WordTokenizer(target_vocab, config.lowercase, target_language)

    def dataset(pairs, shuffle):
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

    model = build_training_model(config, len(source_vocab), len(target_vocab))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=clipnorm),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    total_params, recurrent_params = count_parameters(model)
    logger.info("Model: %d parameters (%d recurrent).", total_params, recurrent_params)

    checkpoint_dir = os.path.join(out_dir, "checkpoints")
    os.makedirs(checkpoint_dir, exist_ok=True)
    best_path = os.path.join(checkpoint_dir, "best.weights.h5")
    fit_callbacks = [
        keras.callbacks.ModelCheckpoint(
            os.path.join(checkpoint_dir, "epoch_{epoch:03d}.weights.h5"),
            save_weights_only=True,
        ),
        keras.callbacks.TensorBoard(os.path.join(out_dir, "logs")),
        keras.callbacks.TerminateOnNaN(),
        *callbacks,
    ]
    time_limit = TimeLimit(max_minutes * 60) if max_minutes else None
    if time_limit is not None:
        fit_callbacks.append(time_limit)
    if validation_data is not None:
        fit_callbacks.append(
            keras.callbacks.ModelCheckpoint(
                best_path, monitor="val_loss", save_best_only=True, save_weights_only=True
            )
        )
    history = model.fit(
        train_data,
        validation_data=validation_data,
        epochs=epochs,
        callbacks=fit_callbacks,
        verbose=verbose,
        shuffle=False,  # the dataset shuffles itself, within length buckets
    )
    if validation_data is not None and os.path.exists(best_path):
        model.load_weights(best_path)

    record = {
        "seed": seed,
        "epochs": epochs,
        "epochs_run": len(history.history.get("loss", [])),
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "clipnorm": clipnorm,
        "train_pairs": stats["pairs"],
        "validation_pairs": validation_count,
        "pairs_over_length_limit": stats["too_long"],
        "parameters": total_params,
        "recurrent_parameters": recurrent_params,
        "training_seconds": round(time.time() - started, 1),
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        **(metadata or {}),
    }
    translator = Translator(
        model, config, source_tokenizer, target_tokenizer, metadata=record
    )
    translator.save(out_dir)
    with open(os.path.join(out_dir, "history.json"), "w") as f:
        json.dump(record["history"], f, indent=2)
    return translator, history
