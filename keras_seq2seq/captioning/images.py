"""Image decoding and resizing: bytes, files or arrays -> float32 RGB batches.

Every path to the model goes through `decode_image` (graph-friendly, core
ops) so the Python API, tf.data training and the exported SavedModel see the
same pixels: RGB, values 0..255 as float32, resized to the model's size.
Grayscale and RGBA images become RGB, 16-bit PNGs are scaled to 8-bit range,
and an image of any size is resized (bilinear, with antialiasing).
"""

import os

import numpy as np
import tensorflow as tf

from keras_seq2seq.errors import Seq2SeqError

# Refuse to decode more pixels than this (a 20k x 20k image); beyond it the
# decoded buffer alone would take gigabytes.
MAX_PIXELS = 400_000_000


class ImageError(Seq2SeqError, ValueError):
    """An image cannot be read or decoded; the message says which and why."""


def decode_image(data, height, width):
    """Encoded image bytes (scalar tf.string) -> float32 (height, width, 3), 0..255.

    JPEG, PNG (8 or 16 bit, gray, RGB, RGBA), GIF (first frame) and BMP.
    Raises tf.errors.InvalidArgumentError on bytes that are not one of them.
    """
    image = tf.io.decode_image(data, channels=3, dtype=tf.uint16, expand_animations=False)
    # uint16 keeps 16-bit PNGs exact; 8-bit images come back scaled by 257.
    image = tf.cast(image, tf.float32) / 257.0
    return resize_image(image, height, width)


def resize_image(image, height, width):
    """float (H, W, 3) or (B, H, W, 3) in 0..255 -> the model's size."""
    image = tf.image.resize(image, [height, width], method="bilinear", antialias=True)
    return tf.clip_by_value(image, 0.0, 255.0)


def _pixels_from_header(data):
    # The decoded size, read from the header, so a huge image is refused
    # before its pixels are allocated.
    try:
        shape = tf.image.extract_jpeg_shape(data) if data[:2] == b"\xff\xd8" else None
    except tf.errors.InvalidArgumentError:
        shape = None
    if shape is not None:
        return int(shape[0]) * int(shape[1])
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big") * int.from_bytes(data[20:24], "big")
    return None


def load_image(image, height, width, name="image"):
    """One image (path, bytes or array) -> float32 numpy (height, width, 3).

    Args:
        image: str/os.PathLike (a file), bytes (an encoded image), or a
            numpy/tf array (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) with
            values 0..255 (float or integer; uint16 arrays are scaled).
        height, width: int. The model's input size.
        name: str. How error messages refer to the image.

    Raises:
        ImageError: naming the image and what is wrong with it.
    """
    if isinstance(image, (str, os.PathLike)):
        name = os.fspath(image)
        try:
            with open(image, "rb") as f:
                image = f.read()
        except OSError as e:
            raise ImageError(f"Cannot read image {name}: {e.strerror or e}") from e
    if isinstance(image, bytes):
        if not image:
            raise ImageError(f"{name}: empty file, not an image.")
        pixels = _pixels_from_header(image)
        if pixels is not None and pixels > MAX_PIXELS:
            raise ImageError(f"{name}: {pixels} pixels, more than the {MAX_PIXELS} allowed.")
        try:
            return decode_image(tf.constant(image), height, width).numpy()
        except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as e:
            raise ImageError(
                f"{name}: not a readable image (JPEG, PNG, GIF or BMP; truncated "
                f"or corrupt data is refused): {e.message.splitlines()[0]}"
            ) from None
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4) or 0 in array.shape:
        raise ImageError(
            f"{name}: an image array must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), "
            f"got shape {array.shape}."
        )
    if array.dtype == np.uint16:
        array = array / 257.0
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise ImageError(f"{name}: image arrays must be numeric, got {array.dtype}.")
    array = np.asarray(array, np.float32)
    if not np.all(np.isfinite(array)):
        raise ImageError(f"{name}: the image array holds NaN or infinite values.")
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    elif array.shape[-1] == 4:
        array = array[:, :, :3]
    return resize_image(array, height, width).numpy()


def is_single_image(images):
    """A path, bytes, or an array (H, W) / (H, W, 1|3|4): one image, not a batch.

    (An array (N, H, W) whose W is 1, 3 or 4 therefore reads as one image;
    pass a list to be explicit.)
    """
    if isinstance(images, (str, bytes, os.PathLike)):
        return True
    if isinstance(images, np.ndarray) and images.dtype != object:
        return images.ndim == 2 or (images.ndim == 3 and images.shape[-1] in (1, 3, 4))
    return False


def load_images(images, height, width):
    """One image or several (see `is_single_image`): a list of images (see
    `load_image`) or an array (N, H, W[, C]) -> float32 (N, height, width, 3)."""
    if is_single_image(images):
        images = [images]
    elif isinstance(images, np.ndarray) and images.ndim == 3 and images.dtype != object:
        images = images[..., None]  # (N, H, W) grayscale
    loaded = [load_image(image, height, width, name=f"image {i}") for i, image in enumerate(images)]
    if not loaded:
        return np.zeros([0, height, width, 3], np.float32)
    return np.stack(loaded)


def load_readable(paths, height, width):
    """Read each image file on its own: (readable paths, their arrays, the
    errors of the others), so one unreadable file does not stop the rest."""
    readable, arrays, errors = [], [], []
    for path in paths:
        try:
            arrays.append(load_image(path, height, width))
            readable.append(path)
        except ImageError as e:
            errors.append(e)
    return readable, arrays, errors
