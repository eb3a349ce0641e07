"""
Title: Sequence to sequence learning, step by step
Author: keras-seq2seq developers
Date created: 2026/11/25
Description: The encoder-decoder of Sutskever et al. (2014) on one sentence pair,
    from one-hot vectors to test-phase decoding, with the keras-seq2seq API.
Accelerator: None
"""

"""
## Introduction

A sequence-to-sequence model reads a sentence in one language and writes it in
another. It has two recurrent networks: an **encoder** that reads the source
words and condenses them into its final states (the *context vector*), and a
**decoder** that starts from that context and writes the translation one word
at a time.

We follow the classic walk-through example: translating "nice to meet you"
into "ravi de vous rencontrer".

Set `TUTORIAL_QUICK=1` to run everything at a reduced size (the test suite
does this).
"""

"""
## Setup
"""

import os

import numpy as np
import tensorflow as tf

import keras_seq2seq
from keras_seq2seq.constants import END, START
from keras_seq2seq.data.pipeline import make_dataset
from keras_seq2seq.models import build_inference_models

QUICK = os.environ.get("TUTORIAL_QUICK") == "1"
OUT = os.environ.get("TUTORIAL_OUT", "tutorial_outputs")
os.makedirs(OUT, exist_ok=True)
SEED = 0

"""
## One-hot vectors

Every word of a vocabulary gets an index; a one-hot vector is all zeros but a
one at that index. The source sentence has four words, so four dimensions are
enough to tell them apart.
"""

source_words = "nice to meet you".split()
target_words = [START, "ravi", "de", "vous", "rencontrer", END]
one_hot = np.eye(len(source_words), dtype=int)
for word, vector in zip(source_words, one_hot):
    print(f"{word:>6} -> {vector}")

"""
## Training data and the teacher-forcing table

keras-seq2seq builds vocabularies with four special tokens first (`<pad>` 0,
`<unk>` 1, `<start>` 2, `<end>` 3). During training the decoder is fed the
*true* previous word (teacher forcing): its input is `<start>` followed by the
target, and what it must predict is the target followed by `<end>`.
"""

pairs = [("nice to meet you", "ravi de vous rencontrer")]
config = keras_seq2seq.get_architecture("seed_toy")  # embeddings of 3 dimensions, 16 LSTM cells
print(config)

"""
The `seed_toy` preset's embedding layer maps each word id to a dense vector of
3 numbers instead of a 4-dimensional one-hot vector: an embedding is a learned
lookup table that reduces the dimension and places similar words near each
other.
"""

from keras_seq2seq.text import WordTokenizer, build_vocabulary, split_words

source_vocab = build_vocabulary(split_words(tf.constant([s for s, _ in pairs])).to_list())
target_vocab = build_vocabulary(split_words(tf.constant([t for _, t in pairs])).to_list())
source_tokenizer = WordTokenizer(source_vocab, lowercase=True)
target_tokenizer = WordTokenizer(target_vocab, lowercase=True, language="fr")
print("source vocabulary:", source_vocab)
print("target vocabulary:", target_vocab)

(inputs, targets, weights), = make_dataset(
    pairs, source_tokenizer, target_tokenizer, batch_size=1, shuffle=False
).take(1)
decoder_in = inputs["decoder_tokens"].numpy()[0]
print("encoder input (reversed source):",
      [source_vocab[i] for i in inputs["encoder_tokens"].numpy()[0]])
print(f"{'step':>4} | {'decoder input':>14} | {'target':>12}")
for t, (x, y) in enumerate(zip(decoder_in, targets.numpy()[0])):
    print(f"{t:>4} | {target_vocab[x]:>14} | {target_vocab[y]:>12}")

"""
The source is reversed ("you meet to nice"), as in the paper: the first
target words then sit close to the first source words, which makes the
optimisation easier.

## Training until the model reproduces the sentence
"""

epochs = 60 if QUICK else 200
translator, history = keras_seq2seq.train(
    keras_seq2seq.TrainingConfig.create(os.path.join(OUT, "toy_model"), config, epochs=epochs,
                                        batch_size=1, learning_rate=3e-2, seed=SEED),
    train_pairs=pairs, verbose=0)
print("loss: first epoch %.3f, last epoch %.3f" % (history.history["loss"][0],
                                                   history.history["loss"][-1]))

"""
## The context vector

At test time the encoder runs once; its final (h, c) states are the context
vector that starts the decoder.
"""

encoder_model, decoder_step_model = build_inference_models(translator.model, config)
tokens, _ = translator.encoder_inputs(tf.constant(["nice to meet you"]))
h, c = encoder_model(tokens)
print("context vector h:", np.round(h.numpy()[0], 2))

"""
## Test-phase decoding: feeding back its own predictions

Without a reference, the decoder starts from `<start>` and the context, picks
its most likely word, and feeds that word back in as the next input, until it
writes `<end>`.
"""

states = [h, c]
token = tf.constant([2])  # <start>
words = []
for _ in range(10):
    logits, *states = decoder_step_model([token, *states])
    token = tf.argmax(logits, axis=-1, output_type=tf.int32)
    word = target_vocab[int(token[0])]
    if word == END:
        break
    words.append(word)
print("step by step:", " ".join(words))
print("translate():  ", translator.translate("nice to meet you"))

"""
## An under-trained model carries its errors forward

After only a few epochs the decoder is unsure of its first words; once it
picks a wrong word, that word is its next input and the error propagates.
"""

young, young_history = keras_seq2seq.train(
    keras_seq2seq.TrainingConfig.create(os.path.join(OUT, "toy_model_young"), config, epochs=5,
                                        batch_size=1, learning_rate=3e-2, seed=SEED),
    train_pairs=pairs, verbose=0)
print("after 5 epochs:", repr(young.translate("nice to meet you")))

"""
## Poke at it yourself: the explorer

Everything above (the reading order, the context vector, the table of
next-word probabilities at each step, teacher forcing, feeding back a wrong
word) can be explored interactively on this very model, or on the shipped
English->French one:

```bash
keras-seq2seq explore --toy   # this walk-through model, trained in seconds
keras-seq2seq explore         # the shipped model
```

Click any candidate word at a decoder step and the decoder continues from it:
the error-propagation experiment above, one click at a time. See the README,
"The explorer", for the page and its JSON API.

![The explorer's decoder view](../docs/images/explorer_decoder.png)
"""

"""
## Training curve
"""

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.figure(figsize=(5, 3))
    plt.plot(history.history["loss"], label="loss")
    plt.xlabel("epoch")
    plt.ylabel("cross-entropy")
    plt.title("nice to meet you -> ravi de vous rencontrer")
    plt.tight_layout()
    plt.savefig(os.path.join(OUT, "01_training_curve.png"), dpi=100)
    print("saved", os.path.join(OUT, "01_training_curve.png"))
except ImportError:
    print("matplotlib is not installed: no plot")
