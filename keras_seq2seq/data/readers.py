"""Corpus readers. Each yields (source, target) string pairs.

Readers stream: a corpus is read line by line and never held in memory.
Malformed lines (no tab, an empty side, invalid UTF-8, a missing side in
line-aligned files) are skipped, counted, and reported with their line
numbers; a corpus without a single valid pair is an error.
"""

import dataclasses
import gzip
import hashlib
import logging
import os

from keras_seq2seq.errors import ConfigurationError, Seq2SeqError

logger = logging.getLogger("keras_seq2seq")

MAX_REPORTED_PROBLEMS = 5


class CorpusError(Seq2SeqError, ValueError):
    """A corpus cannot be used: missing, mismatched, or without valid pairs."""


@dataclasses.dataclass
class ReadReport:
    """What a reader saw: valid pairs, skipped lines and the first problems."""

    source: str
    valid: int = 0
    skipped: int = 0
    problems: list = dataclasses.field(default_factory=list)

    def skip(self, line_number, reason):
        self.skipped += 1
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            self.problems.append((line_number, reason))

    # False while a pass stopped early (`--max-examples`): the counts then
    # cover the lines read so far.
    complete: bool = True

    def summary(self):
        read = "" if self.complete else " in the lines read"
        text = f"{self.source}: {self.valid} valid pairs, {self.skipped} skipped{read}"
        if self.problems:
            first = f"the first {len(self.problems)}: " if self.skipped > len(self.problems) else ""
            shown = "; ".join(f"line {n}: {why}" for n, why in self.problems)
            text += f" ({first}{shown})"
        return text


def _check_file(path):
    if not os.path.isfile(path):
        raise CorpusError(f"Corpus file not found: {path}")


def _open_binary(path):
    _check_file(path)
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def numbered_lines(path):
    """Yield (line_number, raw bytes without the line break), 1-based."""
    with _open_binary(path) as f:
        try:
            for number, raw in enumerate(f, start=1):
                yield number, raw.rstrip(b"\r\n")
        except (OSError, EOFError) as e:  # a truncated or corrupt .gz
            raise CorpusError(f"{path}: cannot be read after line {number}: {e}") from e


def decode_line(raw):
    """(text, None) for valid UTF-8 bytes, else (None, what is wrong)."""
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as e:
        return None, f"invalid UTF-8 at byte {e.start}"


class PairCorpus:
    """A re-iterable stream of (source, target) pairs with a read report.

    Iterating reads the files again from the start. When a pass ends, the
    report of that pass is in `report`, a summary is logged when lines were
    skipped, and `CorpusError` is raised if no valid pair was found.
    """

    def __init__(self, generate, description):
        self._generate = generate
        self.description = description
        self.report = None
        self._logged = None

    def __iter__(self):
        report = ReadReport(self.description, complete=False)
        try:
            for pair in self._generate(report):
                report.valid += 1
                yield pair
            report.complete = True
        finally:
            # Also when the reader stops early (a pair limit closes this
            # generator): the lines read so far are reported.
            self.report = report
            self._log(report)
        if not report.valid:
            raise CorpusError(f"No valid (source, target) pair in {report.summary()}")

    def _log(self, report):
        # Once per file: training reads a corpus several times (vocabulary,
        # validation split, every epoch), and each pass finds the same lines.
        # A pass stopped early may have seen fewer: only more is news.
        if report.skipped > (self._logged or 0):
            logger.warning("Skipped malformed lines in %s", report.summary())
            self._logged = report.skipped


def _pair(raw_source, raw_target):
    """Two raw byte strings -> ((source, target), None) or (None, problem)."""
    source, problem = decode_line(raw_source)
    if problem:
        return None, f"source: {problem}"
    target, problem = decode_line(raw_target)
    if problem:
        return None, f"target: {problem}"
    source, target = source.strip(), target.strip()
    if not source or not target:
        return None, "empty source" if not source else "empty target"
    return (source, target), None


def _checked(numbered_raw_pairs, report):
    """Yield the valid pairs; count and report the others by line number."""
    for number, raw_source, raw_target in numbered_raw_pairs:
        if raw_target is None:
            report.skip(number, "no tab between source and target")
            continue
        pair, problem = _pair(raw_source, raw_target)
        if problem:
            report.skip(number, problem)
            continue
        yield pair


def _tsv_pairs(path, report):
    def fields():
        for number, raw in numbered_lines(path):
            columns = raw.split(b"\t")
            yield number, columns[0], columns[1] if len(columns) > 1 else None

    return _checked(fields(), report)


def read_tsv_pairs(path):
    """Pairs from `source<TAB>target[<TAB>ignored...]` lines, plain or .gz.

    This is the format of the Anki/Tatoeba `fra.txt` files; columns after
    the second (attribution) are ignored.
    """
    _check_file(path)
    return PairCorpus(lambda report: _tsv_pairs(path, report), path)


def _count_lines(path):
    return sum(1 for _ in numbered_lines(path))


def _parallel_pairs(source_path, target_path, report):
    lines = zip(numbered_lines(source_path), numbered_lines(target_path))
    return _checked(((n, s, t) for (n, s), (_, t) in lines), report)


def read_parallel_files(source_path, target_path):
    """Pairs from two line-aligned files (e.g. Multi30k train.en.gz, train.fr.gz).

    Raises:
        CorpusError: if a file is missing or the line counts differ.
    """
    source_lines, target_lines = _count_lines(source_path), _count_lines(target_path)
    if source_lines != target_lines:
        raise CorpusError(
            f"Line-aligned files differ in length: {source_path} has "
            f"{source_lines} lines, {target_path} has {target_lines}."
        )
    return PairCorpus(
        lambda report: _parallel_pairs(source_path, target_path, report),
        f"{source_path} + {target_path}",
    )


def _tfds_pairs(name, split, data_dir, source_language, target_language, report):
    import tensorflow_datasets as tfds

    try:
        dataset = tfds.load(name, split=split, data_dir=data_dir, download=False)
    except Exception as e:  # TFDS raises several types for a missing dataset
        raise CorpusError(
            f"TFDS dataset {name!r} (split {split!r}) is not prepared in "
            f"data dir {data_dir or '~/tensorflow_datasets'}: {e}. Prepare it "
            "with `tfds build` on a machine with internet access."
        ) from e
    def examples():
        for number, example in enumerate(dataset.as_numpy_iterator(), start=1):
            if source_language not in example or target_language not in example:
                raise CorpusError(
                    f"TFDS dataset {name!r} has features {sorted(example)}, not "
                    f"{source_language!r} and {target_language!r}."
                )
            yield number, example[source_language], example[target_language]

    yield from _checked(examples(), report)


def read_tfds(name, split="train", data_dir=None, source_language=None, target_language=None):
    """Pairs from a TFDS translation dataset, e.g. `wmt14_translate/fr-en`.

    Nothing is downloaded: the dataset must already be prepared in
    `data_dir`. The language features default to the dataset's supervised
    keys (for `ted_hrlr_translate/pt_to_en`: pt -> en); pass them to
    translate the other way.

    Args:
        name: str. TFDS name with config, e.g. "ted_hrlr_translate/pt_to_en".
        split: str. A TFDS split, e.g. "train" or "validation[:10%]".
        data_dir: str or None. TFDS data directory.
        source_language: str or None. Feature key of the source text.
        target_language: str or None. Feature key of the target text.
    """
    if source_language is None or target_language is None:
        import tensorflow_datasets as tfds

        try:
            builder = tfds.builder(name, data_dir=data_dir)
        except Exception as e:
            raise CorpusError(f"Unknown TFDS dataset {name!r}: {e}") from e
        keys = builder.info.supervised_keys
        if not keys:
            raise CorpusError(
                f"TFDS dataset {name!r} has no supervised keys: pass "
                "source_language and target_language."
            )
        source_language = source_language or keys[0]
        target_language = target_language or keys[1]
    return PairCorpus(
        lambda report: _tfds_pairs(
            name, split, data_dir, source_language, target_language, report
        ),
        f"tfds:{name}[{split}]",
    )


def in_validation(source, validation_fraction, seed=0):
    """Whether a source sentence belongs to the validation split.

    Decided by a stable hash of the sentence, so all translations of one
    source sentence fall on the same side, the split is the same in every
    process, and it needs no pass over the corpus.
    """
    digest = hashlib.blake2b(f"{seed}\x00{source}".encode("utf-8"), digest_size=8)
    return int.from_bytes(digest.digest(), "big") / 2.0**64 < validation_fraction


class _Filtered:
    def __init__(self, pairs, keep, limit=None):
        self.pairs, self.keep, self.limit = pairs, keep, limit

    def __iter__(self):
        count = 0
        for pair in self.pairs:
            if self.limit is not None and count >= self.limit:
                return
            if self.keep(pair):
                count += 1
                yield pair


class _Concatenated:
    def __init__(self, corpora):
        self.corpora = list(corpora)
        self.description = " + ".join(
            getattr(c, "description", type(c).__name__) for c in self.corpora
        )

    def __iter__(self):
        for corpus in self.corpora:
            yield from corpus


def concatenate_pairs(corpora):
    """Several corpora read one after the other, re-iterable.

    Each corpus keeps its own read report (skipped lines are reported per
    file). A single corpus is returned as it is.
    """
    corpora = list(corpora)
    if not corpora:
        raise CorpusError("No corpus given.")
    return corpora[0] if len(corpora) == 1 else _Concatenated(corpora)


def take_pairs(pairs, limit):
    """The first `limit` pairs (all when limit is None), re-iterable."""
    return pairs if limit is None else _Filtered(pairs, lambda p: True, limit=limit)


def split_by_source(
    pairs, validation_fraction=0.1, seed=0, max_train_examples=None, max_validation_examples=None
):
    """Split pairs deterministically into (train, validation) by source sentence.

    Args:
        pairs: re-iterable of (source, target).
        validation_fraction: float in [0, 1). Share of unique source
            sentences that go to validation. Defaults to 0.1.
        seed: int. Changes which sentences are held out. Defaults to 0.
        max_train_examples: int or None. Keep only the first N training
            pairs. Defaults to None (all).
        max_validation_examples: int or None. Keep only the first N
            validation pairs. Defaults to None (all).

    Returns:
        (train, validation), two re-iterables of pairs.
    """
    if not 0.0 <= validation_fraction < 1.0:
        raise ConfigurationError(
            f"validation_fraction must be in [0, 1), got {validation_fraction}.")

    def is_val(pair):
        return in_validation(pair[0], validation_fraction, seed)

    train = _Filtered(pairs, lambda p: not is_val(p), limit=max_train_examples)
    validation = _Filtered(pairs, is_val, limit=max_validation_examples)
    return train, validation
