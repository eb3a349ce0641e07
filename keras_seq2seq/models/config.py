"""Model configuration and the named architectures (untrained templates)."""

import dataclasses
import typing

from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.settings import setting

CELL_TYPES = ("lstm", "gru")
# "none" is the paper's model; "luong" adds global attention with the
# "general" score (Luong, Pham & Manning 2015) over the top encoder layer.
ATTENTION_TYPES = ("none", "luong")
# "word": whole words, rarer ones <unk> (the paper); "wordpiece": words cut
# into pieces learned from the training text, so rare words are spelled.
TOKENIZER_TYPES = ("word", "wordpiece")


class ConfigMixin:
    """JSON round trip and copies with changes, for the config dataclasses."""

    @property
    def states_per_layer(self):
        return 2 if self.cell_type == "lstm" else 1

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigurationError(f"Unknown {cls.__name__} keys: {unknown}.")
        return cls(**values)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True)
class Architecture(ConfigMixin):
    """The network's shape: everything a `Seq2SeqBackbone` is built from,
    and nothing about text (tokenizers, lengths, reversal), which belongs
    to the preprocessor. `Seq2SeqConfig.architecture` gives a config's;
    the fields mean what they mean there.
    """

    source_vocab_size: int
    target_vocab_size: int
    embedding_dim: int = 256
    units: int = 512
    num_layers: int = 1
    cell_type: str = "lstm"
    dropout: float = 0.0
    embedding_dropout: float = 0.0
    attention: str = "none"
    copy_attention: bool = False
    bidirectional_encoder: bool = False
    dropout_after_attention: bool = False
    init_scale: typing.Optional[float] = None

    def __post_init__(self):
        if self.cell_type not in CELL_TYPES:
            raise ConfigurationError(
                f"cell_type must be one of {CELL_TYPES}, got {self.cell_type!r}.")
        if self.attention not in ATTENTION_TYPES:
            raise ConfigurationError(
                f"attention must be one of {ATTENTION_TYPES}, got {self.attention!r}."
            )
        if self.copy_attention and self.attention == "none":
            raise ConfigurationError(
                "copy_attention needs attention (attention='luong'): it copies where the "
                "attention points."
            )
        if self.bidirectional_encoder and self.units % 2:
            raise ConfigurationError(
                f"bidirectional_encoder needs an even number of units (half each way), "
                f"got units={self.units}."
            )
        if self.init_scale is not None and not 0 <= self.init_scale <= 1:
            raise ConfigurationError(
                f"init_scale must be in [0, 1] (0: Keras' initialisers; the paper: 0.08), "
                f"got {self.init_scale}.")
        for name in ("source_vocab_size", "target_vocab_size"):
            if getattr(self, name) <= 4:
                raise ConfigurationError(f"{name} must be more than the 4 special tokens.")
        for name in ("embedding_dim", "units", "num_layers"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"{name} must be >= 1, got {getattr(self, name)}.")
        for name in ("dropout", "embedding_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigurationError(f"{name} must be in [0, 1), got {getattr(self, name)}.")


ARCHITECTURE_FIELDS = tuple(f.name for f in dataclasses.fields(Architecture))


@dataclasses.dataclass
class Seq2SeqConfig(ConfigMixin):
    """Sizes and options of the encoder-decoder model.

    The vocabulary sizes are upper limits when a vocabulary is built from a
    corpus; a built model uses the actual vocabulary sizes. Each field is
    also a `keras-seq2seq train` flag (its help text is the field's), which
    overrides the field of the chosen architecture (`ARCHITECTURES`).

    >>> config = get_architecture("cpu", attention="luong", units=256)
    >>> config.attention, config.units, config.reverse_source
    ('luong', 256, True)
    """

    source_vocab_size: int = setting(
        8000, "Largest source vocabulary, the 4 special tokens included (with "
        "--shared-vocabulary: of the one vocabulary).")
    target_vocab_size: int = setting(
        8000, "Largest target vocabulary, the 4 special tokens included.")
    min_frequency: int = setting(
        2, "Words seen fewer times in training map to <unk> (word tokenizer only).")
    # The encoder and decoder each have their own embeddings.
    embedding_dim: int = setting(256, "Width of the word embeddings.")
    # The encoder and decoder have the same shape so that the encoder's
    # final states can start the decoder.
    units: int = setting(512, "Cells per recurrent layer.")
    num_layers: int = setting(
        1, "Stacked recurrent layers in the encoder and in the decoder.", flag="layers")
    cell_type: str = setting("lstm", "Recurrent cell (lstm: the paper).", choices=CELL_TYPES,
                             flag="cell")
    # Not recurrent dropout, which would rule out cuDNN kernels on GPU.
    dropout: float = setting(0.0, "Dropout between layers.")
    # The regulariser that small corpora such as Multi30k need once
    # attention lets the model fit them closely.
    embedding_dropout: float = setting(
        0.0, "Dropout on the encoder's and the decoder's word embeddings (training only).")
    reverse_source: bool = setting(
        True, "Reverse the source words, not the target (Sutskever et al. 2014, 3.3).")
    max_source_length: int = setting(
        50, "Longest source in tokens (words, or pieces with --tokenizer wordpiece); "
        "longer pairs are left out of training.", metavar="TOKENS")
    max_target_length: int = setting(
        50, "Longest target in tokens; longer pairs are left out of training.",
        metavar="TOKENS")
    lowercase: bool = setting(False, "Lowercase all text before lookup.")
    attention: str = setting(
        "none", "none: the paper's model (the encoder's final states are all the decoder "
        "sees); luong: the decoder also attends over every encoder output (Luong et al. "
        "2015, 'general' score).", choices=ATTENTION_TYPES)
    # keras-hub's word-piece learner keeps pieces seen at least 10 times, so
    # min_frequency does not apply to it.
    tokenizer: str = setting(
        "word", "word: whole words, rarer ones <unk> (the paper); wordpiece: sub-word "
        "pieces learned from the training text, so rare words are spelled out (the "
        "vocabulary sizes then limit pieces).", choices=TOKENIZER_TYPES)
    # Sennrich et al. 2016's joint BPE, here word pieces: the source's ids
    # are valid target ids.
    shared_vocabulary: bool = setting(
        False, "One vocabulary for both languages, learned from both sides (size: "
        "--source-vocab-size), so names and numbers get the same pieces on both sides.")
    # The pointer-generator of See et al. 2017 (after Gu et al. 2016 and
    # Vinyals et al. 2015): each decoder step mixes the output softmax with
    # the attention weights put on the source tokens' own ids.
    copy_attention: bool = setting(
        False, "Let each decoder step copy a source token through its attention weights, "
        "with a learned gate (pointer-generator; needs --attention luong and "
        "--shared-vocabulary).")
    # GNMT, Wu et al. 2016, 3.1: the other layers and the decoder are
    # unchanged; copy attention above all gains (after the first piece of a
    # name it must point at the next one).
    bidirectional_encoder: bool = setting(
        False, "The bottom encoder layer reads the source both ways, half the units each "
        "(GNMT), so attention sees both sides of every word.")
    # Where --dropout goes in an attention decoder. Luong et al. 2015 and
    # OpenNMT-py drop units of the attentional state tanh(W [context; h]),
    # which the output layer reads; by default this project drops units of
    # the decoder LSTM's outputs, which are also the attention's queries.
    # Training only: the weights are the same either way, so a model trained
    # one way loads, translates and exports as the other.
    dropout_after_attention: bool = setting(
        False, "With attention, apply --dropout to the attentional state (after the "
        "attention, before the output layer: Luong et al. 2015, OpenNMT-py) instead of to "
        "the decoder LSTM's outputs, the attention's queries.")
    # Sutskever et al. 2014, 3.4: "We initialized all of the LSTM's
    # parameters with the uniform distribution between -0.08 and 0.08";
    # OpenNMT-py's default is the same with 0.1. Unset or 0: Keras'
    # initialisers (Glorot-uniform kernels, orthogonal recurrent kernels,
    # zero biases with the forget gate's at 1, embeddings uniform in
    # [-0.05, 0.05]). Training only: it decides where training starts, not
    # what the weights mean.
    init_scale: typing.Optional[float] = setting(
        None, "Start every weight (embeddings, kernels and biases) uniform in [-S, S], as "
        "the paper (0.08) and OpenNMT-py (0.1) do; 0: Keras' initialisers. The cpu "
        "architecture starts at 0.1, sutskever2014 at 0.08.", metavar="S")

    def __post_init__(self):
        if self.tokenizer not in TOKENIZER_TYPES:
            raise ConfigurationError(
                f"tokenizer must be one of {TOKENIZER_TYPES}, got {self.tokenizer!r}."
            )
        if self.copy_attention and (self.attention == "none" or not self.shared_vocabulary):
            raise ConfigurationError(
                "copy_attention needs attention (attention='luong') and shared_vocabulary=True: "
                "it copies source ids, which must also be target ids."
            )
        for name in ("max_source_length", "max_target_length"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"{name} must be >= 1, got {getattr(self, name)}.")
        self.architecture_with()  # the network's own checks (Architecture)

    def architecture_with(self, source_vocab_size=None, target_vocab_size=None):
        """The `Architecture` of this config, with the actual vocabulary sizes
        of built vocabularies (else the config's limits)."""
        values = {name: getattr(self, name) for name in ARCHITECTURE_FIELDS}
        values["source_vocab_size"] = source_vocab_size or self.source_vocab_size
        values["target_vocab_size"] = target_vocab_size or self.target_vocab_size
        return Architecture(**values)

    @property
    def architecture(self):
        """The network's shape (an `Architecture`) at the configured sizes."""
        return self.architecture_with()

# Untrained templates, by name (`get_architecture`); a trained model to
# download is a preset (`keras_seq2seq.presets`).
ARCHITECTURES = {
    # The article's walk-through: "nice to meet you" -> "ravi de vous
    # rencontrer", an embedding that takes the 4 one-hot dimensions to 3.
    "seed_toy": Seq2SeqConfig(
        source_vocab_size=100,
        target_vocab_size=100,
        min_frequency=1,
        embedding_dim=3,
        units=16,
        num_layers=1,
        lowercase=True,
    ),
    # Sized for two CPU cores: on Tatoeba (66k pairs, batch 128) an epoch
    # takes about 2.5 minutes here; with its vocabularies (5.7k/8.7k words
    # at min_frequency 2) it has 9.0M parameters, 36 MB in float32.
    "cpu": Seq2SeqConfig(
        source_vocab_size=8000,
        target_vocab_size=10000,
        min_frequency=2,
        embedding_dim=256,
        units=384,
        num_layers=1,
        # Regularises the output layer; the best epoch on validation is kept.
        dropout=0.2,
        # OpenNMT-py's start: learns several times more per step than Keras'
        # initialisers in the first thousand steps (benchmarks/RESULTS.md,
        # "The peer race at equal steps"); the shipped v12 (v8 trained on)
        # started from it.
        # Models trained before 2026-12-06 (v7 among them) started from
        # Keras' (init_scale 0).
        init_scale=0.1,
    ),
    # Sutskever et al. 2014: 4 layers of 1000 cells, 1000-d embeddings,
    # 160k source and 80k target words: 384M parameters, 64M recurrent;
    # every parameter starts uniform in [-0.08, 0.08] (their section 3.4).
    "sutskever2014": Seq2SeqConfig(
        source_vocab_size=160000,
        target_vocab_size=80000,
        min_frequency=1,
        embedding_dim=1000,
        units=1000,
        num_layers=4,
        init_scale=0.08,
    ),
}

DEFAULT_ARCHITECTURE = "cpu"


def get_architecture(name, **overrides):
    """A copy of a named architecture (`ARCHITECTURES`), with fields overridden."""
    if name not in ARCHITECTURES:
        raise ConfigurationError(
            f"Unknown architecture {name!r}; choose one of {sorted(ARCHITECTURES)}.")
    return ARCHITECTURES[name].replace(**overrides)
