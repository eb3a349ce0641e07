import gzip

import pytest

from conftest import TINY_PAIRS, require_data, write_tsv
from keras_seq2seq.data import (
    CorpusError,
    in_validation,
    read_parallel_files,
    read_tfds,
    read_tsv_pairs,
    split_by_source,
    take_pairs,
)


@pytest.mark.parametrize("gz", [False, True])
def test_tsv_pairs_plain_and_gzip_ignore_extra_columns(tmp_path, gz):
    path = write_tsv(tmp_path / ("p.tsv.gz" if gz else "p.tsv"), TINY_PAIRS, gz=gz)
    corpus = read_tsv_pairs(path)
    assert list(corpus) == TINY_PAIRS
    assert corpus.report.valid == len(TINY_PAIRS)
    assert corpus.report.skipped == 0
    # Re-iterable: a second pass reads the file again.
    assert list(corpus) == TINY_PAIRS


def test_tsv_malformed_lines_are_counted_with_line_numbers(tmp_path, caplog):
    path = tmp_path / "bad.tsv"
    path.write_bytes(
        b"Hello.\tBonjour.\n"  # 1 ok
        b"no tab here\n"  # 2
        b"\tempty source\n"  # 3
        b"empty target\t  \n"  # 4
        b"bad \xff bytes\tmauvais\n"  # 5
        b"Thanks.\tMerci.\r\n"  # 6 ok, CRLF
        b"\n"  # 7
    )
    corpus = read_tsv_pairs(str(path))
    with caplog.at_level("WARNING", logger="keras_seq2seq"):
        pairs = list(corpus)
    assert pairs == [("Hello.", "Bonjour."), ("Thanks.", "Merci.")]
    report = corpus.report
    assert (report.valid, report.skipped) == (2, 5)
    lines = [n for n, _ in report.problems]
    assert lines == [2, 3, 4, 5, 7]
    reasons = dict(report.problems)
    assert "tab" in reasons[2] and "empty source" == reasons[3]
    assert "empty target" == reasons[4] and "UTF-8" in reasons[5]
    assert "5 skipped" in caplog.text and "line 2" in caplog.text


def _seven_bad_lines(tmp_path):
    path = tmp_path / "seven.tsv"
    good = [f"Sentence {i}.\tPhrase {i}.\n".encode() for i in range(20)]
    bad = [b"no tab\n", b"\tx\n", b"x\t\n", b"\xff\tx\n", b"x\t\xfe\n", b"tab less\n",
           b"\t\n"]
    lines = []
    for i, line in enumerate(good):
        lines.append(line)
        if i < len(bad):
            lines.append(bad[i])
    path.write_bytes(b"".join(lines))
    return path


def test_malformed_lines_are_reported_once_with_the_total(tmp_path, caplog):
    corpus = read_tsv_pairs(str(_seven_bad_lines(tmp_path)))
    with caplog.at_level("WARNING", logger="keras_seq2seq"):
        for _ in range(4):  # vocabulary, split, epochs: the same file again
            assert len(list(corpus)) == 20
    warnings = [r for r in caplog.records if "Skipped malformed" in r.getMessage()]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "20 valid pairs, 7 skipped" in message and "the first 5: line 2:" in message


def test_malformed_lines_are_reported_when_a_limit_stops_the_reading(tmp_path, caplog):
    from keras_seq2seq.data import take_pairs

    corpus = read_tsv_pairs(str(_seven_bad_lines(tmp_path)))
    with caplog.at_level("WARNING", logger="keras_seq2seq"):
        assert len(list(take_pairs(corpus, 3))) == 3
    assert "skipped in the lines read" in caplog.text and "line 2: no tab" in caplog.text
    assert corpus.report.skipped == 3 and not corpus.report.complete


def test_train_with_max_examples_reports_malformed_lines_once(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "keras_seq2seq.cli", "train", "--pairs",
         str(_seven_bad_lines(tmp_path)), "--max-examples", "12", "--architecture", "seed_toy",
         "--epochs", "2", "--bleu-sample", "0", "--out", str(tmp_path / "m")],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.count("Skipped malformed lines") == 1, result.stderr[-2000:]
    assert "skipped in the lines read" in result.stderr


def test_tsv_with_no_valid_pair_is_an_error(tmp_path):
    path = tmp_path / "none.tsv"
    path.write_text("just text\nmore text\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="No valid .* 2 skipped"):
        list(read_tsv_pairs(str(path)))


def test_missing_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(CorpusError, match="nope.tsv"):
        read_tsv_pairs(str(tmp_path / "nope.tsv"))


def test_truncated_gzip_is_a_clear_error(tmp_path):
    path = tmp_path / "cut.tsv.gz"
    data = gzip.compress(("Hello.\tBonjour.\n" * 2000).encode())
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorpusError, match="cut.tsv.gz: cannot be read after line"):
        list(read_tsv_pairs(str(path)))


def _write_lines(path, lines, gz=True):
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    return str(path)


def test_parallel_files(tmp_path):
    source = _write_lines(tmp_path / "train.en.gz", [s for s, _ in TINY_PAIRS])
    target = _write_lines(tmp_path / "train.fr.gz", [t for _, t in TINY_PAIRS])
    assert list(read_parallel_files(source, target)) == TINY_PAIRS


def test_parallel_files_skip_empty_sides(tmp_path):
    source = _write_lines(tmp_path / "a.en", ["one", "", "three"], gz=False)
    target = _write_lines(tmp_path / "a.fr", ["un", "deux", "  "], gz=False)
    corpus = read_parallel_files(source, target)
    assert list(corpus) == [("one", "un")]
    assert corpus.report.problems == [(2, "empty source"), (3, "empty target")]


def test_parallel_files_with_different_lengths_name_both(tmp_path):
    source = _write_lines(tmp_path / "x.en.gz", ["a", "b", "c"])
    target = _write_lines(tmp_path / "x.fr.gz", ["a", "b"])
    with pytest.raises(CorpusError) as error:
        read_parallel_files(source, target)
    message = str(error.value)
    assert "x.en.gz has 3 lines" in message and "x.fr.gz has 2" in message


def test_split_by_source_is_deterministic_and_keeps_sources_together():
    pairs = [(f"sentence {i % 50}", f"phrase {i}") for i in range(400)]
    train, validation = split_by_source(pairs, 0.2, seed=3)
    train_sources = {s for s, _ in train}
    validation_sources = {s for s, _ in validation}
    assert not train_sources & validation_sources
    assert len(list(train)) + len(list(validation)) == 400
    assert 3 <= len(validation_sources) <= 20  # about 10 of 50
    again_train, _ = split_by_source(pairs, 0.2, seed=3)
    assert list(again_train) == list(train)
    _, other = split_by_source(pairs, 0.2, seed=4)
    assert {s for s, _ in other} != validation_sources
    assert in_validation("x", 0.0) is False


def test_split_limits_and_take_pairs():
    pairs = [(f"s{i}", f"t{i}") for i in range(100)]
    train, validation = split_by_source(pairs, 0.5, max_train_examples=7, max_validation_examples=3)
    assert len(list(train)) == 7 and len(list(validation)) == 3
    assert list(take_pairs(pairs, 5)) == pairs[:5]
    assert take_pairs(pairs, None) is pairs
    with pytest.raises(ValueError, match="validation_fraction"):
        split_by_source(pairs, 1.0)


def test_tfds_reader_with_mock_data(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=7, data_dir=str(tmp_path)):
        corpus = read_tfds("ted_hrlr_translate/pt_to_en", split="train")
        pairs = list(corpus)
    assert len(pairs) + corpus.report.skipped == 7
    assert all(isinstance(s, str) and isinstance(t, str) for s, t in pairs)
    assert corpus.description == "tfds:ted_hrlr_translate/pt_to_en[train]"


def test_tfds_reader_swaps_languages_and_checks_features(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=3, data_dir=str(tmp_path)):
        forward = list(read_tfds("ted_hrlr_translate/pt_to_en"))
        backward = list(read_tfds("ted_hrlr_translate/pt_to_en", source_language="en",
                                  target_language="pt"))
        assert [(t, s) for s, t in forward] == backward
        with pytest.raises(CorpusError, match="features"):
            list(read_tfds("ted_hrlr_translate/pt_to_en", source_language="de",
                           target_language="en"))


def test_tfds_dataset_not_prepared_is_a_clear_error(tmp_path):
    pytest.importorskip("tensorflow_datasets")
    corpus = read_tfds("ted_hrlr_translate/pt_to_en", data_dir=str(tmp_path),
                       source_language="pt", target_language="en")
    with pytest.raises(CorpusError, match="not prepared"):
        list(corpus)


def test_real_tatoeba_reads_every_line():
    (path,) = require_data("tatoeba/eng-fra.tsv.gz")
    corpus = read_tsv_pairs(path)
    count = sum(1 for _ in corpus)
    assert count + corpus.report.skipped == 73737
    assert count > 73000


def test_real_full_tatoeba_reads_every_line_and_splits_by_sentence():
    (path,) = require_data("tatoeba/eng-fra-full.tsv.gz")
    corpus = read_tsv_pairs(path)
    pairs = list(corpus)
    assert len(pairs) + corpus.report.skipped == 162278
    assert corpus.report.skipped == 0
    # The long sentences are there (the short file stops at 9 words).
    longest = max(len(s.split()) for s, _ in pairs)
    assert longest >= 40 and sum(len(s.split()) > 9 for s, _ in pairs) > 13000
    train, validation = split_by_source(corpus, 0.1, seed=0)
    train_sources = {s for s, _ in train}
    validation = list(validation)
    assert not train_sources & {s for s, _ in validation}
    assert 0.08 < len(validation) / len(pairs) < 0.12


def test_real_multi30k_is_aligned():
    source, target = require_data("multi30k/val.en.gz", "multi30k/val.fr.gz")
    pairs = list(read_parallel_files(source, target))
    assert len(pairs) == 1014
