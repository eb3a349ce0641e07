"""Train a captioner with `model.fit`.

Two ways in, chosen from the config:
- a trainable CNN (the small CNN, or a fine-tuned backbone): the end-to-end
  model trains on images, decoded and resized in tf.data;
- a frozen backbone: its features are computed once per image (cached in
  memory, and on disk with `feature_cache`) and the caption model trains on
  them, so the CNN runs once per image instead of once per caption per epoch.

Images that cannot be read are reported by name and left out with their
captions (the corpus readers already left out missing files).
"""

import json
import logging
import os
import time

import keras
import numpy as np
import tensorflow as tf

from keras_seq2seq.captioning.captioner import Captioner
from keras_seq2seq.captioning.config import CaptionerTrainingConfig
from keras_seq2seq.captioning.data import read_coco, read_flickr8k, read_image_list
from keras_seq2seq.captioning.images import ImageError, decode_image, load_image, resize_image
from keras_seq2seq.captioning.model import build_captioning_models
from keras_seq2seq.constants import END_ID, PAD_ID, START_ID
from keras_seq2seq.data.readers import CorpusError
from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.text import WordTokenizer, split_words, vocabulary_from_counts
from keras_seq2seq.text.vocabulary import count_tokens
from keras_seq2seq.training.callbacks import learning_rate_callbacks
from keras_seq2seq.training.config import TRAINING_CONFIG_FILE
from keras_seq2seq.training.losses import TokenCrossEntropy
from keras_seq2seq.training.trainer import (
    check_output_directory,
    standard_callbacks,
    training_record,
)

logger = logging.getLogger("keras_seq2seq")


def build_caption_vocabulary(captions, config, chunk_size=4096):
    """Caption vocabulary, tokenized as the model's tokenizer does."""
    counts = None
    for start in range(0, len(captions), chunk_size):
        words = split_words(tf.constant(captions[start : start + chunk_size]), config.lowercase)
        counts = count_tokens([words.flat_values.numpy()], counts)
    if counts is None:
        raise CorpusError("No captions to build a vocabulary from.")
    return vocabulary_from_counts(counts, config.target_vocab_size, config.min_frequency)


def _caption_ids(tokenizer, captions, max_length):
    """Captions -> list of int32 id arrays; None for captions longer than max_length."""
    result = []
    for start in range(0, len(captions), 4096):
        ids = tokenizer.encode(tf.constant(captions[start : start + 4096]))
        for row in ids.numpy():
            row = np.asarray(row, np.int32)
            result.append(row if 0 < len(row) <= max_length else None)
    return result


def readable_images(images, config, progress=True):
    """Indices of the images that decode, and a list of (name, error) for the others.

    For file paths, every image is decoded once (a training that met a
    corrupt file after an hour would lose that hour). Arrays are checked for
    shape only.
    """
    if isinstance(images, np.ndarray):
        if images.ndim not in (3, 4):
            raise CorpusError(f"Image arrays must be (N, H, W[, C]), got shape {images.shape}.")
        return list(range(len(images))), []
    good, bad = [], []
    bar = keras.utils.Progbar(len(images), unit_name="image") if progress else None
    for i, path in enumerate(images):
        try:
            load_image(path, 8, 8)  # decode fully; the size does not matter here
            good.append(i)
        except ImageError as e:
            bad.append((path, str(e)))
        if bar is not None and (i % 100 == 0 or i == len(images) - 1):
            bar.update(i + 1)
    return good, bad


def _array_images(array, config):
    """(N, H, W[, C]) pixels -> (N, h, w, 3) at the model's size, values 0..255.

    uint8 arrays of the right size stay uint8 (a quarter of the memory;
    tf.data casts each image); uint16 ones are scaled to 0..255 as
    `load_image` does.
    """
    array = np.asarray(array)
    if array.ndim == 3:
        array = array[..., None]
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    elif array.shape[-1] == 4:
        array = array[..., :3]
    if array.dtype == np.uint16:
        array = array.astype(np.float32) / 257.0
    if array.shape[1:3] != (config.image_height, config.image_width):
        array = np.concatenate([
            resize_image(array[i : i + 256].astype(np.float32), config.image_height,
                         config.image_width).numpy()
            for i in range(0, len(array), 256)
        ])
    return array if array.dtype == np.uint8 else array.astype(np.float32)


def image_features(image_encoder, images, config, batch_size=64, cache_file=None,
                   progress=True):
    """Features (N, F) of every image (paths or array) under a frozen encoder.

    With `cache_file` (.npy), features are read from it when it exists and
    matches the number of images, and written to it otherwise.
    """
    if cache_file and os.path.isfile(cache_file):
        cached = np.load(cache_file)
        if len(cached) == len(images):
            logger.info("Image features read from %s.", cache_file)
            return cached
        logger.warning("%s holds %d features for %d images: recomputing.", cache_file,
                       len(cached), len(images))
    bar = keras.utils.Progbar(len(images), unit_name="image") if progress else None
    chunks = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        if isinstance(images, np.ndarray):
            pixels = _array_images(batch, config).astype(np.float32)
        else:
            pixels = np.stack([load_image(p, config.image_height, config.image_width)
                               for p in batch])
        chunks.append(np.asarray(image_encoder(pixels, training=False)))
        if bar is not None:
            bar.update(min(start + batch_size, len(images)))
    features = np.concatenate(chunks).astype(np.float32)
    if cache_file:
        os.makedirs(os.path.dirname(os.path.abspath(cache_file)), exist_ok=True)
        np.save(cache_file, features)
    return features


def _teacher_forcing(inputs, ids):
    decoder_tokens = tf.concat([[START_ID], ids], axis=0)
    targets = tf.concat([ids, [END_ID]], axis=0)
    return inputs, decoder_tokens, targets


def caption_dataset(corpus, tokenizer, config, batch_size, shuffle, seed=0, features=None):
    """tf.data of ({"images" or "image_features", "decoder_tokens"}, targets, weights).

    Returns (dataset, stats) where stats counts captions used, too long and
    belonging to unreadable images.
    """
    ids = _caption_ids(tokenizer, [c for _, c in corpus.pairs], config.max_target_length)
    image_index = np.array([i for i, _ in corpus.pairs], np.int64)
    keep = np.array([x is not None for x in ids], bool)
    stats = {"captions": int(keep.sum()), "too_long": int((~keep).sum())}
    if not keep.any():
        raise CorpusError("No caption is short enough to train on "
                          f"(max_target_length={config.max_target_length}).")
    image_index = image_index[keep]
    ragged = tf.ragged.constant([x for x in ids if x is not None], dtype=tf.int32)
    if features is not None:
        key = "image_features"
        inputs = tf.data.Dataset.from_tensor_slices(features[image_index])
    elif isinstance(corpus.images, np.ndarray):
        key = "images"
        inputs = tf.data.Dataset.from_tensor_slices(
            _array_images(corpus.images, config)[image_index]
        ).map(lambda image: tf.cast(image, tf.float32))
    else:
        key = "images"
        paths = tf.constant([corpus.images[i] for i in image_index])
        height, width = config.image_height, config.image_width
        inputs = tf.data.Dataset.from_tensor_slices(paths).map(
            lambda p: decode_image(tf.io.read_file(p), height, width),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    dataset = tf.data.Dataset.zip(inputs, tf.data.Dataset.from_tensor_slices(ragged))
    if shuffle:
        dataset = dataset.shuffle(min(len(image_index), 20000), seed=seed,
                                  reshuffle_each_iteration=True)
    dataset = dataset.map(lambda x, y: _teacher_forcing(x, y),
                          num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.padded_batch(batch_size, padding_values=(0.0, PAD_ID, PAD_ID))

    def to_keras(x, decoder_tokens, targets):
        weights = tf.cast(tf.not_equal(targets, PAD_ID), tf.float32)
        return {key: x, "decoder_tokens": decoder_tokens}, targets, weights

    dataset = dataset.map(to_keras, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE), stats


def _drop_unreadable(corpus, config, name):
    good, bad = readable_images(corpus.images, config, progress=False)
    for _, error in bad[:5]:
        logger.warning("%s: skipping %s", name, error)
    if bad:
        logger.warning("%s: %d unreadable images (and their captions) left out.", name, len(bad))
    if not good:
        raise CorpusError(f"{name}: no readable image.")
    return (corpus.subset(good) if bad else corpus), len(bad)


def read_caption_corpora(data, seed=0, hold_out=True):
    """(train, validation) CaptionCorpus from a `CaptionerDataConfig`'s
    source: the digits canvases (their own validation canvases), or a
    corpus of files split by image (`validation_fraction`; validation None
    at 0). With `hold_out` False, no validation: the corpus whole."""
    if data.digits:
        from keras_seq2seq.captioning.digits import digits_corpora

        train, validation, _ = digits_corpora(
            data.digits_train, max(1, data.digits_train // 20), 1, seed=seed,
            augment_train=data.digits_augment)
        return train, validation if hold_out else None
    if data.flickr8k:
        corpus = read_flickr8k(data.flickr8k, data.images)
    elif data.coco:
        corpus = read_coco(data.coco, data.images)
    elif data.image_list:
        corpus = read_image_list(data.image_list, data.captions, data.images)
    else:
        raise ConfigurationError(
            "No captioned images: give train_corpus, or a data source in the config "
            "(flickr8k, coco, image_list with captions, or digits).")
    if not hold_out or not data.validation_fraction:
        return corpus, None
    return corpus.split(data.validation_fraction, seed)


def train_captioner(config, *, train_corpus=None, validation_corpus=None, callbacks=(),
                    metadata=None, verbose="auto"):
    """Build a caption vocabulary and a model, train it with `model.fit`, save it.

    The run directory `config.out` gets `training_config.json` (`config`
    itself: `CaptionerTrainingConfig.load(out)` and `keras-seq2seq
    train-captioner --config` repeat the run), `checkpoints/` (each epoch,
    and the best on validation loss), `logs/` (TensorBoard) and the model
    itself, loadable with `load_captioner(out)`.

    Args:
        config: CaptionerTrainingConfig. The model (`config.model`), the
            data source and the optimisation (Adam, schedule, stopping
            rules, seed: see `CaptionerOptimizationConfig`).
        train_corpus: CaptionCorpus, or None to read `config.data`'s source
            (`read_caption_corpora`).
        validation_corpus: CaptionCorpus or None. With `train_corpus` None,
            the one held out from `config.data` when not given.
        callbacks: extra Keras callbacks.
        metadata: dict or None. Saved in config.json (e.g. the command).
        verbose: Keras fit verbosity ("auto", 0, 1, 2).

    Returns:
        (captioner, history).
    """
    if not isinstance(config, CaptionerTrainingConfig):
        raise ConfigurationError(
            f"train_captioner() takes a CaptionerTrainingConfig (e.g. CaptionerTrainingConfig."
            f"create(out, model, epochs=10)), got {type(config).__name__}.")
    opt, data, model_config, out_dir = (config.optimization, config.data, config.model,
                                        config.out)
    check_output_directory(out_dir)
    config.save(os.path.join(out_dir, TRAINING_CONFIG_FILE))
    if train_corpus is None:
        train_corpus, held_out = read_caption_corpora(data, opt.seed,
                                                      hold_out=validation_corpus is None)
        validation_corpus = validation_corpus if validation_corpus is not None else held_out
    # Checked before any image is read (early stopping needs validation data).
    schedule_callbacks = learning_rate_callbacks(
        opt.lr_schedule, opt.learning_rate, validation_corpus is not None,
        decay_start=opt.lr_decay_start, decay_factor=opt.lr_decay,
        early_stopping_patience=opt.patience, plateau_patience=opt.lr_patience,
    )
    keras.utils.set_random_seed(opt.seed)
    started = time.time()
    train_corpus, bad_train = _drop_unreadable(train_corpus, model_config, "train")
    bad_validation = 0
    if validation_corpus is not None:
        validation_corpus, bad_validation = _drop_unreadable(
            validation_corpus, model_config, "validation"
        )

    vocabulary = build_caption_vocabulary([c for _, c in train_corpus.pairs], model_config)
    tokenizer = WordTokenizer(vocabulary, model_config.lowercase, data.language)
    image_encoder, caption_model, end_to_end = build_captioning_models(model_config,
                                                                       len(vocabulary))
    model = end_to_end if model_config.backbone_trainable else caption_model

    def dataset(corpus, shuffle, cache_name):
        features = None
        if not model_config.backbone_trainable:
            cache = (os.path.join(data.feature_cache, cache_name) if data.feature_cache
                     else None)
            features = image_features(image_encoder, corpus.images, model_config,
                                      cache_file=cache, progress=verbose != 0)
        return caption_dataset(corpus, tokenizer, model_config, opt.batch_size, shuffle,
                               opt.seed, features)

    train_data, stats = dataset(train_corpus, True, "train.npy")
    validation_data = None
    if validation_corpus is not None:
        validation_data, _ = dataset(validation_corpus, False, "validation.npy")
    logger.info("Captions: %d for training (%d too long), vocabulary %d words.",
                stats["captions"], stats["too_long"], len(vocabulary))

    metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    if opt.label_smoothing:  # the plain cross-entropy too, as the translation trainer's
        metrics.append(keras.metrics.SparseCategoricalCrossentropy(name="nll", from_logits=True))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=opt.learning_rate, clipnorm=opt.clipnorm),
        loss=TokenCrossEntropy(opt.label_smoothing), weighted_metrics=metrics,
    )
    checkpoint_dir = os.path.join(out_dir, "checkpoints")
    os.makedirs(checkpoint_dir, exist_ok=True)
    best_path = os.path.join(checkpoint_dir, "best.weights.h5")
    fit_callbacks = schedule_callbacks + standard_callbacks(
        out_dir, best_path, validation_data is not None, opt.max_minutes, callbacks)
    history = model.fit(train_data, validation_data=validation_data, epochs=opt.epochs,
                        callbacks=fit_callbacks, verbose=verbose,
                        shuffle=False)  # the dataset shuffles itself
    if validation_data is not None and os.path.exists(best_path):
        model.load_weights(best_path)

    record = {
        **training_record(history, opt.seed, opt.epochs, opt.batch_size, opt.learning_rate,
                          opt.clipnorm),
        "lr_schedule": opt.lr_schedule,
        "lr_patience": opt.lr_patience,
        "train_images": len(train_corpus.images),
        "train_captions": stats["captions"],
        "captions_over_length_limit": stats["too_long"],
        "unreadable_images": bad_train + bad_validation,
        "parameters": end_to_end.count_params(),
        "training_seconds": round(time.time() - started, 1),
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        **(metadata or {}),
    }
    captioner = Captioner(end_to_end, model_config, tokenizer, metadata=record)
    captioner.save(out_dir)
    with open(os.path.join(out_dir, "history.json"), "w") as f:
        json.dump(record["history"], f, indent=2)
    return captioner, history
