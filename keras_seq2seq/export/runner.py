"""Run exported TFLite models on the LiteRT interpreter: one runtime for
translators and captioners.

`LiteRTModel` owns the interpreter, its signature runners and the lock
(one interpreter is not reentrant); `LiteRTDecoder` is the `Decoder` around
its `decode_step` signature, so the searches, penalties, sentence splitting
and name placeholders are the project's own, as for the Keras model. The
two runners differ only in `encode`: text for `TFLiteTranslator` (the
Keras model's preprocessing, TensorFlow string ops), images for
`TFLiteCaptioner`. The decoding settings are the ones `tflite_config.json`
was exported with.
"""

from __future__ import annotations

import json
import os
import threading

import numpy as np
import tensorflow as tf

from keras_seq2seq.decoder import Decoder
from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.export.signatures import memory_names, state_names
from keras_seq2seq.model_directory import ModelDirectoryError
from keras_seq2seq.settings import DecodingConfig
from keras_seq2seq.text import WordTokenizer, load_vocabulary, make_tokenizer

CONFIG_FILE = "tflite_config.json"
# The model file of each kind of export.
MODEL_FILES = {"translator": "model.tflite", "captioner": "captioner.tflite"}


def read_tflite_record(directory):
    """(kind, tflite_config.json as a dict, model path) of a TFLite export."""
    config_path = os.path.join(directory, CONFIG_FILE)
    if not os.path.isfile(config_path):
        raise ModelDirectoryError(f"Not a TFLite export: {config_path} not found.")
    try:
        with open(config_path, encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError) as e:
        raise ModelDirectoryError(f"{config_path} is invalid: {e}") from e
    kind = record.get("kind", "translator")
    if kind not in MODEL_FILES:
        raise ModelDirectoryError(f"{config_path}: unknown kind {kind!r}.")
    model_path = os.path.join(directory, MODEL_FILES[kind])
    if not os.path.isfile(model_path):
        raise ModelDirectoryError(f"Not a TFLite export: {model_path} not found.")
    return kind, record, model_path


class LiteRTModel:
    """A `.tflite` file on the LiteRT interpreter, called by signature name.

    Args:
        model_path: str.
        num_threads: int or None. Interpreter threads.
    """

    def __init__(self, model_path, num_threads=None):
        from ai_edge_litert.interpreter import Interpreter

        try:
            self.interpreter = Interpreter(model_path=model_path, num_threads=num_threads)
        except ValueError as e:
            raise ModelDirectoryError(f"Cannot load {model_path}: {e}") from e
        self.signatures = set(self.interpreter.get_signature_list())
        self._runners = {}
        self._lock = threading.Lock()

    def __call__(self, signature, **inputs):
        """Run one signature: {input name: array} -> {output name: array}."""
        if signature not in self._runners:
            self._runners[signature] = self.interpreter.get_signature_runner(signature)
        with self._lock:
            return self._runners[signature](**inputs)

    def each(self, signature, input_name, rows):
        """Run `signature` once per row (its input has batch size 1) and
        stack the outputs: {output name: array (len(rows), ...)}."""
        outputs = [self(signature, **{input_name: row[None]}) for row in rows]
        if not outputs:
            raise ConfigurationError("Nothing to decode: an empty batch.")
        return {name: np.concatenate([o[name] for o in outputs]) for name in outputs[0]}


class LiteRTDecoder(Decoder):
    """A `Decoder` whose step is the export's `decode_step` signature.

    The interpreter is called from Python, so the searches run eagerly
    (`tf.while_loop` iterates in Python); a subclass gives `encode`.
    """

    # One batch at a time: a LiteRT interpreter must not be called from two
    # threads at once (and a Python loop holds the GIL between calls).
    batches_in_flight = 1

    def _init_runtime(self, model_path, config, decoding, num_threads):
        self.runtime = LiteRTModel(model_path, num_threads)
        self.config = config
        self._state_names = state_names(config)
        self._memory_names = memory_names(config)
        self._init_decoding(decoding)

    def _states(self, outputs):
        return ([tf.constant(outputs[n]) for n in self._state_names],
                [tf.constant(outputs[n]) for n in self._memory_names])

    def step(self, tokens, states):
        rnn_states, memory = states
        inputs = {"token": np.asarray(tokens, np.int32)}
        for name, value in zip(self._state_names + self._memory_names, [*rnn_states, *memory]):
            inputs[name] = np.asarray(value, np.float32)
        outputs = self.runtime("decode_step", **inputs)
        log_probs = tf.constant(outputs["logits"])
        if not getattr(self.config, "copy_attention", False):  # else log-probabilities already
            log_probs = tf.nn.log_softmax(log_probs, axis=-1)
        return log_probs, ([tf.constant(outputs[n]) for n in self._state_names], memory)

    def _compile(self, function, extra_spec=()):
        return function  # eager: the interpreter is called from Python


class TFLiteTranslator(LiteRTDecoder):
    """Translate with a directory written by `export_tflite`.

    A sentence longer than the export's `max_source_tokens` (or than the
    output cap allows) is translated in parts cut at clause boundaries
    (`Decoder.translate`, `keras_seq2seq.text.long_sentences`).

    Args:
        directory: str. Holds model.tflite, the vocabularies and
            tflite_config.json (with the decoding settings of the export).
        num_threads: int or None. LiteRT interpreter threads.
    """

    can_replace_unknown = False

    def __init__(self, directory, num_threads=None):
        from keras_seq2seq.models import Seq2SeqConfig
        from keras_seq2seq.models.preprocessor import Seq2SeqPreprocessor

        kind, record, model_path = read_tflite_record(directory)
        if kind != "translator":
            raise ModelDirectoryError(f"{directory} holds a TFLite {kind}, not a translator.")
        config = Seq2SeqConfig.from_dict(record["model"])
        self.quantize = record.get("quantize", "none")
        self.max_source_tokens = int(record["max_source_tokens"])
        vocabularies = [load_vocabulary(os.path.join(directory, f"{side}_vocab.txt"))
                        for side in ("source", "target")]
        self.source_tokenizer, self.target_tokenizer = (
            make_tokenizer(config.tokenizer, vocabulary, config.lowercase,
                           record.get(f"{side}_language", default))
            for vocabulary, side, default in zip(vocabularies, ("source", "target"),
                                                 ("en", "fr")))
        # The Keras model's own preprocessing (the same tokenizers and order).
        self.preprocessor = Seq2SeqPreprocessor(
            self.source_tokenizer, self.target_tokenizer, config.reverse_source,
            config.max_source_length, config.max_target_length,
        )
        self._init_runtime(model_path, config, record.get("decoding"), num_threads)
        self._prepare = tf.function(self._prepare_graph, input_signature=[
            tf.TensorSpec([None], tf.string), tf.TensorSpec([], tf.int32)])

    def _prepare_graph(self, texts, max_tokens):
        return self.preprocessor.encoder_tokens(texts, max_tokens, width=self.max_source_tokens)

    def encoder_inputs(self, texts, max_tokens=None):
        """tf.string (B,) -> (int32 (B, max_source_tokens) numpy, lengths (B,) tensor).

        Truncated to the settings' `max_input_tokens` and the export's
        `max_source_tokens`, reversed when the model was trained that way,
        zero-padded on the right.
        """
        limit = min(max_tokens or self.decoding.max_input_tokens, self.max_source_tokens)
        padded, lengths = self._prepare(tf.convert_to_tensor(texts, tf.string),
                                        tf.constant(limit, tf.int32))
        return padded.numpy(), lengths

    def encode(self, texts, max_tokens=None):
        """tf.string (B,) -> ((rnn states, memory), source lengths (B,)), one sentence at a time."""
        padded, lengths = self.encoder_inputs(texts, max_tokens)
        return self._states(self.runtime.each("encode", "encoder_tokens", padded)), lengths

    def search(self, texts, settings):
        limits = ("max_output_tokens", "length_ratio", "length_offset")
        if (settings.beam_size != 1 or settings.unk_penalty or settings.no_repeat_ngram
                or any(getattr(settings, n) != getattr(self.decoding, n) for n in limits)):
            return super().search(texts, settings)
        # Plain greedy: the export's own `greedy` signature, one call per
        # sentence (it was traced with the export's length limits).
        padded, lengths = self.encoder_inputs(texts, settings.max_input_tokens)
        results = [self.runtime("greedy", encoder_tokens=row[None]) for row in padded]
        width = max([r["tokens"].shape[1] for r in results], default=1)
        tokens = np.zeros((len(results), 1, width), np.int32)
        for i, r in enumerate(results):
            tokens[i, 0, : r["tokens"].shape[1]] = r["tokens"][0]
        scores = np.array([[r["score"][0]] for r in results], np.float32)
        return tf.constant(tokens), tf.constant(scores), lengths


class TFLiteCaptioner(LiteRTDecoder):
    """Caption images with a directory written by `export_captioner_tflite`.

    Args:
        directory: str. Holds captioner.tflite, the vocabulary and
            tflite_config.json.
        num_threads: int or None. LiteRT interpreter threads.
    """

    progress_unit = "image"

    def __init__(self, directory, num_threads=None):
        from keras_seq2seq.captioning.config import CaptionerConfig, captioner_decoding

        kind, record, model_path = read_tflite_record(directory)
        if kind != "captioner":
            raise ModelDirectoryError(f"{directory} holds a TFLite {kind}, not a captioner.")
        config = CaptionerConfig.from_dict(record["model"])
        self.target_tokenizer = WordTokenizer(
            load_vocabulary(os.path.join(directory, "target_vocab.txt")),
            config.lowercase, record.get("target_language", "en"),
        )
        self.input_spec = tf.TensorSpec([None, config.image_height, config.image_width, 3],
                                        tf.float32)
        decoding = record.get("decoding") or captioner_decoding(
            config, record.get("max_output_tokens"))
        self._init_runtime(model_path, config, decoding, num_threads)

    def encode(self, images, max_tokens=None):
        rows = np.asarray(images, np.float32)
        return self._states(self.runtime.each("encode_image", "images", rows)), tf.ones(
            [len(rows)], tf.int32)

    def caption(self, images, decoding: DecodingConfig | dict | None = None, **kwargs):
        """As `Captioner.caption`."""
        from keras_seq2seq.captioning.captioner import caption_images

        return caption_images(self, images, decoding, **kwargs)
