from keras_seq2seq.text.normalization import detokenize_words, normalize, split_words
from keras_seq2seq.text.vocabulary import (
    VocabularyError,
    build_vocabulary,
    count_tokens,
    load_vocabulary,
    save_vocabulary,
    vocabulary_from_counts,
)
from keras_seq2seq.text.word_tokenizer import WordTokenizer

__all__ = [
    "VocabularyError",
    "WordTokenizer",
    "build_vocabulary",
    "count_tokens",
    "detokenize_words",
    "load_vocabulary",
    "normalize",
    "save_vocabulary",
    "split_words",
    "vocabulary_from_counts",
]
