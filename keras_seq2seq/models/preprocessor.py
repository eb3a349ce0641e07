"""Text -> the Backbone's inputs: the one preprocessing implementation.

`Seq2SeqPreprocessor` owns the two tokenizers (normalisation and lookup are
theirs), source reversal, `<start>`/`<end>` and the length limits. The
tf.data training pipeline, the Keras translator, the TF Serving SavedModel
(whose graph the translator's functions are traced into) and the LiteRT
runner all call it, so training and serving cannot drift apart.

    preprocessor = Seq2SeqPreprocessor(source_tokenizer, target_tokenizer)
    x, y, sample_weight = preprocessor(["Thank you."], ["Merci."])   # for fit
    x, y, sample_weight = preprocessor({"encoder_text": ["Thank you."],
                                        "decoder_text": ["Merci."]})  # keras-hub's way
    tokens, lengths = preprocessor.encoder_tokens(tf.constant(["Thank you."]))
"""

from __future__ import annotations

import os

import keras_hub
import tensorflow as tf

from keras_seq2seq._lazy import register_keras_class
from keras_seq2seq.constants import END_ID, PAD_ID, START_ID
from keras_seq2seq.text.ragged import row_ids

try:  # keras-hub's own preprocessors' wrapper: eager outputs to the backend's (or
    # Grain's NumPy) types, inputs from lists and NumPy arrays.
    from keras_hub.src.utils.tensor_utils import preprocessing_function
except ImportError:  # pragma: no cover (moved in a keras-hub release not pinned)
    def preprocessing_function(fn):
        return fn

SOURCE_VOCAB = "source_vocab.txt"
TARGET_VOCAB = "target_vocab.txt"


def reverse_rows(ids):
    """Ragged ids (B, None) -> each row's ids in reverse order."""
    # On the flat values: element p of row i (starts[i] <= p < limits[i])
    # takes element starts[i] + limits[i] - 1 - p. Ragged arithmetic (a
    # (B, 1) column minus a ragged range) gives the same values but traces
    # into some 350 graph nodes of shape checks, a third of the tokenizing
    # graph that `translate` traces at start-up; this is about ten.
    ends = ids.row_starts() + ids.row_limits() - 1
    flat_positions = tf.range(tf.shape(ids.flat_values, out_type=ends.dtype)[0])
    source = tf.gather(ends, row_ids(ids)) - flat_positions
    return ids.with_flat_values(tf.gather(ids.flat_values, source))


@register_keras_class
class Seq2SeqPreprocessor(keras_hub.models.Preprocessor):
    """Source and target text -> encoder and decoder tokens.

    Called as `preprocessor(x, y=None, sample_weight=None)`, where `x` is
    either the source strings (and `y` the target strings), or keras-hub's
    Seq2SeqLM dict `{"encoder_text": sources, "decoder_text": targets}`.
    With targets, it returns the Keras batch `(x, y, sample_weight)` for
    `fit`; without (raw sources alone), the inputs for `predict`, whose
    decoder tokens are `<start>` alone (an empty target prefix, as in
    keras-hub's `generate_preprocess`).

    - source: tokenized (normalised by the tokenizer), reversed when the
      model reads it reversed (Sutskever et al. 2014, 3.3), as
      `encoder_tokens`;
    - target: `decoder_tokens = <start> y1 ... yn`, `targets = y1 ... yn
      <end>`, weight 0 on padding.

    Training leaves out pairs over the length limits (`keep`); translation
    truncates the source instead (`encoder_tokens(max_tokens=...)`), so that
    no input can make decoding unbounded.

    Args:
        source_tokenizer, target_tokenizer: the project's WordTokenizer or
            WordPieceTokenizer (a tokenizer only, the target one, is
            needed for targets).
        reverse_source: bool. Defaults to True.
        max_source_length, max_target_length: int. Longest pair kept for
            training, in tokens (the target without `<end>`). Defaults to
            50.
        tokenizer_type, lowercase, source_language, target_language: how
            to rebuild the tokenizers from their vocabularies (a `.keras`
            file's assets); read from the tokenizers when they are given.
        min_frequency: int. How the word vocabularies were learnt (words
            seen fewer times are `<unk>`), kept so that fine-tuning with
            merged vocabularies learns the new words the same way. Defaults
            to 2, as `Seq2SeqConfig`.
        encoder_sequence_length, decoder_sequence_length: int or None.
            Pad (and cut) `call`'s encoder tokens, and decoder tokens and
            targets, to this many columns (keras-hub's fixed shapes;
            `sequence_length` is the decoder's). Defaults to None: pad to
            each batch's longest sentence.

    Where it departs from keras-hub's Seq2SeqLMPreprocessor: by default it
    pads to each batch's longest sentence, not to a fixed length (the
    recurrent model needs no fixed shape, and the tf.data pipeline buckets
    by length); its outputs are the Backbone's `encoder_tokens` and
    `decoder_tokens` (no padding masks: padding is id 0, which the
    embeddings mask); and its tokenizers are this project's own (in-graph
    normalisation and word pieces with core TF ops, which the SavedModel
    and LiteRT need), so they are passed in rather than serialized by
    keras-hub: their vocabularies are the layer's assets (a `.keras`
    file's), and `from_config` alone gives a preprocessor without them.

    Example:

    >>> from keras_seq2seq.text import make_tokenizer
    >>> specials = ["<pad>", "<unk>", "<start>", "<end>"]
    >>> source = make_tokenizer("word", specials + ["thank", "you", "."], lowercase=True)
    >>> target = make_tokenizer("word", specials + ["merci", "."], lowercase=True,
    ...                         language="fr")
    >>> preprocessor = Seq2SeqPreprocessor(source, target)
    >>> x, y, sample_weight = preprocessor(["Thank you."], ["Merci."])
    >>> x["encoder_tokens"].numpy().tolist(), x["decoder_tokens"].numpy().tolist()
    ([[6, 5, 4]], [[2, 4, 5]])
    >>> y.numpy().tolist(), sample_weight.numpy().tolist()
    ([[4, 5, 3]], [[1.0, 1.0, 1.0]])
    """

    def __init__(self, source_tokenizer=None, target_tokenizer=None, reverse_source: bool = True,
                 max_source_length: int = 50, max_target_length: int = 50,
                 tokenizer_type: str | None = None, lowercase: bool | None = None,
                 source_language: str | None = None, target_language: str | None = None,
                 min_frequency: int = 2, encoder_sequence_length: int | None = None,
                 decoder_sequence_length: int | None = None, **kwargs):
        super().__init__(**kwargs)
        # TensorFlow's checkpoint bookkeeping, which assigning the tokenizers
        # (tf.Modules) starts: started always, so that a preprocessor built
        # from its config alone (tokenizers to come from the assets) has the
        # same attributes.
        getattr(self, "_maybe_initialize_trackable", lambda: None)()
        self.encoder_sequence_length = encoder_sequence_length
        self.decoder_sequence_length = decoder_sequence_length
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer
        self.reverse_source = bool(reverse_source)
        self.max_source_length = int(max_source_length)
        self.max_target_length = int(max_target_length)
        # What rebuilds the tokenizers from the vocabularies (`load_assets`),
        # read from the tokenizers when they are given.
        given = source_tokenizer or target_tokenizer
        if tokenizer_type is None and given is not None:
            tokenizer_type = "wordpiece" if type(given).__name__.startswith("WordPiece") else "word"
        self.tokenizer_type = tokenizer_type or "word"
        self.lowercase = bool(given.lowercase if lowercase is None and given else lowercase)
        self.source_language = source_language or getattr(source_tokenizer, "language", "en")
        self.target_language = target_language or getattr(target_tokenizer, "language", "fr")
        self.min_frequency = min_frequency

    # Source.

    def source_ids(self, texts, max_tokens=None):
        """tf.string (B,) -> ragged int32 (B, None) in the order the encoder
        reads them: the first `max_tokens` tokens (all when None),
        reversed when the model reads the source reversed."""
        ids = self.source_tokenizer.encode(texts)
        if max_tokens is not None:
            ids = ids[:, :max_tokens]
        ids = tf.cast(ids, tf.int32)
        return reverse_rows(ids) if self.reverse_source else ids

    def encoder_tokens(self, texts, max_tokens=None, width=None):
        """tf.string (B,) -> (encoder_tokens int32 (B, S), lengths int32 (B,)).

        `source_ids`, padded with 0 on the right: to `width` columns when
        given (the LiteRT runner's fixed shape), else to the longest
        sentence and at least one column (so an all-empty batch still has
        a time axis). Padding stays on the right of reversed sentences.
        """
        ids = self.source_ids(texts, max_tokens)
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        if width is None:
            tokens = ids.to_tensor(default_value=PAD_ID)
            missing = tf.maximum(1 - tf.shape(tokens)[1], 0)
            tokens = tf.pad(tokens, [[0, 0], [0, missing]], constant_values=PAD_ID)
        else:
            tokens = ids.to_tensor(default_value=PAD_ID, shape=[None, width])
        return tokens, lengths

    # Target.

    def target_ids(self, texts):
        """tf.string (B,) -> ragged int32 (B, None), no special tokens."""
        return tf.cast(self.target_tokenizer.encode(texts), tf.int32)

    @staticmethod
    def decoder_tokens_and_targets(target_ids):
        """Ragged target ids (B, None) -> (`<start>` + y, y + `<end>`), ragged."""
        batch = target_ids.nrows()
        start = tf.fill([batch, 1], START_ID)
        end = tf.fill([batch, 1], END_ID)
        return tf.concat([start, target_ids], axis=1), tf.concat([target_ids, end], axis=1)

    # Pairs.

    def encode_pairs(self, sources, targets, max_source_tokens=None):
        """tf.string (B,) pairs -> ragged (encoder_tokens, decoder_tokens,
        targets), each (B, None); what the training pipeline buckets."""
        decoder_tokens, labels = self.decoder_tokens_and_targets(self.target_ids(targets))
        return self.source_ids(sources, max_source_tokens), decoder_tokens, labels

    def keep(self, encoder_tokens, decoder_tokens, targets):
        """One encoded example -> whether training keeps it: both sides
        non-empty and within the length limits."""
        source_length = tf.size(encoder_tokens)
        target_length = tf.size(targets) - 1  # without <end>
        return ((source_length > 0) & (target_length > 0)
                & (source_length <= self.max_source_length)
                & (target_length <= self.max_target_length))

    @property
    def sequence_length(self) -> int | None:
        """keras-hub's name for `decoder_sequence_length`."""
        return self.decoder_sequence_length

    @sequence_length.setter
    def sequence_length(self, value: int | None):
        self.decoder_sequence_length = value

    @preprocessing_function
    def call(self, x, y=None, sample_weight=None):
        """Text -> the Backbone's inputs, padded on the right.

        `x`: source strings (B,) or a single string, or keras-hub's dict
        `{"encoder_text", "decoder_text"}`; `y`: target strings (with
        source strings only). With targets, returns the Keras batch
        `({"encoder_tokens", "decoder_tokens"}, targets, sample_weight)`
        (`sample_weight` 0 on padding, times the given per-example
        weights); without, the inputs alone, the decoder tokens `<start>`.
        Pairs over the limits are not dropped here (a batch keeps its
        size): sources are cut to `max_source_length` tokens, targets to
        `max_target_length`.
        """
        sources, targets = _split_text(x, y)
        sources = tf.convert_to_tensor(sources, tf.string)
        unbatched = sources.shape.rank == 0
        if unbatched:  # one example, as tf.data's map on unbatched data calls it
            sources, targets, sample_weight = (
                None if t is None else tf.expand_dims(tf.convert_to_tensor(t), 0)
                for t in (sources, targets, sample_weight))
        if targets is None:
            tokens, _ = self.encoder_tokens(sources, max_tokens=self.max_source_length,
                                            width=self.encoder_sequence_length)
            start = tf.fill([tf.shape(tokens)[0], 1], START_ID)
            outputs = {"encoder_tokens": tokens,
                       "decoder_tokens": _dense(tf.RaggedTensor.from_tensor(start),
                                                self.decoder_sequence_length)}
        else:
            encoder, decoder, labels = self.encode_pairs(
                sources, tf.convert_to_tensor(targets, tf.string), self.max_source_length)
            decoder = decoder[:, : self.max_target_length + 1]
            labels = labels[:, : self.max_target_length + 1]
            outputs = keras_batch(_dense(encoder, self.encoder_sequence_length),
                                  _dense(decoder, self.decoder_sequence_length),
                                  _dense(labels, self.decoder_sequence_length))
            if sample_weight is not None:
                inputs, labels, weights = outputs
                per_example = tf.cast(sample_weight, tf.float32)
                if per_example.shape.rank == 1:
                    per_example = per_example[:, None]
                outputs = inputs, labels, weights * per_example
        if unbatched:
            outputs = tf.nest.map_structure(lambda t: t[0], outputs)
        return outputs

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(reverse_source=self.reverse_source,
                      max_source_length=self.max_source_length,
                      max_target_length=self.max_target_length,
                      tokenizer_type=self.tokenizer_type, lowercase=self.lowercase,
                      source_language=self.source_language,
                      target_language=self.target_language,
                      min_frequency=self.min_frequency,
                      encoder_sequence_length=self.encoder_sequence_length,
                      decoder_sequence_length=self.decoder_sequence_length)
        return config

    # The vocabularies travel as assets (a `.keras` file's assets/).

    def save_assets(self, dir_path):
        from keras_seq2seq.text import save_vocabulary

        for name, tokenizer in self._tokenizers():
            if tokenizer is not None:
                save_vocabulary(tokenizer.vocabulary, os.path.join(dir_path, name))

    def load_assets(self, dir_path):
        from keras_seq2seq.text import load_vocabulary, make_tokenizer

        languages = {SOURCE_VOCAB: self.source_language, TARGET_VOCAB: self.target_language}
        for name, attribute in ((SOURCE_VOCAB, "source_tokenizer"),
                                (TARGET_VOCAB, "target_tokenizer")):
            path = os.path.join(dir_path, name)
            if os.path.exists(path):
                setattr(self, attribute, make_tokenizer(
                    self.tokenizer_type, load_vocabulary(path), self.lowercase,
                    languages[name]))

    def _tokenizers(self):
        return ((SOURCE_VOCAB, self.source_tokenizer), (TARGET_VOCAB, self.target_tokenizer))


def _split_text(x, y):
    """`call`'s `(x, y)` -> (source strings, target strings or None)."""
    if isinstance(x, dict):
        unknown = sorted(set(x) - {"encoder_text", "decoder_text"})
        if unknown or "encoder_text" not in x:
            raise ValueError('A dict input must be keras-hub\'s {"encoder_text": sources, '
                             f'"decoder_text": targets}}; got the keys {sorted(x)}.')
        if y is not None and "decoder_text" in x:
            raise ValueError('Give the targets once: as x["decoder_text"] or as y, not both.')
        return x["encoder_text"], x.get("decoder_text", y)
    return x, y


def _dense(ids, width=None):
    """Ragged ids (B, None) -> dense (B, width), cut or padded with 0 on the
    right; to the longest row when `width` is None."""
    if width is None:
        return ids.to_tensor(PAD_ID)
    return ids.to_tensor(PAD_ID, shape=[None, width])


def keras_batch(encoder_tokens, decoder_tokens, targets):
    """Padded tensors -> `(inputs, targets, sample_weight)`, weight 0 on padding."""
    sample_weight = tf.cast(tf.not_equal(targets, PAD_ID), tf.float32)
    inputs = {"encoder_tokens": encoder_tokens, "decoder_tokens": decoder_tokens}
    return inputs, targets, sample_weight
