"""Continue from a trained model: fine-tuning on new data, and checkpoint averaging.

Fine-tuning (`train(..., init_from=MODEL_DIR)`, `train --init-from`) starts
from a model directory's config, vocabularies and weights. Its vocabulary
policy follows OpenNMT-tf's `update_vocab`: "keep" the model's vocabularies
(new words become `<unk>`, or are spelled in the model's pieces), or
"merge" in the new data's frequent tokens: old tokens keep their ids (their
rows of the embeddings and of the output layer are the trained ones), new
tokens are appended with freshly initialised rows.

Averaging (`average_checkpoints`, `keras-seq2seq average`) writes the mean
of several epoch checkpoints of one run as a model directory (Junczys-
Dowmunt et al. 2016; Vaswani et al. 2017 averaged the last 5 or 20).
"""

import glob
import logging
import os

import numpy as np

from keras_seq2seq.errors import ConfigurationError, Seq2SeqError

logger = logging.getLogger("keras_seq2seq")

# Settings a fine-tuned model must share with the model it starts from.
_ARCHITECTURE = ("embedding_dim", "units", "num_layers", "cell_type", "attention",
                 "tokenizer", "shared_vocabulary", "copy_attention", "reverse_source",
                 "lowercase")


class FineTuneError(Seq2SeqError, ValueError):
    """The model to start from cannot take the new data as asked."""


def load_base(init_from, config=None, source_language=None, target_language=None):
    """The trained Translator to start from, checked against the new run.

    Args:
        init_from: str. A model directory (as `train` writes).
        config: Seq2SeqConfig or None. The new run's settings, if any: the
            architecture must be the base model's.
        source_language, target_language: str or None. The new data's.

    Raises:
        FineTuneError: naming what differs.
    """
    from keras_seq2seq.model_directory import load

    base = load(init_from)
    languages = (base.source_tokenizer.language, base.target_tokenizer.language)
    wanted = (source_language or languages[0], target_language or languages[1])
    if wanted != languages:
        raise FineTuneError(
            f"{init_from} translates {languages[0]}->{languages[1]}; the new data is "
            f"{wanted[0]}->{wanted[1]}. Fine-tuning keeps the language pair: train a new model.")
    if config is not None:
        differ = [f"{name} {getattr(config, name)!r} (the model has "
                  f"{getattr(base.config, name)!r})"
                  for name in _ARCHITECTURE if getattr(config, name) != getattr(base.config, name)]
        if differ:
            raise FineTuneError(f"{init_from} cannot be fine-tuned with " + ", ".join(differ)
                                + ": fine-tuning keeps the model's architecture and tokenizer.")
    return base


def merge_vocabulary(old, new):
    """`old` (ids unchanged), then the tokens of `new` it lacks, in `new`'s order."""
    known = set(old)
    return list(old) + [token for token in new if token not in known]


def transfer_weights(source_model, target_model):
    """Copy trained weights into a model whose vocabularies may be larger.

    Layers are matched by name. A weight of the same shape is copied; one
    that grew along a vocabulary axis (embedding rows, output columns and
    bias) gets the trained values in its leading part, and keeps its fresh
    initialisation for the new tokens.

    Returns the number of weights copied.
    """
    copied = 0
    for layer in source_model.layers:
        if not layer.weights:
            continue
        target = target_model.get_layer(layer.name)
        values = []
        for old, new in zip(layer.get_weights(), target.get_weights()):
            if old.shape == new.shape:
                values.append(old)
            elif old.ndim == new.ndim and all(o <= n for o, n in zip(old.shape, new.shape)):
                grown = new.copy()
                grown[tuple(slice(0, o) for o in old.shape)] = old
                values.append(grown)
            else:
                raise FineTuneError(f"Layer {layer.name!r}: weight of shape {old.shape} cannot "
                                    f"go into {new.shape}.")
            copied += 1
        target.set_weights(values)
    return copied


def epoch_checkpoints(run_dir):
    """The epoch checkpoints a `train` run wrote, in epoch order."""
    return sorted(glob.glob(os.path.join(run_dir, "checkpoints", "epoch_*.weights.h5")))


def average_checkpoints(run_dir, out_dir, last=None, checkpoints=None):
    """Average epoch checkpoints of a run into a model directory.

    Args:
        run_dir: str. A `train` output directory: its config and vocabularies
            describe the model; its `checkpoints/epoch_*.weights.h5` are the
            candidates.
        out_dir: str. Where the averaged model directory goes.
        last: int or None. Average the last N epoch checkpoints.
        checkpoints: list of str or None. Or these weight files.

    Returns:
        The averaged Translator (also saved to `out_dir`).
    """
    from keras_seq2seq.model_directory import load

    if (last is None) == (checkpoints is None):
        raise ConfigurationError(
            "Give the number of last checkpoints or a list of checkpoint files.")
    if checkpoints is None:
        available = epoch_checkpoints(run_dir)
        if last < 1 or last > len(available):
            raise ConfigurationError(
                f"{run_dir} has {len(available)} epoch checkpoints; cannot average "
                f"the last {last}.")
        checkpoints = available[-last:]
    missing = [path for path in checkpoints if not os.path.isfile(path)]
    if missing:
        raise ConfigurationError(f"Checkpoint not found: {missing[0]}")
    translator = load(run_dir)
    model = translator.model
    total = None
    for path in checkpoints:
        model.load_weights(path)
        weights = [w.astype(np.float64) for w in model.get_weights()]
        total = weights if total is None else [t + w for t, w in zip(total, weights)]
    model.set_weights([(t / len(checkpoints)).astype(np.float32) for t in total])
    translator.metadata = dict(translator.metadata or {},
                               averaged_checkpoints=[os.path.basename(p) for p in checkpoints])
    translator.save(out_dir)
    logger.info("Averaged %d checkpoints into %s.", len(checkpoints), out_dir)
    return translator
