"""Caption corpora: Flickr8k, Flickr30k / Multi30k task 2, COCO captions.

Every reader returns a `CaptionCorpus`: a list of images (file paths, or an
array of pixels) and (image index, caption) pairs. Malformed lines and
captions of missing images are counted, reported with line numbers (the
`ReadReport` of the translation readers) and skipped; a corpus without a
single usable caption is an error.
"""

import dataclasses
import itertools
import json
import logging
import os

import numpy as np

from keras_seq2seq.data.readers import CorpusError, ReadReport, decode_line, numbered_lines

logger = logging.getLogger("keras_seq2seq")


@dataclasses.dataclass
class CaptionCorpus:
    """Images and their captions.

    images: list of file paths, or a numpy array (N, H, W[, C]) of pixels.
    pairs: list of (image index, caption).
    report: ReadReport (or None for corpora built in memory).
    """

    images: object
    pairs: list
    report: ReadReport = None

    def __len__(self):
        return len(self.pairs)

    def subset(self, image_indices):
        """The corpus restricted to some images (renumbered, captions kept)."""
        keep = sorted(set(int(i) for i in image_indices))
        new_index = {old: new for new, old in enumerate(keep)}
        if isinstance(self.images, np.ndarray):
            images = self.images[keep]
        else:
            images = [self.images[i] for i in keep]
        pairs = [(new_index[i], c) for i, c in self.pairs if i in new_index]
        return CaptionCorpus(images, pairs, self.report)

    def split(self, validation_fraction=0.1, seed=0):
        """(train, validation) split by image, so no image is in both."""
        count = len(self.images)
        order = np.random.default_rng(seed).permutation(count)
        n_val = int(round(count * validation_fraction))
        if count < 2 or not 0 < n_val < count:
            raise CorpusError(
                f"Cannot split {count} images with validation_fraction={validation_fraction}."
            )
        return self.subset(order[n_val:]), self.subset(order[:n_val])


def finish(images, pairs, report):
    if not pairs:
        raise CorpusError(f"{report.source}: no usable (image, caption) pair. {report.summary()}")
    report.valid = len(pairs)
    if report.skipped:
        logger.warning("%s", report.summary())
    return CaptionCorpus(images, pairs, report)


class _ImageIndex:
    """Image file name -> index, checking each file once."""

    def __init__(self, image_dir):
        if not os.path.isdir(image_dir):
            raise CorpusError(f"Image directory not found: {image_dir}")
        self.image_dir = image_dir
        self.paths = []
        self.index = {}
        self.missing = set()

    def get(self, name):
        if name in self.index:
            return self.index[name]
        if name in self.missing:
            return None
        path = os.path.join(self.image_dir, name)
        if not os.path.isfile(path):
            self.missing.add(name)
            return None
        self.index[name] = len(self.paths)
        self.paths.append(path)
        return self.index[name]


def read_flickr8k(token_file, image_dir):
    """Flickr8k's `Flickr8k.token.txt` (`<image>#<n>\\t<caption>` lines) and its images.

    Also reads Flickr30k's `results_20130124.token`, which has the same format.
    """
    report = ReadReport(token_file)
    images = _ImageIndex(image_dir)
    pairs = []
    for number, raw in numbered_lines(token_file):
        text, problem = decode_line(raw)
        if problem is None and not text.strip():
            continue
        if problem is None and "\t" not in text:
            problem = "no tab between image and caption"
        if problem is None:
            key, caption = text.split("\t", 1)
            name, caption = key.split("#", 1)[0].strip(), caption.strip()
            if not caption:
                problem = "empty caption"
            elif images.get(name) is None:
                problem = f"image {name} not found in {image_dir}"
        if problem is not None:
            report.skip(number, problem)
            continue
        pairs.append((images.get(name), caption))
    return finish(images.paths, pairs, report)


def read_image_list(image_list_file, caption_file, image_dir):
    """Line-aligned files: image names (Multi30k task 2's `train_images.txt`,
    Flickr30k splits) and one caption per line (`train.en`, .gz allowed)."""
    report = ReadReport(f"{image_list_file} + {caption_file}")
    images = _ImageIndex(image_dir)
    pairs = []
    lines = itertools.zip_longest(
        numbered_lines(image_list_file), numbered_lines(caption_file)
    )
    for named, captioned in lines:
        if named is None or captioned is None:
            # Both files must end together.
            raise CorpusError(
                f"{image_list_file} and {caption_file} have different numbers of lines."
            )
        (number, raw_name), (_, raw_caption) = named, captioned
        name, problem = decode_line(raw_name)
        caption, caption_problem = decode_line(raw_caption)
        problem = problem or caption_problem
        if problem is None and (not name.strip() or not caption.strip()):
            problem = "empty image name or caption"
        if problem is None and images.get(name.strip()) is None:
            problem = f"image {name.strip()} not found in {image_dir}"
        if problem is not None:
            report.skip(number, problem)
            continue
        pairs.append((images.get(name.strip()), caption.strip()))
    return finish(images.paths, pairs, report)


def read_coco(annotations_file, image_dir):
    """COCO captions JSON (`captions_train2017.json`): `images` with `id` and
    `file_name`, `annotations` with `image_id` and `caption`."""
    report = ReadReport(annotations_file)
    if not os.path.isfile(annotations_file):
        raise CorpusError(f"Annotations file not found: {annotations_file}")
    try:
        with open(annotations_file, encoding="utf-8") as f:
            data = json.load(f)
        files = {image["id"]: image["file_name"] for image in data["images"]}
        annotations = data["annotations"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as e:
        raise CorpusError(f"{annotations_file} is not a COCO captions file: {e}") from e
    images = _ImageIndex(image_dir)
    pairs = []
    for number, annotation in enumerate(annotations, start=1):
        problem = None
        if not isinstance(annotation, dict):
            problem = "annotation is not an object"
        else:
            caption = annotation.get("caption")
            name = files.get(annotation.get("image_id"))
            if not isinstance(caption, str) or not caption.strip():
                problem = "missing or empty caption"
            elif name is None:
                problem = f"image_id {annotation.get('image_id')!r} not in images"
            elif images.get(name) is None:
                problem = f"image {name} not found in {image_dir}"
        if problem is not None:
            report.skip(number, problem)  # "line" = annotation number
            continue
        pairs.append((images.get(name), caption.strip()))
    return finish(images.paths, pairs, report)
