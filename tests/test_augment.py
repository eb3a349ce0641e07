"""Name augmentation: made-up names and numbers in training pairs teach copying."""

import random

import pytest

from conftest import tiny_config
from keras_seq2seq.data import augment_names
from keras_seq2seq.data.augment import made_up_name, replace_names, shared_names


def test_shared_names_are_the_names_and_numbers_on_both_sides():
    assert shared_names("Tom met Mary in Boston in 1990.",
                        "Tom a rencontré Mary à Boston en 1990.") == ["1990", "Boston", "Mary",
                                                                      "Tom"]
    # "I" is one letter; "The"/"Le" differ; a capital only on one side is no name.
    assert shared_names("I saw The Beatles.", "J'ai vu les Beatles.") == ["Beatles"]
    assert shared_names("Tom's dog.", "Le chien de Tom.") == ["Tom"]
    assert shared_names("It is 3.5 km.", "C'est 3,5 km.") == []  # decimals are written differently
    assert shared_names("Tomorrow.", "Demain.") == []


def test_replacement_is_the_same_on_both_sides_and_keeps_the_rest():
    rng = random.Random(0)
    source, target = replace_names("Tom gave Mary 20 apples, and Tom left.",
                                   "Tom a donné 20 pommes à Mary, et Tom est parti.", rng)
    tom, mary, number = source.split()[0], source.split()[2], source.split()[3]
    assert tom not in ("Tom", mary) and mary != "Mary"
    assert len(number) == 2 and number.isdigit() and number != "20"
    assert source == f"{tom} gave {mary} {number} apples, and {tom} left."
    assert target == f"{tom} a donné {number} pommes à {mary}, et {tom} est parti."
    # Nothing shared: unchanged.
    assert replace_names("Hello.", "Bonjour.", rng) == ("Hello.", "Bonjour.")


def test_made_up_names_look_like_names():
    rng = random.Random(1)
    names = [made_up_name(rng) for _ in range(200)]
    assert all(n[0].isupper() and n[1:].islower() and n.isalpha() for n in names)
    assert len(set(names)) > 150  # varied
    assert max(map(len, names)) <= 24


def test_augmented_corpus_is_deterministic_and_re_iterable():
    pairs = [(f"Tom has {i} cats.", f"Tom a {i} chats.") for i in range(200)]
    pairs.append(("Hello.", "Bonjour."))
    augmented = augment_names(pairs, 0.5, seed=3)
    first, second = list(augmented), list(augmented)
    assert first == second == list(augment_names(pairs, 0.5, seed=3))
    assert first != list(augment_names(pairs, 0.5, seed=4))
    changed = sum(a != b for a, b in zip(first, pairs))
    assert 60 <= changed <= 140  # about half of the 200 that have names
    assert first[-1] == ("Hello.", "Bonjour.")
    assert list(augment_names(pairs, 0.0)) == pairs
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        augment_names(pairs, 1.5)


def test_training_data_augments_training_pairs_only(tmp_path, capsys):
    from keras_seq2seq.cli import main
    from keras_seq2seq.data import CorpusError
    from keras_seq2seq.data.corpora import CorpusSpec, training_data

    corpus = tmp_path / "pairs.tsv"
    corpus.write_text("".join(f"Tom sees {i} birds.\tTom voit {i} oiseaux.\n"
                              for i in range(100)))
    spec = CorpusSpec(pairs=[str(corpus)])
    train_pairs, validation_pairs = training_data(spec, name_augmentation=1.0)
    assert all(not s.startswith("Tom ") for s, _ in train_pairs)
    assert validation_pairs is not None and all(s.startswith("Tom ") for s, _ in validation_pairs)
    with pytest.raises(CorpusError, match=r"name_augmentation must be in \[0, 1\]"):
        training_data(spec, name_augmentation=2.0)
    # The CLI refuses the flag before reading anything.
    with pytest.raises(SystemExit):
        main(["train", "--pairs", str(corpus), "--out", str(tmp_path / "run"),
              "--name-augmentation", "2"])
    assert "name_augmentation must be in [0, 1]" in capsys.readouterr().err


TEMPLATES = [("{} is tired .", "{} est fatigué ."), ("where is {} ?", "où est {} ?"),
             ("{} lives here .", "{} habite ici ."), ("call {} .", "appelle {} .")]


def _names_kept(translator, names):
    # The model alone: name placeholders (on by default, this vocabulary
    # holds Tom and Mary) would keep the names whatever the training.
    outputs = translator.translate([f"where is {n} ?" for n in names], protect_names=False)
    return sum(out == f"où est {n} ?" for n, out in zip(names, outputs)) / len(names), outputs


@pytest.mark.slow  # a training that checks learning; the augmentation itself is tested above
def test_augmentation_teaches_a_copy_model_names_it_never_saw(tmp_path):
    """Word pieces and copy attention, trained on pairs whose only names are
    Tom and Mary: with the augmentation it writes new names letter for
    letter; without it, it writes the names it knows."""
    from keras_seq2seq.training import TrainingConfig, train

    rng = random.Random(0)
    pairs = [(s.format(n), t.format(n)) for s, t in TEMPLATES for n in ("Tom", "Mary")] * 40
    rng.shuffle(pairs)
    # Real names, not drawn from the augmentation's own generator.
    new_names = ["Alexander", "Toronto", "Helsinki", "Nakamura", "Beatriz", "Oslo", "Quentin",
                 "Zanzibar", "Winnipeg", "Olga", "Kofi", "Yusuf", "Lisbon", "Ingrid", "Dakar",
                 "Priya", "Gdansk", "Mateo", "Hanoi", "Svetlana"]
    config = tiny_config(attention="luong", shared_vocabulary=True, copy_attention=True,
                         tokenizer="wordpiece", embedding_dim=32, units=64,
                         source_vocab_size=400, target_vocab_size=400)
    kept = {}
    for probability in (0.0, 0.8):
        translator, _ = train(
            TrainingConfig.create(str(tmp_path / str(probability)), config, epochs=12,
                                  batch_size=16, learning_rate=1e-2, bleu_sample=0),
            train_pairs=augment_names(pairs, probability), verbose=0)
        kept[probability] = _names_kept(translator, new_names)
    assert kept[0.8][0] >= 0.6, kept[0.8][1]
    assert kept[0.0][0] <= 0.2, kept[0.0][1]


def test_concatenation_adds_joined_consecutive_pairs_and_keeps_the_originals():
    from keras_seq2seq.data.augment import concatenate_pairs_augmentation

    pairs = [(f"Source {i}.", f"Cible {i}.") for i in range(400)]
    augmented = list(concatenate_pairs_augmentation(pairs, 0.25, seed=1))
    assert augmented == list(concatenate_pairs_augmentation(pairs, 0.25, seed=1))
    originals = [p for p in augmented if p in pairs]
    assert originals == pairs  # every pair, in order
    joined = [p for p in augmented if p not in pairs]
    assert 60 <= len(joined) <= 140
    for source, target in joined:
        i = int(source.split()[1].rstrip("."))
        assert source == f"Source {i}. Source {i + 1}." and target == f"Cible {i}. Cible {i + 1}."
    assert list(concatenate_pairs_augmentation(pairs, 0.0)) == pairs
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        concatenate_pairs_augmentation(pairs, -0.1)
