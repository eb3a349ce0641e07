"""
Title: English to French on Tatoeba, with BLEU
Author: keras-seq2seq developers
Date created: 2026/11/25
Description: Train a real translator on the Tatoeba pairs with the library
    API, measure sacreBLEU on held-out sentences and look at where the
    attention goes.
Accelerator: None
"""

"""
## Introduction

Tatoeba's English-French pairs (CC-BY 2.0 FR, tatoeba.org) are short everyday
sentences. This tutorial trains the `cpu` preset with Luong attention on them
(about 30 minutes on two CPU cores), and evaluates it with sacreBLEU on English
sentences that never appear in training. The shipped model `saved_models/en-fr`
is the same recipe on Tatoeba plus Multi30k (its model card has the command).

The data is read by path: set `KERAS_SEQ2SEQ_DATA` (default `../shared/data`).
Set `TUTORIAL_QUICK=1` to run at a reduced size (the test suite does this).
"""

"""
## Setup
"""

import os

import keras
import numpy as np

import keras_seq2seq
from keras_seq2seq.data import read_tsv_pairs, split_by_source
from keras_seq2seq.evaluation import evaluate

QUICK = os.environ.get("TUTORIAL_QUICK") == "1"
OUT = os.environ.get("TUTORIAL_OUT", "tutorial_outputs")
os.makedirs(OUT, exist_ok=True)
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("KERAS_SEQ2SEQ_DATA", os.path.join(HERE, "..", "..", "shared", "data"))

"""
## The corpus

`read_tsv_pairs` streams the file (plain or .gz); malformed lines are counted
and reported, never fatal. `split_by_source` holds out 10% of the *English
sentences* (all their translations go to validation together), decided by a
hash, so the split is the same on every run and machine.
"""

pairs = read_tsv_pairs(os.path.join(DATA, "tatoeba", "eng-fra.tsv.gz"))
train_pairs, validation_pairs = split_by_source(
    pairs, 0.1, seed=0,
    max_train_examples=4000 if QUICK else None, max_validation_examples=300 if QUICK else None,
)
print("first training pairs:", list(zip(range(3), train_pairs)))

"""
## Training

`get_architecture("cpu")` is a 1-layer LSTM of 384 units sized for two CPU cores;
`attention="luong"` lets the decoder look back at every encoder output
instead of the final states alone. `train` builds the vocabularies, trains
with `model.fit` (checkpoints, TensorBoard, a backup to resume from) and keeps
the epoch with the best validation loss.
"""

config = keras_seq2seq.get_architecture(
    "cpu", attention="luong",
    **({"units": 64, "embedding_dim": 32, "source_vocab_size": 2000,
        "target_vocab_size": 2000} if QUICK else {}),
)
translator, history = keras_seq2seq.train(
    keras_seq2seq.TrainingConfig.create(
        os.path.join(OUT, "02_en-fr"), config, epochs=2 if QUICK else 14, batch_size=128,
        learning_rate=2e-3, max_minutes=None if QUICK else 30,
        bleu_sample=100 if QUICK else 200),
    train_pairs=train_pairs, validation_pairs=validation_pairs, verbose=2)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
epochs = np.arange(1, len(history.history["loss"]) + 1)
left.plot(epochs, history.history["loss"], label="training")
left.plot(epochs, history.history["val_loss"], label="validation")
left.set_xlabel("epoch")
left.set_ylabel("cross-entropy per word")
left.legend()
right.plot(epochs, history.history["val_bleu"], color="green")
right.set_xlabel("epoch")
right.set_ylabel("validation BLEU (greedy, sample)")
figure.tight_layout()
figure.savefig(os.path.join(OUT, "02_training_curves.png"), dpi=100)

"""
## BLEU on held-out sentences

`evaluate` translates the sources and scores them with sacreBLEU (13a
tokenization, cased, the standard settings) and chrF; it also gives the
perplexity of the references under teacher forcing.
"""

validation = list(validation_pairs)[: 300 if QUICK else 2000]
for beam_size in (1, 5):
    report, hypotheses = evaluate(translator, validation, beam_size=beam_size, batch_size=128)
    print(f"beam {beam_size}: BLEU {report['bleu']:.2f}, chrF {report['chrf']:.2f}")
print("perplexity:", round(report["perplexity"], 2))
print("signature:", report["bleu_signature"])
for (source, reference), hypothesis in list(zip(validation, hypotheses))[:5]:
    print(f"  {source}\n    model: {hypothesis}\n    human: {reference}")

"""
## Where the attention goes

With attention, each decoder step scores every source word (`h_t . W_a h_s`,
softmax over the source). The scores come from the training model's own
layers: the decoder LSTM's outputs are the queries, `attention_keys` the keys.
"""

model = translator.model
probe = keras.Model(model.inputs, [model.get_layer("decoder_rnn_0").output[0],
                                   model.get_layer("attention_keys").output])
sentence = "I think that you should go home."
translation = translator.translate(sentence)
source_ids = translator.encoder_inputs([sentence])[0].numpy()
target_ids = translator.target_tokenizer.encode([translation]).to_tensor().numpy()
target_ids = target_ids.reshape(1, -1).astype("int32")
decoder_ids = np.concatenate([[[2]], target_ids], axis=1).astype("int32")  # <start> + words
queries, keys = probe({"encoder_tokens": source_ids, "decoder_tokens": decoder_ids})
scores = np.einsum("td,sd->ts", queries[0], keys[0])
weights = np.exp(scores - scores.max(axis=1, keepdims=True))
weights /= weights.sum(axis=1, keepdims=True)
source_words = [translator.source_tokenizer.vocabulary[i] for i in source_ids[0]]
target_words = [translator.target_tokenizer.vocabulary[i] for i in target_ids[0]] + ["<end>"]
if config.reverse_source:  # show the source in reading order
    source_words, weights = source_words[::-1], weights[:, ::-1]
plt.figure(figsize=(6, 4))
plt.imshow(weights, cmap="Greys")
plt.xticks(range(len(source_words)), source_words, rotation=60)
plt.yticks(range(len(target_words)), target_words)
plt.title(f"{sentence} -> {translation}", fontsize=8)
plt.tight_layout()
plt.savefig(os.path.join(OUT, "02_attention.png"), dpi=100)
print("attention rows sum to 1:", bool(np.allclose(weights.sum(axis=1), 1.0)))
