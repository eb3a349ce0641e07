"""A training run's settings as objects: what `train(config)` takes, what a
run directory keeps (`training_config.json`) and what `keras-seq2seq train`
makes its flags from.

No TensorFlow here: the CLI builds `--help` from these classes.

    >>> config = TrainingConfig.create("runs/toy", pairs=["pairs.tsv"], epochs=3)
    >>> config.optimization.epochs, config.model.units   # the default architecture's
    (3, 384)

Sections: `DataConfig` (corpora, augmentation, languages), `OptimizationConfig`
(the optimiser, its schedule, seeds, precision, distribution),
`CheckpointConfig` (backup, checkpoints, BLEU monitoring, cache) and
`FinetuneConfig` (a trained model to start from); the model itself is a
`Seq2SeqConfig`, from a named architecture (`ARCHITECTURES`). Field names are
unique across the sections, so `TrainingConfig.create` and
`TrainingConfig.replace` take them flat (`epochs=3`, `backup=False`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import typing

from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.models.config import (
    ARCHITECTURES,
    DEFAULT_ARCHITECTURE,
    Seq2SeqConfig,
    get_architecture,
)
from keras_seq2seq.settings import Settings, setting

# The file of a run directory that keeps its TrainingConfig (`config.json`
# there is the trained model's record).
TRAINING_CONFIG_FILE = "training_config.json"
LR_SCHEDULES = ("constant", "step", "plateau")
STRATEGIES = ("default", "mirrored", "multi_worker")
DTYPE_POLICIES = ("mixed_float16", "mixed_bfloat16")
VOCAB_UPDATES = ("keep", "merge")


def _whole(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class SettingsSection(Settings):
    """A section of a training config (data, optimisation, ...): corpus
    paths kept as tuples, checked once."""

    def _paths(self, *names):
        for name in names:
            value = getattr(self, name)
            if isinstance(value, (str, os.PathLike)):
                value = (value,)
            object.__setattr__(self, name, tuple(os.fspath(v) for v in value or ()))

    def _whole(self, name, minimum, optional=False):
        value = getattr(self, name)
        if optional and value is None:
            return
        self._check(name, _whole(value) and value >= minimum,
                    f"a whole number >= {minimum}" + (" (or unset)" if optional else ""))

    def _share(self, name, upper="1]", optional=False):
        value = getattr(self, name)
        if optional and value is None:
            return
        inside = _number(value) and 0 <= value and (value <= 1 if upper == "1]" else value < 1)
        self._check(name, inside, f"in [0, {upper}")

    def _choice(self, name, choices, optional=False):
        value = getattr(self, name)
        if not (optional and value is None):
            self._check(name, value in choices, f"one of {list(choices)}")


@dataclasses.dataclass(frozen=True)
class DataConfig(SettingsSection):
    """The corpora a run reads (when `train` is not given its pairs), their
    augmentation and languages. The split rules are
    `keras_seq2seq.data.corpora`'s; several corpora train together."""

    pairs: tuple[str, ...] = setting((), "TSV file of source<TAB>target lines (plain or .gz); "
                                     "may repeat.", metavar="FILE")
    source: tuple[str, ...] = setting(
        (), "Source side of line-aligned files (with --target; in the same order).",
        metavar="FILE")
    target: tuple[str, ...] = setting((), "Target side of line-aligned files (with --source).",
                                      metavar="FILE")
    tfds: typing.Optional[str] = setting(
        None, "TFDS translation dataset, e.g. ted_hrlr_translate/pt_to_en.", metavar="NAME")
    tfds_data_dir: typing.Optional[str] = setting(
        None, "TFDS data directory (nothing is downloaded).", metavar="DIR")
    tfds_split: str = setting("train", "TFDS split.")
    validation_source: tuple[str, ...] = setting(
        (), "Validation source file (with --validation-target; may repeat).", metavar="FILE")
    validation_target: tuple[str, ...] = setting((), "Validation target file.", metavar="FILE")
    validation_fraction: typing.Optional[float] = setting(
        None, "Share of unique source sentences held out for validation. Without validation "
        "files: from every corpus (unset: 0.1). With validation files: the corpora are used "
        "whole, unless this is given, then it is held out from the --pairs corpora (TSV "
        "corpora such as Tatoeba have no official split) and added to the validation files.",
        metavar="P")
    max_examples: typing.Optional[int] = setting(
        None, "Use only the first N training pairs (and a proportional validation set).",
        metavar="N")
    concatenate_pairs: float = setting(
        0.0, "Also train on a share P of consecutive training pairs joined into one (longer "
        "examples against the fall of BLEU on long sentences, Kondo et al. 2021); 0 is off.",
        metavar="P")
    name_augmentation: float = setting(
        0.0, "In this share of the training pairs, replace each name or number written "
        "verbatim on both sides by a made-up one, so the model learns to copy names it has "
        "never seen (best with --copy-attention); 0 is off.", metavar="P")
    source_language: str = setting("en", "Source language code.")
    target_language: str = setting("fr", "Target language code.")

    def __post_init__(self):
        self._paths("pairs", "source", "target", "validation_source", "validation_target")
        for side in ("", "validation_"):
            sources, targets = getattr(self, side + "source"), getattr(self, side + "target")
            if len(sources) != len(targets):
                raise ConfigurationError(
                    f"{side}source and {side}target files go together: got {len(sources)} "
                    f"{side}source and {len(targets)} {side}target files.")
        self._share("validation_fraction", "1)", optional=True)
        self._whole("max_examples", 1, optional=True)
        self._share("concatenate_pairs")
        self._share("name_augmentation")

    @property
    def has_corpus(self):
        """Whether a training corpus is named (pairs, aligned files or TFDS)."""
        return bool(self.pairs or self.source or self.tfds)

    def corpus_spec(self):
        """The corpora as a `keras_seq2seq.data.corpora.CorpusSpec`."""
        from keras_seq2seq.data.corpora import CorpusSpec

        return CorpusSpec(
            pairs=list(self.pairs), sources=list(self.source), targets=list(self.target),
            tfds=self.tfds, tfds_split=self.tfds_split, tfds_data_dir=self.tfds_data_dir,
            validation_sources=list(self.validation_source),
            validation_targets=list(self.validation_target),
            validation_fraction=self.validation_fraction, max_examples=self.max_examples)


@dataclasses.dataclass(frozen=True)
class OptimizationConfig(SettingsSection):
    """The optimiser (Adam with gradient clipping, the paper's recipe), the
    batches, the learning-rate schedule, stopping rules, seed, precision and
    distribution."""

    epochs: int = setting(10, "Training epochs.")
    batch_size: int = setting(64, "Sentences per batch.")
    batch_tokens: typing.Optional[int] = setting(
        None, "Size training batches in tokens instead of sentences: each length bucket's "
        "batches hold about N tokens per side (more short sentences, fewer long ones); "
        "--batch-size then sets only the validation batches.", metavar="N")
    shuffle_buffer: typing.Optional[int] = setting(
        None, "Training pairs in the shuffle buffer (unset: all of them, a uniform shuffle "
        "each epoch). A smaller buffer bounds memory with --cache-dir but only mixes "
        "neighbours: a corpus stored in order (by length, or one corpus after another) then "
        "trains in that order.", metavar="PAIRS")
    learning_rate: float = setting(1e-3, "Adam's learning rate.")
    clipnorm: typing.Optional[float] = setting(
        5.0, "Gradient norm clipping (the paper: 5).")
    label_smoothing: float = setting(
        0.0, "Label smoothing of the training loss (not in the paper; 0.1 is usual); the "
        "history also has the plain cross-entropy as nll and val_nll.")
    lr_schedule: str = setting(
        "constant", "constant; step: multiply by --lr-decay each epoch from --lr-decay-start "
        "(the paper halved it every half epoch after 5 epochs); plateau: halve when "
        "validation loss stalls.", choices=LR_SCHEDULES)
    lr_decay_start: int = setting(5, "step schedule: first decayed epoch (1-based).")
    lr_decay: float = setting(0.5, "step schedule: factor per epoch.")
    patience: typing.Optional[int] = setting(
        None, "Early stopping: epochs without a better validation loss.")
    max_minutes: typing.Optional[float] = setting(
        None, "Stop after the epoch that passes this much training time.")
    seed: int = setting(0, "Seeds weights, dropout, shuffling and the held-out split: the "
                        "same seed gives the same weights on CPU.")
    mixed_precision: typing.Optional[str] = setting(
        None, "Train under a Keras mixed-precision policy (mixed_float16 on GPU, with loss "
        "scaling; weights stay float32); unset: float32.", choices=DTYPE_POLICIES)
    strategy: str = setting(
        "default", "tf.distribute: mirrored for the GPUs of one machine, multi_worker for "
        "several machines set up by TF_CONFIG (the same command on each; the chief writes "
        "the model; a custom loop with a constant learning rate, no early stopping, backup "
        "or BLEU sample).", choices=STRATEGIES)

    def __post_init__(self):
        self._whole("epochs", 1)
        self._whole("batch_size", 1)
        self._whole("batch_tokens", 1, optional=True)
        self._whole("shuffle_buffer", 1, optional=True)
        for name in ("learning_rate", "lr_decay"):
            self._check(name, _number(getattr(self, name)) and getattr(self, name) > 0, "> 0")
        self._check("clipnorm", self.clipnorm is None
                    or (_number(self.clipnorm) and self.clipnorm > 0), "> 0 (or unset)")
        self._share("label_smoothing", "1)")
        self._choice("lr_schedule", LR_SCHEDULES)
        self._whole("lr_decay_start", 1)
        self._whole("patience", 1, optional=True)
        self._check("max_minutes", self.max_minutes is None
                    or (_number(self.max_minutes) and self.max_minutes > 0), "> 0 (or unset)")
        self._whole("seed", 0)
        self._choice("mixed_precision", DTYPE_POLICIES, optional=True)
        self._choice("strategy", STRATEGIES)
        if self.strategy == "multi_worker" and (self.lr_schedule != "constant"
                                                or self.patience):
            raise ConfigurationError("The multi_worker strategy trains with a constant "
                                     "learning rate and without early stopping.")


@dataclasses.dataclass(frozen=True)
class CheckpointConfig(SettingsSection):
    """What a run keeps and watches: the backup it resumes from, the BLEU
    sample of each epoch, the final validation score and the token cache."""

    backup: bool = setting(True, "Keep OUT/backup so the same command resumes a killed run.")
    backup_every: typing.Optional[int] = setting(
        None, "Also back up every N batches (unset: at each epoch's end).", metavar="BATCHES")
    bleu_sample: int = setting(
        200, "Validation pairs translated (greedy) after each epoch for val_bleu "
        "(TensorBoard, history); 0 turns it off.", metavar="PAIRS")
    validation_bleu: bool = setting(
        False, "After training, translate the whole validation set (greedy) and keep its "
        "sacreBLEU score in the model's record.")
    cache_dir: typing.Optional[str] = setting(
        None, "Keep the tokenized corpus in files here instead of in memory.", metavar="DIR")

    def __post_init__(self):
        self._check("backup", isinstance(self.backup, bool), "true or false")
        self._check("validation_bleu", isinstance(self.validation_bleu, bool), "true or false")
        self._whole("backup_every", 1, optional=True)
        self._whole("bleu_sample", 0)


@dataclasses.dataclass(frozen=True)
class FinetuneConfig(SettingsSection):
    """A trained model to start from, and what becomes of its vocabularies."""

    init_from: typing.Optional[str] = setting(
        None, "Fine-tune this trained model on the data given: its settings, vocabularies "
        "and weights are the start (model flags such as --units do not apply); the learning "
        "rate and schedule are this run's.", metavar="MODEL_DIR")
    vocab_update: str = setting(
        "keep", "With --init-from: keep the model's vocabularies, or merge in the new data's "
        "frequent tokens (old ids unchanged, new rows initialised).", choices=VOCAB_UPDATES)

    def __post_init__(self):
        if self.init_from is not None:
            object.__setattr__(self, "init_from", os.fspath(self.init_from))
        self._choice("vocab_update", VOCAB_UPDATES)


SECTIONS = {"data": DataConfig, "optimization": OptimizationConfig,
            "checkpoints": CheckpointConfig, "finetune": FinetuneConfig}


class SectionedConfig(Settings):
    """A run's settings made of sections (settings dataclasses of their own,
    `SECTIONS`), whose fields may also be given flat (`epochs=3`), saved as
    JSON (a run directory's `training_config.json`). The base of
    `TrainingConfig` and the captioner's `CaptionerTrainingConfig`."""

    SECTIONS: typing.ClassVar[dict] = {}
    # Groups besides the sections whose fields may be given flat.
    FLAT_GROUPS: typing.ClassVar[dict] = {}

    @classmethod
    def grouped(cls, fields):
        """{group: {field: value}} for fields given flat; an unknown name is
        an error listing the known ones."""
        groups = {**cls.SECTIONS, **cls.FLAT_GROUPS}
        owner = {f.name: group for group, section in groups.items()
                 for f in dataclasses.fields(section)}
        grouped = {}
        for name, value in fields.items():
            if name not in owner:
                known = sorted({*owner, *(f.name for f in dataclasses.fields(cls))})
                raise ConfigurationError(f"Unknown {cls.__name__} field {name!r}; known: {known}.")
            grouped.setdefault(owner[name], {})[name] = value
        return grouped

    def _check_sections(self):
        for name, section in self.SECTIONS.items():
            if isinstance(getattr(self, name), dict):
                object.__setattr__(self, name, section.from_dict(getattr(self, name)))
            self._check(name, isinstance(getattr(self, name), section), f"a {section.__name__}")

    def replace(self, **changes):
        """A copy with fields changed (checked again): this class's own (`out`,
        `model`, a whole section) or any section's, flat."""
        own = {f.name for f in dataclasses.fields(self)}
        values = {k: v for k, v in changes.items() if k in own}
        for group, fields in self.grouped({k: v for k, v in changes.items()
                                           if k not in own}).items():
            values[group] = values.get(group, getattr(self, group)).replace(**fields)
        return dataclasses.replace(self, **values)

    @classmethod
    def from_dict(cls, values, *, ignore_unknown=False):
        values = dict(values or {})
        for name, section in cls.SECTIONS.items():
            if isinstance(values.get(name), dict):
                values[name] = section.from_dict(values[name], ignore_unknown=ignore_unknown)
        return super().from_dict(values, ignore_unknown=ignore_unknown)

    def save(self, path):
        """Write the config as JSON (`path` a file, or a directory for its
        `training_config.json`)."""
        if os.path.isdir(path):
            path = os.path.join(path, TRAINING_CONFIG_FILE)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=2)
            f.write("\n")
        return path

    @classmethod
    def load(cls, path):
        """Read a config written by `save` (a file, or a run directory)."""
        if os.path.isdir(path):
            path = os.path.join(path, TRAINING_CONFIG_FILE)
        try:
            with open(path, encoding="utf-8") as f:
                values = json.load(f)
        except json.JSONDecodeError as e:
            raise ConfigurationError(f"{path} is not a training config (JSON): {e}") from None
        if not isinstance(values, dict):
            raise ConfigurationError(f"{path} is not a training config: no JSON object.")
        return cls.from_dict(values)


@dataclasses.dataclass(frozen=True)
class TrainingConfig(SectionedConfig):
    """Everything a training run is made from; `train(config)` runs it.

    `model` is the network (a `Seq2SeqConfig`); unset, it is the template
    `architecture` names, or, with `finetune.init_from`, the trained model's.

    >>> config = TrainingConfig.create("runs/en-fr", architecture="seed_toy",
    ...                                pairs=["pairs.tsv"], epochs=3)
    >>> config.optimization.epochs, config.data.pairs
    (3, ('pairs.tsv',))
    >>> config.replace(learning_rate=2e-3).optimization.learning_rate
    0.002
    """

    out: typing.Optional[str] = setting(
        None, "Run directory: checkpoints, logs, the model and training_config.json.",
        metavar="DIR")
    architecture: str = setting(
        DEFAULT_ARCHITECTURE, "The untrained model template that the model flags override.",
        choices=tuple(sorted(ARCHITECTURES)))
    model: typing.Optional[Seq2SeqConfig] = None
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    optimization: OptimizationConfig = dataclasses.field(default_factory=OptimizationConfig)
    checkpoints: CheckpointConfig = dataclasses.field(default_factory=CheckpointConfig)
    finetune: FinetuneConfig = dataclasses.field(default_factory=FinetuneConfig)

    SECTIONS: typing.ClassVar[dict] = SECTIONS

    def __post_init__(self):
        self._check("out", isinstance(self.out, (str, os.PathLike)) and os.fspath(self.out),
                    "a run directory")
        object.__setattr__(self, "out", os.fspath(self.out))
        if self.architecture not in ARCHITECTURES:
            raise ConfigurationError(f"Unknown architecture {self.architecture!r}; choose one "
                                     f"of {sorted(ARCHITECTURES)}.")
        self._check_sections()
        if isinstance(self.model, dict):
            object.__setattr__(self, "model", Seq2SeqConfig.from_dict(self.model))
        if self.model is None and self.finetune.init_from is None:
            object.__setattr__(self, "model", get_architecture(self.architecture))
        self._check("model", self.model is None or isinstance(self.model, Seq2SeqConfig),
                    "a Seq2SeqConfig (or unset)")

    @classmethod
    def create(cls, out, model=None, architecture=DEFAULT_ARCHITECTURE, **fields):
        """A config from the sections' fields, given flat (`epochs=3`,
        `pairs=["a.tsv"]`, `backup=False`); the rest are the defaults."""
        own = {f.name for f in dataclasses.fields(cls)}
        sections = {name: fields.pop(name) for name in list(fields) if name in own}
        for name, values in cls.grouped(fields).items():
            sections[name] = sections.get(name, SECTIONS[name]()).replace(**values)
        return cls(out=out, model=model, architecture=architecture, **sections)

    def with_model(self, architecture=None, **model_changes):
        """A copy whose model is `architecture`'s template (when given) or this
        config's model, with `model_changes`; a fine-tuning config keeps the
        trained model's (and takes no changes)."""
        if self.finetune.init_from is not None:
            if model_changes:
                raise ConfigurationError(
                    f"init_from keeps the trained model's settings; drop "
                    f"{', '.join(sorted(model_changes))}.")
            return dataclasses.replace(self, architecture=architecture or self.architecture,
                                       model=None)
        if architecture is not None or self.model is None:
            name = architecture or self.architecture
            return dataclasses.replace(self, architecture=name,
                                       model=get_architecture(name, **model_changes))
        return dataclasses.replace(self, model=self.model.replace(**model_changes))

    def to_dict(self):
        values = {"out": self.out, "architecture": self.architecture,
                  "model": self.model.to_dict() if self.model is not None else None}
        values.update({name: getattr(self, name).to_dict() for name in SECTIONS})
        return values
