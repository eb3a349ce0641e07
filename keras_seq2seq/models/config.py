"""Model configuration and named presets."""

import dataclasses

from keras_seq2seq.errors import ConfigurationError

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
    corpus; a built model uses the actual vocabulary sizes.
    """

    # Source and target vocabulary sizes, the 4 special tokens included.
    source_vocab_size: int = 8000
    target_vocab_size: int = 8000
    # Words seen fewer times in training map to <unk>.
    min_frequency: int = 2
    # Width of the word embeddings (encoder and decoder each have their own).
    embedding_dim: int = 256
    # Cells per recurrent layer; the encoder and decoder have the same shape
    # so that the encoder's final states can start the decoder.
    units: int = 512
    # Stacked recurrent layers in the encoder and in the decoder.
    num_layers: int = 1
    # "lstm" (the paper) or "gru".
    cell_type: str = "lstm"
    # Dropout between layers (not recurrent dropout, which would rule out
    # cuDNN kernels on GPU).
    dropout: float = 0.0
    # Dropout on the encoder's and the decoder's word embeddings (training
    # only, like `dropout`): the regulariser that small corpora such as
    # Multi30k need once attention lets the model fit them closely.
    embedding_dropout: float = 0.0
    # Reverse the source words, not the target (Sutskever et al. 2014, 3.3).
    reverse_source: bool = True
    # Sentences longer than these (in tokens: words, or pieces with the
    # wordpiece tokenizer) are left out of training.
    max_source_length: int = 50
    max_target_length: int = 50
    # Lowercase text before lookup.
    lowercase: bool = False
    # "none" (Sutskever et al.: the final states are all the decoder sees)
    # or "luong" (the decoder also attends over every encoder output).
    attention: str = "none"
    # "word" (the paper: a word vocabulary, rarer words <unk>) or "wordpiece"
    # (both sides cut into sub-word pieces; the vocabulary sizes above are
    # then limits on pieces, and min_frequency does not apply: keras-hub's
    # learner keeps pieces seen at least 10 times).
    tokenizer: str = "word"
    # One vocabulary for both languages, learned from the source and target
    # text together (Sennrich et al. 2016's joint BPE, here word pieces):
    # a name or a number is cut into the same pieces on both sides, and the
    # source's ids are valid target ids. Its size limit is
    # `source_vocab_size`; `target_vocab_size` is then not used.
    shared_vocabulary: bool = False
    # Copy attention (the pointer-generator of See et al. 2017, after Gu et
    # al. 2016 and Vinyals et al. 2015): each decoder step mixes the output
    # softmax with the attention weights put on the source tokens' own ids,
    # with a learned gate, so a piece the decoder has rarely or never
    # written (a name, a number) can be copied from the source. Needs
    # attention and a shared vocabulary (a source id must be a target id).
    copy_attention: bool = False
    # The bottom encoder layer reads the source in both directions, with
    # units / 2 cells each way, outputs and final states concatenated
    # (GNMT, Wu et al. 2016, 3.1); the other layers and the decoder are
    # unchanged. Each encoder output then knows the words on both sides of
    # its own, which attention (and copy attention above all: after the
    # first piece of a name it must point at the next one) can use; a
    # one-way encoder's output knows only the words it has already read.
    bidirectional_encoder: bool = False

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

PRESETS = {
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
    ),
    # Sutskever et al. 2014: 4 layers of 1000 cells, 1000-d embeddings,
    # 160k source and 80k target words: 384M parameters, 64M recurrent.
    "sutskever2014": Seq2SeqConfig(
        source_vocab_size=160000,
        target_vocab_size=80000,
        min_frequency=1,
        embedding_dim=1000,
        units=1000,
        num_layers=4,
    ),
}

DEFAULT_PRESET = "cpu"


def get_preset(name, **overrides):
    """A copy of a named preset, with fields overridden."""
    if name not in PRESETS:
        raise ConfigurationError(f"Unknown preset {name!r}; choose one of {sorted(PRESETS)}.")
    return PRESETS[name].replace(**overrides)
