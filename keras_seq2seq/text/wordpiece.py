"""A WordPiece tokenizer built from core TensorFlow ops.

Why not keras-hub's `WordPieceTokenizer`: it runs on tensorflow-text kernels,
which stock TF Serving does not ship, and our serving graph must hold the
tokenizer (text in, text out). So the segmentation itself is written here with
core ops (string slicing, a hash table, a while loop). It is the same
algorithm, greedy longest-match-first (Schuster & Nakajima 2012; BERT), and a
test checks it against keras-hub's tokenizer on real words. The vocabulary is
learned with keras-hub's `compute_word_piece_vocabulary` (a training-time step,
where tensorflow-text is fine).

Sub-words let a model spell words it has not seen whole: Multi30k's German
side has thousands of compounds seen once, which a word vocabulary can only
write as `<unk>`.
"""

import numpy as np
import tensorflow as tf

from keras_seq2seq.constants import SPECIAL_TOKENS, UNK_ID
from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.text.normalization import detokenize_words, split_words
from keras_seq2seq.text.ragged import join_rows, mask_rows
from keras_seq2seq.text.word_tokenizer import WordTokenizer, set_untracked, token_table

SUFFIX = "##"
# Words are segmented in at most this many pieces; a longer segmentation (a
# run of characters outside the vocabulary, or a pathological input) makes the
# word `<unk>`, so no string can make the loop run long.
MAX_PIECES_PER_WORD = 64


def learn_wordpiece_vocabulary(word_counts, vocabulary_size):
    """Learn a WordPiece vocabulary with keras-hub.

    Args:
        word_counts: Mapping of str to int: how often each word occurs, the
            words normalised and split by `split_words`, so the vocabulary
            sees exactly the words the tokenizer will.
        vocabulary_size: int. Upper limit, the 4 special tokens included.
            keras-hub's learner keeps only pieces seen at least 10 times, so
            on a small corpus the vocabulary comes out smaller.

    Returns:
        A list of str: the special tokens (ids 0-3), then whole-word pieces
        and `##`-prefixed continuation pieces.
    """
    # Imported here: keras-hub (and the tensorflow-text kernels it loads) is
    # needed to learn a vocabulary, never to tokenize or serve.
    import keras_hub

    words = [w for w, c in word_counts.items() if c > 0 and w not in SPECIAL_TOKENS]
    if not words:
        raise ConfigurationError("No words to learn a WordPiece vocabulary from.")
    counts = np.array([word_counts[w] for w in words])
    words = np.array(words, dtype=object)

    def repeated_words():
        # The learner counts words itself; give it each word as often as it
        # occurs, a bounded number of words at a time.
        for start in range(0, len(words), 1024):
            yield np.repeat(words[start:start + 1024], counts[start:start + 1024])

    dataset = tf.data.Dataset.from_generator(
        repeated_words, output_signature=tf.TensorSpec([None], tf.string)
    )
    vocabulary = keras_hub.tokenizers.compute_word_piece_vocabulary(
        dataset,
        vocabulary_size,
        lowercase=False,  # normalisation happened already
        strip_accents=False,
        split=False,
        suffix_indicator=SUFFIX,
        reserved_tokens=list(SPECIAL_TOKENS),
    )
    # The learner also lists the bare joiner "##", which no segmentation
    # produces; keep the file free of it.
    return [t for t in vocabulary if t != SUFFIX]


class WordPieceTokenizer(tf.Module):
    """Maps text to word-piece ids and back, inside the TensorFlow graph.

    The same interface as `WordTokenizer` (`encode`, `decode`,
    `ids_to_tokens`, `vocabulary_size`), so models, decoding, evaluation and
    export use either. Text is normalised and split into words exactly as
    `WordTokenizer` does; each word is then cut into the longest vocabulary
    pieces from its left, continuation pieces carrying a `##` prefix
    ("Kletterwand" -> "Kletter", "##wand"). A word that cannot be cut (a
    character outside the vocabulary) becomes one `<unk>`.

    Args:
        vocabulary: list of str. Starts with the four special tokens.
        lowercase: bool. Lowercase before lookup. Defaults to False.
        language: str. Language code for detokenisation spacing.
            Defaults to "en".

    Example:
    >>> tok = WordPieceTokenizer(["<pad>", "<unk>", "<start>", "<end>",
    ...                           "Kletter", "##wand", "!"])
    >>> tok.encode(tf.constant(["Kletterwand !"])).to_list()
    [[4, 5, 6]]
    >>> tok.decode(tf.constant([[4, 5, 6, 3]])).numpy()
    array([b'Kletterwand!'], dtype=object)
    """

    def __init__(self, vocabulary, lowercase=False, language="en", name=None):
        super().__init__(name=name)
        set_untracked(self, "vocabulary", list(vocabulary))
        self.lowercase = bool(lowercase)
        self.language = language
        pieces = [t for t in self.vocabulary if t not in SPECIAL_TOKENS]
        if not pieces:
            raise ConfigurationError(
                "A WordPiece vocabulary needs pieces besides the special tokens.")
        # No match can be longer than the longest piece: the candidates at a
        # position are its first 1..max_piece_chars characters.
        self.max_piece_chars = max(len(t[len(SUFFIX):] if t.startswith(SUFFIX) else t)
                                   for t in pieces)
        self._id_to_token = tf.constant(self.vocabulary, dtype=tf.string)
        # -1 for "not a piece", which segmentation must tell from `<unk>`.
        self._table = token_table(self._id_to_token, default_value=-1)

    @property
    def vocabulary_size(self):
        return len(self.vocabulary)

    # Written with explicit TensorFlow control flow (tf.while_loop), so
    # autograph has nothing to convert here.
    @tf.autograph.experimental.do_not_convert
    def _segment(self, words):
        """words (N,) -> ragged piece ids (N, None)."""
        n = tf.shape(words)[0]
        lengths = tf.strings.length(words, unit="UTF8_CHAR")
        max_len = self.max_piece_chars
        candidate_lengths = tf.range(1, max_len + 1, dtype=tf.int32)  # (L,)
        tiled_words = tf.tile(words[:, None], [1, max_len])

        def body(step, start, done, failed, pieces):
            # Every word's candidates at its current position: (N, L).
            pos = tf.tile(start[:, None], [1, max_len])
            size = tf.tile(candidate_lengths[None, :], [n, 1])
            candidates = tf.strings.substr(tiled_words, pos, size, unit="UTF8_CHAR")
            candidates = tf.where(pos > 0, SUFFIX + candidates, candidates)
            ids = self._table.lookup(candidates)
            fits = (ids >= 0) & (size <= (lengths - start)[:, None])
            # The longest fitting candidate; -1 where none fits.
            best = tf.reduce_max(tf.where(fits, size, 0), axis=1)
            found = best > 0
            best_id = tf.gather(ids, tf.maximum(best - 1, 0), axis=1, batch_dims=1)
            active = ~done
            failed = failed | (active & ~found)
            piece = tf.where(active & found, best_id, -1)
            pieces = pieces.write(step, piece)
            start = tf.where(active & found, start + best, start)
            done = done | failed | (start >= lengths)
            return step + 1, start, done, failed, pieces

        def cond(step, start, done, failed, pieces):
            # At least one step, so the piece array is never empty.
            return (step < 1) | ((step < MAX_PIECES_PER_WORD) & ~tf.reduce_all(done))

        start = tf.zeros([n], tf.int32)
        done = lengths <= 0
        failed = tf.zeros([n], tf.bool)
        pieces = tf.TensorArray(tf.int32, size=0, dynamic_size=True,
                                element_shape=tf.TensorShape([None]))
        _, _, done, failed, pieces = tf.while_loop(
            cond, body, (0, start, done, failed, pieces)
        )
        failed = failed | ~done  # ran out of steps
        pieces = tf.transpose(pieces.stack())  # (N, steps), -1 after a word's end
        # A word that cannot be cut is one <unk>.
        pieces = tf.concat(
            [tf.where(failed, UNK_ID, -1)[:, None], tf.where(failed[:, None], -1, pieces)],
            axis=1,
        )
        return mask_rows(pieces, pieces >= 0)

    def encode(self, text):
        """tf.string (batch,) -> ragged int32 ids (batch, None), no specials."""
        words = split_words(text, lowercase=self.lowercase)
        pieces = self._segment(words.flat_values)
        # The words' pieces, row by row: `words.with_flat_values(pieces)
        # .merge_dims(1, 2)`, without the 100 or so graph nodes of its checks: a
        # piece's row is its word's (both keep their row ids; ragged.py).
        return tf.RaggedTensor.from_value_rowids(
            pieces.flat_values, tf.gather(words.value_rowids(), pieces.value_rowids()),
            nrows=words.nrows(), validate=False)

    def tokenize(self, text):
        """tf.string (batch,) -> ragged piece strings (batch, None)."""
        return tf.ragged.map_flat_values(tf.gather, self._id_to_token, self.encode(text))

    # The same contract as WordTokenizer's (cut at the first `<end>`, drop
    # `<pad>` and `<start>`, keep `<unk>`), on this vocabulary's strings.
    ids_to_tokens = WordTokenizer.ids_to_tokens

    def decode(self, ids):
        """int ids (batch, time) -> readable text (batch,).

        Continuation pieces join the piece before them; one written first
        (a model may) just loses its `##`.
        """
        text = join_rows(self.ids_to_tokens(ids), separator=" ")
        text = tf.strings.regex_replace(text, " " + SUFFIX, "")
        text = tf.strings.regex_replace(text, "^" + SUFFIX, "")
        return detokenize_words(tf.strings.split(text), language=self.language)

    def get_config(self):
        return {"lowercase": self.lowercase, "language": self.language}
