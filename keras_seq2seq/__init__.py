"""keras-seq2seq: the encoder-decoder of Sutskever et al. (2014) in Keras 3."""

from keras_seq2seq.models import PRESETS, Seq2SeqConfig, get_preset
from keras_seq2seq.training import train
from keras_seq2seq.translator import Translator, load

__version__ = "0.1.0"

__all__ = ["PRESETS", "Seq2SeqConfig", "Translator", "get_preset", "load", "train"]
