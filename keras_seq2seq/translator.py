"""A trained translation model: text in, text out, saved as one directory.

The directory holds `config.json` (model config, languages, training
record), `source_vocab.txt`, `target_vocab.txt` and `model.weights.h5`;
`load()` restores all of it in a fresh process.
"""

import json
import os

import keras
import tensorflow as tf

from keras_seq2seq.constants import PAD_ID
from keras_seq2seq.decoding import greedy_search
from keras_seq2seq.models import Seq2SeqConfig, build_inference_models, build_training_model
from keras_seq2seq.text import WordTokenizer, load_vocabulary, save_vocabulary

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
SOURCE_VOCAB_FILE = "source_vocab.txt"
TARGET_VOCAB_FILE = "target_vocab.txt"


class ModelDirectoryError(ValueError):
    """A model directory is missing a file or has an invalid one."""


class Translator:
    """Translate text with a trained encoder-decoder.

    Args:
        model: keras.Model. The training model (`build_training_model`).
        config: Seq2SeqConfig. Its config.
        source_tokenizer: WordTokenizer for the source language.
        target_tokenizer: WordTokenizer for the target language.
        max_input_tokens: int. Source words beyond this are cut off before
            encoding (documented truncation, so no input can make decoding
            unbounded). Defaults to 200.
        max_output_tokens: int. Hard limit on generated tokens. Defaults
            to 100.
        length_ratio: float. Each sentence may generate at most
            `length_ratio * source_words + length_offset` tokens (and
            `max_output_tokens` at most). Defaults to 2.0.
        length_offset: int. See `length_ratio`. Defaults to 10.
        metadata: dict or None. Training record saved with the model.
    """

    def __init__(
        self,
        model,
        config,
        source_tokenizer,
        target_tokenizer,
        max_input_tokens=200,
        max_output_tokens=100,
        length_ratio=2.0,
        length_offset=10,
        metadata=None,
    ):
        self.model = model
        self.config = config
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.max_input_tokens = max_input_tokens
        self.max_output_tokens = max_output_tokens
        self.length_ratio = length_ratio
        self.length_offset = length_offset
        self.metadata = dict(metadata or {})
        self.encoder_model, self.decoder_step_model = build_inference_models(model, config)
        self._translate_graph = tf.function(
            self._translate_batch,
            input_signature=[tf.TensorSpec([None], tf.string)],
        )

    # Building blocks of the graph, usable on their own.

    def encoder_inputs(self, texts):
        """tf.string (B,) -> (encoder_tokens int32 (B, S), lengths int32 (B,)).

        Tokenizes, truncates to `max_input_tokens`, reverses the source words
        when the model was trained that way, and pads on the right.
        """
        ids = self.source_tokenizer.encode(texts)[:, : self.max_input_tokens]
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        tokens = ids.to_tensor(default_value=PAD_ID)  # (batch, source_time)
        # At least one column, so an all-empty batch still has a time axis.
        missing = tf.maximum(1 - tf.shape(tokens)[1], 0)
        tokens = tf.pad(tokens, [[0, 0], [0, missing]], constant_values=PAD_ID)
        if self.config.reverse_source:
            # Reverses only the first `length` ids: padding stays on the right.
            tokens = tf.reverse_sequence(
                tokens, tf.cast(lengths, tf.int64), seq_axis=1, batch_axis=0
            )
        return tokens, lengths

    def step(self, tokens, states):
        """The decoding step function: (tokens (B,), states) -> (log_probs, states)."""
        logits, *states = self.decoder_step_model([tokens, *states], training=False)
        return tf.nn.log_softmax(logits, axis=-1), list(states)

    def max_lengths(self, source_lengths):
        limit = tf.cast(self.length_ratio * tf.cast(source_lengths, tf.float32), tf.int32)
        return tf.minimum(limit + self.length_offset, self.max_output_tokens)

    def _translate_batch(self, texts):
        tokens, lengths = self.encoder_inputs(texts)
        states = list(self.encoder_model(tokens, training=False))
        output, scores = greedy_search(self.step, states, self.max_lengths(lengths))
        translations = self.target_tokenizer.decode(output)
        # A source without a single word has nothing to translate.
        translations = tf.where(lengths > 0, translations, tf.constant(""))
        return translations, scores

    # User API.

    def translate(self, texts, batch_size=64, progress=False):
        """Translate a list of strings; returns a list of strings.

        Args:
            texts: str or list of str (bytes are decoded as UTF-8, invalid
                bytes replaced).
            batch_size: int. Sentences decoded together. Defaults to 64.
            progress: bool. Show a Keras progress bar. Defaults to False.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
        single = isinstance(texts, (str, bytes))
        texts = [texts] if single else list(texts)
        bar = keras.utils.Progbar(len(texts), unit_name="sentence") if progress else None
        results = []
        for start in range(0, len(texts), batch_size):
            chunk = tf.constant(texts[start : start + batch_size], dtype=tf.string)
            translations, _ = self._translate_graph(chunk)
            results.extend(t.decode("utf-8") for t in translations.numpy())
            if bar is not None:
                bar.update(len(results))
        return results[0] if single else results

    def save(self, directory):
        """Write the model directory (config, vocabularies, weights)."""
        os.makedirs(directory, exist_ok=True)
        record = {
            "format_version": FORMAT_VERSION,
            "model": self.config.to_dict(),
            "source_language": self.source_tokenizer.language,
            "target_language": self.target_tokenizer.language,
            "source_vocab_size": self.source_tokenizer.vocabulary_size,
            "target_vocab_size": self.target_tokenizer.vocabulary_size,
            "decoding": {
                "max_input_tokens": self.max_input_tokens,
                "max_output_tokens": self.max_output_tokens,
                "length_ratio": self.length_ratio,
                "length_offset": self.length_offset,
            },
            "metadata": self.metadata,
        }
        with open(os.path.join(directory, CONFIG_FILE), "w", encoding="utf-8") as f:
            json.dump(record, f, indent=2, ensure_ascii=False)
        for tokenizer, name in (
            (self.source_tokenizer, SOURCE_VOCAB_FILE),
            (self.target_tokenizer, TARGET_VOCAB_FILE),
        ):
            save_vocabulary(tokenizer.vocabulary, os.path.join(directory, name))
        self.model.save_weights(os.path.join(directory, WEIGHTS_FILE))


def load(directory):
    """Load a model directory written by `Translator.save` (or `train`).

    Raises:
        ModelDirectoryError: naming the missing or invalid file.
    """
    config_path = os.path.join(directory, CONFIG_FILE)
    if not os.path.isdir(directory):
        raise ModelDirectoryError(f"Model directory not found: {directory}")
    if not os.path.isfile(config_path):
        raise ModelDirectoryError(f"{directory} is not a model directory: no {CONFIG_FILE}.")
    try:
        with open(config_path, encoding="utf-8") as f:
            record = json.load(f)
        config = Seq2SeqConfig.from_dict(record["model"])
        version = record.get("format_version")
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise ModelDirectoryError(f"{config_path} is invalid: {e}") from e
    if version != FORMAT_VERSION:
        raise ModelDirectoryError(
            f"{config_path}: format_version {version}, this library reads {FORMAT_VERSION}."
        )
    source_vocab = load_vocabulary(os.path.join(directory, SOURCE_VOCAB_FILE))
    target_vocab = load_vocabulary(os.path.join(directory, TARGET_VOCAB_FILE))
    source_tokenizer = WordTokenizer(
        source_vocab, lowercase=config.lowercase, language=record.get("source_language", "en")
    )
    target_tokenizer = WordTokenizer(
        target_vocab, lowercase=config.lowercase, language=record.get("target_language", "fr")
    )
    model = build_training_model(config, len(source_vocab), len(target_vocab))
    weights_path = os.path.join(directory, WEIGHTS_FILE)
    if not os.path.isfile(weights_path):
        raise ModelDirectoryError(f"Weights file not found: {weights_path}")
    try:
        model.load_weights(weights_path)
    except Exception as e:  # h5py and Keras raise several types
        raise ModelDirectoryError(f"Cannot load weights from {weights_path}: {e}") from e
    return Translator(
        model,
        config,
        source_tokenizer,
        target_tokenizer,
        metadata=record.get("metadata"),
        **record.get("decoding", {}),
    )
