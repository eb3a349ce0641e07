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

import tensorflow as tf

from keras_seq2seq.captioning.captioner import Captioner
from keras_seq2seq.captioning.images import decode_image
from keras_seq2seq.export.runner import CONFIG_FILE as TFLITE_CONFIG_FILE
from keras_seq2seq.export.runner import MODEL_FILES
from keras_seq2seq.export.saved_model import ExportError, write_saved_model, write_warmup_requests
from keras_seq2seq.export.signatures import decode_step_function, state_names
from keras_seq2seq.export.tflite import QUANTIZATIONS, TFLiteExportError, convert, frozen_weights
from keras_seq2seq.text import save_vocabulary

TFLITE_MODEL_FILE = MODEL_FILES["captioner"]
TFLITE_SIGNATURES = ("encode_image", "decode_step")


def _warmup_image():
    return tf.io.encode_png(tf.zeros([8, 8, 3], tf.uint8)).numpy()


class _CaptionServingModule(tf.Module):
    def __init__(self, captioner, settings):
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
            captions, scores = captioner.translate_batch(images, settings)
            return {"caption": captions[:, 0], "score": scores[:, 0]}

        @tf.function(input_signature=[image_spec])
        def encode_image(images):
            (states, _), _ = captioner.encode(images)
            return dict(zip(names, states))

        self.serve = serve
        self.encoders = {"encode_image": encode_image}
        self.encode_image = encode_image
        self.decode_step = decode_step_function(captioner.decoder_step_model, config)


def export_captioner_saved_model(captioner, base_path, name="captioner", version=None,
                                 decoding=None, **changes):
    """Export a Captioner for TF Serving as `base_path/name/version`; see the
    module doc. `serving_default` decodes with the captioner's settings,
    `decoding` and `changes` override them (as in `Captioner.caption`)."""
    if not isinstance(captioner, Captioner):
        raise ExportError(f"Expected a Captioner, got {type(captioner).__name__}.")
    settings = captioner.settings(decoding, **changes)
    return write_saved_model(
        _CaptionServingModule(captioner, settings), base_path, name, version,
        lambda d: write_warmup_requests(d, [_warmup_image()], input_name="image_bytes"),
        settings,
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

        self.encode_image = encode_image
        self.decode_step = decode_step_function(captioner.decoder_step_model, config,
                                                frozen=frozen)


def export_captioner_tflite(captioner, out_dir, quantize="none", decoding=None, **changes):
    """Write `captioner.tflite` (signatures `encode_image`, `decode_step`),
    the vocabulary and `tflite_config.json` (with the decoding settings:
    the captioner's, `decoding` and `changes` overriding them) to
    `out_dir`; returns the model path."""
    settings = captioner.settings(decoding, **changes)
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
        "decoding": settings.to_dict(),
    }
    with open(os.path.join(out_dir, TFLITE_CONFIG_FILE), "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2)
    return path
