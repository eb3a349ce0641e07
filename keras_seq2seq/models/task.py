"""The translator as a keras-hub task: `Seq2SeqTranslator`, a Seq2SeqLM.

    task = Seq2SeqTranslator.from_preset("en-fr")       # the shipped model
    task.generate(["Nice to meet you."])                # this project's searches
    task.fit(x=["Thank you."], y=["Merci."], epochs=1)  # raw string pairs
    task.save("en-fr.keras")                            # keras.saving.load_model
    task.save_to_preset("my-model")                     # from_preset("my-model")

The task wraps a `Seq2SeqBackbone` and a `Seq2SeqPreprocessor`; `generate`
runs a `Translator` built on the same layers, so the greedy and beam
searches, the length and `<unk>` penalties, n-gram blocking, n-best lists
and sentence splitting are the project's, as with `keras-seq2seq translate`,
and so are the decoding settings (`DecodingConfig`), stored with the model.
"""

from __future__ import annotations

import os

import keras
import keras_hub

from keras_seq2seq._lazy import register_keras_class
from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.models.config import ARCHITECTURE_FIELDS, Seq2SeqConfig
from keras_seq2seq.models.preprocessor import Seq2SeqPreprocessor
from keras_seq2seq.models.seq2seq import Seq2SeqBackbone
from keras_seq2seq.settings import DecodingConfig
from keras_seq2seq.training.losses import TokenCrossEntropy

# The model directory a preset is: `Translator.save`'s config.json, with
# the vocabularies and weights beside it.
PRESET_CONFIG = "config.json"


def _decoding_config(decoding) -> DecodingConfig:
    if isinstance(decoding, DecodingConfig):
        return decoding
    return DecodingConfig.from_dict(decoding)


@register_keras_class
class Seq2SeqTranslator(keras_hub.models.Seq2SeqLM):
    """An encoder-decoder translator: Backbone + Preprocessor + searches.

    Args:
        backbone: Seq2SeqBackbone.
        preprocessor: Seq2SeqPreprocessor or None. With one, `fit`,
            `evaluate` and `predict` take raw text: source strings `x` and
            target strings `y`, or keras-hub's dict `x = {"encoder_text",
            "decoder_text"}`; without, the Backbone's token inputs.
        decoding: `keras_seq2seq.settings.DecodingConfig`, its dict, or
            None (the defaults: beam search of width 5). How `generate`
            translates unless a call says otherwise; saved with the task
            (`get_config`, a preset's config.json).

    Inputs and outputs: `predict` gives the teacher-forced logits (B, T,
    target_vocab_size) of the decoder tokens; on source strings alone
    (no target prefix) the decoder reads `<start>` only, so T is 1 (the
    distribution of the first target token), as keras-hub's `generate`
    starts from an empty prefix. `generate` gives translations (strings).

    Where it departs from keras-hub: `generate` runs this project's own
    searches (greedy and beam search, as the paper decodes, with its
    length limits and penalties: `DecodingConfig`) rather than a keras-hub
    sampler, whose beam sampler decodes to a fixed length; and a preset is
    this project's model directory (`config.json`, vocabularies,
    `model.weights.h5`, as `Translator.save` writes it), named as in
    `keras_seq2seq.presets` ("en-fr": the shipped model of a checkout).

    Example:

    >>> task = Seq2SeqTranslator.from_preset("en-fr")
    >>> task.decoding.beam_size
    5
    >>> task.generate("Thank you.", beam_size=1)
    'Merci.'
    """

    backbone_cls = Seq2SeqBackbone
    preprocessor_cls = Seq2SeqPreprocessor

    def __init__(self, backbone: Seq2SeqBackbone,
                 preprocessor: Seq2SeqPreprocessor | None = None,
                 decoding: DecodingConfig | dict | None = None, **kwargs):
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.decoding = _decoding_config(decoding)
        inputs = backbone.input
        outputs = backbone(inputs)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self._translator = None

    def get_config(self) -> dict:
        return {**super().get_config(), "decoding": self.decoding.to_dict()}

    def compile(self, optimizer="auto", loss="auto", *, weighted_metrics="auto", **kwargs):
        """`keras.Model.compile` with the project's training defaults: Adam
        at 1e-3 with the gradient norm clipped at 5, the token cross-entropy
        averaged over real tokens, and token accuracy."""
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-3, clipnorm=5.0)
        if loss == "auto":  # a copy-attention backbone outputs log-probabilities
            loss = TokenCrossEntropy(
                log_probabilities=self.backbone.architecture.copy_attention)
        if weighted_metrics == "auto":
            weighted_metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        # keras.Model's compile: keras-hub's CausalLM one sets up its samplers.
        keras.Model.compile(self, optimizer=optimizer, loss=loss,
                            weighted_metrics=weighted_metrics, **kwargs)
        self._translator = None  # the weights may change from here on

    def compile_from_config(self, config: dict) -> None:
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
        """The `Translator` on this task's layers and decoding settings
        (built once, shared)."""
        from keras_seq2seq.translator import Translator

        if self._translator is None:
            preprocessor = self._require_preprocessor()
            self._translator = Translator(self.backbone, self.config(),
                                          preprocessor.source_tokenizer,
                                          preprocessor.target_tokenizer,
                                          decoding=self.decoding)
        return self._translator

    def generate(self, inputs, decoding: DecodingConfig | dict | None = None, **changes):
        """Translate a string or a list of strings.

        Args:
            inputs: str or list of str.
            decoding: DecodingConfig, dict or None. None: the task's own
                settings (`self.decoding`: beam 5 unless the model stores
                otherwise).
            **changes: `DecodingConfig` fields to change for this call
                (`beam_size=1` is greedy search, `alpha`, `unk_penalty`,
                ...), and `Translator.translate`'s other keywords
                (`batch_size`, `n_best`, `progress`).

        Returns:
            str or list of str, as `Translator.translate`.
        """
        return self.translator().translate(inputs, decoding, **changes)

    def _require_preprocessor(self) -> Seq2SeqPreprocessor:
        if self.preprocessor is None:
            raise ConfigurationError("This task has no preprocessor, so it cannot read text: build "
                                     "it with one (Seq2SeqTranslator(backbone, preprocessor)).")
        return self.preprocessor

    # Presets: the project's model directories (keras_seq2seq.presets).

    @classmethod
    def from_preset(cls, preset: str | os.PathLike, load_weights: bool = True,
                    **kwargs) -> Seq2SeqTranslator:
        """Load a preset: a name of `keras_seq2seq.presets.list_presets()`
        ("en-fr", the shipped model of a checkout) or the path of a model
        directory written by `save_to_preset`, `train` or `Translator.save`.

        Args:
            preset: str or path.
            load_weights: bool. False keeps the fresh initialisation.
            **kwargs: passed to the task (e.g. `decoding`: a DecodingConfig,
                or a dict of the fields to change from the stored ones).

        Raises:
            ConfigurationError: an unknown name (listing the presets).
            ModelDirectoryError: a path that is no model directory.
        """
        from keras_seq2seq.model_directory import ModelDirectoryError
        from keras_seq2seq.presets import resolve_preset
        from keras_seq2seq.translator import load_translator

        directory = resolve_preset(preset)
        if not os.path.isfile(os.path.join(directory, PRESET_CONFIG)):
            raise ModelDirectoryError(f"{directory} is not a keras-seq2seq model directory "
                                      f"(no {PRESET_CONFIG}).")
        task = translator_task(load_translator(directory), **kwargs)
        if not load_weights:
            fresh = Seq2SeqBackbone.from_config(task.backbone.get_config())
            task.backbone.set_weights(fresh.get_weights())
        return task

    def save_to_preset(self, preset_dir: str | os.PathLike,
                       weights_dtype: str = "float32") -> None:
        """Write the model directory (`config.json` with the decoding
        settings, vocabularies, weights)."""
        self.translator().save(str(preset_dir), weights_dtype=weights_dtype)


def translator_task(translator, **kwargs) -> Seq2SeqTranslator:
    """A `Translator` -> the `Seq2SeqTranslator` on the same layers and
    decoding settings; `decoding` (a DecodingConfig, or a dict of fields to
    change) and other keywords go to the task."""
    decoding = kwargs.pop("decoding", None)
    if isinstance(decoding, dict):
        decoding = translator.decoding.replace(**decoding)
    task = Seq2SeqTranslator(translator.model, translator.preprocessor,
                             decoding=decoding or translator.decoding, **kwargs)
    if task.decoding == translator.decoding:
        task._translator = translator
    return task
