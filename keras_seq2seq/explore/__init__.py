"""`keras-seq2seq explore`: an interactive page on a trained model's
encoder, step-by-step decoder, teacher forcing, beam search and attention.

Imported lazily: `import keras_seq2seq.explore` loads no TensorFlow.
"""

from keras_seq2seq._lazy import lazy_exports

_EXPORTS = {
    "Explorer": "keras_seq2seq.explore.core",
    "ExploreError": "keras_seq2seq.explore.core",
    "toy_translator": "keras_seq2seq.explore.core",
    "create_app": "keras_seq2seq.explore.app",
    "serve_explorer": "keras_seq2seq.explore.app",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
