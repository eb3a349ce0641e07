"""The tf.data training pipeline: text pairs -> bucketed teacher-forcing batches.

A batch is `({"encoder_tokens": (B, S), "decoder_tokens": (B, T)}, targets
(B, T), sample_weight (B, T))` with `decoder_tokens = <start> + y` and
`targets = y + <end>`; padding (id 0) is on the right and has weight 0.
"""

import os

import tensorflow as tf

from keras_seq2seq.constants import PAD_ID
from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.models.preprocessor import keras_batch

# Bucket edges (in tokens) for batches of similar-length sentences, as in
# the paper; wider edges for the rarer long sentences.
DEFAULT_BUCKET_BOUNDARIES = (6, 8, 10, 12, 14, 16, 20, 24, 30, 40, 60, 80)


def pairs_to_dataset(pairs):
    """A streaming dataset of (source, target) tf.string scalars."""
    return tf.data.Dataset.from_generator(
        lambda: iter(pairs),
        output_signature=(
            tf.TensorSpec(shape=(), dtype=tf.string),
            tf.TensorSpec(shape=(), dtype=tf.string),
        ),
    )


def encode_pairs(pairs, preprocessor, chunk_size=1024):
    """Dataset of (encoder tokens, decoder tokens, targets) int32 vectors,
    unpadded: `preprocessor.encode_pairs` run on chunks of pairs."""
    dataset = pairs_to_dataset(pairs).batch(chunk_size)
    dataset = dataset.map(preprocessor.encode_pairs, num_parallel_calls=tf.data.AUTOTUNE)
    # Unbatched rows of a ragged batch come typed as ragged tensors of
    # ragged rank 0; identity makes them the plain vectors they are, which
    # padded_batch and bucketing need.
    return dataset.unbatch().map(lambda *ids: tuple(tf.identity(x) for x in ids))


def bucket_batch_sizes(batch_tokens, boundaries, longest):
    """Sentences per batch in each length bucket for batches of at most
    `batch_tokens` tokens (per side, padding included): bucket i holds
    lengths below `boundaries[i]`, the last one lengths up to `longest`."""
    if batch_tokens < 1:
        raise ConfigurationError(f"batch_tokens must be >= 1, got {batch_tokens}.")
    # A bucket holds nothing longer than `longest`, whatever its edge.
    widths = [min(b - 1, longest) for b in boundaries] + [longest]
    return [max(1, batch_tokens // width) for width in widths]


def make_dataset(
    pairs,
    source_tokenizer=None,
    target_tokenizer=None,
    batch_size=64,
    reverse_source=True,
    max_source_length=50,
    max_target_length=50,
    shuffle=True,
    shuffle_buffer=None,
    seed=0,
    bucket_boundaries=DEFAULT_BUCKET_BOUNDARIES,
    cache=True,
    preprocessor=None,
    batch_tokens=None,
    autotune=False,
    prefill=False,
):
    """Build the training (or validation) dataset.

    Args:
        pairs: re-iterable of (source, target) strings.
        source_tokenizer: WordTokenizer or WordPieceTokenizer for the
            source language (or give `preprocessor`).
        target_tokenizer: the same for the target language.
        batch_size: int. Sentences per batch. Defaults to 64.
        reverse_source: bool. Reverse the source words (Sutskever et al.).
            Defaults to True.
        max_source_length: int. Longer sources are dropped. Defaults to 50.
        max_target_length: int. Longer targets (without `<end>`) are
            dropped. Defaults to 50.
        shuffle: bool. Shuffle each epoch. Defaults to True.
        shuffle_buffer: int or None. Pairs in the shuffle buffer. Defaults
            to None: the whole training set, so that every epoch is a
            uniform shuffle. A smaller buffer bounds memory (with a file
            `cache`) but only mixes neighbouring pairs: on corpora stored
            in an order (Tatoeba's export is sorted by length, and a run's
            corpora follow one another) each epoch then goes from short
            sentences to long ones and from one corpus to the next, and
            the model forgets what the epoch began with
            (benchmarks/peers/README.md, "Shuffling").
        seed: int. Shuffle seed. Defaults to 0.
        bucket_boundaries: sequence of int or None. Length bucket edges;
            None pads every batch to its own longest sentence without
            bucketing. Defaults to DEFAULT_BUCKET_BOUNDARIES.
        cache: bool or str. True keeps tokenized ids in memory after the
            first epoch; a path prefix keeps them in files there instead
            (memory then stays flat whatever the corpus size); False
            tokenizes again each epoch. Defaults to True.
        preprocessor: Seq2SeqPreprocessor or None. Does all the text work
            (the model's own, so that training and translation prepare a
            source alike); when given, the tokenizers, `reverse_source` and
            the length limits are its own. Defaults to one built from them.
        batch_tokens: int or None. Size batches in tokens instead of
            sentences: each length bucket's batches hold `batch_tokens //
            L` sentences, L being the longest sentence the bucket can hold
            (the larger of source and target, `<end>` included), so a
            batch of short sentences has more of them; `batch_size` is then
            not used. Needs bucketing. Defaults to None (`batch_size`
            sentences in every bucket).
        autotune: bool. tf.data's autotuning of buffer sizes and
            parallelism. Defaults to False: on two CPU cores it made a
            `model.fit` epoch over the same cached batches take 1.1-1.3x longer
            by the median (rounds that waited, benchmarks/RESULTS.md); the
            batches and their order are the same either way.
        prefill: bool. With `cache`, tokenize every pair now, before the
            dataset is returned (`fill_cache`), instead of during the first
            epoch, where the tokenizer competes with training for the
            cores. The batches and their order are the same either way.
            Defaults to False.

    Returns:
        A tf.data.Dataset of Keras `(inputs, targets, sample_weight)`.
    """
    if batch_size < 1:
        raise ConfigurationError(f"batch_size must be >= 1, got {batch_size}.")
    if shuffle_buffer is not None and shuffle_buffer < 1:
        raise ConfigurationError(f"shuffle_buffer must be >= 1, got {shuffle_buffer}.")
    if batch_tokens is not None and not bucket_boundaries:
        raise ConfigurationError("batch_tokens needs bucket_boundaries: a batch's size in "
                                 "tokens is set per length bucket.")
    if preprocessor is None:
        from keras_seq2seq.models.preprocessor import Seq2SeqPreprocessor

        preprocessor = Seq2SeqPreprocessor(source_tokenizer, target_tokenizer, reverse_source,
                                           max_source_length, max_target_length)
    dataset = encode_pairs(pairs, preprocessor).filter(preprocessor.keep)
    if isinstance(cache, str):
        directory = os.path.dirname(os.path.abspath(cache))
        os.makedirs(directory, exist_ok=True)
        dataset = dataset.cache(cache)
    elif cache:
        dataset = dataset.cache()
    count = fill_cache(dataset) if cache and prefill else None
    if shuffle:
        if shuffle_buffer is None:
            # The pairs kept are at most the pairs read; a buffer larger
            # than the dataset is simply never full.
            shuffle_buffer = max(1, count if count is not None else sum(1 for _ in pairs))
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if bucket_boundaries:
        boundaries = sorted(b for b in bucket_boundaries if b > 0)
        if batch_tokens is None:
            batch_sizes = [batch_size] * (len(boundaries) + 1)
        else:
            longest = max(preprocessor.max_source_length, preprocessor.max_target_length) + 1
            batch_sizes = bucket_batch_sizes(batch_tokens, boundaries, longest)
        dataset = dataset.bucket_by_sequence_length(
            element_length_func=lambda e, d, t: tf.maximum(tf.size(e), tf.size(d)),
            bucket_boundaries=boundaries,
            bucket_batch_sizes=batch_sizes,
            padded_shapes=([None], [None], [None]),
            padding_values=(PAD_ID, PAD_ID, PAD_ID),
        )
    else:
        dataset = dataset.padded_batch(
            batch_size,
            padded_shapes=([None], [None], [None]),
            padding_values=(PAD_ID, PAD_ID, PAD_ID),
        )
    dataset = dataset.map(keras_batch, num_parallel_calls=tf.data.AUTOTUNE)
    return with_autotune(dataset.prefetch(tf.data.AUTOTUNE), autotune)


def fill_cache(dataset):
    """Iterate `dataset` (ending in `.cache()`) once, inside tf.data, so
    that its cache is complete: later iterations, and every dataset built
    on it, read the cached elements. Returns the number of elements.

    The first pass of a cached pipeline otherwise happens during the first
    training epoch: the corpus is tokenized in tf.data's threads while
    `model.fit` runs; in the peer race (benchmarks/peers/README.md) the
    shipped recipe's first epoch took 1,636 s and its second 1,512 s.
    """
    return int(dataset.reduce(tf.constant(0, tf.int64), lambda count, *_: count + 1))


def with_autotune(dataset, enabled):
    """`dataset` with tf.data's autotuning turned on or off (`make_dataset`'s
    `autotune`); the elements are the same either way."""
    options = tf.data.Options()
    options.autotune.enabled = bool(enabled)
    return dataset.with_options(options)
