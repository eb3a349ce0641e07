"""The library's train/validation split rules (keras_seq2seq.data.corpora)."""

import pytest

from keras_seq2seq.data import CorpusError
from keras_seq2seq.data.corpora import CorpusSpec, split_corpora


@pytest.fixture
def files(tmp_path):
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("".join(f"tsv {i} .\tfr tsv {i} .\n" for i in range(200)), encoding="utf-8")
    for name, n in (("train", 50), ("val", 10)):
        (tmp_path / f"{name}.en").write_text("".join(f"{name} {i} .\n" for i in range(n)))
        (tmp_path / f"{name}.fr").write_text("".join(f"fr {name} {i} .\n" for i in range(n)))
    return tmp_path


def test_without_validation_files_a_share_of_every_corpus_is_held_out(files):
    spec = CorpusSpec(pairs=[str(files / "pairs.tsv")], sources=[str(files / "train.en")],
                      targets=[str(files / "train.fr")])
    train, validation = split_corpora(spec, seed=0)
    train, validation = list(train), list(validation)
    assert len(train) + len(validation) == 250
    assert 10 <= len(validation) <= 45  # about 10%
    assert {s for s, _ in train}.isdisjoint(s for s, _ in validation)
    assert any(s.startswith("train ") for s, _ in validation)  # line-aligned files too
    # Deterministic in the seed, and the seed changes it.
    assert list(split_corpora(spec, seed=0)[1]) == validation
    assert list(split_corpora(spec, seed=1)[1]) != validation


def test_validation_files_keep_the_corpora_whole_unless_a_fraction_is_given(files):
    spec = CorpusSpec(pairs=[str(files / "pairs.tsv")], sources=[str(files / "train.en")],
                      targets=[str(files / "train.fr")],
                      validation_sources=[str(files / "val.en")],
                      validation_targets=[str(files / "val.fr")])
    train, validation = split_corpora(spec)
    assert len(list(train)) == 250 and len(list(validation)) == 10
    spec.validation_fraction = 0.2
    train, validation = (list(x) for x in split_corpora(spec))
    held_out = [s for s, _ in validation if s.startswith("tsv ")]
    # The fraction comes out of the TSV corpus only; the aligned files stay whole.
    assert 20 <= len(held_out) <= 60 and len(validation) == 10 + len(held_out)
    assert sum(s.startswith("train ") for s, _ in train) == 50
    assert len(train) == 250 - len(held_out)
    spec.max_examples = 30
    assert len(list(split_corpora(spec)[0])) == 30


@pytest.mark.parametrize("spec, message", [
    (CorpusSpec(), "no corpus given"),
    (CorpusSpec(sources=["a"], targets=[]), "1 source and 0 target"),
    (CorpusSpec(pairs=["a"], validation_sources=["v"]), "validation source and target"),
    (CorpusSpec(pairs=["a"], validation_fraction=1.0), r"in \[0, 1\)"),
    (CorpusSpec(pairs=["a"], max_examples=0), "at least 1"),
])
def test_inconsistent_corpus_settings_say_which(spec, message):
    with pytest.raises(CorpusError, match=message):
        split_corpora(spec)
