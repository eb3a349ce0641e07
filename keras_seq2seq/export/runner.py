"""Run an exported TFLite model on the LiteRT interpreter.

Tokenization and detokenization are the project's (TensorFlow string ops, in
Python); `encode` and `decode_step` run on LiteRT; the search loop is the
project's own greedy and beam search (run eagerly, with a step function that
calls the interpreter), so there is no second beam search here.
"""

import json
import os
import threading

import numpy as np
import tensorflow as tf

from keras_seq2seq.decoder import Decoder
from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.export.signatures import memory_names, state_names
from keras_seq2seq.export.tflite import CONFIG_FILE, MODEL_FILE
from keras_seq2seq.model_directory import ModelDirectoryError
from keras_seq2seq.models import Seq2SeqConfig
from keras_seq2seq.models.preprocessor import Seq2SeqPreprocessor
from keras_seq2seq.text import load_vocabulary, make_tokenizer


class TFLiteTranslator(Decoder):
    """Translate with a directory written by `export_tflite`.

    Sources longer than the export's `max_source_tokens` are truncated to
    it (documented truncation, as with the Keras model's `max_input_tokens`).

    Args:
        directory: str. Holds model.tflite, the vocabularies and
            tflite_config.json.
        num_threads: int or None. LiteRT interpreter threads.
    """

    def __init__(self, directory, num_threads=None):
        from ai_edge_litert.interpreter import Interpreter

        model_path = os.path.join(directory, MODEL_FILE)
        config_path = os.path.join(directory, CONFIG_FILE)
        for path in (model_path, config_path):
            if not os.path.isfile(path):
                raise ModelDirectoryError(f"Not a TFLite export: {path} not found.")
        with open(config_path, encoding="utf-8") as f:
            record = json.load(f)
        self.config = Seq2SeqConfig.from_dict(record["model"])
        self.quantize = record.get("quantize", "none")
        self.max_source_tokens = int(record["max_source_tokens"])
        self.source_tokenizer = make_tokenizer(
            self.config.tokenizer, load_vocabulary(os.path.join(directory, "source_vocab.txt")),
            self.config.lowercase, record.get("source_language", "en"),
        )
        self.target_tokenizer = make_tokenizer(
            self.config.tokenizer, load_vocabulary(os.path.join(directory, "target_vocab.txt")),
            self.config.lowercase, record.get("target_language", "fr"),
        )
        # The Keras model's own preprocessing (the same tokenizers and order).
        self.preprocessor = Seq2SeqPreprocessor(
            self.source_tokenizer, self.target_tokenizer, self.config.reverse_source,
            self.config.max_source_length, self.config.max_target_length,
        )
        self._set_limits(self.max_source_tokens, **record["decoding"])
        try:
            self._interpreter = Interpreter(model_path=model_path, num_threads=num_threads)
        except ValueError as e:
            raise ModelDirectoryError(f"Cannot load {model_path}: {e}") from e
        self._encode = self._interpreter.get_signature_runner("encode")
        self._decode_step = self._interpreter.get_signature_runner("decode_step")
        self._greedy = self._interpreter.get_signature_runner("greedy")
        # One interpreter is not reentrant: calls are serialised.
        self._lock = threading.Lock()
        self._state_names = state_names(self.config)
        self._memory_names = memory_names(self.config)
        # Text processing runs as TF graphs around the interpreter calls.
        self._prepare = tf.function(
            self._prepare_graph, input_signature=[tf.TensorSpec([None], tf.string)]
        )
        self._finish_graph = tf.function(self._finish, input_signature=[
            tf.TensorSpec([None, None, None], tf.int32),
            tf.TensorSpec([None, None], tf.float32),
            tf.TensorSpec([None], tf.int32),
        ])

    def encoder_inputs(self, texts):
        """tf.string (B,) -> (int32 (B, max_source_tokens) numpy, lengths (B,) tensor).

        Truncated to `max_source_tokens`, reversed when the model was
        trained that way, zero-padded on the right.
        """
        padded, lengths = self._prepare(tf.convert_to_tensor(texts, tf.string))
        return padded.numpy(), lengths

    def _prepare_graph(self, texts):
        return self.preprocessor.encoder_tokens(texts, self.max_source_tokens,
                                                width=self.max_source_tokens)

    def encode(self, texts):
        """tf.string (B,) -> ((rnn states, memory), source lengths (B,)), one sentence at a time."""
        padded, lengths = self.encoder_inputs(texts)
        per_sentence = []
        for row in padded:
            with self._lock:
                per_sentence.append(self._encode(encoder_tokens=row[None, :]))
        if not per_sentence:
            raise ConfigurationError("Nothing to translate: an empty batch.")

        def stack(name):
            return tf.constant(np.concatenate([out[name] for out in per_sentence], axis=0))

        states = [stack(n) for n in self._state_names]
        memory = [stack(n) for n in self._memory_names]
        return (states, memory), lengths

    def step(self, tokens, states):
        rnn_states, memory = states
        inputs = {"token": np.asarray(tokens, np.int32)}
        inputs.update({n: np.asarray(s, np.float32) for n, s in zip(self._state_names, rnn_states)})
        inputs.update({n: np.asarray(m, np.float32) for n, m in zip(self._memory_names, memory)})
        with self._lock:
            outputs = self._decode_step(**inputs)
        log_probs = tf.nn.log_softmax(tf.constant(outputs["logits"]), axis=-1)
        return log_probs, ([tf.constant(outputs[n]) for n in self._state_names], memory)

    def search(self, texts, beam_size=1, alpha=0.6, unk_penalty=0.0, no_repeat_ngram=0):
        if beam_size != 1 or unk_penalty or no_repeat_ngram:
            # The `greedy` signature has no penalty and no n-gram blocking:
            # such a greedy search runs eagerly over `decode_step`, like beam
            # search.
            return super().search(texts, beam_size, alpha, unk_penalty, no_repeat_ngram)
        # Greedy: the model's own `greedy` signature, one call per sentence.
        padded, lengths = self.encoder_inputs(texts)
        results = []
        for row in padded:
            with self._lock:
                results.append(self._greedy(encoder_tokens=row[None, :]))
        width = max([r["tokens"].shape[1] for r in results], default=1)
        tokens = np.zeros((len(results), 1, width), np.int32)
        for i, r in enumerate(results):
            tokens[i, 0, : r["tokens"].shape[1]] = r["tokens"][0]
        scores = np.array([[r["score"][0]] for r in results], np.float32)
        return tf.constant(tokens), tf.constant(scores), lengths

    def _graph(self, beam_size, alpha, unk_penalty=0.0, no_repeat_ngram=0,
               replace_unknown=False):
        # (replace_unknown is refused before this: `_check_replace_unknown`.)
        # The interpreter is called from Python: greedy is one `greedy` call
        # per sentence; beam search runs eagerly (tf.while_loop iterates in
        # Python, calling `decode_step`); text processing is compiled.
        return lambda texts: self._finish_graph(
            *self.search(texts, beam_size, alpha, unk_penalty, no_repeat_ngram)
        )
