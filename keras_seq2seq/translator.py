"""A trained translation model: text in, text out, saved as one directory.

The directory holds `config.json` (model config, languages, training
record), `source_vocab.txt`, `target_vocab.txt` and `model.weights.h5`;
`load()` restores all of it in a fresh process.
"""

import json
import os
import re
import sys

import keras
import tensorflow as tf

from keras_seq2seq.constants import START_ID, UNK_ID
from keras_seq2seq.decoding import beam_search, greedy_search, penalize_token
from keras_seq2seq.decoding.penalties import check_ngram_size, check_penalty
from keras_seq2seq.models import (
    Seq2SeqConfig,
    build_alignment_model,
    build_inference_models,
    build_training_model,
)
from keras_seq2seq.models.preprocessor import Seq2SeqPreprocessor
from keras_seq2seq.text import load_vocabulary, make_tokenizer, save_vocabulary
from keras_seq2seq.text.sentences import join_translations, split_sentences_batch

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
SOURCE_VOCAB_FILE = "source_vocab.txt"
TARGET_VOCAB_FILE = "target_vocab.txt"


def fit_verbosity(verbose, stream=None):
    """Keras's verbosity for `verbose="auto"`: the live progress bar (1) on a
    terminal, one line per epoch (2) in a log, a pipe or CI, where the bar's
    thousands of carriage-return updates would be one unreadable line."""
    if verbose != "auto":
        return verbose
    stream = sys.stdout if stream is None else stream
    try:
        return 1 if stream.isatty() else 2
    except (AttributeError, ValueError):
        return 2


class ModelDirectoryError(ValueError):
    """A model directory is missing a file or has an invalid one."""


def run_step_model(decoder_step_model, tokens, states):
    """One decoding step with a `build_decoder_step_model` model.

    (tokens (B,), (rnn_states, memory)) -> (log_probs (B, V), new states);
    the memory (attention inputs, possibly empty) is carried unchanged.
    """
    rnn_states, memory = states
    logits, *rnn_states = decoder_step_model([tokens, *rnn_states, *memory], training=False)
    return tf.nn.log_softmax(logits, axis=-1), (list(rnn_states), memory)


WEIGHTS_DTYPES = ("float32", "float16")


def _store_weights_as_float16(path):
    """Rewrite the float32 arrays of a Keras weights file as float16.

    Keras has no option to save weights in another dtype than the
    variables', so the file is copied with h5py, groups and attributes as
    they are, float32 datasets converted (a copy, because HDF5 does not
    give back the space of deleted datasets). `load_weights` casts them
    back into the float32 variables, so the model still computes in
    float32; the file is half the size.
    """
    import h5py

    def copy(source, target):
        target.attrs.update(source.attrs)
        for name, item in source.items():
            if isinstance(item, h5py.Group):
                copy(item, target.create_group(name))
            else:
                values = item[()]
                if item.dtype == "float32":
                    values = values.astype("float16")
                target.create_dataset(name, data=values).attrs.update(item.attrs)

    converted = path + ".float16"
    with h5py.File(path, "r") as source, h5py.File(converted, "w") as target:
        copy(source, target)
    os.replace(converted, path)


def write_vocabulary_and_weights(
    directory, record, vocabularies, fresh_model, model, weights_dtype="float32"
):
    """Write config.json, the vocabularies {file name: list} and the weights of
    `model` through `fresh_model` (an uncompiled copy, so the weights file
    holds no optimizer state). `weights_dtype="float16"` stores the weights
    at half size (they are loaded back into float32 variables)."""
    if weights_dtype not in WEIGHTS_DTYPES:
        raise ValueError(f"weights_dtype must be one of {WEIGHTS_DTYPES}, got {weights_dtype!r}.")
    os.makedirs(directory, exist_ok=True)
    record = dict(record, weights_dtype=weights_dtype)
    with open(os.path.join(directory, CONFIG_FILE), "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2, ensure_ascii=False)
    for name, vocabulary in vocabularies.items():
        save_vocabulary(vocabulary, os.path.join(directory, name))
    # Keras writes a compiled model's optimizer state (Adam: two more
    # copies of every weight) into the weights file; a fresh, uncompiled
    # copy of the model keeps the file to the weights alone.
    fresh_model.set_weights(model.get_weights())
    fresh_model.save_weights(os.path.join(directory, WEIGHTS_FILE))
    if weights_dtype == "float16":
        _store_weights_as_float16(os.path.join(directory, WEIGHTS_FILE))


def read_model_record(directory):
    """config.json of a model directory, checked for format; ModelDirectoryError if not."""
    config_path = os.path.join(directory, CONFIG_FILE)
    if not os.path.isdir(directory):
        raise ModelDirectoryError(f"Model directory not found: {directory}")
    if not os.path.isfile(config_path):
        raise ModelDirectoryError(f"{directory} is not a model directory: no {CONFIG_FILE}.")
    try:
        with open(config_path, encoding="utf-8") as f:
            record = json.load(f)
        version = record.get("format_version")
    except (json.JSONDecodeError, AttributeError) as e:
        raise ModelDirectoryError(f"{config_path} is invalid: {e}") from e
    if version != FORMAT_VERSION:
        raise ModelDirectoryError(
            f"{config_path}: format_version {version}, this library reads {FORMAT_VERSION}."
        )
    return record


def _weight_shapes(weights_path):
    """{dataset path: shape} of a Keras `.weights.h5` file."""
    import h5py

    shapes = {}
    with h5py.File(weights_path, "r") as f:
        f.visititems(lambda name, item: shapes.__setitem__(name, tuple(item.shape))
                     if isinstance(item, h5py.Dataset) else None)
    return shapes


def check_weights_match(model, config, directory, source_vocab_size, target_vocab_size):
    """Raise one clear ModelDirectoryError when the weights file does not fit
    the model that config.json and the vocabularies describe.

    Keras would load what fits, warn in 25-30 lines about "freshly
    initialized" variables and then blame the weights file; this compares
    the shapes first and names the files that disagree. Keras names the
    layers in the file by class and creation order (`embedding`,
    `embedding_1`: encoder then decoder), which is what the checks read.
    """
    path = os.path.join(directory, WEIGHTS_FILE)
    if not os.path.isfile(path):
        raise ModelDirectoryError(f"Weights file not found: {path}")
    try:
        found = _weight_shapes(path)
    except OSError as e:
        raise ModelDirectoryError(f"Cannot read {path}: {e}") from e
    expected = sorted(tuple(w.shape) for w in model.weights)
    if sorted(found.values()) == expected:
        return
    config_file = os.path.join(directory, CONFIG_FILE)
    embeddings = [found[k] for k in sorted(found)
                  if re.fullmatch(r"layers/embedding(_\d+)?/vars/0", k)]
    vocab_files = [(SOURCE_VOCAB_FILE, source_vocab_size), (TARGET_VOCAB_FILE, target_vocab_size)]
    for (name, size), shape in zip(vocab_files, embeddings):
        if shape[0] != size:
            raise ModelDirectoryError(
                f"{os.path.join(directory, name)} has {size} tokens but {path} was trained "
                f"with {shape[0]}: the vocabulary and the weights are from different models "
                "(or the vocabulary file was edited).")
    if embeddings and embeddings[0][1] != config.embedding_dim:
        raise ModelDirectoryError(
            f"{config_file} says embedding_dim {config.embedding_dim} but {path} has "
            f"{embeddings[0][1]}-wide embeddings.")
    cells = {k.split("/")[1]: v for k, v in found.items()
             if re.fullmatch(r"layers/(lstm|gru)(_\d+)?/cell/vars/1", k)}
    kinds = {re.sub(r"_\d+$", "", name) for name in cells}
    if kinds and kinds != {config.cell_type}:
        raise ModelDirectoryError(
            f"{config_file} says cell_type {config.cell_type!r} but {path} holds "
            f"{'/'.join(sorted(kinds))} weights.")
    if cells and len(cells) != 2 * config.num_layers:
        raise ModelDirectoryError(
            f"{config_file} says num_layers {config.num_layers} but {path} has "
            f"{len(cells) // 2} encoder and decoder layers.")
    units = {shape[0] for shape in cells.values()}
    if units and units != {config.units}:
        raise ModelDirectoryError(
            f"{config_file} says units {config.units} but {path} has "
            f"{'/'.join(map(str, sorted(units)))}-unit layers.")
    raise ModelDirectoryError(
        f"{path} does not match {config_file}: the file holds {len(found)} weight arrays, "
        f"the configured model has {len(expected)} (attention {config.attention!r}, "
        f"copy_attention {config.copy_attention}); were they saved from the same model?")


def load_weights_file(model, directory):
    weights_path = os.path.join(directory, WEIGHTS_FILE)
    if not os.path.isfile(weights_path):
        raise ModelDirectoryError(f"Weights file not found: {weights_path}")
    try:
        model.load_weights(weights_path)
    except Exception as e:  # h5py and Keras raise several types
        raise ModelDirectoryError(f"Cannot load weights from {weights_path}: {e}") from e


class Decoder:
    """Text in, text out around a step function: the base of `Translator`,
    `Ensemble`, the captioners and the TFLite runners (public so that
    other decoders can be built on it).

    A subclass provides `encode(texts) -> (states, source_lengths)` and
    `step(tokens, states) -> (log_probs, states)` (the decoding contract),
    plus `target_tokenizer` and the decoding limits set by `_set_limits`.
    """

    def _set_limits(self, max_input_tokens, max_output_tokens, length_ratio, length_offset):
        self.max_input_tokens = max_input_tokens
        self.max_output_tokens = max_output_tokens
        self.length_ratio = length_ratio
        self.length_offset = length_offset
        self._graphs = {}

    def max_lengths(self, source_lengths):
        """Most tokens to generate per sentence: ratio * source words + offset."""
        limit = tf.cast(self.length_ratio * tf.cast(source_lengths, tf.float32), tf.int32)
        return tf.minimum(limit + self.length_offset, self.max_output_tokens)

    def search(self, texts, beam_size=1, alpha=0.6, unk_penalty=0.0, no_repeat_ngram=0):
        """tf.string (B,) -> (tokens (B, K, T), scores (B, K), source lengths (B,)).

        K is `beam_size`. Greedy search for beam size 1 (its score is the
        summed log-probability), beam search otherwise (length-normalised
        scores, best first). `unk_penalty` is subtracted from the
        log-probability of `<unk>` at every step (`penalize_token`);
        `no_repeat_ngram` >= 2 forbids repeating an n-gram of that many
        tokens (`block_repeated_ngrams`).
        """
        states, lengths = self.encode(texts)
        max_lengths = self.max_lengths(lengths)
        step = penalize_token(self.step, UNK_ID, unk_penalty)
        if beam_size == 1:
            tokens, scores = greedy_search(step, states, max_lengths,
                                           no_repeat_ngram=no_repeat_ngram)
            return tokens[:, None, :], scores[:, None], lengths
        tokens, scores, _ = beam_search(step, states, max_lengths, beam_size=beam_size, alpha=alpha,
                                        no_repeat_ngram=no_repeat_ngram)
        return tokens, scores, lengths

    def _check_replace_unknown(self):
        raise ValueError(f"{type(self).__name__} cannot replace <unk>: it needs a "
                         "single word-level Translator with attention.")

    def translate_batch(self, texts, beam_size, alpha, unk_penalty=0.0, no_repeat_ngram=0):
        """One batch in the graph: inputs (B,) -> (translations tf.string
        (B, K), scores (B, K)), K = beam_size; what the SavedModel exports
        wrap in their signatures."""
        return self._finish(*self.search(texts, beam_size, alpha, unk_penalty, no_repeat_ngram))

    def _finish(self, tokens, scores, lengths):
        """Search output -> (translations (B, K) tf.string, scores (B, K))."""
        shape = tf.shape(tokens)  # (batch, beam, time)
        flat = tf.reshape(tokens, [shape[0] * shape[1], shape[2]])
        translations = tf.reshape(self.target_tokenizer.decode(flat), shape[:2])
        # A source without a single word has nothing to translate.
        has_words = lengths[:, None] > 0
        translations = tf.where(has_words, translations, tf.constant(""))
        return translations, tf.where(has_words, scores, 0.0)

    # What `encode` takes: a batch of strings here; images for a captioner.
    input_spec = tf.TensorSpec([None], tf.string)
    progress_unit = "sentence"

    def _graph(self, beam_size, alpha, unk_penalty=0.0, no_repeat_ngram=0,
               replace_unknown=False):
        key = (int(beam_size), float(alpha), float(unk_penalty), int(no_repeat_ngram),
               bool(replace_unknown))
        if key not in self._graphs:
            self._graphs[key] = tf.function(
                # replace_unknown only when set: subclasses' translate_batch
                # (captioners) do not take it.
                lambda inputs: self.translate_batch(
                    inputs, *key[:4], **({"replace_unknown": True} if key[4] else {})
                ),
                input_signature=[self.input_spec],
            )
        return self._graphs[key]

    def _check_search_options(self, batch_size, beam_size, n_best, unk_penalty=0.0,
                              no_repeat_ngram=0):
        check_penalty(unk_penalty)
        check_ngram_size(no_repeat_ngram)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
        if beam_size < 1:
            raise ValueError(f"beam_size must be >= 1, got {beam_size}.")
        if n_best is not None and not 1 <= n_best <= beam_size:
            raise ValueError(f"n_best must be between 1 and beam_size={beam_size}, got {n_best}.")

    def _decode_batches(
        self, inputs, batch_size, beam_size, alpha, n_best, progress, unk_penalty=0.0,
        no_repeat_ngram=0, order=None, replace_unknown=False,
    ):
        """Decode a sequence of inputs (list or array) batch by batch.

        `order` (a permutation of the input indices, e.g. by length) is the
        order in which they are batched; results come back in input order.

        Returns a list: one string per input, or with `n_best` a list of
        (text, score) per input.
        """
        graph = self._graph(beam_size, alpha, unk_penalty, no_repeat_ngram, replace_unknown)
        bar = keras.utils.Progbar(len(inputs), unit_name=self.progress_unit,
                                  verbose=fit_verbosity("auto")) if progress else None
        order = list(range(len(inputs))) if order is None else list(order)
        results = [None] * len(inputs)
        done = 0
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            chunk = tf.convert_to_tensor(
                [inputs[i] for i in indices], dtype=self.input_spec.dtype
            )
            translations, scores = graph(chunk)
            for i, row, row_scores in zip(indices, translations.numpy(), scores.numpy()):
                if n_best is None:
                    results[i] = row[0].decode("utf-8")
                else:
                    results[i] = [
                        (t.decode("utf-8"), float(sc)) for t, sc in zip(row[:n_best], row_scores)
                    ]
            done += len(indices)
            if bar is not None:
                bar.update(done)
        return results

    def translate(
        self, texts, batch_size=64, beam_size=1, alpha=0.6, n_best=None, progress=False,
        unk_penalty=0.0, no_repeat_ngram=0, split_sentences=True, replace_unknown=False,
    ):
        """Translate a string or a list of strings.

        Args:
            texts: str or list of str (bytes are decoded as UTF-8, invalid
                bytes replaced).
            batch_size: int. Sentences decoded together. Defaults to 64.
            beam_size: int. 1 for greedy search, more for beam search.
                Defaults to 1.
            alpha: float. Length-penalty strength of beam search. Defaults
                to 0.6.
            n_best: int or None. When set, return the `n_best` best
                hypotheses of each sentence as (text, score) pairs, best
                first (at most `beam_size`). Defaults to None.
            progress: bool. Show a Keras progress bar. Defaults to False.
            unk_penalty: float. Subtracted from the log-probability of
                `<unk>` at every step: `float("inf")` never writes `<unk>`
                (the search takes the best real word instead), 0 is the
                paper's decoder. Defaults to 0.
            no_repeat_ngram: int. When >= 2, no translation repeats an
                n-gram of this many tokens (word pieces with a word-piece
                model), which stops degenerate loops. Defaults to 0 (off).
            split_sentences: bool. Cut each text into sentences
                (`keras_seq2seq.text.sentences`), translate them as one
                batch and join the translations with the text's own
                separators, so a paragraph comes out sentence by sentence.
                With `n_best`, each text is decoded whole. Defaults to True.
            replace_unknown: bool. Word-level models with attention: write
                the source word that the attention points to in place of
                each `<unk>` (Luong et al. 2015; OpenNMT's
                `replace_unknown_target`), so names and numbers are copied.
                Defaults to False.

        Returns:
            A string per input (a list for a list), or with `n_best` a list
            of (text, score) per input.
        """
        self._check_search_options(batch_size, beam_size, n_best, unk_penalty, no_repeat_ngram)
        if replace_unknown:
            self._check_replace_unknown()
        single = isinstance(texts, (str, bytes))
        texts = [texts] if single else list(texts)
        texts = [t.decode("utf-8", errors="replace") if isinstance(t, bytes) else t
                 for t in texts]
        pieces = None
        if split_sentences and n_best is None:
            pieces = split_sentences_batch(texts)
            texts = [sentence for p in pieces for sentence in p[1::2]]
        # Batches of similar lengths: less padding, fewer wasted steps.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        results = self._decode_batches(
            texts, batch_size, beam_size, alpha, n_best, progress, unk_penalty,
            no_repeat_ngram, order=order, replace_unknown=replace_unknown,
        )
        if pieces is not None:
            joined, position = [], 0
            for p in pieces:
                count = len(p) // 2
                joined.append(join_translations(p, results[position : position + count]))
                position += count
            results = joined
        return results[0] if single else results


class Translator(Decoder):
    """Translate text with a trained encoder-decoder.

    Args:
        model: keras.Model. The training model (`build_training_model`).
        config: Seq2SeqConfig. Its config.
        source_tokenizer: WordTokenizer or WordPieceTokenizer for the source language.
        target_tokenizer: WordTokenizer or WordPieceTokenizer for the target language.
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
        self.metadata = dict(metadata or {})
        self._set_limits(max_input_tokens, max_output_tokens, length_ratio, length_offset)
        self.preprocessor = Seq2SeqPreprocessor(
            source_tokenizer, target_tokenizer, config.reverse_source,
            config.max_source_length, config.max_target_length,
            decoding={"max_input_tokens": self.max_input_tokens,
                      "max_output_tokens": self.max_output_tokens,
                      "length_ratio": self.length_ratio, "length_offset": self.length_offset},
        )
        self.encoder_model, self.decoder_step_model = build_inference_models(model, config)
        self._num_states = config.num_layers * config.states_per_layer
        self._alignment_model = None

    # Building blocks of the graph, usable on their own.

    def encoder_inputs(self, texts):
        """tf.string (B,) -> (encoder_tokens int32 (B, S), lengths int32 (B,)).

        Tokenizes, truncates to `max_input_tokens`, reverses the source words
        when the model was trained that way, and pads on the right.
        """
        return self.preprocessor.encoder_tokens(texts, self.max_input_tokens)

    def encode(self, texts):
        """tf.string (B,) -> (decoder states, source lengths (B,)).

        The states are `(rnn_states, memory)`: the encoder's final states
        of every layer, and the attention memory (empty without attention),
        which the step function carries along unchanged.
        """
        tokens, lengths = self.encoder_inputs(texts)
        outputs = self.encoder_model(tokens, training=False)
        outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        # tf.identity drops the Keras mask attached to the encoder outputs.
        outputs = [tf.identity(o) for o in outputs]
        return (outputs[: self._num_states], outputs[self._num_states :]), lengths

    def step(self, tokens, states):
        """The decoding step function: (tokens (B,), states) -> (log_probs, states)."""
        return run_step_model(self.decoder_step_model, tokens, states)

    def _check_replace_unknown(self):
        if self.config.tokenizer != "word" or self.config.attention == "none":
            raise ValueError("replace_unknown needs a word-level model with attention "
                             f"(this one: tokenizer {self.config.tokenizer!r}, attention "
                             f"{self.config.attention!r}).")

    def translate_batch(self, texts, beam_size, alpha, unk_penalty=0.0, no_repeat_ngram=0,
                         replace_unknown=False):
        tokens, scores, lengths = self.search(texts, beam_size, alpha, unk_penalty,
                                              no_repeat_ngram)
        if not replace_unknown:
            return self._finish(tokens, scores, lengths)
        return self._finish_replacing_unknown(texts, tokens, scores, lengths)

    def _finish_replacing_unknown(self, texts, tokens, scores, lengths):
        """`_finish`, with each `<unk>` replaced by its aligned source word.

        The alignments come from a teacher-forced pass over the chosen tokens
        (`build_alignment_model`): the same attention scores the search's
        steps computed, without carrying them through every search.
        """
        if self._alignment_model is None:
            self._alignment_model = build_alignment_model(self.model, self.config)
        shape = tf.shape(tokens)  # (batch, beam, time)
        beams = shape[1]
        flat = tf.reshape(tokens, [shape[0] * beams, shape[2]])
        (rnn_states, memory), _ = self.encode(texts)
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
        words = self.source_tokenizer.tokenize(texts)[:, : self.max_input_tokens]
        counts = tf.repeat(tf.cast(words.row_lengths(), tf.int32), beams)  # (batch * beam,)
        if self.config.reverse_source:
            positions = counts[:, None] - 1 - positions
        positions = tf.clip_by_value(positions, 0, tf.maximum(counts[:, None] - 1, 0))
        dense_words = tf.repeat(words.to_tensor(""), beams, axis=0)  # (batch * beam, S)
        dense_words = tf.pad(dense_words, [[0, 0], [0, 1]])  # at least one column
        aligned = tf.gather(dense_words, positions, batch_dims=1)  # (batch * beam, time)
        text = self.target_tokenizer.decode(flat, unknown_words=aligned)
        translations = tf.reshape(text, shape[:2])
        has_words = lengths[:, None] > 0
        translations = tf.where(has_words, translations, tf.constant(""))
        return translations, tf.where(has_words, scores, 0.0)

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
            "decoding": {
                "max_input_tokens": self.max_input_tokens,
                "max_output_tokens": self.max_output_tokens,
                "length_ratio": self.length_ratio,
                "length_offset": self.length_offset,
            },
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


def load(directory):
    """Load a model directory written by `Translator.save` (or `train`).

    Raises:
        ModelDirectoryError: naming the missing or invalid file.
    """
    record = read_model_record(directory)
    if record.get("kind", "translator") != "translator":
        raise ModelDirectoryError(
            f"{directory} holds a {record['kind']} model, not a translator"
            + (": load it with keras_seq2seq.captioning.load_captioner." if record["kind"]
               == "captioner" else ".")
        )
    try:
        config = Seq2SeqConfig.from_dict(record["model"])
    except (KeyError, TypeError, ValueError) as e:
        raise ModelDirectoryError(f"{os.path.join(directory, CONFIG_FILE)} is invalid: {e}") from e
    source_vocab = load_vocabulary(os.path.join(directory, SOURCE_VOCAB_FILE))
    target_vocab = load_vocabulary(os.path.join(directory, TARGET_VOCAB_FILE))
    source_tokenizer = make_tokenizer(
        config.tokenizer, source_vocab, config.lowercase, record.get("source_language", "en")
    )
    target_tokenizer = make_tokenizer(
        config.tokenizer, target_vocab, config.lowercase, record.get("target_language", "fr")
    )
    model = build_training_model(config, len(source_vocab), len(target_vocab))
    check_weights_match(model, config, directory, len(source_vocab), len(target_vocab))
    load_weights_file(model, directory)
    return Translator(
        model,
        config,
        source_tokenizer,
        target_tokenizer,
        metadata=record.get("metadata"),
        **record.get("decoding", {}),
    )


class Ensemble(Decoder):
    """Several models that share a target vocabulary, decoded as one.

    At each step the members' log-probabilities are averaged (Sutskever et
    al. 2014 ensembled five deep LSTMs). Each member tokenizes, reverses and
    encodes the source its own way; decoding limits are the first member's.

    Args:
        translators: list of Translator.
    """

    def __init__(self, translators):
        self.members = list(translators)
        if not self.members:
            raise ValueError("An ensemble needs at least one model.")
        first = self.members[0]
        for i, member in enumerate(self.members[1:], start=1):
            if member.target_tokenizer.vocabulary != first.target_tokenizer.vocabulary:
                raise ValueError(
                    f"Ensemble member {i} has a different target vocabulary from member 0: "
                    "ensembled models must share it (same ids for the same words)."
                )
        self.target_tokenizer = first.target_tokenizer
        self.source_tokenizer = first.source_tokenizer
        self._set_limits(
            first.max_input_tokens, first.max_output_tokens, first.length_ratio,
            first.length_offset,
        )

    def encode(self, texts):
        encoded = [member.encode(texts) for member in self.members]
        states = tuple(state for state, _ in encoded)
        return states, encoded[0][1]

    def step(self, tokens, states):
        outputs = [member.step(tokens, s) for member, s in zip(self.members, states)]
        log_probs = tf.add_n([lp for lp, _ in outputs]) / len(outputs)
        return log_probs, tuple(s for _, s in outputs)
