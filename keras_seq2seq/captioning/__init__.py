"""Image captioning: a CNN encoder whose last dense layer starts the translation decoder."""

from keras_seq2seq.captioning.captioner import Captioner, load_captioner
from keras_seq2seq.captioning.config import BACKBONES, CaptionerConfig
from keras_seq2seq.captioning.data import (
    CaptionCorpus,
    read_coco,
    read_flickr8k,
    read_image_list,
)
from keras_seq2seq.captioning.images import ImageError, load_image, load_images
from keras_seq2seq.captioning.model import build_captioning_models
from keras_seq2seq.captioning.trainer import train_captioner

__all__ = [
    "BACKBONES",
    "CaptionCorpus",
    "Captioner",
    "CaptionerConfig",
    "ImageError",
    "build_captioning_models",
    "load_captioner",
    "load_image",
    "load_images",
    "read_coco",
    "read_flickr8k",
    "read_image_list",
    "train_captioner",
]
