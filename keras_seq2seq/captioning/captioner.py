"""A trained captioner: images in, captions out, saved as one directory.

Decoding is the translator's: the same `Decoder` (greedy and beam search,
n-best, batching, progress bar) around the same one-step decoder model; only
`encode` differs (image -> CNN features -> the context vector's states).
"""

import os

import tensorflow as tf

from keras_seq2seq.captioning.config import CaptionerConfig
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
from keras_seq2seq.text import WordTokenizer, load_vocabulary


class Captioner(Decoder):
    """Caption images with a trained CNN encoder + LSTM decoder.

    Args:
        model: keras.Model. The end-to-end model of `build_captioning_models`.
        config: CaptionerConfig.
        tokenizer: WordTokenizer of the captions.
        max_output_tokens: int. Longest caption generated, in tokens.
            Defaults to the config's `max_target_length` + 1.
        metadata: dict or None. Training record saved with the model.
    """

    progress_unit = "image"

    def __init__(self, model, config, tokenizer, max_output_tokens=None, metadata=None):
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
        max_output_tokens = int(max_output_tokens or config.max_target_length + 1)
        # Every caption may use the whole budget: the "source length" of an
        # image is 1, with ratio 0 and the budget as offset.
        self._set_limits(None, max_output_tokens, 0.0, max_output_tokens)

    def encode(self, images):
        """float32 images (B, H, W, 3), 0..255 -> ((states, []), lengths (B,) of 1)."""
        features = self.image_encoder(images, training=False)
        states = self.context_model(features, training=False)
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        return (states, []), tf.ones([tf.shape(images)[0]], tf.int32)

    def step(self, tokens, states):
        return run_step_model(self.decoder_step_model, tokens, states)

    def caption(self, images, batch_size=32, beam_size=1, alpha=0.6, n_best=None,
                progress=False):
        """Caption one image or several.

        Args:
            images: a file path, encoded bytes or an array (H, W[, C]); a
                list of those; or an array (N, H, W[, C]). Any size (resized),
                gray, RGB or RGBA, values 0..255.
            batch_size, beam_size, alpha, n_best, progress: as in
                `Translator.translate`.

        Returns:
            A caption (or n-best list) per image; a single one for a single
            path or bytes.

        Raises:
            ImageError: naming the image that cannot be read.
        """
        self._check_search_options(batch_size, beam_size, n_best)
        single = is_single_image(images)
        arrays = load_images(images, self.config.image_height, self.config.image_width)
        results = self._decode_batches(arrays, batch_size, beam_size, alpha, n_best, progress)
        return results[0] if single else results

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
            "decoding": {"max_output_tokens": self.max_output_tokens},
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
    return Captioner(
        model, config, tokenizer, metadata=record.get("metadata"), **record.get("decoding", {})
    )
