from keras_seq2seq.data.augment import augment_names
from keras_seq2seq.data.corpora import CorpusSpec, split_corpora, training_data
from keras_seq2seq.data.readers import (
    CorpusError,
    PairCorpus,
    ReadReport,
    concatenate_pairs,
    in_validation,
    read_parallel_files,
    read_tfds,
    read_tsv_pairs,
    split_by_source,
    take_pairs,
)

__all__ = [
    "augment_names",
    "CorpusError",
    "CorpusSpec",
    "PairCorpus",
    "ReadReport",
    "concatenate_pairs",
    "in_validation",
    "read_parallel_files",
    "read_tfds",
    "read_tsv_pairs",
    "split_by_source",
    "split_corpora",
    "take_pairs",
    "training_data",
]
