"""keras-hub's own conformance harness (`keras_hub/src/tests/test_case.py`,
shipped in the keras-hub wheel) on tiny instances of the Backbone, the
Preprocessor and the Task: `run_backbone_test` (serialization, eager and
compiled calls, keras-hub's naming, quantization), `run_preprocessor_test`
(tf.data and Grain pipelines, fixed sequence lengths), `run_task_test`
(predict and fit on raw text, with and without split preprocessing) and
`run_model_saving_test` (`.keras` round trips).

Where this model departs from keras-hub's conventions on purpose, the
harness's check is replaced by one of the departure (see `DEPARTURES`);
everything else runs as keras-hub runs it on its own models.

The harness needs the `grain` package (the test extra): without it this
file is skipped, except under `CI=true`, where it fails.
"""

import os

import keras
import numpy as np
import pytest

try:
    import grain  # noqa: F401
except ImportError as error:
    if os.environ.get("CI", "").lower() == "true":
        raise ImportError("keras-hub's test harness needs grain "
                          "(pip install -e '.[test]').") from error
    pytest.skip("keras-hub's test harness needs grain (pip install -e '.[test]')",
                allow_module_level=True)

from keras_hub.src.tests.test_case import TestCase  # noqa: E402
from keras_hub.src.utils.tensor_utils import is_float_dtype  # noqa: E402

from keras_seq2seq.models.preprocessor import Seq2SeqPreprocessor  # noqa: E402
from keras_seq2seq.models.seq2seq import (  # noqa: E402
    COPY_DISTRIBUTION,
    COPY_GATE,
    OUTPUT_PROJECTION,
    Seq2SeqBackbone,
)
from keras_seq2seq.models.task import Seq2SeqTranslator  # noqa: E402
from keras_seq2seq.text import make_tokenizer  # noqa: E402

# Departures from keras-hub's conventions, each right for this model, whose
# harness check is replaced by a check of the departure:
DEPARTURES = {
    # run_precision_test wants every layer, and the output, in the policy's
    # compute dtype.
    "float32 head": "Under a 16-bit policy the output layer and the copy gate compute (and "
                    "keep their weights) in float32, so the logits are float32: the softmax "
                    "over a large vocabulary, and the copy gate's mixing of probabilities, "
                    "lose accuracy in float16.",
    # run_precision_test also builds the model with bfloat16 variables.
    "bfloat16 variables": "The pure 'bfloat16' policy (bfloat16 variables) cannot build the "
                          "recurrent layers on TensorFlow: Keras initialises their recurrent "
                          "kernels orthogonally with TF's QR op, which has no bfloat16 kernel. "
                          "The mixed policies (float32 variables) work.",
    # run_preprocessor_test and run_task_test want fixed-length outputs.
    "padding": "The preprocessor pads to each batch's longest sentence by default (the "
               "recurrent model needs no fixed shape; training buckets by length); keras-hub's "
               "fixed lengths are `encoder_sequence_length` / `decoder_sequence_length`, which "
               "the harness runs set.",
}
# The copy distribution has no weights; it mixes float32 probabilities.
FLOAT32_LAYERS = (OUTPUT_PROJECTION, COPY_GATE, COPY_DISTRIBUTION)

SPECIALS = ["<pad>", "<unk>", "<start>", "<end>"]
VOCABULARY = SPECIALS + ["i", "am", "cold", "hungry", "thank", "you", "j", "'", "ai", "froid",
                         "faim", "merci", ".", "!", "where", "are", "?", "où", "es", "-", "tu"]
SOURCES = ["I am cold.", "Thank you!", "Where are you?", "I am hungry."]
TARGETS = ["J'ai froid.", "Merci !", "Où es-tu ?", "J'ai faim."]
LENGTH = 8


def tokenizers():
    # One shared vocabulary (copy attention indexes the target one with
    # source ids).
    return (make_tokenizer("word", VOCABULARY, True, "en"),
            make_tokenizer("word", VOCABULARY, True, "fr"))


BACKBONES = {
    "plain": dict(source_vocab_size=len(VOCABULARY), target_vocab_size=len(VOCABULARY),
                  embedding_dim=8, units=16),
    "copy_attention": dict(source_vocab_size=len(VOCABULARY),
                           target_vocab_size=len(VOCABULARY), embedding_dim=8, units=16,
                           num_layers=2, attention="luong", copy_attention=True,
                           bidirectional_encoder=True),
}
TOKENS = {
    "encoder_tokens": np.array([[16, 6, 5, 4, 0], [17, 9, 8, 0, 0]], "int32"),
    "decoder_tokens": np.array([[2, 10, 11, 12], [2, 15, 17, 0]], "int32"),
}


class KerasHubHarnessTest(TestCase):
    def preprocessor(self, **kwargs):
        source, target = tokenizers()
        return Seq2SeqPreprocessor(source, target, encoder_sequence_length=LENGTH,
                                   decoder_sequence_length=LENGTH, **kwargs)

    def check_float32_head(self, init_kwargs):
        """run_precision_test, with the float32 head and bfloat16 variables
        named (DEPARTURES)."""
        with self.assertRaisesRegex(Exception, "Qr"):
            Seq2SeqBackbone(**init_kwargs, dtype="bfloat16")
        for name in ("mixed_float16", "mixed_bfloat16"):
            policy = keras.mixed_precision.Policy(name)
            backbone = Seq2SeqBackbone(**init_kwargs, dtype=policy)
            output = backbone(TOKENS)
            spec = backbone.compute_output_spec(TOKENS)
            self.assertDTypeEqual(output, "float32")  # the departure
            self.assertEqual(keras.backend.standardize_dtype(spec.dtype), "float32")
            head = [layer for layer in backbone._flatten_layers()
                    if layer.name in FLOAT32_LAYERS]
            self.assertLen(head, 3 if init_kwargs.get("copy_attention") else 1)
            checked = 0
            for layer in backbone._flatten_layers(include_self=False):
                if isinstance(layer, (keras.layers.Softmax, keras.layers.InputLayer)):
                    continue
                expected = ("float32", "float32") if layer in head else (
                    policy.compute_dtype, policy.variable_dtype)
                self.assertEqual((layer.compute_dtype, layer.variable_dtype), expected,
                                 msg=f"{layer.name} under {name}")
                for weight in layer.weights:
                    if is_float_dtype(weight.dtype) and layer in head:
                        self.assertDTypeEqual(weight, "float32")
                checked += 1
            self.assertGreater(checked, 5)
            for weight in backbone.weights:
                if is_float_dtype(weight.dtype) and not weight.path.startswith(FLOAT32_LAYERS):
                    self.assertDTypeEqual(weight, policy.variable_dtype)

    def test_backbone(self):
        for kind, init_kwargs in BACKBONES.items():
            with self.subTest(kind):
                self.run_backbone_test(
                    cls=Seq2SeqBackbone, init_kwargs=init_kwargs, input_data=TOKENS,
                    expected_output_shape=(2, 4, len(VOCABULARY)),
                    run_mixed_precision_check=False,  # DEPARTURES["float32 head"]
                    run_quantization_check=True)
                self.check_float32_head(init_kwargs)

    def test_backbone_saving(self):
        self.run_model_saving_test(cls=Seq2SeqBackbone, init_kwargs=BACKBONES["copy_attention"],
                                   input_data=TOKENS)

    def test_preprocessor(self):
        source, target = tokenizers()
        init_kwargs = dict(source_tokenizer=source, target_tokenizer=target,
                           encoder_sequence_length=LENGTH, decoder_sequence_length=LENGTH)
        # keras-hub's Seq2SeqLM input, and this project's (source, target) pairs.
        for input_data in (({"encoder_text": SOURCES, "decoder_text": TARGETS},),
                           (SOURCES, TARGETS)):
            with self.subTest(type(input_data[0]).__name__):
                self.init_kwargs = init_kwargs  # the harness reads it from here too
                x, y, sample_weight = self.run_preprocessor_test(
                    cls=Seq2SeqPreprocessor, init_kwargs=init_kwargs, input_data=input_data,
                    token_id_key="decoder_tokens")
                # "I am cold." reversed; "<start> j ' ai froid ." / "j ' ai froid . <end>".
                self.assertAllEqual(x["encoder_tokens"][0], [16, 6, 5, 4, 0, 0, 0, 0])
                self.assertAllEqual(x["decoder_tokens"][0], [2, 10, 11, 12, 13, 16, 0, 0])
                self.assertAllEqual(y[0], [10, 11, 12, 13, 16, 3, 0, 0])
                self.assertAllEqual(sample_weight[0], [1, 1, 1, 1, 1, 1, 0, 0])

    def test_preprocessor_pads_to_the_longest_sentence_by_default(self):
        # DEPARTURES["padding"].
        source, target = tokenizers()
        x, y, _ = Seq2SeqPreprocessor(source, target)(SOURCES, TARGETS)
        self.assertEqual(tuple(x["encoder_tokens"].shape), (4, 4))  # "I am cold ."
        self.assertEqual(tuple(x["decoder_tokens"].shape), (4, 6))  # "<start> j ' ai froid ."
        self.assertEqual(tuple(y.shape), (4, 6))

    def test_task(self):
        backbone = Seq2SeqBackbone(**BACKBONES["copy_attention"])
        self.run_task_test(
            cls=Seq2SeqTranslator,
            init_kwargs={"backbone": backbone, "preprocessor": self.preprocessor()},
            train_data=({"encoder_text": SOURCES, "decoder_text": TARGETS},),
            expected_output_shape=(4, LENGTH, len(VOCABULARY)))

    def test_task_on_raw_source_strings(self):
        # Raw sources alone: the decoder reads `<start>`, so predict gives the
        # first target token's distribution; raw (source, target) pairs fit.
        backbone = Seq2SeqBackbone(**BACKBONES["plain"])
        source, target = tokenizers()
        task = Seq2SeqTranslator(backbone, Seq2SeqPreprocessor(source, target))
        self.assertEqual(task.predict(["I am cold."], verbose=0).shape,
                         (1, 1, len(VOCABULARY)))
        task.fit(SOURCES, TARGETS, batch_size=2, epochs=1, verbose=0)
        self.assertIsInstance(task.generate("I am cold.", beam_size=1), str)

    def test_task_saving(self):
        backbone = Seq2SeqBackbone(**BACKBONES["copy_attention"])
        self.run_model_saving_test(
            cls=Seq2SeqTranslator,
            init_kwargs={"backbone": backbone, "preprocessor": self.preprocessor()},
            input_data=TOKENS)
