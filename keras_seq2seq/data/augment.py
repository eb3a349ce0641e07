"""Training-data augmentation that teaches a model to copy names and numbers.

A corpus such as Tatoeba holds few names, and those it holds ("Tom",
"Mary", "Boston") are seen so often that a model learns to *generate* them
as ordinary words. Given a name it has never seen ("Alexander", "Toronto"),
such a model, even with copy attention, writes a word it knows instead.
`augment_names` replaces, in a share of the training pairs, each name or
number that the pair writes verbatim on both sides by one made up for that
pair (the same replacement on both sides), so that the only way to get it
right is to copy it, piece by piece. This is the data side of the classic
placeholder/copy training of NMT systems; we write it here because no
library we use (tf.data, keras-hub, TFDS) offers it for parallel text.

The augmentation is deterministic: pair i of an epoch gets the same
replacement at every iteration and in every run with the same seed, so the
corpus stays re-iterable (vocabulary building and the tf.data pipeline read
it twice) and a resumed run sees the same data.
"""

import random
import re

from keras_seq2seq.errors import ConfigurationError

# A capitalised word (ASCII letters; "Tom" in "Tom's" too) or a whole
# number, standing alone (not part of "3.5" or "1,000", which French writes
# differently). Accented capitals are left alone: they are rarer and French
# spells many of them differently anyway.
_NAME = re.compile(r"(?<![\w'’-])(?<!\d[.,])([A-Z][a-z]+|[0-9]+)(?![\w-])(?![.,]\d)")

# Syllables for made-up names: common English and French spellings, so the
# pieces a name is cut into look like the pieces of real names.
_ONSETS = ("b", "br", "c", "ch", "d", "f", "g", "gr", "h", "j", "k", "l", "m", "n", "p",
           "r", "s", "st", "t", "th", "v", "w", "z", "")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ou", "ei", "ia", "y")
_CODAS = ("", "", "", "n", "r", "l", "s", "x", "nd", "rt", "m", "k")


def made_up_name(rng):
    """A capitalised pseudo-word of 1 to 3 syllables ("Brailon", "Vesk")."""
    syllables = rng.choice((1, 2, 2, 2, 3, 3))
    word = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
                   for _ in range(syllables))
    return word[:1].upper() + word[1:]


def made_up_number(rng, digits):
    """A number with as many digits as the one it replaces (formatting stays right)."""
    first = str(rng.randint(1, 9)) if digits > 1 else str(rng.randint(0, 9))
    return first + "".join(str(rng.randint(0, 9)) for _ in range(digits - 1))


def shared_names(source, target):
    """The names and numbers written verbatim on both sides of a pair."""
    return sorted(set(_NAME.findall(source)) & set(_NAME.findall(target)))


def replace_names(source, target, rng):
    """(source, target) with each shared name or number replaced by a made-up one.

    A pair with nothing shared comes back unchanged.
    """
    names = shared_names(source, target)
    if not names:
        return source, target
    mapping = {}
    for name in names:
        new = made_up_number(rng, len(name)) if name.isdigit() else made_up_name(rng)
        while new in mapping.values() or new == name:
            new = made_up_number(rng, len(name)) if name.isdigit() else made_up_name(rng)
        mapping[name] = new

    def sub(text):
        return _NAME.sub(lambda m: mapping.get(m.group(1), m.group(1)), text)

    return sub(source), sub(target)


class _Augmented:
    """A re-iterable of pairs, changed by `__iter__` with a seeded probability."""

    what = "augmentation"

    def __init__(self, pairs, probability, seed=0):
        if not 0.0 <= probability <= 1.0:
            raise ConfigurationError(f"The {self.what} probability must be in [0, 1], got "
                                     f"{probability}.")
        self.pairs, self.probability, self.seed = pairs, probability, seed


class NameAugmented(_Augmented):
    """A re-iterable of pairs in which a share have their names replaced."""

    what = "name augmentation"

    def __iter__(self):
        for index, (source, target) in enumerate(self.pairs):
            # One generator per pair, seeded by its position: the same pair
            # gets the same replacement whenever the corpus is read.
            rng = random.Random(f"{self.seed}:{index}")
            if self.probability and rng.random() < self.probability:
                source, target = replace_names(source, target, rng)
            yield source, target


def augment_names(pairs, probability, seed=0):
    """Pairs (re-iterable) in which, with `probability` each, the names and
    numbers written verbatim on both sides are replaced by made-up ones.

    Args:
        pairs: re-iterable of (source, target) strings (training pairs
            only: validation data must stay as it is).
        probability: float in [0, 1]. Share of pairs that get replacements
            (pairs with no shared name are never changed).
        seed: int. Changes which pairs and which made-up names.

    Returns:
        A re-iterable of (source, target) pairs.
    """
    return NameAugmented(pairs, probability, seed)


class Concatenated(_Augmented):
    """A re-iterable of pairs with, after a share of them, that pair and the
    next one joined into one longer pair."""

    what = "concatenation"

    def __iter__(self):
        previous = None
        for index, pair in enumerate(self.pairs):
            if previous is not None:
                rng = random.Random(f"concat:{self.seed}:{index}")
                if rng.random() < self.probability:
                    yield previous[0] + " " + pair[0], previous[1] + " " + pair[1]
            yield pair
            previous = pair


def concatenate_pairs_augmentation(pairs, probability, seed=0):
    """Pairs (re-iterable) plus, after each pair with `probability`, the
    previous pair and it joined by a space: longer training examples made
    of real sentences, the data augmentation of Kondo et al. (2021,
    "Sentence Concatenation Approach to Data Augmentation for Neural Machine
    Translation") against the fall of BLEU on long sentences. The original
    pairs are all kept.

    Args:
        pairs: re-iterable of (source, target) training pairs.
        probability: float in [0, 1]. Share of pairs that also come joined
            to the pair before them.
        seed: int.
    """
    return Concatenated(pairs, probability, seed)
