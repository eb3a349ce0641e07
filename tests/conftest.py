"""Shared fixtures: tiny corpora and a tiny trained model, built here."""

import gzip
import os
import pathlib

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
# The real corpora (../shared/data); tests that need them skip without them.
DATA_DIR = pathlib.Path(
    os.environ.get("KERAS_SEQ2SEQ_DATA", REPO_ROOT.parent / "shared" / "data")
)

# A small English-French corpus the tiny model can learn by heart.
TINY_PAIRS = [
    ("Nice to meet you.", "Ravi de vous rencontrer."),
    ("I am cold.", "J'ai froid."),
    ("I am hungry.", "J'ai faim."),
    ("Where are you?", "Où es-tu ?"),
    ("Thank you.", "Merci."),
    ("Good morning!", "Bonjour !"),
    ("I love cats.", "J'aime les chats."),
    ("It is raining.", "Il pleut."),
    ("Come here.", "Viens ici."),
    ("We are late.", "Nous sommes en retard."),
    ("He is tall.", "Il est grand."),
    ("She is tired.", "Elle est fatiguée."),
]


def write_tsv(path, pairs, gz=False):
    text = "".join(f"{s}\t{t}\tCC-BY 2.0 (France) Attribution: tatoeba.org\n" for s, t in pairs)
    data = text.encode("utf-8")
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        pathlib.Path(path).write_bytes(data)
    return str(path)


@pytest.fixture
def tiny_pairs():
    return list(TINY_PAIRS)


@pytest.fixture
def tiny_tsv(tmp_path):
    return write_tsv(tmp_path / "pairs.tsv", TINY_PAIRS)


def tiny_config(**overrides):
    from keras_seq2seq.models import get_architecture

    values = dict(
        embedding_dim=16, units=32, num_layers=1, min_frequency=1, dropout=0.0, lowercase=False
    )
    values.update(overrides)
    return get_architecture("seed_toy", **values)


@pytest.fixture(scope="session")
def trained_translator(tmp_path_factory):
    """A tiny model trained until it reproduces TINY_PAIRS, saved to disk."""
    from keras_seq2seq.training import TrainingConfig, train

    out = tmp_path_factory.mktemp("tiny_model")
    # Ten copies an epoch and 15 epochs: the 150 steps of 150 one-batch
    # epochs, without 135 epochs' worth of Keras per-epoch overhead.
    translator, history = train(
        TrainingConfig.create(str(out), tiny_config(units=64, embedding_dim=32), epochs=15,
                              batch_size=12, learning_rate=1e-2, seed=1),
        train_pairs=TINY_PAIRS * 10, verbose=0)
    return translator, history, str(out)


def require_data(*relative):
    """Skip the test unless ../shared/data (or $KERAS_SEQ2SEQ_DATA) has the files."""
    paths = [DATA_DIR / r for r in relative]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        pytest.skip(f"real corpus not available: {', '.join(missing)}")
    return [str(p) for p in paths]


def shipped_model_and_validation(count):
    """The shipped model and the first `count` pairs of its Tatoeba validation split.

    Skips without the real corpus or the shipped model.
    """
    # The shipped model's own held-out split: 10% of the unique English
    # sentences of the full file (the same hash puts a sentence on the same
    # side in the short file).
    (tatoeba,) = require_data("tatoeba/eng-fra-full.tsv.gz")
    model_dir = REPO_ROOT / "saved_models" / "en-fr"
    if not (model_dir / "config.json").exists():
        pytest.skip("no shipped model in saved_models/en-fr")
    from keras_seq2seq import load
    from keras_seq2seq.data import read_tsv_pairs, split_by_source

    translator = load(str(model_dir))
    seed = translator.metadata.get("seed", 0)
    _, validation = split_by_source(read_tsv_pairs(tatoeba), 0.1, seed=seed,
                                    max_validation_examples=count)
    return translator, list(validation)
