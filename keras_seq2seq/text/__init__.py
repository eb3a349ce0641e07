from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.text.normalization import detokenize_words, normalize, split_words
from keras_seq2seq.text.sentences import (
    join_translations,
    split_sentences,
    split_sentences_batch,
    split_sentences_graph,
)
from keras_seq2seq.text.vocabulary import (
    VocabularyError,
    build_vocabulary,
    count_tokens,
    load_vocabulary,
    save_vocabulary,
    vocabulary_from_counts,
)
from keras_seq2seq.text.word_tokenizer import WordTokenizer
from keras_seq2seq.text.wordpiece import WordPieceTokenizer, learn_wordpiece_vocabulary


def make_tokenizer(kind, vocabulary, lowercase=False, language="en"):
    """The tokenizer a model config names: "word" or "wordpiece"."""
    if kind == "word":
        return WordTokenizer(vocabulary, lowercase, language)
    if kind == "wordpiece":
        return WordPieceTokenizer(vocabulary, lowercase, language)
    raise ConfigurationError(f"Unknown tokenizer {kind!r}: 'word' or 'wordpiece'.")


__all__ = [
    "VocabularyError",
    "WordPieceTokenizer",
    "WordTokenizer",
    "build_vocabulary",
    "count_tokens",
    "detokenize_words",
    "join_translations",
    "learn_wordpiece_vocabulary",
    "load_vocabulary",
    "make_tokenizer",
    "normalize",
    "save_vocabulary",
    "split_sentences",
    "split_sentences_batch",
    "split_sentences_graph",
    "split_words",
    "vocabulary_from_counts",
]
