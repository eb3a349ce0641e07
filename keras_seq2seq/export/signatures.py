"""Names, input specs and the `decode_step` function shared by every export
(SavedModel and TFLite, translators and captioners)."""

from __future__ import annotations

import contextlib
import typing

import tensorflow as tf


class DecoderShape(typing.Protocol):
    """What the signatures read of a model config: `Seq2SeqConfig` and
    `CaptionerConfig` both have it (a captioner's attention fields are
    fixed class attributes)."""

    num_layers: int
    units: int
    attention: str
    copy_attention: bool

    @property
    def states_per_layer(self) -> int: ...

# The attention memory the encoder hands to every decoder step.
MEMORY_NAMES = ("encoder_outputs", "attention_keys", "source_mask")
# With copy attention, the source ids (as float32) follow.
COPY_MEMORY_NAME = "source_tokens"


def state_names(config: DecoderShape) -> list[str]:
    """`state_i_j`: state j (h, c for LSTM) of layer i, in the models' order."""
    k = config.states_per_layer
    return [f"state_{i}_{j}" for i in range(config.num_layers) for j in range(k)]


def memory_names(config: DecoderShape) -> list[str]:
    if config.attention == "none":
        return []
    copy = [COPY_MEMORY_NAME] if config.copy_attention else []
    return list(MEMORY_NAMES) + copy


def decode_step_specs(config: DecoderShape, source_length=None):
    """Input specs of `decode_step`: token, the states, the memory (if any)."""
    units = config.units
    specs = [tf.TensorSpec([None], tf.int32, name="token")]
    specs += [tf.TensorSpec([None, units], tf.float32, name=n) for n in state_names(config)]
    if config.attention != "none":
        specs += [
            tf.TensorSpec([None, source_length, units], tf.float32, name="encoder_outputs"),
            tf.TensorSpec([None, source_length, units], tf.float32, name="attention_keys"),
            tf.TensorSpec([None, source_length], tf.float32, name="source_mask"),
        ]
        if config.copy_attention:
            specs.append(tf.TensorSpec([None, source_length], tf.float32, name=COPY_MEMORY_NAME))
    return specs


def decode_step_function(decoder_step_model, config: DecoderShape, source_length=None,
                         frozen=None):
    """The `decode_step` signature: `token` + states (+ memory) -> `logits` +
    the new states, named `state_i_j`. `frozen` (TFLite) is a context
    factory under which the weights are constants."""
    names = state_names(config)

    @tf.function(input_signature=decode_step_specs(config, source_length))
    def decode_step(token, *inputs):
        with frozen() if frozen is not None else contextlib.nullcontext():
            logits, *new_states = decoder_step_model([token, *inputs], training=False)
        return {"logits": logits, **dict(zip(names, new_states))}

    return decode_step
