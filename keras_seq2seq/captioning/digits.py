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
from keras_seq2seq.errors import ConfigurationError, MissingDependencyError

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
        raise MissingDependencyError(
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


def warp_digit(source, height, width, angle=0.0, shear=0.0):
    """Resize an (8, 8) digit to (height, width), rotated by `angle` degrees
    and slanted by `shear` (x shift per row, in input pixels), bilinear.

    With angle = shear = 0 this samples the same points as
    `tf.image.resize(..., "bilinear")` (half-pixel centres, edges clamped),
    so warped training digits and plainly resized test digits differ only by
    the warp. (scipy's affine_transform does the sampling: neither
    tf.image nor the Keras augmentation layers warp each digit of a canvas
    to its own size.)
    """
    from scipy.ndimage import affine_transform

    rows, columns = source.shape
    theta = np.deg2rad(angle)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    # Output pixel (r, c) -> input point, about the centres of both grids.
    matrix = rotation @ np.array([[1.0, 0.0], [shear, 1.0]]) @ np.diag(
        [rows / height, columns / width])
    centre_out = np.array([(height - 1) / 2, (width - 1) / 2])
    centre_in = np.array([(rows - 1) / 2, (columns - 1) / 2])
    return affine_transform(source.astype(np.float32), matrix,
                            offset=centre_in - matrix @ centre_out,
                            output_shape=(height, width), order=1, mode="nearest")


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
    warp=False,
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
        warp: bool. Also rotate each digit (up to 12 degrees either way)
            and slant it (shear up to 0.25): augmentation for training
            canvases (`warp_digit`). Defaults to False.

    Returns:
        CaptionCorpus with uint8 images (count, height, width) and one
        caption per canvas, plus `digits`: the source digit indices used
        by each canvas (list of lists), to check the split.
    """
    smallest, largest = sizes
    if max_digits * largest > width or largest > height:
        raise ConfigurationError(
            f"{max_digits} digits of {largest} px do not fit {height}x{width}.")
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
        angles, shears = np.zeros(k), np.zeros(k)
        if warp:
            angles = rng.uniform(-12, 12, size=k)
            shears = rng.uniform(-0.25, 0.25, size=k)
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
            if warp:
                patch = warp_digit(digit_images[pool[choice[j]]], size, digit_width,
                                   angles[j], shears[j]) * brightness[j]
            else:
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
                   augment_train=False, warp_train=None):
    """(train, validation, test) CaptionCorpus, split by source digit image.

    With `augment_train`, training canvases vary digit widths and
    brightness (`make_canvases(jitter=True)`) and, unless `warp_train` is
    False, also rotate and slant the digits (`warp=True`); validation and
    test canvases are the same either way.
    """
    if warp_train is None:
        warp_train = augment_train
    images, labels = load_sklearn_digits()
    pools = split_digit_images(len(images), seed=seed)
    return tuple(
        make_canvases(images, labels, pool, n, height, width, seed=seed + i + 1,
                      jitter=augment_train and i == 0, warp=warp_train and i == 0)
        for i, (pool, n) in enumerate(zip(pools, (train, validation, test)))
    )
