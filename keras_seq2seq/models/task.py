"""The translator as a keras-hub task: `Seq2SeqTranslator`, a Seq2SeqLM.

    task = Seq2SeqTranslator.from_preset("saved_models/en-fr")
    task.generate(["Nice to meet you."])               # this project's searches
    task.fit(x=["Thank you."], y=["Merci."], epochs=1)  # raw string pairs
    task.save("en-fr.keras")                            # keras.saving.load_model
    task.save_to_preset("my-model")                     # from_preset("my-model")

The task wraps a `Seq2SeqBackbone` and a `Seq2SeqPreprocessor`; `generate`
runs a `Translator` built on the same layers, so the greedy and beam
searches, the length and `<unk>` penalties, n-gram blocking, n-best lists
and sentence splitting are the project's, as with `keras-seq2seq translate`.
"""

import os

import keras
import keras_hub

from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.models.config import ARCHITECTURE_FIELDS, Seq2SeqConfig
from keras_seq2seq.models.preprocessor import Seq2SeqPreprocessor
from keras_seq2seq.models.seq2seq import Seq2SeqBackbone
from keras_seq2seq.training.losses import TokenCrossEntropy

# The model directory a preset is: `Translator.save`'s config.json, with
# the vocabularies and weights beside it.
PRESET_CONFIG = "config.json"


@keras.saving.register_keras_serializable(package="keras_seq2seq")
class Seq2SeqTranslator(keras_hub.models.Seq2SeqLM):
    """An encoder-decoder translator: Backbone + Preprocessor + searches.

    Args:
        backbone: Seq2SeqBackbone.
        preprocessor: Seq2SeqPreprocessor or None. With one, `fit`,
            `evaluate` and `predict` take raw strings (source `x`, target
            `y`); without, the Backbone's token inputs.
        decoding: dict or None. The searches' limits, `Translator`'s
            keyword arguments (`max_input_tokens`, `max_output_tokens`,
            `length_ratio`, `length_offset`); None: its defaults.

    Where it departs from keras-hub: `generate` runs this project's own
    searches (greedy and beam search, as the paper decodes) rather than a
    keras-hub sampler, whose beam sampler decodes to a fixed length without
    the paper's length handling (see `keras_seq2seq.decoding.beam`); and a
    preset is this project's model directory (`config.json`, vocabularies,
    `model.weights.h5`, as `Translator.save` writes it), so every model
    directory, the shipped one included, is a preset as it stands.
    """

    backbone_cls = Seq2SeqBackbone
    preprocessor_cls = Seq2SeqPreprocessor

    def __init__(self, backbone, preprocessor=None, decoding=None, **kwargs):
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.decoding = dict(decoding or {})
        inputs = backbone.input
        outputs = backbone(inputs)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self._translator = None

    def get_config(self):
        return {**super().get_config(), "decoding": self.decoding}

    def compile(self, optimizer="auto", loss="auto", *, weighted_metrics="auto", **kwargs):
        """`keras.Model.compile` with the project's training defaults: Adam
        at 1e-3 with the gradient norm clipped at 5, the token cross-entropy
        averaged over real tokens, and token accuracy."""
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-3, clipnorm=5.0)
        if loss == "auto":
            loss = TokenCrossEntropy()
        if weighted_metrics == "auto":
            weighted_metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        # keras.Model's compile: keras-hub's CausalLM one sets up its samplers.
        keras.Model.compile(self, optimizer=optimizer, loss=loss,
                            weighted_metrics=weighted_metrics, **kwargs)
        self._translator = None  # the weights may change from here on

    def compile_from_config(self, config):
        # What `keras.saving.load_model` calls: compile again with the
        # saved arguments (Keras only warns for an overridden `compile`).
        self.compile(**keras.saving.deserialize_keras_object(config))

    # Generation.

    def config(self):
        """The Seq2SeqConfig of this backbone and preprocessor."""
        preprocessor = self._require_preprocessor()
        shared = (preprocessor.source_tokenizer.vocabulary
                  == preprocessor.target_tokenizer.vocabulary)
        return Seq2SeqConfig(
            source_vocab_size=self.backbone.source_vocab_size,
            target_vocab_size=self.backbone.target_vocab_size,
            reverse_source=preprocessor.reverse_source,
            max_source_length=preprocessor.max_source_length,
            max_target_length=preprocessor.max_target_length,
            lowercase=preprocessor.source_tokenizer.lowercase,
            tokenizer=preprocessor.tokenizer_type,
            shared_vocabulary=shared, min_frequency=preprocessor.min_frequency,
            **{name: getattr(self.backbone.architecture, name) for name in ARCHITECTURE_FIELDS
               if not name.endswith("vocab_size")},
        )

    def translator(self):
        """The `Translator` on this task's layers (built once, shared)."""
        from keras_seq2seq.translator import Translator

        if self._translator is None:
            preprocessor = self._require_preprocessor()
            self._translator = Translator(self.backbone, self.config(),
                                          preprocessor.source_tokenizer,
                                          preprocessor.target_tokenizer,
                                          **self.decoding)
        return self._translator

    def generate(self, inputs, beam_size=5, **kwargs):
        """Translate a string or a list of strings.

        Keyword arguments are `Translator.translate`'s: `alpha`,
        `batch_size`, `n_best`, `unk_penalty`, `no_repeat_ngram`,
        `split_sentences`, `protect_names`, `progress`. Defaults to beam search of width 5,
        as `keras-seq2seq translate`; `beam_size=1` is greedy search.
        """
        return self.translator().translate(inputs, beam_size=beam_size, **kwargs)

    def _require_preprocessor(self):
        if self.preprocessor is None:
            raise ConfigurationError("This task has no preprocessor, so it cannot read text: build "
                                     "it with one (Seq2SeqTranslator(backbone, preprocessor)).")
        return self.preprocessor

    # Presets: the project's model directory.

    @classmethod
    def from_preset(cls, preset, load_weights=True, **kwargs):
        """Load a model directory written by `save_to_preset`, `train` or
        `Translator.save` (a local path; `load_weights=False` keeps the
        fresh initialisation)."""
        from keras_seq2seq.translator import ModelDirectoryError, load

        if not os.path.isfile(os.path.join(str(preset), PRESET_CONFIG)):
            raise ModelDirectoryError(f"{preset} is not a keras-seq2seq model directory "
                                      f"(no {PRESET_CONFIG}).")
        translator = load(str(preset))
        task = translator_task(translator, **kwargs)
        if not load_weights:
            fresh = Seq2SeqBackbone.from_config(task.backbone.get_config())
            task.backbone.set_weights(fresh.get_weights())
        return task

    def save_to_preset(self, preset_dir, weights_dtype="float32"):
        """Write the model directory (`config.json`, vocabularies, weights)."""
        self.translator().save(str(preset_dir), weights_dtype=weights_dtype)



def translator_task(translator, **kwargs):
    """A `Translator` -> the `Seq2SeqTranslator` on the same layers."""
    decoding = {"max_input_tokens": translator.max_input_tokens,
                "max_output_tokens": translator.max_output_tokens,
                "length_ratio": translator.length_ratio,
                "length_offset": translator.length_offset}
    task = Seq2SeqTranslator(translator.model, translator.preprocessor,
                             decoding={**decoding, **kwargs.pop("decoding", {})}, **kwargs)
    task._translator = translator
    return task
