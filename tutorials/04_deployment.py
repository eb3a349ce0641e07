"""
Title: From a trained model to TF Serving and to a phone
Author: keras-seq2seq developers
Date created: 2026/11/25
Description: Export the shipped English->French model as a TF Serving
    SavedModel (text in, text out) and as an int8 TFLite model, and translate
    with both.
Accelerator: None
"""

"""
## Introduction

A trained model directory holds a Keras model, its vocabularies and its
config. Deployment needs two other forms:

- a **SavedModel** for TF Serving, whose `serving_default` signature takes raw
  text and returns the translation: normalisation, tokenization, source
  reversal, the encoder, the decoding loop and detokenization are all in the
  graph, with core TensorFlow ops only;
- a **TFLite** model for phones, with `encode` and `decode_step` signatures
  and builtin ops only, optionally with int8 weights (4x smaller).
"""

"""
## Setup
"""

import os
import time

import tensorflow as tf

import keras_seq2seq
from keras_seq2seq.export import export_saved_model
from keras_seq2seq.export.runner import TFLiteTranslator
from keras_seq2seq.export.serving import LocalServer, translate_rest
from keras_seq2seq.export.tflite import export_tflite

OUT = os.environ.get("TUTORIAL_OUT", "tutorial_outputs")
os.makedirs(OUT, exist_ok=True)
MODEL = os.environ.get(
    "KERAS_SEQ2SEQ_MODEL",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "saved_models", "en-fr"),
)

translator = keras_seq2seq.load(MODEL)
sentences = ["Nice to meet you.", "Where is the station?", "I like to read books."]
print("Keras:", translator.translate(sentences))

"""
## A SavedModel for TF Serving

`export_saved_model` writes `BASE/NAME/VERSION/`, the layout TF Serving
watches (a new export adds the next version), with warmup requests so the
first real request does not pay for tracing. On a server:
`docker run -p 8501:8501 -v $PWD/serving:/models -e MODEL_NAME=en-fr tensorflow/serving`.
"""

base = os.path.join(OUT, "04_serving")
version_dir = export_saved_model(translator, base, name="en-fr")
print("exported to", os.path.relpath(version_dir, OUT))

# Any TensorFlow program can load it, without keras-seq2seq:
serving = tf.saved_model.load(version_dir)
result = serving.signatures["serving_default"](text=tf.constant(sentences))
print("SavedModel:", [t.decode() for t in result["translation"].numpy()])

"""
The REST API is TF Serving's `/v1/models/NAME:predict`. `LocalServer` serves
the same API on this machine for development and tests (on a real deployment
TF Serving does this), and `translate_rest` is the client.
"""

with LocalServer(base) as server:
    served = translate_rest(server.rest_url("en-fr"), sentences)
print("REST:      ", [translation for translation, _ in served])

"""
## TFLite with int8 weights

Keras 3's LSTM layer does not convert to TFLite builtin ops as it is, so the
encoder is exported as its own loop over the trained cells; `decode_step` is
one decoder step. The runner drives them with the project's own greedy and
beam search.
"""

lite_dir = os.path.join(OUT, "04_tflite")
path = export_tflite(translator, lite_dir, quantize="dynamic-int8")
# The float32 size of the weights, for comparison (the shipped Keras
# directory stores them as float16, at half that).
float32_mb = 4 * translator.model.count_params() / 1e6
print(f"TFLite int8: {os.path.getsize(path) / 1e6:.1f} MB "
      f"(float32 weights {float32_mb:.1f} MB)")
lite = TFLiteTranslator(lite_dir)
print("TFLite:    ", lite.translate(sentences))
print("TFLite beam 5:", lite.translate(sentences[0], beam_size=5))

started = time.perf_counter()
for sentence in sentences * 5:
    lite.translate(sentence)
print(f"TFLite int8, one sentence at a time: "
      f"{1000 * (time.perf_counter() - started) / 15:.1f} ms per sentence")
