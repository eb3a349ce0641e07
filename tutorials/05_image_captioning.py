"""
Title: Image captioning with the translation decoder
Author: keras-seq2seq developers
Date created: 2026/11/25
Description: A CNN reads an image; its last dense layer becomes the context
    vector that starts the LSTM decoder, which writes the caption word by word.
Accelerator: None
"""

"""
## Introduction

In translation, the encoder LSTM reads a sentence and hands its final states,
the *context vector*, to the decoder. Nothing in the decoder cares where that
context came from. Karpathy & Fei-Fei (2015) replaced the encoder by a
convolutional network: the image goes through the CNN, a dense layer turns
its features into the initial (h, c) of the decoder, and the decoder writes a
caption exactly as it would write a French sentence.

keras-seq2seq builds the captioner from the same decoder layers, the same
teacher forcing, the same one-step decoder model, the same greedy and beam
search, and the same exports.

No photo collection can be downloaded here, so we caption pictures built from
real handwritten digits (scikit-learn's 1,797 8x8 digits): canvases with one
to four digits, captioned left to right. The digit images are split between
training, validation and test *before* composing canvases, so the test digits
were never seen in training.

Set `TUTORIAL_QUICK=1` to run at a reduced size (the test suite does this).
"""

"""
## Setup
"""

import os

import numpy as np
import tensorflow as tf

from keras_seq2seq.captioning import CaptionerConfig, build_captioning_models, train_captioner
from keras_seq2seq.captioning.config import CaptionerTrainingConfig
from keras_seq2seq.captioning.digits import digits_corpora
from keras_seq2seq.captioning.export import export_captioner_saved_model

QUICK = os.environ.get("TUTORIAL_QUICK") == "1"
OUT = os.environ.get("TUTORIAL_OUT", "tutorial_outputs")
os.makedirs(OUT, exist_ok=True)

"""
## The data

Augmentation matters here: the benchmark (`benchmarks/captioning_digits.py`)
reads 86.8% of the test canvases exactly without it, 90.2% with widths and
brightness varied, and 96.0% once the training digits are also rotated and
slanted.
"""

train, validation, test = digits_corpora(
    train=1500 if QUICK else 30000, validation=100 if QUICK else 1000,
    test=50 if QUICK else 2000,
    # Training canvases only: vary each digit's width and brightness, rotate
    # it and slant it. With 1,257 training digit images, the CNN otherwise
    # learns those images by heart instead of what digits look like.
    augment_train=True,
)
print("training canvases:", train.images.shape)
for index, caption in train.pairs[:3]:
    print(f"canvas {index}: {caption}")
shared = set(sum(train.digits, [])) & set(sum(test.digits, []))
print("digit images in both training and test:", len(shared))

"""
## The model

The config chooses the CNN: here a small one trained from scratch, whose last
feature map is *flattened* rather than averaged, so the context vector still
knows which digit is left of which. For photos you would take a
`keras.applications` network such as `mobilenet_v2` with ImageNet weights,
frozen, and let training cache its features.
"""

config = CaptionerConfig(
    backbone="small_cnn", image_height=32, image_width=96, pooling="flatten",
    cnn_filters=(16, 32) if QUICK else (32, 64, 128), units=64 if QUICK else 512,
    embedding_dim=32 if QUICK else 64, dropout=0.2, max_target_length=12,
)
image_encoder, caption_model, end_to_end = build_captioning_models(config, target_vocab_size=20)
print("image features:", image_encoder.output.shape)
print("context vector:", caption_model.get_layer("image_context").output.shape,
      "= initial h and c of the decoder LSTM")
print("decoder layers shared with translation:",
      [layer.name for layer in caption_model.layers if layer.name.startswith("decoder")])

"""
## Training

`train_captioner` builds the caption vocabulary, trains with `model.fit`
(teacher forcing: the decoder reads `<start> three handwritten ...` and learns
to predict the next word) and keeps the epoch with the best validation loss.
A model this small needs a few epochs before it starts to use the image at
all: first it learns the caption grammar, then to count, then to read.
The run's settings are one `CaptionerTrainingConfig` (the model and the
optimisation; the corpora are given here, so its data source stays unset),
kept in the run directory as `training_config.json`.
"""

run = CaptionerTrainingConfig.create(
    os.path.join(OUT, "05_captioner"), config,
    epochs=3 if QUICK else 40, batch_size=64, learning_rate=1e-3,
    # Halve the rate after 3 epochs without a lower validation loss (the
    # validation loss of a CNN trained from scratch jumps between epochs).
    lr_schedule="plateau", lr_patience=3,
    max_minutes=None if QUICK else 55,
)
captioner, history = train_captioner(run, train_corpus=train, validation_corpus=validation,
                                     verbose=2)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

plt.figure(figsize=(5, 3))
plt.plot(history.history["loss"], label="training")
plt.plot(history.history["val_loss"], label="validation")
plt.xlabel("epoch")
plt.ylabel("cross-entropy per word")
plt.legend()
plt.tight_layout()
plt.savefig(os.path.join(OUT, "05_training_curve.png"), dpi=100)

"""
## Captions for unseen digits

`caption` takes arrays, files or encoded bytes of any size; greedy search by
default, beam search with `beam_size`.
"""

references = [caption for _, caption in test.pairs]
greedy = captioner.caption(test.images, batch_size=128)
exact = np.mean([h == r for h, r in zip(greedy, references)])
print(f"exact match on {len(references)} test canvases (greedy): {100 * exact:.1f}%")
for hypothesis, reference in list(zip(greedy, references))[:5]:
    print(f"  model: {hypothesis}\n   true: {reference}")
print("beam 3, two best:", captioner.caption(test.images[0], beam_size=3, n_best=2))

figure, axes = plt.subplots(4, 2, figsize=(8, 5))
for ax, image, hypothesis in zip(axes.ravel(), test.images, greedy):
    ax.imshow(image, cmap="gray")
    ax.set_title(hypothesis, fontsize=8)
    ax.axis("off")
figure.tight_layout()
figure.savefig(os.path.join(OUT, "05_captions.png"), dpi=100)

"""
## Serving: image bytes in, caption out

The SavedModel's `serving_default` takes encoded images (JPEG, PNG, ...) and
returns captions: decoding, resizing, the CNN and the search all run in the
graph, so TF Serving needs nothing else. (`export_captioner_tflite` writes the
on-device version with `encode_image` and `decode_step` signatures.)
"""

directory = export_captioner_saved_model(captioner, os.path.join(OUT, "05_serving"))
serving = tf.saved_model.load(directory)
png = tf.io.encode_png(test.images[0][..., None])
served = serving.signatures["serving_default"](image_bytes=tf.stack([png]))
print("served caption:", served["caption"].numpy()[0].decode())
print("same as Keras: ", served["caption"].numpy()[0].decode() == greedy[0])
