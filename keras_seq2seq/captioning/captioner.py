"""A trained captioner: images in, captions out, saved as one directory.

Decoding is the translator's: the same `Decoder` (greedy and beam search,
n-best, batching, progress bar) around the same one-step decoder model; only
`encode` differs (image -> CNN features -> the context vector's states).
"""

from __future__ import annotations

import os

import tensorflow as tf

from keras_seq2seq.captioning.config import CaptionerConfig, captioner_decoding
from keras_seq2seq.captioning.images import is_single_image, load_images
from keras_seq2seq.captioning.model import (
    CAPTION_MODEL,
    IMAGE_ENCODER,
    build_captioning_models,
    build_context_model,
)
from keras_seq2seq.decoder import Decoder, run_step_model
from keras_seq2seq.model_directory import (
    CONFIG_FILE,
    FORMAT_VERSION,
    TARGET_VOCAB_FILE,
    ModelDirectoryError,
    load_weights_file,
    read_model_record,
    write_vocabulary_and_weights,
)
from keras_seq2seq.models.seq2seq import build_decoder_step_model
from keras_seq2seq.settings import DecodingConfig
from keras_seq2seq.text import WordTokenizer, load_vocabulary


class Captioner(Decoder):
    """Caption images with a trained CNN encoder + LSTM decoder.

    Args:
        model: keras.Model. The end-to-end model of `build_captioning_models`.
        config: CaptionerConfig.
        tokenizer: WordTokenizer of the captions.
        decoding: DecodingConfig, dict or None. How it captions unless a
            call says otherwise; None: `captioner_decoding(config)` (the
            `DecodingConfig` defaults, every caption allowed the config's
            `max_target_length` + 1 tokens).
        metadata: dict or None. Training record saved with the model.

    Example:

    >>> import numpy as np
    >>> from keras_seq2seq.captioning import CaptionerConfig, build_captioning_models
    >>> from keras_seq2seq.text import WordTokenizer
    >>> config = CaptionerConfig(image_height=16, image_width=16, cnn_filters=(4,),
    ...                          units=8, embedding_dim=4, max_target_length=5)
    >>> vocabulary = ["<pad>", "<unk>", "<start>", "<end>", "a", "cat"]
    >>> _, _, model = build_captioning_models(config, len(vocabulary))
    >>> captioner = Captioner(model, config, WordTokenizer(vocabulary))
    >>> isinstance(captioner.caption(np.zeros((16, 16, 3)), beam_size=1), str)
    True
    """

    progress_unit = "image"

    def __init__(self, model, config, tokenizer, decoding=None, metadata=None):
        self.model = model
        self.config = config
        self.target_tokenizer = tokenizer
        self.metadata = dict(metadata or {})
        self.image_encoder = model.get_layer(IMAGE_ENCODER)
        self.caption_model = model.get_layer(CAPTION_MODEL)
        self.context_model = build_context_model(self.caption_model, config)
        self.decoder_step_model = build_decoder_step_model(self.caption_model, config)
        self.input_spec = tf.TensorSpec(
            [None, config.image_height, config.image_width, 3], tf.float32
        )
        self._init_decoding(decoding if decoding is not None else captioner_decoding(config))

    def encode(self, images, max_tokens=None):
        """float32 images (B, H, W, 3), 0..255 -> ((states, []), lengths (B,) of 1)."""
        features = self.image_encoder(images, training=False)
        states = self.context_model(features, training=False)
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        return (states, []), tf.ones([tf.shape(images)[0]], tf.int32)

    def step(self, tokens, states):
        return run_step_model(self.decoder_step_model, tokens, states)

    def caption(self, images, decoding: DecodingConfig | dict | None = None, *,
                batch_size: int = 32, n_best: int | None = None, progress: bool = False,
                **changes):
        """Caption one image or several.

        Args:
            images: a file path, encoded bytes or an array (H, W[, C]); a
                list of those; or an array (N, H, W[, C]). Any size (resized),
                gray, RGB or RGBA, values 0..255.
            decoding, batch_size, n_best, progress, **changes: as in
                `Translator.translate` (the settings are this captioner's
                own unless given).

        Returns:
            A caption (or n-best list) per image; a single one for a single
            path or bytes.

        Raises:
            ImageError: naming the image that cannot be read.
        """
        return caption_images(self, images, decoding, batch_size=batch_size, n_best=n_best,
                              progress=progress, **changes)

    def save(self, directory, weights_dtype="float32"):
        """Write the model directory (config.json, vocabulary, weights);
        `weights_dtype="float16"` halves the weights file (see
        `Translator.save`)."""
        record = {
            "format_version": FORMAT_VERSION,
            "kind": "captioner",
            "model": self.config.to_dict(),
            "target_language": self.target_tokenizer.language,
            "target_vocab_size": self.target_tokenizer.vocabulary_size,
            "decoding": self.decoding.to_dict(),
            "metadata": self.metadata,
        }
        # The fresh copy is built without pretrained weights (no download):
        # every weight is overwritten anyway.
        _, _, fresh = build_captioning_models(
            self.config.replace(weights=None), self.target_tokenizer.vocabulary_size
        )
        write_vocabulary_and_weights(
            directory, record, {TARGET_VOCAB_FILE: self.target_tokenizer.vocabulary},
            fresh, self.model, weights_dtype=weights_dtype,
        )


def load_captioner(directory):
    """Load a directory written by `Captioner.save` (or `train_captioner`).

    Raises:
        ModelDirectoryError: naming the missing or invalid file.
    """
    record = read_model_record(directory)
    if record.get("kind") != "captioner":
        raise ModelDirectoryError(
            f"{directory} holds a {record.get('kind', 'translator')} model, not a captioner."
        )
    try:
        # Built without pretrained weights: the saved file has all of them.
        config = CaptionerConfig.from_dict(record["model"]).replace(weights=None)
    except (KeyError, TypeError, ValueError) as e:
        raise ModelDirectoryError(f"{os.path.join(directory, CONFIG_FILE)} is invalid: {e}") from e
    vocabulary = load_vocabulary(os.path.join(directory, TARGET_VOCAB_FILE))
    tokenizer = WordTokenizer(vocabulary, config.lowercase, record.get("target_language", "en"))
    _, _, model = build_captioning_models(config, len(vocabulary))
    load_weights_file(model, directory)
    try:
        decoding = DecodingConfig.from_dict(record.get("decoding"))
        if "length_offset" not in record.get("decoding", {}):
            # Written before the settings were stored: only the budget was.
            decoding = captioner_decoding(config, decoding.max_output_tokens)
    except ValueError as e:
        raise ModelDirectoryError(f"{os.path.join(directory, CONFIG_FILE)} is invalid: {e}") from e
    return Captioner(model, config, tokenizer, decoding=decoding,
                     metadata=record.get("metadata"))


def caption_images(captioner, images, decoding=None, *, batch_size=32, n_best=None,
                   progress=False, **changes):
    """What `Captioner.caption` and `TFLiteCaptioner.caption` do: load the
    images (any size, resized) and decode them in batches."""
    settings = captioner.settings(decoding, n_best=n_best, **changes)
    single = is_single_image(images)
    config = captioner.config
    arrays = load_images(images, config.image_height, config.image_width)
    results = captioner.decode_batches(arrays, settings, batch_size, n_best, progress)
    return results[0] if single else results
