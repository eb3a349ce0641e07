"""Captioner exports: a TF Serving SavedModel taking encoded image bytes, and
TFLite with `encode_image` and `decode_step` (builtin ops only).

The decoder side is the translation export's: the same `decode_step`
signature (token + `state_i_j` -> logits + new states), the same SavedModel
writer (versioned, atomic, with warmup requests), the same TFLite converter
settings, and on device the project's own greedy and beam search.

SavedModel signatures:
- `serving_default`: `image_bytes` tf.string (batch,) (JPEG, PNG, GIF or
  BMP, any size) -> `caption` tf.string (batch,), `score` float32 (batch,).
  A request with bytes that are not an image gets an INVALID_ARGUMENT error
  from the decoder; the server stays up.
- `encode_image`: `images` float32 (batch, H, W, 3), 0..255 -> `state_i_j`.
- `decode_step`: as for translation.
"""

import json
import os
import threading

import numpy as np
import tensorflow as tf

from keras_seq2seq.captioning.captioner import Captioner
from keras_seq2seq.captioning.config import CaptionerConfig
from keras_seq2seq.captioning.images import decode_image
from keras_seq2seq.decoder import Decoder
from keras_seq2seq.export.saved_model import ExportError, write_saved_model, write_warmup_requests
from keras_seq2seq.export.signatures import decode_step_specs, state_names
from keras_seq2seq.export.tflite import QUANTIZATIONS, TFLiteExportError, convert, frozen_weights
from keras_seq2seq.model_directory import ModelDirectoryError
from keras_seq2seq.text import WordTokenizer, load_vocabulary, save_vocabulary

TFLITE_MODEL_FILE = "captioner.tflite"
TFLITE_CONFIG_FILE = "tflite_config.json"
TFLITE_SIGNATURES = ("encode_image", "decode_step")


def _warmup_image():
    return tf.io.encode_png(tf.zeros([8, 8, 3], tf.uint8)).numpy()


class _CaptionServingModule(tf.Module):
    def __init__(self, captioner, beam_size, alpha):
        super().__init__(name="keras_seq2seq_captioner")
        config = captioner.config
        self.model = captioner.model
        self.decoder_step_model = captioner.decoder_step_model
        self.target_tokenizer = captioner.target_tokenizer
        names = state_names(config)
        height, width = config.image_height, config.image_width
        image_spec = tf.TensorSpec([None, height, width, 3], tf.float32, name="images")

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
        def serve(image_bytes):
            images = tf.map_fn(
                lambda data: decode_image(data, height, width), image_bytes,
                fn_output_signature=tf.TensorSpec([height, width, 3], tf.float32),
            )
            captions, scores = captioner.translate_batch(images, beam_size, alpha)
            return {"caption": captions[:, 0], "score": scores[:, 0]}

        @tf.function(input_signature=[image_spec])
        def encode_image(images):
            (states, _), _ = captioner.encode(images)
            return dict(zip(names, states))

        @tf.function(input_signature=decode_step_specs(config))
        def decode_step(token, *states):
            logits, *new_states = self.decoder_step_model([token, *states], training=False)
            return {"logits": logits, **dict(zip(names, new_states))}

        self.serve = serve
        self.encoders = {"encode_image": encode_image}
        self.encode_image = encode_image
        self.decode_step = decode_step


def export_captioner_saved_model(captioner, base_path, name="captioner", beam_size=1,
                                 alpha=0.6, version=None):
    """Export a Captioner for TF Serving as `base_path/name/version`; see the module doc."""
    if not isinstance(captioner, Captioner):
        raise ExportError(f"Expected a Captioner, got {type(captioner).__name__}.")
    if beam_size < 1:
        raise ExportError(f"beam_size must be >= 1, got {beam_size}.")
    return write_saved_model(
        _CaptionServingModule(captioner, beam_size, alpha), base_path, name, version,
        lambda d: write_warmup_requests(d, [_warmup_image()], input_name="image_bytes"),
    )


class _CaptionTFLiteModule(tf.Module):
    def __init__(self, captioner):
        super().__init__(name="keras_seq2seq_captioner_tflite")
        config = captioner.config
        self.model = captioner.model
        names = state_names(config)
        frozen = frozen_weights(captioner.model)
        spec = tf.TensorSpec([1, config.image_height, config.image_width, 3], tf.float32,
                             name="images")

        @tf.function(input_signature=[spec])
        def encode_image(images):
            with frozen():
                (states, _), _ = captioner.encode(images)
            return dict(zip(names, states))

        @tf.function(input_signature=decode_step_specs(config))
        def decode_step(token, *states):
            with frozen():
                logits, *new_states = captioner.decoder_step_model(
                    [token, *states], training=False
                )
            return {"logits": logits, **dict(zip(names, new_states))}

        self.encode_image = encode_image
        self.decode_step = decode_step


def export_captioner_tflite(captioner, out_dir, quantize="none"):
    """Write `captioner.tflite` (signatures `encode_image`, `decode_step`),
    the vocabulary and `tflite_config.json` to `out_dir`; returns the model path."""
    if not isinstance(captioner, Captioner):
        raise TFLiteExportError(f"Expected a Captioner, got {type(captioner).__name__}.")
    if quantize not in QUANTIZATIONS:
        raise TFLiteExportError(f"quantize must be one of {QUANTIZATIONS}, got {quantize!r}.")
    os.makedirs(out_dir, exist_ok=True)
    content = convert(_CaptionTFLiteModule(captioner), quantize, TFLITE_SIGNATURES)
    path = os.path.join(out_dir, TFLITE_MODEL_FILE)
    with open(path, "wb") as f:
        f.write(content)
    save_vocabulary(captioner.target_tokenizer.vocabulary,
                    os.path.join(out_dir, "target_vocab.txt"))
    record = {
        "kind": "captioner",
        "quantize": quantize,
        "model": captioner.config.to_dict(),
        "target_language": captioner.target_tokenizer.language,
        "max_output_tokens": captioner.max_output_tokens,
    }
    with open(os.path.join(out_dir, TFLITE_CONFIG_FILE), "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2)
    return path


class TFLiteCaptioner(Decoder):
    """Caption images with a directory written by `export_captioner_tflite`,
    on the LiteRT interpreter, with the project's greedy and beam search."""

    progress_unit = "image"

    def __init__(self, directory, num_threads=None):
        from ai_edge_litert.interpreter import Interpreter

        model_path = os.path.join(directory, TFLITE_MODEL_FILE)
        config_path = os.path.join(directory, TFLITE_CONFIG_FILE)
        for path in (model_path, config_path):
            if not os.path.isfile(path):
                raise ModelDirectoryError(f"Not a captioner TFLite export: {path} not found.")
        with open(config_path, encoding="utf-8") as f:
            record = json.load(f)
        self.config = CaptionerConfig.from_dict(record["model"])
        self.target_tokenizer = WordTokenizer(
            load_vocabulary(os.path.join(directory, "target_vocab.txt")),
            self.config.lowercase, record.get("target_language", "en"),
        )
        self.input_spec = tf.TensorSpec(
            [None, self.config.image_height, self.config.image_width, 3], tf.float32
        )
        limit = int(record["max_output_tokens"])
        self._set_limits(None, limit, 0.0, limit)
        self._interpreter = Interpreter(model_path=model_path, num_threads=num_threads)
        self._encode = self._interpreter.get_signature_runner("encode_image")
        self._decode_step = self._interpreter.get_signature_runner("decode_step")
        self._lock = threading.Lock()  # one interpreter is not reentrant
        self._names = state_names(self.config)

    def encode(self, images):
        outputs = []
        for image in np.asarray(images, np.float32):
            with self._lock:
                outputs.append(self._encode(images=image[None]))
        states = [tf.constant(np.concatenate([o[n] for o in outputs])) for n in self._names]
        return (states, []), tf.ones([len(outputs)], tf.int32)

    def step(self, tokens, states):
        rnn_states, memory = states
        inputs = {"token": np.asarray(tokens, np.int32)}
        inputs.update({n: np.asarray(s, np.float32) for n, s in zip(self._names, rnn_states)})
        with self._lock:
            outputs = self._decode_step(**inputs)
        log_probs = tf.nn.log_softmax(tf.constant(outputs["logits"]), axis=-1)
        return log_probs, ([tf.constant(outputs[n]) for n in self._names], memory)

    def _graph(self, beam_size, alpha, unk_penalty=0.0, no_repeat_ngram=0,
               replace_unknown=False):
        # (replace_unknown is refused before this: `_check_replace_unknown`.)
        # The interpreter is called from Python, so the search runs eagerly.
        return lambda images: self.translate_batch(
            images, beam_size, alpha, unk_penalty, no_repeat_ngram
        )

    # The Keras captioner's: image loading, batching and the project's searches.
    caption = Captioner.caption
