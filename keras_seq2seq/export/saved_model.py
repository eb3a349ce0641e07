"""SavedModel export for TF Serving: text in, text out, core TensorFlow ops.

Layout: `BASE/<name>/<version>/` with integer versions (TF Serving's model
base path); a new export adds the next version. Signatures:

- `serving_default`: `text` tf.string (batch,) -> `translation` tf.string
  (batch,), `score` float32 (batch,). Sentence splitting (a text of several
  sentences is translated sentence by sentence and joined with its own
  separators; the score is the sum over its sentences), long sentences cut
  at clause boundaries (`keras_seq2seq.text.long_sentences`: translated in
  parts joined with a space, as every other runner does), normalisation,
  tokenization, source reversal, encoding, batched decoding with the
  model's decoding settings (a `DecodingConfig`: beam size, penalties,
  n-gram blocking, limits), name placeholders
  (`keras_seq2seq.text.placeholders`, where the model has them) and
  detokenization all run in the graph.
- `encode`: `encoder_tokens` int32 (batch, source_time) -> `state_i_j`
  (the final states of encoder layer i) [+ `encoder_outputs`,
  `attention_keys`, `source_mask` with attention].
- `decode_step`: `token` int32 (batch,) + the states (+ memory) ->
  `logits` (batch, target_vocab) + the new states, named `state_i_j`.

`assets.extra/tf_serving_warmup_requests` holds PredictionLog records in TF
Serving's warmup format, so the first real request does not pay for tracing;
`assets.extra/keras_seq2seq.json` the decoding settings of `serving_default`.
"""

import json
import os
import re

import tensorflow as tf

from keras_seq2seq.errors import Seq2SeqError
from keras_seq2seq.export.signatures import decode_step_function, memory_names, state_names
from keras_seq2seq.settings import DecodingConfig
from keras_seq2seq.text.long_sentences import split_long_sentences_graph
from keras_seq2seq.text.sentences import sentence_mask, split_sentences_graph
from keras_seq2seq.translator import Translator

WARMUP_FILE = "tf_serving_warmup_requests"
# The settings `serving_default` was traced with, beside the warmup requests
# (TF Serving ignores the file; `keras-seq2seq serve` reports it).
EXPORT_RECORD = "keras_seq2seq.json"
WARMUP_SENTENCES = ("Nice to meet you.", "Where is the station? It is late.", "")


class ExportError(Seq2SeqError, ValueError):
    """The export cannot be written (bad base path, name or model)."""


class _ServingModule(tf.Module):
    """Tracks the Keras models and tokenizers; holds the signature functions."""

    def __init__(self, translator, settings):
        super().__init__(name="keras_seq2seq")
        self.encoder_model = translator.encoder_model
        self.decoder_step_model = translator.decoder_step_model
        self.source_tokenizer = translator.source_tokenizer
        self.target_tokenizer = translator.target_tokenizer
        config = translator.config
        output_names = state_names(config) + memory_names(config)

        def search(sentences):
            return translate_long_sentences(translator, sentences, settings)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def serve(text):
            if not settings.split_sentences:
                translations, scores = search(text)
                return {"translation": translations[:, 0], "score": scores[:, 0]}
            return translate_sentences(search, text)

        @tf.function(
            input_signature=[tf.TensorSpec([None, None], tf.int32, name="encoder_tokens")]
        )
        def encode(encoder_tokens):
            outputs = self.encoder_model(encoder_tokens, training=False)
            outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            return dict(zip(output_names, outputs))

        self.serve = serve
        self.encode = encode
        self.decode_step = decode_step_function(self.decoder_step_model, config)
        self.encoders = {"encode": encode}


def translate_long_sentences(translator, sentences, settings):
    """`translator.translate_batch` with the sentences over the long-sentence
    limit translated in parts (`keras_seq2seq.text.long_sentences`, as
    `Decoder.translate` does) and each sentence's parts joined with a space.

    Args:
        translator: Translator.
        sentences: tf.string (N,).
        settings: DecodingConfig.

    Returns:
        (translations tf.string (N, 1), scores float32 (N, 1)): the score of
        a sentence is the sum of its parts' scores.
    """
    if translator.source_tokenizer is None:
        return translator.translate_batch(sentences, settings)
    parts, row_splits = split_long_sentences_graph(
        sentences, translator.source_tokenizer, translator.long_sentence_limit(settings),
        settings.max_input_tokens)
    translations, scores = translator.translate_batch(parts, settings)
    joined = tf.strings.reduce_join(
        tf.RaggedTensor.from_row_splits(translations[:, 0], row_splits), axis=1, separator=" ")
    score = tf.reduce_sum(tf.RaggedTensor.from_row_splits(scores[:, 0], row_splits), axis=1)
    return joined[:, None], score[:, None]


def translate_sentences(translate_batch, text):
    """Split each text into sentences, translate all of them as one batch,
    and join each text's translations with its own separators (in the graph).

    Args:
        translate_batch: callable. tf.string (N,) -> (translations (N, K),
            scores (N, K)).
        text: tf.string (B,).

    Returns:
        {"translation": tf.string (B,), "score": float32 (B,)}: the score of
        a text is the sum of its sentences' scores.
    """
    pieces = split_sentences_graph(text)  # (B, None) separators and sentences
    is_sentence = sentence_mask(pieces)
    sentences = tf.ragged.boolean_mask(pieces, is_sentence)  # (B, None)
    translations, scores = translate_batch(sentences.flat_values)
    translated = sentences.with_flat_values(translations[:, 0])
    # Back into the sentence positions: the k-th sentence of a text is its
    # piece 2k + 1.
    flat = tf.tensor_scatter_nd_update(
        pieces.flat_values,
        tf.where(is_sentence.flat_values),
        translated.flat_values,
    )
    joined = tf.strings.reduce_join(pieces.with_flat_values(flat), axis=1)
    # A text without a sentence (empty or whitespace only) translates to "".
    has_sentence = tf.reduce_any(tf.not_equal(sentences, ""), axis=1)
    joined = tf.where(has_sentence, joined, "")
    score = tf.reduce_sum(sentences.with_flat_values(scores[:, 0]), axis=1)
    return {"translation": joined, "score": score}


def next_version(model_base):
    """The next integer version under a TF Serving model base path."""
    versions = [int(d) for d in os.listdir(model_base) if d.isdigit()] if os.path.isdir(
        model_base
    ) else []
    return max(versions, default=0) + 1


def write_warmup_requests(version_dir, sentences=WARMUP_SENTENCES, input_name="text"):
    """Write TF Serving's `assets.extra/tf_serving_warmup_requests`: one
    `serving_default` request whose `input_name` is the list `sentences`
    (strings or bytes)."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    directory = os.path.join(version_dir, "assets.extra")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, WARMUP_FILE)
    with tf.io.TFRecordWriter(path) as writer:
        request = predict_pb2.PredictRequest(
            model_spec=model_pb2.ModelSpec(signature_name="serving_default")
        )
        request.inputs[input_name].CopyFrom(tf.make_tensor_proto(list(sentences), dtype=tf.string))
        log = prediction_log_pb2.PredictionLog(
            predict_log=prediction_log_pb2.PredictLog(request=request)
        )
        writer.write(log.SerializeToString())
    return path


def export_saved_model(translator: Translator, base_path: str, name: str = "seq2seq",
                       version: int | None = None, decoding=None, **changes) -> str:
    """Export a Translator for TF Serving.

    `serving_default` is traced with the translator's decoding settings
    (`translator.decoding`, stored with the model), `decoding` and `changes`
    overriding them as in `Translator.translate`; the settings it was traced
    with are written beside it (`assets.extra/keras_seq2seq.json`), which
    `keras-seq2seq serve` reports.

    Args:
        translator: Translator. A single model (ensembles are not exported).
        base_path: str. Directory that holds one folder per model name.
        name: str. Model name (TF Serving's `--model_name`). Defaults to
            "seq2seq".
        version: int or None. Version number; the next free one when None.
        decoding: DecodingConfig, dict or None. Defaults to the translator's.
        **changes: DecodingConfig fields to change (`beam_size=1`, ...).

    Returns:
        The version directory written, `base_path/name/version`.
    """
    if not isinstance(translator, Translator):
        raise ExportError(
            f"Only a single Translator can be exported, got {type(translator).__name__}."
        )
    try:
        settings = translator.settings(decoding, **changes)
    except ValueError as e:
        raise ExportError(str(e)) from e
    return write_saved_model(_ServingModule(translator, settings), base_path, name, version,
                             write_warmup_requests, settings)


def write_saved_model(module, base_path, name, version, write_warmup, settings):
    """Save `module` (signatures serving_default, encode*, decode_step) as
    `base_path/name/version`, atomically; `write_warmup(directory)` adds the
    warmup requests, and the decoding `settings` go to
    `assets.extra/keras_seq2seq.json`."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name or ""):
        raise ExportError(f"Invalid model name {name!r}: use letters, digits, '_', '.', '-'.")
    model_base = os.path.join(base_path, name)
    version = next_version(model_base) if version is None else int(version)
    version_dir = os.path.join(model_base, str(version))
    if os.path.exists(version_dir):
        raise ExportError(f"{version_dir} already exists: TF Serving versions are immutable.")
    try:
        os.makedirs(model_base, exist_ok=True)
    except OSError as e:
        raise ExportError(f"Cannot create {model_base}: {e}") from e
    signatures = {
        "serving_default": module.serve,
        "decode_step": module.decode_step,
        **module.encoders,
    }
    # Write to a temporary folder and rename, so TF Serving (which polls the
    # base path) never sees a half-written version.
    staging = os.path.join(model_base, f".{version}.partial")
    tf.saved_model.save(module, staging, signatures=signatures)
    write_warmup(staging)
    write_export_record(staging, settings)
    os.rename(staging, version_dir)
    return version_dir


def write_export_record(version_dir, settings):
    """Write `assets.extra/keras_seq2seq.json`: the decoding settings of
    `serving_default`."""
    directory = os.path.join(version_dir, "assets.extra")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, EXPORT_RECORD), "w", encoding="utf-8") as f:
        json.dump({"decoding": settings.to_dict()}, f, indent=2)


def read_export_record(version_dir):
    """The decoding settings a SavedModel version was exported with (a
    DecodingConfig), or None for an export without the record."""
    path = os.path.join(version_dir, "assets.extra", EXPORT_RECORD)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return DecodingConfig.from_dict(json.load(f)["decoding"])
