"""The encoder-decoder of Sutskever et al. (2014) as functional Keras models.

Training graph (teacher forcing):

    encoder_tokens (B, S) -> encoder_embedding -> encoder_rnn_0 ... _{N-1}
        final (h, c) of every layer = the context vector
        [bidirectional encoder: encoder_rnn_0 reads both ways, units / 2
         each, outputs and states concatenated]
    decoder_tokens (B, T) -> decoder_embedding -> decoder_rnn_0 ... _{N-1}
        (layer i starts from encoder layer i's final states)
        [attention: attention over the top encoder layer's outputs ->
         attention_projection tanh(W [context; h]); dropout on the top
         decoder layer's outputs, or with dropout_after_attention on this
         attentional state]
        -> output_projection -> logits (B, T, target_vocab)
        [copy attention: log(g softmax(logits) + (1 - g) copy), where copy
         puts each source token's attention weight on its id and the gate
         g = copy_gate(context, h, y_emb); the model's "logits" are then
         these log-probabilities, which softmax, cross-entropy and the
         searches take as they take logits]

Test phase: `build_inference_models` builds an encoder model and a
one-step decoder model from the same layers, the Seq2SeqBackbone's
attributes.
"""

from __future__ import annotations

import contextlib
import contextvars
import warnings

import keras
import keras_hub

from keras_seq2seq._lazy import register_keras_class
from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.models.config import Architecture, Seq2SeqConfig

ENCODER_EMBEDDING = "encoder_embedding"
DECODER_EMBEDDING = "decoder_embedding"
OUTPUT_PROJECTION = "output_projection"
ATTENTION_KEYS = "attention_keys"
ATTENTION = "attention"
ATTENTION_PROJECTION = "attention_projection"
COPY_GATE = "copy_gate"
COPY_DISTRIBUTION = "copy_distribution"
# Copy attention's floor on the gate and on a source token's probability
# before the log: keeps log-probabilities finite where the gate saturates or
# neither softmax nor copy puts mass on a source token.
COPY_EPSILON = 1e-9

# The step model feeds the decoder embedding of one token (whose padding
# mask means nothing) to the LSTM cells, which take no mask; Keras warns
# about that on every call.
warnings.filterwarnings(
    "ignore", message=r"Layer 'decoder_rnn_\d+_cell' .* does not support masking"
)
# A source of a single token gives attention over one position, where
# Keras warns that a softmax over one value is always 1: right, and meant.
warnings.filterwarnings(
    "ignore", message=r"You are using a softmax over axis -1 of a tensor of shape \(.*, 1\)"
)


def encoder_rnn_name(i):
    return f"encoder_rnn_{i}"


def decoder_rnn_name(i):
    return f"decoder_rnn_{i}"


def float32_head_dtype(dtype):
    """The dtype policy of the output layer and the copy gate for a model
    built with `dtype`: float32 where the model computes in 16 bits (the
    softmax over a large vocabulary, and the gate's mixing of
    probabilities, lose accuracy in float16), else `dtype` itself (a
    float32 or quantized policy, or a per-layer policy map, which keys the
    layer by its path)."""
    policy = keras.dtype_policies.get(dtype) if dtype is not None else (
        keras.config.dtype_policy())
    if isinstance(policy, keras.dtype_policies.DTypePolicyMap):
        return dtype
    if policy.quantization_mode is None and policy.compute_dtype in ("float16", "bfloat16"):
        return "float32"
    return dtype


# Set while building layers whose weights a file overwrites at once
# (`weights_to_come`).
_WEIGHTS_TO_COME = contextvars.ContextVar("weights_to_come", default=False)


@contextlib.contextmanager
def weights_to_come():
    """Build a model whose weights are loaded next: its layers start at
    zeros (`initializers`) instead of drawing random values that the file
    then overwrites (loading the shipped model 0.30 -> 0.26 s, medians of
    five rounds of benchmarks/peers/startup.py;
    benchmarks/peers/README.md, "Two batches in flight, the collector
    paused, Grappler once")."""
    token = _WEIGHTS_TO_COME.set(True)
    try:
        yield
    finally:
        _WEIGHTS_TO_COME.reset(token)


def initializers(config, *kinds):
    """Layer keyword arguments for `config.init_scale`: each of `kinds`
    ("kernel", "recurrent", "bias", "embeddings") uniform in [-S, S], a new
    initialiser each (seeded by Keras' global seed, as the defaults are).
    Empty when unset: Keras' initialisers. (CaptionerConfig has no
    init_scale field: captioners keep Keras' initialisers.) Zeros under
    `weights_to_come`."""
    if _WEIGHTS_TO_COME.get():
        return {f"{kind}_initializer": "zeros" for kind in kinds}
    scale = getattr(config, "init_scale", None)
    if not scale:
        return {}
    return {f"{kind}_initializer": keras.initializers.RandomUniform(-scale, scale)
            for kind in kinds}


def _attention_layers(config, dtype=None):
    # Luong et al. 2015, global attention with the "general" score
    # h_t . (W_a h_s): the keys W_a h_s are computed once per source, Keras'
    # dot-product Attention does the softmax and weighted sum, and
    # tanh(W_c [c_t; h_t]) is the attentional state fed to the output layer.
    layers = (
        keras.layers.Dense(config.units, use_bias=False, name=ATTENTION_KEYS, dtype=dtype,
                           **initializers(config, "kernel")),
        keras.layers.Attention(name=ATTENTION, dtype=dtype),
        keras.layers.Dense(config.units, activation="tanh", name=ATTENTION_PROJECTION,
                           dtype=dtype, **initializers(config, "kernel", "bias")),
    )
    if config.copy_attention:
        # float32 under mixed precision: the gate scales probabilities that
        # are mixed in float32.
        layers += (keras.layers.Dense(1, activation="sigmoid", name=COPY_GATE,
                                      dtype=float32_head_dtype(dtype),
                                      **initializers(config, "kernel", "bias")),)
    return layers


def _attend(model_or_layers, query, values, keys, source_mask, dtype=None, one_step=False):
    """Attentional state for queries (B, T, units) over the source memory.

    Returns (state (B, T, units), context (B, T, units), weights (B, T, S));
    with `one_step` (T = 1, a decoding step) the state is (B, units).
    """
    attention, projection = model_or_layers[1:3]
    context, weights = attention(
        [query, values, keys], mask=[None, source_mask], return_attention_scores=True
    )
    joined = keras.layers.Concatenate(dtype=dtype)([context, query])
    if one_step:
        # A Dense layer on a (B, units) matrix is one MatMul, which TensorFlow
        # fuses with its bias and activation; on (B, 1, units) it is a
        # Tensordot (reshapes around the MatMul) with a separate BiasAdd.
        joined = joined[:, 0]
    return projection(joined), context, weights


def copy_log_probs(logits, weights, gate, source_tokens):
    """Copy attention's output distribution, as log-probabilities.

    `log(g * softmax(logits) + (1 - g) * sum_s weights_s onehot(source_s))`:
    logits (B, T, V), attention weights (B, T, S), gate (B, T, 1) and the
    source ids (B, S), which index the (shared) target vocabulary. Padding
    gets no weight, as the attention masks it.

    A token that is not in the source gets `log g + log_softmax(logits)`;
    that is computed for every token, and the S source positions are then
    corrected by a scatter-add of (B, T, S) values. Each dense (B, T, V)
    pass counts (with beam 5 and a batch of 64, 320 rows of 8,000 floats
    per search step; 128 x T x 8,000 per training step, twice with the
    gradient): this takes 6 where mixing two dense distributions and taking
    the log took 9, and its result needs no further log_softmax. Called on
    tensors (`CopyDistribution` calls it in a model), as the scatter's
    shape is the logits' runtime shape.
    """
    batch, time, length = keras.ops.shape(weights)
    vocab_size = logits.shape[-1]
    log_generated = keras.ops.log_softmax(logits, axis=-1)
    log_gate = keras.ops.log(keras.ops.maximum(gate, COPY_EPSILON))
    ids = keras.ops.cast(source_tokens, "int32")  # (B, S)
    grid = (batch, time, length)
    columns = keras.ops.broadcast_to(keras.ops.expand_dims(ids, 1), grid)
    # At a source position: the copy mass of its token (every position
    # holding the same id adds up) and its generated log-probability.
    same = keras.ops.cast(keras.ops.equal(keras.ops.expand_dims(ids, 2),
                                          keras.ops.expand_dims(ids, 1)), "float32")
    mass = keras.ops.matmul(keras.ops.cast(weights, "float32"), same)  # (B, T, S)
    rows = keras.ops.broadcast_to(keras.ops.reshape(keras.ops.arange(batch), (-1, 1, 1)), grid)
    steps = keras.ops.broadcast_to(keras.ops.reshape(keras.ops.arange(time), (1, -1, 1)), grid)
    at = keras.ops.stack([rows, steps, columns], axis=-1)  # (B, T, S, 3)
    generated_at = _take_at(log_generated, at, columns)
    mixed_at = keras.ops.log(keras.ops.maximum(
        gate * keras.ops.exp(generated_at) + (1.0 - gate) * mass, COPY_EPSILON))
    # The scatter adds repeated ids up: each occurrence brings its share.
    repeats = keras.ops.expand_dims(keras.ops.sum(same, axis=1), 1)  # (B, 1, S)
    correction = (mixed_at - (log_gate + generated_at)) / repeats
    indices = keras.ops.reshape(at, (-1, 3))
    corrections = keras.ops.scatter(indices, keras.ops.reshape(correction, (-1,)),
                                    (batch, time, vocab_size))
    return log_gate + log_generated + corrections


def _take_at(values, at, columns):
    """values (B, T, V) at the (B, T, S) `columns` of the last axis; `at`:
    the same positions as (B, T, S, 3) full indices.

    `keras.ops.take_along_axis` is a batched gather in TensorFlow, whose
    gradient is an UnsortedSegmentSum over the whole (B, T, V) gradient:
    63 ms per training step of the shipped model's shape (128 x 25 x 7,875,
    20 source ids) where `tf.gather_nd`'s, a ScatterNd, takes 16 (the same
    values; benchmarks/peers/README.md, "Training: the copy distribution's
    gradient and the loss"). Keras has no gather_nd, so TensorFlow gets it here and the
    other backends take_along_axis.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.gather_nd(values, at)
    return keras.ops.take_along_axis(values, columns, axis=-1)


class CopyDistribution(keras.layers.Layer):
    """`copy_log_probs` as a layer (no weights): a model's graph calls it
    with runtime shapes. Always float32, like the logits it mixes."""

    def __init__(self, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        # The logits arrive with the decoder's padding mask; the output has
        # none (as the ops this layer replaced gave none): the loss masks
        # padding with its sample weights. Without this, Keras warns that
        # the mask is dropped.
        self.supports_masking = True

    # The gate comes first: Keras orders a functional model's layers by a
    # walk from its outputs through each layer's inputs in order, and
    # `.weights.h5` files name layers by that order (in the shipped model
    # dense_2 is the copy gate and dense_3 the output projection, as they
    # were before this layer existed).
    def call(self, gate, logits, weights, source_tokens):
        return copy_log_probs(logits, weights, gate, source_tokens)

    def compute_mask(self, *args, **kwargs):
        return None

    def compute_output_spec(self, gate, logits, weights, source_tokens):
        return keras.KerasTensor(logits.shape, dtype="float32")


def _recurrent_layer(config, name, dtype=None):
    # Defaults kept on purpose: tanh/sigmoid, no recurrent dropout, a bias,
    # unroll=False and right padding are the conditions under which Keras
    # runs LSTM/GRU with cuDNN kernels on a GPU.
    layer_class = keras.layers.LSTM if config.cell_type == "lstm" else keras.layers.GRU
    init = initializers(config, "kernel", "recurrent", "bias")
    if init and config.cell_type == "lstm":
        init["unit_forget_bias"] = False  # the forget gate's bias uniform too, not 1 + it
    layer = layer_class(config.units, return_sequences=True, return_state=True, name=name,
                        dtype=dtype, **init)
    # Keras names every cell "lstm_cell" (or "gru_cell"); the decoder-step
    # model calls the cells themselves, and a functional model needs unique
    # layer names.
    layer.cell.name = f"{name}_cell"
    return layer


def _encoder_layers(config, dtype=None):
    layers = [_recurrent_layer(config, encoder_rnn_name(i), dtype)
              for i in range(config.num_layers)]
    if config.bidirectional_encoder:
        half = _recurrent_layer(config.replace(units=config.units // 2), "encoder_rnn_0_half",
                                dtype)
        layers[0] = keras.layers.Bidirectional(half, merge_mode="concat",
                                               name=encoder_rnn_name(0), dtype=dtype)
    return layers


def apply_encoder(config, encoder_rnns, x, dropout=True, dtype=None):
    """Embedded source (B, S, E) -> (top layer's outputs (B, S, units),
    [per layer: its final states, [h, c] (LSTM) or [h] (GRU), each
    (B, units)]). A bidirectional bottom layer returns each state of its
    two directions, (B, units / 2) each, which are concatenated, forward
    first, as its outputs are: the decoder's layer 0 starts from them."""
    context = []
    for i, rnn in enumerate(encoder_rnns):
        x, *states = rnn(x)  # per-step outputs feed the next layer only
        if isinstance(rnn, keras.layers.Bidirectional):
            half = len(states) // 2
            states = [keras.ops.concatenate([f, b], axis=-1)
                      for f, b in zip(states[:half], states[half:])]
        context.append(states)
        if dropout and config.dropout and i < config.num_layers - 1:
            x = keras.layers.Dropout(config.dropout, name=f"encoder_dropout_{i}",
                                     dtype=dtype)(x)
    return x, context


def build_decoder_layers(config, target_vocab_size, dtype=None):
    """(decoder_embedding, [decoder_rnn_i], output_projection), named so that
    `build_decoder_step_model` finds them. Shared by the translation and the
    captioning models: the decoder is the same, only its context differs."""
    embedding = keras.layers.Embedding(
        target_vocab_size, config.embedding_dim, mask_zero=True, name=DECODER_EMBEDDING,
        dtype=dtype, **initializers(config, "embeddings"),
    )
    rnns = [_recurrent_layer(config, decoder_rnn_name(i), dtype)
            for i in range(config.num_layers)]
    # float32 logits under a mixed-precision policy: the softmax over a large
    # vocabulary is where float16 loses accuracy.
    output_projection = keras.layers.Dense(
        target_vocab_size, name=OUTPUT_PROJECTION, dtype=float32_head_dtype(dtype),
        **initializers(config, "kernel", "bias"),
    )
    return embedding, rnns, output_projection


def apply_decoder(config, decoder_layers, decoder_tokens, context, attention_layers=None,
                  memory=None, dtype=None):
    """Teacher-forcing decoder: tokens (B, T) -> logits (B, T, V).

    `context` holds, per layer, the initial states ([h, c] or [h], each
    (B, units)); `memory` is (encoder outputs, attention keys, source mask)
    when `attention_layers` are given.
    """
    embedding, rnns, output_projection = decoder_layers
    y = embedding(decoder_tokens)  # (batch, target_time, embedding_dim)
    # (CaptionerConfig has no embedding_dropout field: captioners train
    # without it.)
    embedding_dropout = config.embedding_dropout
    if embedding_dropout:
        y = keras.layers.Dropout(embedding_dropout, name="decoder_embedding_dropout",
                                 dtype=dtype)(y)
    embedded = y
    after_attention = attention_layers is not None and config.dropout_after_attention
    for i, rnn in enumerate(rnns):
        y, *_ = rnn(y, initial_state=context[i])
        if config.dropout and not (after_attention and i == len(rnns) - 1):
            y = keras.layers.Dropout(config.dropout, name=f"decoder_dropout_{i}",
                                     dtype=dtype)(y)
    if attention_layers is None:
        return output_projection(y)  # (batch, target_time, target_vocab_size)
    values, keys, source_mask = memory[:3]
    query = y
    y, context, weights = _attend(attention_layers, query, values, keys, source_mask, dtype)
    if config.dropout and after_attention:
        y = keras.layers.Dropout(config.dropout, name="attention_dropout", dtype=dtype)(y)
    logits = output_projection(y)
    if len(attention_layers) < 4:
        return logits
    gate = attention_layers[3](keras.layers.Concatenate(dtype=dtype)([context, query, embedded]))
    return CopyDistribution(name=COPY_DISTRIBUTION)(gate, logits, weights, memory[3])


@register_keras_class
class Seq2SeqBackbone(keras_hub.models.Backbone):
    """The encoder-decoder of Sutskever et al. (2014) as a keras-hub Backbone.

    A functional `keras.Model` (see the module docstring for its graph)
    whose layers are also attributes: `encoder_embedding`, `encoder_rnns`,
    `decoder_embedding`, `decoder_rnns`, `output_projection` and, with
    attention, `attention_layers` (keys, attention, projection[, copy
    gate]). `get_config` / `from_config` rebuild it; `build_inference_models`
    derives the test-phase encoder and decoder-step models from the
    attributes.

    Inputs `{"encoder_tokens": (B, S), "decoder_tokens": (B, T)}` (int32,
    0 = padding on the right; the source already reversed when the model
    reads it reversed), output (B, T, target_vocab_size).

    Where it departs from keras-hub's backbones:
    - it ends at the logits (the log-probabilities with copy attention),
      not at hidden states that a task projects onto the vocabulary:
      copy attention mixes the output softmax with the attention weights
      inside the network, and every search and export takes its output as
      it is;
    - under a 16-bit policy (`dtype="mixed_float16"`...) the output layer
      and the copy gate compute in float32, and so does the output: the
      softmax over a large vocabulary is where float16 loses accuracy.

    Args:
        source_vocab_size: int. Source vocabulary size.
        target_vocab_size: int. Target vocabulary size.
        embedding_dim, units, num_layers, cell_type, dropout,
        embedding_dropout, attention, copy_attention,
        bidirectional_encoder, dropout_after_attention, init_scale: as in
        `Seq2SeqConfig`.
        dtype: dtype policy (name, `keras.DTypePolicy` or
            `keras.dtype_policies.DTypePolicyMap`) of the layers. None:
            Keras's global policy.

    Example:

    >>> import numpy as np
    >>> backbone = Seq2SeqBackbone(source_vocab_size=20, target_vocab_size=24,
    ...                            embedding_dim=8, units=16)
    >>> logits = backbone({"encoder_tokens": np.array([[5, 6, 7]]),
    ...                    "decoder_tokens": np.array([[1, 9]])})
    >>> tuple(logits.shape)
    (1, 2, 24)
    """

    def __init__(self, source_vocab_size: int, target_vocab_size: int, embedding_dim: int = 256,
                 units: int = 512, num_layers: int = 1, cell_type: str = "lstm",
                 dropout: float = 0.0, embedding_dropout: float = 0.0, attention: str = "none",
                 copy_attention: bool = False, bidirectional_encoder: bool = False,
                 dropout_after_attention: bool = False, init_scale: float | None = None,
                 dtype=None, **kwargs):
        # The network's shape, checked (the same checks as Seq2SeqConfig's).
        config = Architecture(
            source_vocab_size=source_vocab_size, target_vocab_size=target_vocab_size,
            embedding_dim=embedding_dim, units=units, num_layers=num_layers,
            cell_type=cell_type, dropout=dropout, embedding_dropout=embedding_dropout,
            attention=attention, copy_attention=copy_attention,
            bidirectional_encoder=bidirectional_encoder,
            dropout_after_attention=dropout_after_attention, init_scale=init_scale,
        )
        # Layers.
        self.encoder_embedding = keras.layers.Embedding(
            source_vocab_size, embedding_dim, mask_zero=True, name=ENCODER_EMBEDDING,
            dtype=dtype, **initializers(config, "embeddings"),
        )
        self.encoder_rnns = _encoder_layers(config, dtype)
        self.decoder_embedding, self.decoder_rnns, self.output_projection = (
            build_decoder_layers(config, target_vocab_size, dtype))
        self.attention_layers = (_attention_layers(config, dtype) if attention != "none"
                                 else None)

        # Functional model.
        encoder_tokens = keras.Input(shape=(None,), dtype="int32", name="encoder_tokens")
        decoder_tokens = keras.Input(shape=(None,), dtype="int32", name="decoder_tokens")
        x = self.encoder_embedding(encoder_tokens)  # (batch, source_time, embedding_dim)
        if embedding_dropout:
            x = keras.layers.Dropout(embedding_dropout, name="encoder_embedding_dropout",
                                     dtype=dtype)(x)
        x, context = apply_encoder(config, self.encoder_rnns, x, dtype=dtype)
        memory = None
        if self.attention_layers is not None:
            source_mask = keras.ops.not_equal(encoder_tokens, 0)  # (batch, source_time)
            memory = (x, self.attention_layers[0](x), source_mask)  # keys (B, S, units)
            if copy_attention:
                memory += (encoder_tokens,)
        decoder_layers = (self.decoder_embedding, self.decoder_rnns, self.output_projection)
        logits = apply_decoder(config, decoder_layers, decoder_tokens, context,
                               self.attention_layers, memory, dtype=dtype)
        # keras-hub's naming: the class name in snake case. (The name is no
        # part of the weights' paths: earlier "seq2seq" files load as ever.)
        kwargs.setdefault("name", "seq2_seq_backbone")
        super().__init__(
            inputs={"encoder_tokens": encoder_tokens, "decoder_tokens": decoder_tokens},
            outputs=logits, dtype=dtype, **kwargs,
        )
        self.source_vocab_size = source_vocab_size
        self.target_vocab_size = target_vocab_size
        self.architecture = config

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(self.architecture.to_dict())
        return config


def build_training_model(config, source_vocab_size=None, target_vocab_size=None):
    """Build the teacher-forcing training model: a `Seq2SeqBackbone`.

    Args:
        config: Seq2SeqConfig.
        source_vocab_size: int or None. Actual source vocabulary size.
            Defaults to `config.source_vocab_size`.
        target_vocab_size: int or None. Actual target vocabulary size.
            Defaults to `config.target_vocab_size`.

    Returns:
        A Seq2SeqBackbone with inputs `{"encoder_tokens": (B, S),
        "decoder_tokens": (B, T)}` (int32, 0 = padding, on the right) and
        output logits (B, T, target_vocab_size).
    """
    if not isinstance(config, Seq2SeqConfig):
        raise TypeError(f"config must be a Seq2SeqConfig, got {type(config).__name__}.")
    return Seq2SeqBackbone(
        **config.architecture_with(source_vocab_size, target_vocab_size).to_dict())


class _Parts:
    """The trained layers the test-phase models are built from: a
    Seq2SeqBackbone's attributes, or (a captioner's caption model, a plain
    functional model) its layers found by their names."""

    def __init__(self, model, config):
        if isinstance(model, Seq2SeqBackbone):
            self.encoder_embedding = model.encoder_embedding
            self.encoder_rnns = model.encoder_rnns
            self.decoder_embedding = model.decoder_embedding
            self.decoder_rnns = model.decoder_rnns
            self.output_projection = model.output_projection
            self.attention_layers = model.attention_layers
            return
        self.decoder_embedding = model.get_layer(DECODER_EMBEDDING)
        self.decoder_rnns = [model.get_layer(decoder_rnn_name(i))
                             for i in range(config.num_layers)]
        self.output_projection = model.get_layer(OUTPUT_PROJECTION)
        self.attention_layers = None
        if config.attention != "none":
            names = (ATTENTION_KEYS, ATTENTION, ATTENTION_PROJECTION)
            names += (COPY_GATE,) if config.copy_attention else ()
            self.attention_layers = tuple(model.get_layer(n) for n in names)


def build_inference_models(model, config):
    """Build the test-phase models from a training model's layers.

    Returns:
        (encoder_model, decoder_step_model):
        - `encoder_model(encoder_tokens (B, S)) -> [states...]`, the final
          states of every encoder layer, flattened: h0, c0, h1, c1, ...
          (LSTM) or h0, h1, ... (GRU), each (B, units); with attention,
          followed by the memory: outputs (B, S, units), keys (B, S,
          units) and the source mask (B, S) as float32 (1 = word), and
          with copy attention the source ids (B, S) as float32 (exact
          below 2^24), so that every memory tensor is float32;
        - `decoder_step_model([token (B,), *states, *memory]) -> [logits
          (B, V), *new_states]`, one decoder step, run with each layer's
          cell so it has no time loop (this is also what converts to
          TFLite).
    """
    parts = _Parts(model, config)
    encoder_tokens = keras.Input(shape=(None,), dtype="int32", name="encoder_tokens")
    x = parts.encoder_embedding(encoder_tokens)
    x, context = apply_encoder(config, parts.encoder_rnns, x, dropout=False)
    states = [state for layer_states in context for state in layer_states]
    memory = []
    if parts.attention_layers is not None:
        source_mask = keras.ops.cast(keras.ops.not_equal(encoder_tokens, 0), "float32")
        memory = [x, parts.attention_layers[0](x), source_mask]
        if config.copy_attention:
            memory.append(keras.ops.cast(encoder_tokens, "float32"))
    encoder_model = keras.Model(encoder_tokens, states + memory, name="encoder_model")
    return encoder_model, build_decoder_step_model(model, config)


def build_decoder_step_model(model, config, attention_outputs=False):
    """The one-step decoder model (see `build_inference_models`) from the
    layers of `model`, found by name: `[token (B,), *states, *memory] ->
    [logits (B, V), *new_states]`.

    With `attention_outputs` (an attention model), the outputs end with the
    step's attention weights over the source (B, S) and, for copy
    attention, the gate (B, 1) (the share of generating rather than
    copying): what `keras-seq2seq explore` draws. The logits and states
    are the same computation."""
    parts = _Parts(model, config)
    attention = parts.attention_layers is not None
    copy = config.copy_attention
    k = config.states_per_layer
    token = keras.Input(shape=(), dtype="int32", name="token")
    state_inputs = [
        keras.Input(shape=(config.units,), name=f"state_{i}_{j}")
        for i in range(config.num_layers)
        for j in range(k)
    ]
    y = parts.decoder_embedding(token)  # (batch, embedding_dim)
    embedded = y
    new_states = []
    for i, rnn in enumerate(parts.decoder_rnns):
        y, layer_states = rnn.cell(y, state_inputs[i * k : (i + 1) * k])  # (batch, units)
        if not isinstance(layer_states, (list, tuple)):
            layer_states = [layer_states]
        new_states.extend(layer_states)
    memory_inputs = []
    if attention:
        memory_inputs = [
            keras.Input(shape=(None, config.units), name="encoder_outputs"),
            keras.Input(shape=(None, config.units), name="attention_keys"),
            keras.Input(shape=(None,), name="source_mask"),
        ]
        if copy:
            memory_inputs.append(keras.Input(shape=(None,), name="source_tokens"))
        values, keys, mask = memory_inputs[:3]
        query = keras.ops.expand_dims(y, 1)  # (batch, 1, units)
        state, context, weights = _attend(parts.attention_layers, query, values, keys,
                                          keras.ops.cast(mask, "bool"), one_step=True)
        # On the (batch, units) state, so that the output layer's MatMul and
        # bias are one fused op (benchmarks/peers/README.md, "Decoding: the
        # step's matrices").
        logits = keras.ops.expand_dims(parts.output_projection(state), 1)  # (batch, 1, vocab)
        if copy:
            gate = parts.attention_layers[3](keras.layers.Concatenate()(
                [context, query, keras.ops.expand_dims(embedded, 1)]
            ))
            logits = CopyDistribution(name=COPY_DISTRIBUTION)(
                gate, logits, weights, memory_inputs[3])
        logits = logits[:, 0]
        if attention_outputs:
            new_states = [*new_states, weights[:, 0]] + ([gate[:, 0]] if copy else [])
    else:
        logits = parts.output_projection(y)  # (batch, target_vocab_size)
    return keras.Model(
        [token, *state_inputs, *memory_inputs], [logits, *new_states], name="decoder_step_model"
    )


def count_parameters(model):
    """(total, recurrent) parameter counts of a training model."""
    total = model.count_params()
    recurrent = sum(
        layer.count_params()
        for layer in model.layers
        if layer.name.startswith(("encoder_rnn_", "decoder_rnn_"))
    )
    return total, recurrent


def build_alignment_model(model, config):
    """Where the attention looks for each target token, under teacher forcing.

    `[decoder_tokens (B, T), *states, attention_keys (B, S, units),
    source_mask (B, S)] -> positions int32 (B, T)`: for each decoder input
    token, the source position of the highest attention score (Luong's
    h_t . W_a h_s) of the top decoder layer, padding excluded. Given the
    tokens a search chose (`<start>` + all but the last), these are the
    alignments the search's own steps computed, as the decoder is
    deterministic at inference; `<unk>` replacement uses them.
    """
    if config.attention == "none":
        raise ConfigurationError("Alignments need a model with attention.")
    k = config.states_per_layer
    decoder_tokens = keras.Input(shape=(None,), dtype="int32", name="decoder_tokens")
    state_inputs = [
        keras.Input(shape=(config.units,), name=f"state_{i}_{j}")
        for i in range(config.num_layers)
        for j in range(k)
    ]
    keys = keras.Input(shape=(None, config.units), name="attention_keys")
    mask = keras.Input(shape=(None,), name="source_mask")
    parts = _Parts(model, config)
    y = parts.decoder_embedding(decoder_tokens)
    for i, rnn in enumerate(parts.decoder_rnns):
        y, *_ = rnn(y, initial_state=state_inputs[i * k : (i + 1) * k])
    scores = keras.ops.einsum("btu,bsu->bts", y, keys)  # (batch, target_time, source_time)
    scores = keras.ops.where(keras.ops.expand_dims(mask, 1) > 0, scores, -1e9)
    positions = keras.ops.cast(keras.ops.argmax(scores, axis=-1), "int32")
    return keras.Model([decoder_tokens, *state_inputs, keys, mask], positions,
                       name="alignment_model")
