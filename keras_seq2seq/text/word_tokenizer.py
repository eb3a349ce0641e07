"""A word-level tokenizer and detokenizer built from core TensorFlow ops."""

import tensorflow as tf

from keras_seq2seq.constants import END_ID, PAD_ID, START_ID, UNK_ID
from keras_seq2seq.text.normalization import detokenize_words, split_words
from keras_seq2seq.text.ragged import mask_rows


def token_table(id_to_token, default_value):
    """A hash table from token string to id (its index in `id_to_token`)."""
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            id_to_token,
            tf.range(tf.size(id_to_token), dtype=tf.int32),
            key_dtype=tf.string,
            value_dtype=tf.int32,
        ),
        default_value=default_value,
    )


def set_untracked(module, name, value):
    """`module.name = value` without `tf.Module`'s attribute tracking, for
    plain Python data. A list set on a `tf.Module` is wrapped in a trackable
    list, element by element: 0.08 s for an 8,000-token vocabulary, twice
    at every model load (a fifth of it), for a list of strings that holds
    nothing to track."""
    object.__setattr__(module, name, value)


class WordTokenizer(tf.Module):
    """Maps text to ids and ids back to text, inside the TensorFlow graph.

    A `tf.Module`, so its lookup table travels with a SavedModel that holds
    it. Ids follow the project contract: 0 `<pad>`, 1 `<unk>`, 2 `<start>`,
    3 `<end>`; words outside the vocabulary become `<unk>`.

    Args:
        vocabulary: list of str. Starts with the four special tokens (see
            `build_vocabulary`).
        lowercase: bool. Lowercase before lookup. Defaults to False.
        language: str. Language code, selects detokenisation spacing ("fr"
            or English-style). Defaults to "en".

    Example:
    >>> tok = WordTokenizer(["<pad>", "<unk>", "<start>", "<end>", "ravi", "!"])
    >>> tok.encode(tf.constant(["ravi, ravi !"])).to_list()
    [[4, 1, 4, 5]]
    """

    def __init__(self, vocabulary, lowercase=False, language="en", name=None):
        super().__init__(name=name)
        set_untracked(self, "vocabulary", list(vocabulary))
        self.lowercase = bool(lowercase)
        self.language = language
        self._id_to_token = tf.constant(self.vocabulary, dtype=tf.string)
        self._table = token_table(self._id_to_token, default_value=UNK_ID)

    @property
    def vocabulary_size(self):
        return len(self.vocabulary)

    def tokenize(self, text):
        """tf.string (batch,) -> ragged word strings (batch, None)."""
        return split_words(text, lowercase=self.lowercase)

    def encode(self, text):
        """tf.string (batch,) -> ragged int32 ids (batch, None), no specials."""
        return tf.ragged.map_flat_values(self._table.lookup, self.tokenize(text))

    def ids_to_tokens(self, ids, unknown_words=None):
        """int ids (batch, time) -> ragged token strings, cut at `<end>`.

        Everything from the first `<end>` on is dropped, as are `<pad>` and
        `<start>`; `<unk>` stays visible, or becomes the string at the same
        position of `unknown_words` (tf.string (batch, time)) when given.
        """
        if isinstance(ids, tf.RaggedTensor):
            ids = ids.to_tensor(PAD_ID)
        ids = tf.cast(ids, tf.int32)  # (batch, time)
        tokens = tf.gather(self._id_to_token, ids)
        if unknown_words is not None:
            tokens = tf.where(tf.equal(ids, UNK_ID), unknown_words, tokens)
        # Keep positions before the first <end>.
        before_end = tf.equal(tf.cumsum(tf.cast(ids == END_ID, tf.int32), axis=1), 0)
        keep = before_end & (ids != PAD_ID) & (ids != START_ID)
        return mask_rows(tokens, keep)

    def decode(self, ids, unknown_words=None):
        """int ids (batch, time) -> readable text (batch,); see `ids_to_tokens`."""
        return detokenize_words(self.ids_to_tokens(ids, unknown_words), language=self.language)

    def get_config(self):
        return {"lowercase": self.lowercase, "language": self.language}
