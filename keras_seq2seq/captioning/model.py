"""The captioning model: CNN -> pooled features -> Dense context -> LSTM decoder.

    images (B, H, W, 3), 0..255
      -> image_encoder: preprocessing, backbone, pooling -> features (B, F)
    caption_model({"image_features": (B, F), "decoder_tokens": (B, T)}):
      features -> image_context: Dense(num_layers * states * units, tanh)
        = the context vector, split into the initial (h, c) of every
          decoder layer
      decoder_tokens -> the translation decoder (same layers, same names,
        `models.seq2seq.apply_decoder`) -> logits (B, T, V)

`build_captioning_models` returns the image encoder, the caption model and
the end-to-end model (images + tokens -> logits) that trains the CNN too.
With a frozen backbone, training runs the caption model on cached features.
"""

import importlib

import keras

from keras_seq2seq.captioning.config import APPLICATIONS, CaptionerConfig
from keras_seq2seq.models.seq2seq import apply_decoder, build_decoder_layers

IMAGE_ENCODER = "image_encoder"
CAPTION_MODEL = "caption_model"
IMAGE_CONTEXT = "image_context"


def _small_cnn(config, images):
    x = keras.layers.Rescaling(1.0 / 255.0, name="rescale")(images)
    for i, filters in enumerate(config.cnn_filters):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv_{i}")(x)
        x = keras.layers.BatchNormalization(name=f"conv_{i}_bn")(x)
        x = keras.layers.ReLU(name=f"conv_{i}_relu")(x)
        x = keras.layers.MaxPooling2D(2, name=f"conv_{i}_pool")(x)
    return x


def _application(config, images):
    class_name, module_name = APPLICATIONS[config.backbone]
    network_class = getattr(keras.applications, class_name)
    preprocess = importlib.import_module(
        f"keras.applications.{module_name}"
    ).preprocess_input
    network = network_class(
        include_top=False,
        weights=config.weights,
        input_shape=(config.image_height, config.image_width, 3),
    )
    network.trainable = config.train_backbone
    # Each network's own preprocessing, inside the model, so exported models
    # take plain 0..255 RGB pixels. (A Lambda is fine here: models are
    # rebuilt from the config and only weights are saved.)
    x = keras.layers.Lambda(preprocess, name="preprocess")(images)
    return network(x, training=config.train_backbone)


def _pool(config, feature_map):
    if config.pooling == "avg":
        return keras.layers.GlobalAveragePooling2D(name="pool")(feature_map)
    if config.pooling == "max":
        return keras.layers.GlobalMaxPooling2D(name="pool")(feature_map)
    return keras.layers.Flatten(name="pool")(feature_map)


def build_image_encoder(config):
    """images (B, H, W, 3) float 0..255 -> features (B, F)."""
    images = keras.Input((config.image_height, config.image_width, 3), name="images")
    if config.backbone == "small_cnn":
        feature_map = _small_cnn(config, images)
    else:
        feature_map = _application(config, images)
    features = _pool(config, feature_map)
    encoder = keras.Model(images, features, name=IMAGE_ENCODER)
    if config.backbone != "small_cnn" and not config.train_backbone:
        encoder.trainable = False
    return encoder


def build_captioning_models(config, target_vocab_size):
    """Build (image_encoder, caption_model, end_to_end) sharing their layers.

    Args:
        config: CaptionerConfig.
        target_vocab_size: int. The caption vocabulary's size.
    """
    if not isinstance(config, CaptionerConfig):
        raise TypeError(f"config must be a CaptionerConfig, got {type(config).__name__}.")
    image_encoder = build_image_encoder(config)
    feature_size = image_encoder.output.shape[-1]

    features = keras.Input((feature_size,), name="image_features")
    decoder_tokens = keras.Input((None,), dtype="int32", name="decoder_tokens")
    x = features
    if config.dropout:
        x = keras.layers.Dropout(config.dropout, name="feature_dropout")(x)
    k = config.states_per_layer
    # The CNN's last dense layer is the context vector: every decoder
    # layer's initial (h, c) is a slice of it.
    context_vector = keras.layers.Dense(
        config.num_layers * k * config.units, activation="tanh", name=IMAGE_CONTEXT
    )(x)
    states = [
        context_vector[:, j * config.units : (j + 1) * config.units]
        for j in range(config.num_layers * k)
    ]
    context = [states[i * k : (i + 1) * k] for i in range(config.num_layers)]
    logits = apply_decoder(
        config, build_decoder_layers(config, target_vocab_size), decoder_tokens, context
    )
    caption_model = keras.Model(
        {"image_features": features, "decoder_tokens": decoder_tokens}, logits,
        name=CAPTION_MODEL,
    )

    images = keras.Input((config.image_height, config.image_width, 3), name="images")
    tokens = keras.Input((None,), dtype="int32", name="decoder_tokens")
    end_to_end = keras.Model(
        {"images": images, "decoder_tokens": tokens},
        caption_model({"image_features": image_encoder(images), "decoder_tokens": tokens}),
        name="captioner",
    )
    return image_encoder, caption_model, end_to_end


def build_context_model(caption_model, config):
    """image_features (B, F) -> the decoder's initial states, flattened."""
    features = keras.Input(caption_model.input["image_features"].shape[1:], name="image_features")
    context_vector = caption_model.get_layer(IMAGE_CONTEXT)(features)
    n = config.num_layers * config.states_per_layer
    states = [context_vector[:, j * config.units : (j + 1) * config.units] for j in range(n)]
    return keras.Model(features, states, name="context_model")
