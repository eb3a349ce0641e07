"""Names and input specs shared by the SavedModel and TFLite signatures."""

import tensorflow as tf

# The attention memory the encoder hands to every decoder step.
MEMORY_NAMES = ("encoder_outputs", "attention_keys", "source_mask")
# With copy attention, the source ids (as float32) follow.
COPY_MEMORY_NAME = "source_tokens"


def state_names(config):
    """`state_i_j`: state j (h, c for LSTM) of layer i, in the models' order."""
    k = config.states_per_layer
    return [f"state_{i}_{j}" for i in range(config.num_layers) for j in range(k)]


def memory_names(config):
    if config.attention == "none":
        return []
    copy = [COPY_MEMORY_NAME] if getattr(config, "copy_attention", False) else []
    return list(MEMORY_NAMES) + copy


def decode_step_specs(config, source_length=None):
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
        if getattr(config, "copy_attention", False):
            specs.append(tf.TensorSpec([None, source_length], tf.float32, name=COPY_MEMORY_NAME))
    return specs
