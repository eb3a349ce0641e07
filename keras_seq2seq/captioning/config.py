"""Configuration of the image captioner: a CNN encoder and the translation decoder."""

import dataclasses

from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.models.config import ConfigMixin

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
    """

    # "small_cnn" (trained from scratch) or a keras.applications network.
    backbone: str = "small_cnn"
    # None (random init), "imagenet", or a path to a local weights file.
    weights: str = None
    # Train the backbone too (always true for small_cnn). A frozen backbone
    # lets training cache its features, so the CNN runs once per image.
    train_backbone: bool = False
    # Input images are resized to this (height, width), RGB.
    image_height: int = 224
    image_width: int = 224
    # How the last feature map becomes one vector. "flatten" keeps where
    # things are in the image (which word order may depend on, as in the
    # digits benchmark); "avg" is the usual global pooling.
    pooling: str = "avg"
    # Filters of the small CNN's convolution blocks (each: conv, batch norm,
    # ReLU, 2x2 max pooling).
    cnn_filters: tuple = (32, 64, 128)
    # Decoder (see Seq2SeqConfig).
    target_vocab_size: int = 10000
    min_frequency: int = 1
    embedding_dim: int = 256
    units: int = 512
    num_layers: int = 1
    cell_type: str = "lstm"
    dropout: float = 0.0
    max_target_length: int = 40
    lowercase: bool = True

    # What the shared decoder code reads (the fields of `Seq2SeqConfig` the
    # step model and the export signatures use): fixed for a captioner.
    attention = "none"
    copy_attention = False
    bidirectional_encoder = False
    embedding_dropout = 0.0

    def __post_init__(self):
        self.cnn_filters = tuple(int(f) for f in self.cnn_filters)
        if self.backbone not in BACKBONES:
            raise ConfigurationError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}.")
        if self.pooling not in POOLINGS:
            raise ConfigurationError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}.")
        if self.cell_type not in ("lstm", "gru"):
            raise ConfigurationError(f"cell_type must be 'lstm' or 'gru', got {self.cell_type!r}.")
        if self.backbone == "small_cnn" and self.weights is not None:
            raise ConfigurationError("small_cnn is trained from scratch: weights must be None.")
        for name in ("image_height", "image_width", "embedding_dim", "units", "num_layers",
                     "max_target_length"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"{name} must be >= 1, got {getattr(self, name)}.")
        if self.target_vocab_size <= 4:
            raise ConfigurationError("target_vocab_size must be more than the 4 special tokens.")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigurationError(f"dropout must be in [0, 1), got {self.dropout}.")
        if not self.cnn_filters or min(self.cnn_filters) < 1:
            raise ConfigurationError(
                f"cnn_filters must be positive integers, got {self.cnn_filters}.")

    @property
    def backbone_trainable(self):
        return self.backbone == "small_cnn" or self.train_backbone

    def to_dict(self):
        values = super().to_dict()
        values["cnn_filters"] = list(self.cnn_filters)
        return values


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
