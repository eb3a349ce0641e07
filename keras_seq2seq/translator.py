"""A trained translation model: text in, text out, saved as one directory.

The directory holds `config.json` (model config, languages, training
record), `source_vocab.txt`, `target_vocab.txt` and `model.weights.h5`;
`load()` restores all of it in a fresh process.
"""

from __future__ import annotations

import os

import tensorflow as tf

from keras_seq2seq.constants import START_ID
from keras_seq2seq.decoder import Decoder, run_step_model
from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.model_directory import (
    CONFIG_FILE,
    FORMAT_VERSION,
    SOURCE_VOCAB_FILE,
    TARGET_VOCAB_FILE,
    ModelDirectoryError,
    check_weights_match,
    load_weights_file,
    read_model_record,
    write_vocabulary_and_weights,
)
from keras_seq2seq.models import (
    Seq2SeqConfig,
    build_alignment_model,
    build_inference_models,
    build_training_model,
)
from keras_seq2seq.models.preprocessor import Seq2SeqPreprocessor
from keras_seq2seq.models.seq2seq import weights_to_come
from keras_seq2seq.settings import DecodingConfig
from keras_seq2seq.text import load_vocabulary, make_tokenizer


class Translator(Decoder):
    """Translate text with a trained encoder-decoder.

    Args:
        model: keras.Model. The training model (a `Seq2SeqBackbone`).
        config: Seq2SeqConfig. Its config.
        source_tokenizer: WordTokenizer or WordPieceTokenizer for the source language.
        target_tokenizer: WordTokenizer or WordPieceTokenizer for the target language.
        decoding: DecodingConfig, dict or None. How this model translates
            unless a call says otherwise (saved with it). None: the
            `DecodingConfig` defaults.
        metadata: dict or None. Training record saved with the model.

    Example:

    >>> import keras_seq2seq
    >>> translator = keras_seq2seq.load("en-fr")
    >>> translator.decoding.beam_size
    5
    >>> translator.translate("Where is the station?")
    'Où se trouve la gare ?'
    """

    can_replace_unknown = True

    def __init__(self, model, config, source_tokenizer, target_tokenizer, decoding=None,
                 metadata=None):
        self.model = model
        self.config = config
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.metadata = dict(metadata or {})
        self._init_decoding(decoding)
        self.preprocessor = Seq2SeqPreprocessor(
            source_tokenizer, target_tokenizer, config.reverse_source,
            config.max_source_length, config.max_target_length,
            min_frequency=config.min_frequency,
        )
        self.encoder_model, self.decoder_step_model = build_inference_models(model, config)
        self._num_states = config.num_layers * config.states_per_layer
        self._alignment_model = None

    # Building blocks of the graph, usable on their own.

    def encoder_inputs(self, texts, max_tokens=None):
        """tf.string (B,) -> (encoder_tokens int32 (B, S), lengths int32 (B,)).

        Tokenizes, truncates to `max_tokens` (the settings'
        `max_input_tokens` when None), reverses the source tokens when the
        model was trained that way, and pads on the right.
        """
        return self.preprocessor.encoder_tokens(texts, max_tokens or self.decoding.max_input_tokens)

    def encode(self, texts, max_tokens=None):
        """tf.string (B,) -> (decoder states, source lengths (B,)).

        The states are `(rnn_states, memory)`: the encoder's final states
        of every layer, and the attention memory (empty without attention),
        which the step function carries along unchanged.
        """
        tokens, lengths = self.encoder_inputs(texts, max_tokens)
        outputs = self.encoder_model(tokens, training=False)
        outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        # tf.identity drops the Keras mask attached to the encoder outputs.
        outputs = [tf.identity(o) for o in outputs]
        return (outputs[: self._num_states], outputs[self._num_states :]), lengths

    def step(self, tokens, states):
        """The decoding step function: (tokens (B,), states) -> (log_probs, states)."""
        return run_step_model(self.decoder_step_model, tokens, states,
                              normalised=self.config.copy_attention)

    def _describe_kind(self):
        return (f"{type(self).__name__} with tokenizer {self.config.tokenizer!r} and attention "
                f"{self.config.attention!r}")

    def settings(self, decoding=None, *, n_best=None, **changes):
        settings = super().settings(decoding, n_best=n_best, **changes)
        if settings.replace_unknown and (self.config.tokenizer != "word"
                                         or self.config.attention == "none"):
            raise ConfigurationError("replace_unknown needs a word-level model with attention "
                                     f"(this one: tokenizer {self.config.tokenizer!r}, attention "
                                     f"{self.config.attention!r}).")
        return settings

    def finish(self, texts, tokens, scores, lengths, settings):
        if not settings.replace_unknown:
            return super().finish(texts, tokens, scores, lengths, settings)
        return self._finish_replacing_unknown(texts, tokens, scores, lengths, settings)

    def _finish_replacing_unknown(self, texts, tokens, scores, lengths, settings):
        """`finish`, with each `<unk>` replaced by its aligned source word.

        The alignments come from a teacher-forced pass over the chosen tokens
        (`build_alignment_model`): the same attention scores the search's
        steps computed, without carrying them through every search.
        """
        if self._alignment_model is None:
            self._alignment_model = build_alignment_model(self.model, self.config)
        shape = tf.shape(tokens)  # (batch, beam, time)
        beams = shape[1]
        flat = tf.reshape(tokens, [shape[0] * beams, shape[2]])
        (rnn_states, memory), _ = self.encode(texts, settings.max_input_tokens)
        rnn_states = [tf.repeat(s, beams, axis=0) for s in rnn_states]
        keys, mask = [tf.repeat(m, beams, axis=0) for m in memory[1:3]]
        inputs = tf.concat([tf.fill([shape[0] * beams, 1], START_ID), flat[:, :-1]], axis=1)
        positions = self._alignment_model([inputs, *rnn_states, keys, mask], training=False)
        # Encoder position -> source word (the source was reversed when the
        # model was trained that way). The attention of these one-way
        # encoders peaks on the state one step *after* a word was read (the
        # state that has just taken the word in): on the shipped word-level
        # model, "My name is Alexander" -> "<unk>" peaks on "is", the
        # state that read "Alexander" just before in reversed order; so the
        # word is the one read at position - 1.
        positions = tf.maximum(positions - 1, 0)
        words = self.source_tokenizer.tokenize(texts)[:, : settings.max_input_tokens]
        counts = tf.repeat(tf.cast(words.row_lengths(), tf.int32), beams)  # (batch * beam,)
        if self.config.reverse_source:
            positions = counts[:, None] - 1 - positions
        positions = tf.clip_by_value(positions, 0, tf.maximum(counts[:, None] - 1, 0))
        dense_words = tf.repeat(words.to_tensor(""), beams, axis=0)  # (batch * beam, S)
        dense_words = tf.pad(dense_words, [[0, 0], [0, 1]])  # at least one column
        aligned = tf.gather(dense_words, positions, batch_dims=1)  # (batch * beam, time)
        text = self.target_tokenizer.decode(flat, unknown_words=aligned)
        return self._blank_empty(tf.reshape(text, shape[:2]), scores, lengths)

    def save(self, directory, weights_dtype="float32"):
        """Write the model directory (config, vocabularies, weights).

        Args:
            directory: str. Created if missing; files in it are replaced.
            weights_dtype: "float32" or "float16". float16 halves the
                weights file (for shipping); the loaded model still
                computes in float32. Defaults to "float32".
        """
        record = {
            "format_version": FORMAT_VERSION,
            "model": self.config.to_dict(),
            "source_language": self.source_tokenizer.language,
            "target_language": self.target_tokenizer.language,
            "source_vocab_size": self.source_tokenizer.vocabulary_size,
            "target_vocab_size": self.target_tokenizer.vocabulary_size,
            "decoding": self.decoding.to_dict(),
            "metadata": self.metadata,
        }
        fresh = build_training_model(
            self.config, self.source_tokenizer.vocabulary_size,
            self.target_tokenizer.vocabulary_size,
        )
        vocabularies = {
            SOURCE_VOCAB_FILE: self.source_tokenizer.vocabulary,
            TARGET_VOCAB_FILE: self.target_tokenizer.vocabulary,
        }
        write_vocabulary_and_weights(
            directory, record, vocabularies, fresh, self.model, weights_dtype=weights_dtype
        )


def load_translator(directory) -> Translator:
    """Load a model directory written by `Translator.save` (or `train`); its
    stored decoding settings become `translator.decoding` (a directory
    written before they were stored gets the `DecodingConfig` defaults, its
    length limits kept). `keras_seq2seq.load` dispatches here.

    Raises:
        ModelDirectoryError: naming the missing or invalid file.
    """
    record = read_model_record(directory)
    if record.get("kind", "translator") != "translator":
        raise ModelDirectoryError(
            f"{directory} holds a {record['kind']} model, not a translator: load it with "
            "keras_seq2seq.load.")
    config_file = os.path.join(directory, CONFIG_FILE)
    try:
        config = Seq2SeqConfig.from_dict(record["model"])
        decoding = DecodingConfig.from_dict(record.get("decoding"))
    except (KeyError, TypeError, ValueError) as e:
        raise ModelDirectoryError(f"{config_file} is invalid: {e}") from e
    source_vocab = load_vocabulary(os.path.join(directory, SOURCE_VOCAB_FILE))
    target_vocab = load_vocabulary(os.path.join(directory, TARGET_VOCAB_FILE))
    source_tokenizer = make_tokenizer(
        config.tokenizer, source_vocab, config.lowercase, record.get("source_language", "en")
    )
    target_tokenizer = make_tokenizer(
        config.tokenizer, target_vocab, config.lowercase, record.get("target_language", "fr")
    )
    with weights_to_come():
        model = build_training_model(config, len(source_vocab), len(target_vocab))
    check_weights_match(model, config, directory, len(source_vocab), len(target_vocab))
    load_weights_file(model, directory)
    return Translator(model, config, source_tokenizer, target_tokenizer, decoding=decoding,
                      metadata=record.get("metadata"))


class Ensemble(Decoder):
    """Several models that share a target vocabulary, decoded as one.

    At each step the members' log-probabilities are averaged (Sutskever et
    al. 2014 ensembled five deep LSTMs). Each member tokenizes, reverses and
    encodes the source its own way; the decoding settings are the first
    member's.

    Args:
        translators: list of Translator.

    >>> import keras_seq2seq
    >>> model = keras_seq2seq.load("en-fr")
    >>> ensemble = Ensemble([model, model])  # the same model twice: the same output
    >>> ensemble.translate("Thank you.", beam_size=1) == model.translate("Thank you.", beam_size=1)
    True
    """

    def __init__(self, translators):
        self.members = list(translators)
        if not self.members:
            raise ConfigurationError("An ensemble needs at least one model.")
        first = self.members[0]
        for i, member in enumerate(self.members[1:], start=1):
            if member.target_tokenizer.vocabulary != first.target_tokenizer.vocabulary:
                raise ConfigurationError(
                    f"Ensemble member {i} has a different target vocabulary from member 0: "
                    "ensembled models must share it (same ids for the same words)."
                )
        self.target_tokenizer = first.target_tokenizer
        self.source_tokenizer = first.source_tokenizer
        self._init_decoding(first.decoding)

    def encode(self, texts, max_tokens=None):
        encoded = [member.encode(texts, max_tokens) for member in self.members]
        states = tuple(state for state, _ in encoded)
        return states, encoded[0][1]

    def step(self, tokens, states):
        outputs = [member.step(tokens, s) for member, s in zip(self.members, states)]
        log_probs = tf.add_n([lp for lp, _ in outputs]) / len(outputs)
        return log_probs, tuple(s for _, s in outputs)
