"""TFLite / LiteRT export: `encode`, `decode_step` and `greedy` signatures,
builtin ops only.

Keras 3's LSTM/GRU layers run their time loop with a TensorList whose element
shape is not static, which the TFLite converter cannot lower to builtin ops
(`tf.TensorListReserve`). The encoder is therefore exported as its own loop:
a `tf.while_loop` that carries only the (h, c) states of every layer (and,
with attention, a fixed-size output buffer updated with a one-hot mask),
calling the trained layers' cells, so it converts to the builtin WHILE op.
The source has a fixed maximum length (`max_source_tokens`, padded with 0);
the loop runs only over the real words. `decode_step` is the one-step cell
model, which converts as it is. `greedy` runs encode and the project's greedy
search in one call (`encoder_tokens` -> `tokens` (1, T), `score`), for
devices that want no per-token round trips; beam search runs `decode_step`
from the host with the project's beam search.

The output directory holds `model.tflite`, the vocabularies and
`tflite_config.json`; `TFLiteTranslator` (see `runner.py`) runs it on the
LiteRT interpreter with the project's own greedy and beam search.
"""

import json
import os
import tempfile

import keras
import tensorflow as tf

from keras_seq2seq.decoding import greedy_search
from keras_seq2seq.errors import Seq2SeqError
from keras_seq2seq.export.runner import CONFIG_FILE, MODEL_FILES
from keras_seq2seq.export.signatures import decode_step_function, memory_names, state_names
from keras_seq2seq.text import save_vocabulary
from keras_seq2seq.translator import Translator

MODEL_FILE = MODEL_FILES["translator"]
QUANTIZATIONS = ("none", "float16", "dynamic-int8")
SIGNATURES = ("encode", "decode_step", "greedy")


class TFLiteExportError(Seq2SeqError, ValueError):
    """The model cannot be exported to TFLite as asked."""


class _TFLiteModule(tf.Module):
    def __init__(self, translator, max_source_tokens, settings):
        super().__init__(name="keras_seq2seq_tflite")
        config = translator.config
        model = translator.model
        self.model = model
        self.decoder_step_model = translator.decoder_step_model
        embedding = model.encoder_embedding
        layers = model.encoder_rnns
        # A bidirectional bottom layer: its backward direction runs first,
        # as a loop of its own from the last real token down, into a
        # buffer; the main loop's layer 0 is then its forward cell, whose
        # output is joined with the backward one at the same position.
        backward = None
        if isinstance(layers[0], keras.layers.Bidirectional):
            backward = layers[0].backward_layer.cell
            cells = [layers[0].forward_layer.cell] + [layer.cell for layer in layers[1:]]
        else:
            cells = [layer.cell for layer in layers]
        keys_layer = model.attention_layers[0] if model.attention_layers else None
        names = state_names(config)
        memory = memory_names(config)
        k = config.states_per_layer
        units = config.units
        length_max = max_source_tokens
        # Every weight is traced as a constant (see `frozen_weights`).
        frozen = frozen_weights(model)

        @tf.function(
            input_signature=[tf.TensorSpec([1, length_max], tf.int32, name="encoder_tokens")]
        )
        def encode(encoder_tokens):
            with frozen():
                return _encode(encoder_tokens)

        def _run_cell(cell, y, states):
            y, states = cell(y, states if k > 1 else states[0])
            return y, list(states) if isinstance(states, (list, tuple)) else [states]

        def _backward(x, length):
            # (1, S, units / 2) outputs and the final states of the
            # backward direction, which reads tokens length-1 ... 0.
            half = units // 2

            def body(t, states, outputs):
                y, states = _run_cell(backward, tf.gather(x, t, axis=1), states)
                at_t = tf.one_hot(t, length_max)[None, :, None]  # (1, S, 1)
                return t - 1, states, outputs + at_t * y[:, None, :]

            _, states, outputs = tf.while_loop(
                lambda t, s, o: t >= 0, body,
                (length - 1, [tf.zeros([1, half]) for _ in range(k)],
                 tf.zeros([1, length_max, half])),
            )
            return outputs, states

        def _encode(encoder_tokens):
            words = tf.cast(tf.not_equal(encoder_tokens, 0), tf.int32)  # (1, S)
            length = tf.reduce_sum(words)
            x = embedding(encoder_tokens)  # (1, S, embedding_dim)
            if backward is not None:
                backward_outputs, backward_states = _backward(x, length)
            widths = [units // 2 if backward is not None and i < k else units
                      for i in range(len(names))]
            states = [tf.zeros([1, width]) for width in widths]
            outputs = tf.zeros([1, length_max, units])

            def body(t, states, outputs):
                y = tf.gather(x, t, axis=1)  # (1, embedding_dim)
                new_states = []
                for i, cell in enumerate(cells):
                    y, layer_states = _run_cell(cell, y, states[i * k : (i + 1) * k])
                    if i == 0 and backward is not None:
                        y = tf.concat([y, tf.gather(backward_outputs, t, axis=1)], axis=-1)
                    new_states.extend(layer_states)
                if keys_layer is not None:
                    at_t = tf.one_hot(t, length_max)[None, :, None]  # (1, S, 1)
                    outputs = outputs + at_t * y[:, None, :]
                return t + 1, new_states, outputs

            _, states, outputs = tf.while_loop(
                lambda t, s, o: t < length, body, (tf.constant(0), states, outputs)
            )
            if backward is not None:  # layer 0's states: forward and backward joined
                states = [tf.concat([f, b], axis=-1)
                          for f, b in zip(states[:k], backward_states)] + states[k:]
            result = dict(zip(names, states))
            if keys_layer is not None:
                result["encoder_outputs"] = outputs
                result["attention_keys"] = keys_layer(outputs)
                result["source_mask"] = tf.cast(words, tf.float32)
                if config.copy_attention:
                    result["source_tokens"] = tf.cast(encoder_tokens, tf.float32)
            return result

        @tf.function(
            input_signature=[tf.TensorSpec([1, length_max], tf.int32, name="encoder_tokens")]
        )
        def greedy(encoder_tokens):
            # The whole greedy search in the graph (the project's
            # greedy_search with the Translator's own step function), so a
            # device runs one call per sentence instead of one per token.
            with frozen():
                encoded = _encode(encoder_tokens)
                states = ([encoded[n] for n in names],
                          [encoded[n] for n in memory])
                lengths = tf.reduce_sum(tf.cast(encoder_tokens != 0, tf.int32), axis=1)
                tokens, scores = greedy_search(
                    translator.step, states, translator.max_lengths(lengths, settings),
                    drop_finished=False,  # one sentence; builtin ops only
                )
            return {"tokens": tokens, "score": scores}

        self.encode = encode
        self.decode_step = decode_step_function(self.decoder_step_model, config, length_max,
                                                frozen)
        self.greedy = greedy


def frozen_weights(model):
    """A context factory under which every weight of `model` is a constant.

    The converter then has no resource variable to carry (LiteRT cannot read
    one inside a WHILE body, and multi-signature models keep them otherwise).
    """
    values = [(v, v.numpy()) for v in model.weights]
    return lambda: keras.StatelessScope(
        state_mapping=[(v, tf.constant(value)) for v, value in values]
    )


def convert(module, quantize, signatures=SIGNATURES):
    """tf.Module with the named signature functions -> TFLite flatbuffer bytes."""
    with tempfile.TemporaryDirectory() as staging:
        tf.saved_model.save(
            module, staging,
            signatures={name: getattr(module, name) for name in signatures},
        )
        converter = tf.lite.TFLiteConverter.from_saved_model(
            staging, signature_keys=list(signatures)
        )
        # Builtin ops only: no Flex/SELECT_TF_OPS, so the stock LiteRT runtime runs it.
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantize == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif quantize == "dynamic-int8":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        return converter.convert()


def export_tflite(translator: Translator, out_dir: str, quantize: str = "none",
                  max_source_tokens: int | None = None, decoding=None, **changes) -> str:
    """Write `model.tflite` (signatures `encode`, `decode_step`, `greedy`), its
    vocabularies and `tflite_config.json`, which carries the decoding
    settings the runners use: the translator's own, `decoding` and
    `changes` (DecodingConfig fields) overriding them.

    Args:
        translator: Translator. A single trained model.
        out_dir: str. Output directory (created).
        quantize: str. "none" (float32), "float16" (float16 weights) or
            "dynamic-int8" (int8 weights, dynamic-range quantization).
            Defaults to "none".
        max_source_tokens: int or None. Longest source in words; longer
            sources are truncated by the runner (documented, as for the Keras
            model). Defaults to the model's `max_source_length`.
        decoding: DecodingConfig, dict or None. Defaults to the translator's.
        **changes: DecodingConfig fields to change.

    Returns:
        The path of the .tflite file.
    """
    if not isinstance(translator, Translator):
        raise TFLiteExportError(
            f"Only a single Translator can be exported, got {type(translator).__name__}."
        )
    if quantize not in QUANTIZATIONS:
        raise TFLiteExportError(f"quantize must be one of {QUANTIZATIONS}, got {quantize!r}.")
    config = translator.config
    max_source_tokens = int(max_source_tokens or config.max_source_length)
    if max_source_tokens < 1:
        raise TFLiteExportError(f"max_source_tokens must be >= 1, got {max_source_tokens}.")
    settings = translator.settings(decoding, **changes)
    os.makedirs(out_dir, exist_ok=True)
    content = convert(_TFLiteModule(translator, max_source_tokens, settings), quantize)
    path = os.path.join(out_dir, MODEL_FILE)
    with open(path, "wb") as f:
        f.write(content)
    save_vocabulary(translator.source_tokenizer.vocabulary,
                    os.path.join(out_dir, "source_vocab.txt"))
    save_vocabulary(translator.target_tokenizer.vocabulary,
                    os.path.join(out_dir, "target_vocab.txt"))
    record = {
        "quantize": quantize,
        "max_source_tokens": max_source_tokens,
        "model": config.to_dict(),
        "source_language": translator.source_tokenizer.language,
        "target_language": translator.target_tokenizer.language,
        "decoding": settings.to_dict(),
    }
    with open(os.path.join(out_dir, CONFIG_FILE), "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2, ensure_ascii=False)
    return path
