"""Image captioning: a CNN encoder whose last dense layer starts the translation decoder.

Names are imported when first used (see keras_seq2seq._lazy).
"""

from keras_seq2seq._lazy import lazy_exports

_EXPORTS = {
    "BACKBONES": "keras_seq2seq.captioning.config",
    "CaptionCorpus": "keras_seq2seq.captioning.data",
    "Captioner": "keras_seq2seq.captioning.captioner",
    "CaptionerConfig": "keras_seq2seq.captioning.config",
    "ImageError": "keras_seq2seq.captioning.images",
    "build_captioning_models": "keras_seq2seq.captioning.model",
    "load_captioner": "keras_seq2seq.captioning.captioner",
    "load_image": "keras_seq2seq.captioning.images",
    "load_images": "keras_seq2seq.captioning.images",
    "read_coco": "keras_seq2seq.captioning.data",
    "read_flickr8k": "keras_seq2seq.captioning.data",
    "read_image_list": "keras_seq2seq.captioning.data",
    "train_captioner": "keras_seq2seq.captioning.trainer",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
