"""Configuration of the image captioner (a CNN encoder and the translation
decoder) and of a captioner's training run.

No TensorFlow here: `keras-seq2seq train-captioner` makes its flags from
these classes (`keras_seq2seq.settings.add_flags`).
"""

import dataclasses
import os
import typing

from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.models.config import CELL_TYPES, ConfigMixin
from keras_seq2seq.settings import setting
from keras_seq2seq.training.config import OptimizationConfig, SectionedConfig, SettingsSection

# Name -> (keras.applications constructor, preprocessing module). Any of
# these runs with `weights="imagenet"` (downloaded by Keras on a machine
# with internet), a local weights file, or `weights=None`.
APPLICATIONS = {
    "mobilenet_v2": ("MobileNetV2", "mobilenet_v2"),
    "mobilenet_v3_small": ("MobileNetV3Small", "mobilenet_v3"),
    "inception_v3": ("InceptionV3", "inception_v3"),
    "resnet50": ("ResNet50", "resnet50"),
    "efficientnet_b0": ("EfficientNetB0", "efficientnet"),
}
BACKBONES = ("small_cnn",) + tuple(APPLICATIONS)
POOLINGS = ("avg", "max", "flatten")


@dataclasses.dataclass
class CaptionerConfig(ConfigMixin):
    """Sizes and options of the captioning model.

    The decoder fields have the meaning they have in `Seq2SeqConfig`; the
    captioner has no source text, no source reversal and no attention (the
    pooled image vector is all the decoder sees, as in Karpathy & Fei-Fei).
    Each field is also a `keras-seq2seq train-captioner` flag.
    """

    backbone: str = setting(
        "small_cnn", "CNN encoder: small_cnn (trained from scratch) or a keras.applications "
        "network.", choices=BACKBONES)
    weights: typing.Optional[str] = setting(
        None, "Backbone weights: 'imagenet' (downloaded by Keras) or a local weights file; "
        "unset: random initialisation (small_cnn: always).")
    # A frozen backbone lets training cache its features, so the CNN runs
    # once per image.
    train_backbone: bool = setting(
        False, "Fine-tune the backbone (else it is frozen and its features cached; small_cnn "
        "always trains).")
    image_height: int = setting(224, "Input images are resized to this height, RGB.",
                                metavar="PIXELS")
    image_width: int = setting(224, "Input images are resized to this width.",
                               metavar="PIXELS")
    pooling: str = setting(
        "avg", "How the last feature map becomes one vector: flatten keeps where things are "
        "in the image (which word order may depend on, as in the digits benchmark); avg is "
        "the usual global pooling.", choices=POOLINGS)
    cnn_filters: tuple[int, ...] = setting(
        (32, 64, 128), "Filters of the small CNN's convolution blocks (each: conv, batch norm, "
        "ReLU, 2x2 max pooling), one flag per block in order: --cnn-filters 16 "
        "--cnn-filters 32.", metavar="FILTERS")
    # Decoder (see Seq2SeqConfig).
    target_vocab_size: int = setting(
        10000, "Largest caption vocabulary, the 4 special tokens included.")
    min_frequency: int = setting(1, "Words seen fewer times in training map to <unk>.")
    embedding_dim: int = setting(256, "Width of the word embeddings.")
    units: int = setting(512, "Cells per decoder layer.")
    num_layers: int = setting(1, "Stacked decoder layers.", flag="layers")
    cell_type: str = setting("lstm", "Recurrent cell.", choices=CELL_TYPES, flag="cell")
    dropout: float = setting(0.0, "Dropout between layers.")
    max_target_length: int = setting(
        40, "Longest caption in tokens; longer captions are left out of training.",
        metavar="TOKENS")
    lowercase: bool = setting(True, "Lowercase the captions.")

    # What the shared decoder code reads (the fields of `Seq2SeqConfig` the
    # step model and the export signatures use): fixed for a captioner.
    attention = "none"
    copy_attention = False
    bidirectional_encoder = False
    embedding_dropout = 0.0
    dropout_after_attention = False
    init_scale = None

    def __post_init__(self):
        if isinstance(self.cnn_filters, int):
            self.cnn_filters = (self.cnn_filters,)
        self.cnn_filters = tuple(int(f) for f in self.cnn_filters)
        if self.backbone not in BACKBONES:
            raise ConfigurationError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}.")
        if self.pooling not in POOLINGS:
            raise ConfigurationError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}.")
        if self.cell_type not in CELL_TYPES:
            raise ConfigurationError(f"cell_type must be 'lstm' or 'gru', got {self.cell_type!r}.")
        if self.backbone == "small_cnn" and self.weights is not None:
            raise ConfigurationError("small_cnn is trained from scratch: weights must be None.")
        if self.weights is not None:
            self.weights = os.fspath(self.weights)
        for name in ("image_height", "image_width", "embedding_dim", "units", "num_layers",
                     "max_target_length"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigurationError(f"{name} must be a whole number >= 1, got {value!r}.")
        if self.target_vocab_size <= 4:
            raise ConfigurationError("target_vocab_size must be more than the 4 special tokens.")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigurationError(f"dropout must be in [0, 1), got {self.dropout}.")
        if not self.cnn_filters or min(self.cnn_filters) < 1:
            raise ConfigurationError(
                f"cnn_filters must be positive integers, got {self.cnn_filters}.")
        for name in ("train_backbone", "lowercase"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigurationError(f"{name} must be true or false, "
                                         f"got {getattr(self, name)!r}.")

    @property
    def backbone_trainable(self):
        return self.backbone == "small_cnn" or self.train_backbone

    def to_dict(self):
        values = super().to_dict()
        values["cnn_filters"] = list(self.cnn_filters)
        return values


# The model a run trains when none is given (what `train-captioner` has
# always trained): these decoder sizes, and the data source's image size,
# pooling and caption length (`SOURCE_FIELDS`; photos: CaptionerConfig's).
TRAINER_MODEL = {"units": 256, "embedding_dim": 128, "dropout": 0.2}
DIGITS_MODEL = {"image_height": 32, "image_width": 96, "pooling": "flatten",
                "max_target_length": 12}
SOURCE_FIELDS = tuple(DIGITS_MODEL)
_FILE_SOURCES = ("flickr8k", "coco", "image_list")


@dataclasses.dataclass(frozen=True)
class CaptionerDataConfig(SettingsSection):
    """Where a run's captioned images come from (when `train_captioner` is
    not given its corpora): one source, split by image for validation."""

    flickr8k: typing.Optional[str] = setting(
        None, "Flickr8k.token.txt (or Flickr30k's results_20130124.token).",
        metavar="TOKEN_FILE")
    coco: typing.Optional[str] = setting(None, "COCO captions JSON.", metavar="JSON")
    image_list: typing.Optional[str] = setting(
        None, "Image names, one per line (Multi30k task 2), with --captions.", metavar="FILE")
    captions: typing.Optional[str] = setting(
        None, "Captions, line-aligned with --image-list.", metavar="FILE")
    images: typing.Optional[str] = setting(
        None, "Image directory (with --flickr8k, --coco, --image-list).", metavar="DIR")
    digits: bool = setting(
        False, "The offline handwritten-digits canvases (needs scikit-learn); the model then "
        "defaults to 32x96 images, flatten pooling and captions of up to 12 tokens.")
    digits_train: int = setting(
        20000, "--digits: training canvases (and a twentieth as many for validation).",
        metavar="N")
    digits_augment: bool = setting(
        False, "--digits: vary the training digits' width, brightness, slant and rotation.")
    validation_fraction: float = setting(
        0.1, "Share of images held out for validation (not --digits); 0: none.", metavar="P")
    feature_cache: typing.Optional[str] = setting(
        None, "Directory for cached frozen-backbone features (train.npy, validation.npy).",
        metavar="DIR")
    language: str = setting("en", "Caption language (detokenisation).")

    def __post_init__(self):
        for name in (*_FILE_SOURCES, "captions", "images", "feature_cache"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, os.fspath(getattr(self, name)))
        for name in ("digits", "digits_augment"):
            self._check(name, isinstance(getattr(self, name), bool), "true or false")
        sources = [name for name in (*_FILE_SOURCES, "digits") if getattr(self, name)]
        if len(sources) > 1:
            raise ConfigurationError(f"Give one data source, not {' and '.join(sources)}.")
        if bool(self.image_list) != bool(self.captions):
            raise ConfigurationError("image_list and captions go together.")
        if sources and not self.digits and not self.images:
            raise ConfigurationError(
                f"images (the image directory) is needed with {sources[0]}.")
        self._whole("digits_train", 1)
        self._share("validation_fraction", "1)")
        self._check("language", isinstance(self.language, str) and self.language,
                    "a language code")

    @property
    def source(self):
        """The data source's name (flickr8k, coco, image_list, digits) or None."""
        return next((n for n in (*_FILE_SOURCES, "digits") if getattr(self, n)), None)

    def default_model(self):
        """The CaptionerConfig a run trains when it is given none."""
        return CaptionerConfig(**TRAINER_MODEL, **(DIGITS_MODEL if self.digits else {}))


# The translation trainer's options that this trainer has not (one device,
# float32, batches counted in captions); they must stay at their defaults.
UNSUPPORTED_OPTIMIZATION = ("batch_tokens", "shuffle_buffer", "mixed_precision", "strategy")


@dataclasses.dataclass(frozen=True)
class CaptionerOptimizationConfig(OptimizationConfig):
    """`OptimizationConfig` (Adam with gradient clipping, the schedules,
    early stopping, seed) and the plateau schedule's patience."""

    batch_size: int = setting(64, "Captions per batch.")
    lr_patience: int = setting(
        1, "plateau schedule: epochs without a lower validation loss before the rate is "
        "halved (the validation loss of a CNN trained from scratch jumps between epochs: "
        "2 or 3 keeps one bad epoch from halving it).")

    def __post_init__(self):
        super().__post_init__()
        self._whole("lr_patience", 1)
        defaults = {f.name: f.default for f in dataclasses.fields(OptimizationConfig)}
        changed = [n for n in UNSUPPORTED_OPTIMIZATION if getattr(self, n) != defaults[n]]
        if changed:
            raise ConfigurationError(
                f"The captioner trainer has no {', '.join(changed)} (leave unset).")


SECTIONS = {"data": CaptionerDataConfig, "optimization": CaptionerOptimizationConfig}
_DATA_FIELDS = {f.name for f in dataclasses.fields(CaptionerDataConfig)}


@dataclasses.dataclass(frozen=True)
class CaptionerTrainingConfig(SectionedConfig):
    """Everything a captioner's training run is made from;
    `train_captioner(config)` runs it, and the run directory keeps it
    (`training_config.json`, which `train-captioner --config` repeats).

    `model` unset is `data.default_model()`: the trainer's decoder sizes
    with the data source's image size, pooling and caption length (a model
    once set is kept: `replace` with another data source leaves it as it is).

    >>> config = CaptionerTrainingConfig.create("runs/digits", digits=True, units=64)
    >>> config.model.image_width, config.model.pooling, config.model.units  # --digits' own
    (96, 'flatten', 64)
    >>> config.replace(epochs=3, dropout=0.0).optimization.epochs
    3
    """

    out: typing.Optional[str] = setting(
        None, "Run directory: checkpoints, logs, the captioner and training_config.json.",
        metavar="DIR")
    model: typing.Optional[CaptionerConfig] = None
    data: CaptionerDataConfig = dataclasses.field(default_factory=CaptionerDataConfig)
    optimization: CaptionerOptimizationConfig = dataclasses.field(
        default_factory=CaptionerOptimizationConfig)

    SECTIONS: typing.ClassVar[dict] = SECTIONS
    FLAT_GROUPS: typing.ClassVar[dict] = {"model": CaptionerConfig}

    def __post_init__(self):
        self._check("out", isinstance(self.out, (str, os.PathLike)) and os.fspath(self.out),
                    "a run directory")
        object.__setattr__(self, "out", os.fspath(self.out))
        self._check_sections()
        if isinstance(self.model, dict):
            object.__setattr__(self, "model", CaptionerConfig.from_dict(self.model))
        if self.model is None:
            object.__setattr__(self, "model", self.data.default_model())
        self._check("model", isinstance(self.model, CaptionerConfig), "a CaptionerConfig")

    @classmethod
    def create(cls, out, model=None, **fields):
        """A config from the sections' and the model's fields, given flat
        (`digits=True`, `epochs=3`, `units=64`); the model's fields not
        given are `model`'s, or the data source's defaults."""
        flat = {k: fields.pop(k) for k in list(fields) if k in _DATA_FIELDS}
        data = (fields.pop("data", None) or CaptionerDataConfig()).replace(**flat)
        return cls(out=out, model=model, data=data).replace(**fields)

    def to_dict(self):
        return {"out": self.out, "model": self.model.to_dict(),
                **{name: getattr(self, name).to_dict() for name in SECTIONS}}


def captioner_decoding(config, max_output_tokens=None, **fields):
    """A captioner's DecodingConfig: every caption may use the whole budget
    (`max_output_tokens`, the config's `max_target_length` + 1 by default):
    an image's "source length" is 1, the length ratio 0 and the offset the
    budget. No sentence splitting or name placeholders (there is no source
    text)."""
    from keras_seq2seq.settings import DecodingConfig

    budget = int(max_output_tokens or config.max_target_length + 1)
    return DecodingConfig(**{"max_output_tokens": budget, "length_ratio": 0.0,
                             "length_offset": budget, "split_sentences": False,
                             "protect_names": False, **fields})
