"""An offline captioning corpus built from real handwritten digits.

No captioned photo collection can be downloaded here, so the captioning
benchmark composes canvases from the 1,797 real 8x8 handwritten digits that
scikit-learn ships (`sklearn.datasets.load_digits`, from the UCI optical
recognition of handwritten digits data): 1 to 4 digits per canvas at random
positions and sizes, captioned left to right, e.g. "three handwritten
digits: seven, two, nine". The digit images are split into train, validation
and test before any canvas is made, so no digit image appears in two splits.
"""

import numpy as np
import tensorflow as tf

from keras_seq2seq.captioning.data import CaptionCorpus

DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
COUNT_NAMES = ("one", "two", "three", "four")


def caption_for(digits):
    """[7, 2, 9] -> "three handwritten digits: seven, two, nine"."""
    noun = "handwritten digit" if len(digits) == 1 else "handwritten digits"
    return f"{COUNT_NAMES[len(digits) - 1]} {noun}: " + ", ".join(DIGIT_NAMES[d] for d in digits)


def load_sklearn_digits():
    """(images uint8 (1797, 8, 8) in 0..255, labels (1797,))."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise ImportError(
            "The digits corpus needs scikit-learn: pip install 'keras-seq2seq[digits]'."
        ) from e
    digits = load_digits()
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    return images, digits.target.astype(np.int64)


def split_digit_images(count, fractions=(0.7, 0.15, 0.15), seed=0):
    """Disjoint index arrays (train, validation, test) over `count` digit images."""
    order = np.random.default_rng(seed).permutation(count)
    n_train = int(count * fractions[0])
    n_val = int(count * fractions[1])
    return order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :]


def make_canvases(
    digit_images,
    labels,
    pool,
    count,
    height=32,
    width=96,
    max_digits=4,
    sizes=(12, 20),
    seed=0,
    jitter=False,
):
    """Compose `count` canvases from the digit images listed in `pool`.

    Args:
        digit_images: uint8 (N, 8, 8). labels: (N,).
        pool: indices of the digit images this split may use.
        count: number of canvases.
        height, width: canvas size in pixels.
        max_digits: 1 to `max_digits` digits per canvas (uniform).
        sizes: (smallest, largest) digit height/width in pixels.
        seed: int.
        jitter: bool. Also vary each digit's width (0.75x to 1.2x its
            height) and brightness (0.7x to 1x): augmentation for training
            canvases. Defaults to False.

    Returns:
        CaptionCorpus with uint8 images (count, height, width) and one
        caption per canvas, plus `digits`: the source digit indices used
        by each canvas (list of lists), to check the split.
    """
    smallest, largest = sizes
    if max_digits * largest > width or largest > height:
        raise ValueError(f"{max_digits} digits of {largest} px do not fit {height}x{width}.")
    rng = np.random.default_rng(seed)
    sources = digit_images[pool][..., None].astype(np.float32)
    resized = {}

    def patches(size, digit_width):
        # Every digit image of the pool at this size, resized once.
        if (size, digit_width) not in resized:
            resized[size, digit_width] = np.asarray(tf.image.resize(
                sources, [size, digit_width], method="bilinear", antialias=True)[..., 0])
        return resized[size, digit_width]

    canvases = np.zeros([count, height, width], np.float32)
    pairs, used = [], []
    for n in range(count):
        k = int(rng.integers(1, max_digits + 1))
        choice = rng.integers(0, len(pool), size=k)
        digit_sizes = rng.integers(smallest, largest + 1, size=k)
        digit_widths = digit_sizes
        brightness = np.ones(k)
        if jitter:
            digit_widths = np.clip(np.round(digit_sizes * rng.uniform(0.75, 1.2, size=k)),
                                   4, largest).astype(int)
            brightness = rng.uniform(0.7, 1.0, size=k)
        # Left-to-right slots: the free width is shared out at random.
        free = width - int(digit_widths.sum())
        gaps = rng.multinomial(free, np.ones(k + 1) / (k + 1))
        x = int(gaps[0])
        for j in range(k):
            size, digit_width = int(digit_sizes[j]), int(digit_widths[j])
            y = int(rng.integers(0, height - size + 1))
            patch = patches(size, digit_width)[choice[j]] * brightness[j]
            region = canvases[n, y : y + size, x : x + digit_width]
            np.maximum(region, patch, out=region)
            x += digit_width + int(gaps[j + 1])
        pairs.append((n, caption_for([int(labels[pool[c]]) for c in choice])))
        used.append([int(pool[c]) for c in choice])
    corpus = CaptionCorpus(np.clip(np.round(canvases), 0, 255).astype(np.uint8), pairs)
    corpus.digits = used
    return corpus


def digits_corpora(train=20000, validation=1000, test=2000, height=32, width=96, seed=0,
                   augment_train=False):
    """(train, validation, test) CaptionCorpus, split by source digit image.

    With `augment_train`, training canvases vary digit widths and
    brightness (`make_canvases(jitter=True)`); validation and test canvases
    are the same either way.
    """
    images, labels = load_sklearn_digits()
    pools = split_digit_images(len(images), seed=seed)
    return tuple(
        make_canvases(images, labels, pool, n, height, width, seed=seed + i + 1,
                      jitter=augment_train and i == 0)
        for i, (pool, n) in enumerate(zip(pools, (train, validation, test)))
    )
