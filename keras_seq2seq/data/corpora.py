"""Training data from corpus files: which pairs train and which validate.

The rules that turn a set of corpora into (train, validation) live here, in
the library, so that `keras-seq2seq train` and a Python script get the same
split from the same files:

- Without validation files, a share of the unique source sentences of every
  corpus is held out (`split_by_source`, deterministic in the seed).
- With validation files, the corpora are used whole, unless a validation
  fraction is given: then that share of the TSV corpora (which, like
  Tatoeba, have no official split) is held out and joins the files.
- Augmentations (sentence concatenation, name substitution) touch training
  pairs only; validation stays the real text.
"""

import math
from dataclasses import dataclass, field

from keras_seq2seq.data.augment import augment_names, concatenate_pairs_augmentation
from keras_seq2seq.data.readers import (
    CorpusError,
    concatenate_pairs,
    read_parallel_files,
    read_tfds,
    read_tsv_pairs,
    split_by_source,
    take_pairs,
)

DEFAULT_VALIDATION_FRACTION = 0.1


@dataclass
class CorpusSpec:
    """The corpora of a training run, by path.

    Attributes:
        pairs: TSV files of `source<TAB>target` lines.
        sources, targets: line-aligned files, in the same order.
        tfds: a TFDS translation dataset name, or None.
        tfds_split, tfds_data_dir: where and which TFDS split to read.
        validation_sources, validation_targets: line-aligned validation files.
        validation_fraction: share of unique source sentences held out, or
            None for the default (0.1 without validation files, none with).
        max_examples: keep only the first N training pairs (and a
            proportional validation set when it is held out), or None.
    """

    pairs: list = field(default_factory=list)
    sources: list = field(default_factory=list)
    targets: list = field(default_factory=list)
    tfds: str = None
    tfds_split: str = "train"
    tfds_data_dir: str = None
    validation_sources: list = field(default_factory=list)
    validation_targets: list = field(default_factory=list)
    validation_fraction: float = None
    max_examples: int = None

    def check(self):
        """Raise CorpusError naming the first inconsistent setting."""
        if len(self.sources) != len(self.targets):
            raise CorpusError(
                f"source and target files go together: got {len(self.sources)} source and "
                f"{len(self.targets)} target files")
        if len(self.validation_sources) != len(self.validation_targets):
            raise CorpusError(
                f"validation source and target files go together: got "
                f"{len(self.validation_sources)} source and "
                f"{len(self.validation_targets)} target files")
        if not (self.pairs or self.sources or self.tfds):
            raise CorpusError("no corpus given: name a TSV file of pairs, source and target "
                              "files, or a TFDS dataset")
        fraction = self.validation_fraction
        if fraction is not None and not 0.0 <= fraction < 1.0:
            raise CorpusError(f"the validation fraction must be in [0, 1), got {fraction}")
        if self.max_examples is not None and self.max_examples < 1:
            raise CorpusError(f"max_examples must be at least 1, got {self.max_examples}")


def read_corpora(spec):
    """(tsv_corpora, other_corpora): every corpus of `spec`, read lazily."""
    spec.check()
    tsv = [read_tsv_pairs(path) for path in spec.pairs]
    other = [read_parallel_files(s, t) for s, t in zip(spec.sources, spec.targets)]
    if spec.tfds:
        other.append(read_tfds(spec.tfds, split=spec.tfds_split, data_dir=spec.tfds_data_dir))
    return tsv, other


def split_corpora(spec, seed=0):
    """(train_pairs, validation_pairs or None) by the rules in this module's docstring."""
    tsv, other = read_corpora(spec)
    if spec.validation_sources:
        validation_parts = [
            read_parallel_files(s, t)
            for s, t in zip(spec.validation_sources, spec.validation_targets)
        ]
        train_parts = []
        for corpus in tsv:
            if spec.validation_fraction:
                corpus, held_out = split_by_source(corpus, spec.validation_fraction, seed=seed)
                validation_parts.append(held_out)
            train_parts.append(corpus)
        return (take_pairs(concatenate_pairs(train_parts + other), spec.max_examples),
                concatenate_pairs(validation_parts))
    fraction = (DEFAULT_VALIDATION_FRACTION if spec.validation_fraction is None
                else spec.validation_fraction)
    max_validation = None
    if spec.max_examples and fraction:
        max_validation = max(1, math.ceil(spec.max_examples * fraction / (1 - fraction)))
    train_pairs, validation_pairs = split_by_source(
        concatenate_pairs(tsv + other), fraction, seed=seed,
        max_train_examples=spec.max_examples, max_validation_examples=max_validation,
    )
    return train_pairs, (validation_pairs if fraction else None)


def training_data(spec, seed=0, concatenate=0.0, name_augmentation=0.0):
    """(train_pairs, validation_pairs or None), augmented training pairs included.

    Args:
        spec: CorpusSpec.
        seed: int. Which sentences are held out, and the augmentations.
        concatenate: float in [0, 1]. Share of training pairs that also come
            joined to the pair before them (`concatenate_pairs_augmentation`).
        name_augmentation: float in [0, 1]. Share of training pairs whose
            names are swapped for others (`augment_names`).
    """
    for name, value in (("concatenate", concatenate), ("name_augmentation", name_augmentation)):
        if not 0.0 <= value <= 1.0:
            raise CorpusError(f"{name} must be in [0, 1], got {value}")
    train_pairs, validation_pairs = split_corpora(spec, seed=seed)
    if concatenate:
        train_pairs = concatenate_pairs_augmentation(train_pairs, concatenate, seed=seed)
    if name_augmentation:
        train_pairs = augment_names(train_pairs, name_augmentation, seed=seed)
    return train_pairs, validation_pairs
