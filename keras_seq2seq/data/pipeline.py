"""The tf.data training pipeline: text pairs -> bucketed teacher-forcing batches.

A batch is `({"encoder_tokens": (B, S), "decoder_tokens": (B, T)}, targets
(B, T), sample_weight (B, T))` with `decoder_tokens = <start> + y` and
`targets = y + <end>`; padding (id 0) is on the right and has weight 0.
"""

import os

import tensorflow as tf

from keras_seq2seq.constants import END_ID, PAD_ID, START_ID

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


def tokenize_pairs(pairs, source_tokenizer, target_tokenizer, chunk_size=1024):
    """Dataset of (source ids, target ids) int32 vectors, tokenized in chunks."""
    dataset = pairs_to_dataset(pairs).batch(chunk_size)
    dataset = dataset.map(
        lambda s, t: (source_tokenizer.encode(s), target_tokenizer.encode(t)),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return dataset.unbatch()


def reverse_tokens(ids):
    """Reverse a 1-D id vector (before padding, so padding stays on the right)."""
    return tf.reverse(ids, axis=[0])


def teacher_forcing(source_ids, target_ids, reverse_source=True):
    """One example -> (encoder tokens, decoder tokens, targets), unpadded.

    decoder_tokens = <start> y1 ... yn, targets = y1 ... yn <end>.
    """
    encoder_tokens = reverse_tokens(source_ids) if reverse_source else source_ids
    decoder_tokens = tf.concat([[START_ID], target_ids], axis=0)
    targets = tf.concat([target_ids, [END_ID]], axis=0)
    return encoder_tokens, decoder_tokens, targets


def _to_keras(encoder_tokens, decoder_tokens, targets):
    sample_weight = tf.cast(tf.not_equal(targets, PAD_ID), tf.float32)
    inputs = {"encoder_tokens": encoder_tokens, "decoder_tokens": decoder_tokens}
    return inputs, targets, sample_weight


def make_dataset(
    pairs,
    source_tokenizer,
    target_tokenizer,
    batch_size=64,
    reverse_source=True,
    max_source_length=50,
    max_target_length=50,
    shuffle=True,
    shuffle_buffer=20000,
    seed=0,
    bucket_boundaries=DEFAULT_BUCKET_BOUNDARIES,
    cache=True,
):
    """Build the training (or validation) dataset.

    Args:
        pairs: re-iterable of (source, target) strings.
        source_tokenizer: WordTokenizer for the source language.
        target_tokenizer: WordTokenizer for the target language.
        batch_size: int. Sentences per batch. Defaults to 64.
        reverse_source: bool. Reverse the source words (Sutskever et al.).
            Defaults to True.
        max_source_length: int. Longer sources are dropped. Defaults to 50.
        max_target_length: int. Longer targets (without `<end>`) are
            dropped. Defaults to 50.
        shuffle: bool. Shuffle each epoch. Defaults to True.
        shuffle_buffer: int. Shuffle buffer size. Defaults to 20000.
        seed: int. Shuffle seed. Defaults to 0.
        bucket_boundaries: sequence of int or None. Length bucket edges;
            None pads every batch to its own longest sentence without
            bucketing. Defaults to DEFAULT_BUCKET_BOUNDARIES.
        cache: bool or str. True keeps tokenized ids in memory after the
            first epoch; a path prefix keeps them in files there instead
            (memory then stays flat whatever the corpus size); False
            tokenizes again each epoch. Defaults to True.

    Returns:
        A tf.data.Dataset of Keras `(inputs, targets, sample_weight)`.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    dataset = tokenize_pairs(pairs, source_tokenizer, target_tokenizer)
    dataset = dataset.filter(
        lambda s, t: (tf.size(s) > 0)
        & (tf.size(t) > 0)
        & (tf.size(s) <= max_source_length)
        & (tf.size(t) <= max_target_length)
    )
    if isinstance(cache, str):
        directory = os.path.dirname(os.path.abspath(cache))
        os.makedirs(directory, exist_ok=True)
        dataset = dataset.cache(cache)
    elif cache:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.map(
        lambda s, t: teacher_forcing(s, t, reverse_source),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    if bucket_boundaries:
        boundaries = sorted(b for b in bucket_boundaries if b > 0)
        dataset = dataset.bucket_by_sequence_length(
            element_length_func=lambda e, d, t: tf.maximum(tf.size(e), tf.size(d)),
            bucket_boundaries=boundaries,
            bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
            padded_shapes=([None], [None], [None]),
            padding_values=(PAD_ID, PAD_ID, PAD_ID),
        )
    else:
        dataset = dataset.padded_batch(
            batch_size,
            padded_shapes=([None], [None], [None]),
            padding_values=(PAD_ID, PAD_ID, PAD_ID),
        )
    dataset = dataset.map(_to_keras, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)
