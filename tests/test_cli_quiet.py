"""A quiet, quick CLI: no TensorFlow for --help, no C++ log lines, readable logs."""

import io
import os
import re
import subprocess
import sys

import pytest

from conftest import TINY_PAIRS
from keras_seq2seq.decoder import fit_verbosity

NO_TF = r"""
import sys
from keras_seq2seq.cli import main
for argv in (["--help"], ["train", "--help"], ["serve", "--help"], ["train"],
             ["translate", "--beam-size", "x"], ["caption", "--help"]):
    try:
        main(argv)
    except SystemExit:
        pass
print("TF-IMPORTED" if "tensorflow" in sys.modules else "NO-TF")
"""

# Like a user's shell: TensorFlow's own default log level.
ENV = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
TF_LINES = re.compile(r"^[IWE]\d{4} |absl::InitializeLog|oneDNN|cuda", re.M)


def _run(args, **kwargs):
    return subprocess.run([sys.executable, "-m", "keras_seq2seq.cli", *args],
                          capture_output=True, text=True, timeout=600, env=ENV, **kwargs)


def test_help_and_argument_errors_do_not_import_tensorflow():
    result = subprocess.run([sys.executable, "-c", NO_TF], capture_output=True, text=True,
                            timeout=120, env=ENV)
    assert result.stdout.strip().splitlines()[-1] == "NO-TF", result.stderr[-2000:]
    assert "--max-instances" in result.stdout and "Default: 256" in result.stdout
    assert "the following arguments are required" in result.stderr


def test_commands_print_no_tensorflow_log_lines(trained_translator):
    _, _, directory = trained_translator
    quiet = _run(["translate", "--model", directory, "Thank you."])
    assert quiet.returncode == 0 and quiet.stdout.strip(), quiet.stderr[-2000:]
    assert not TF_LINES.search(quiet.stderr), quiet.stderr[-2000:]
    # Errors still reach the user.
    missing = _run(["translate", "--model", directory + "-missing", "x"])
    assert missing.returncode == 1 and "Model directory not found" in missing.stderr
    verbose = _run(["--verbose", "translate", "--model", directory, "Thank you."])
    assert verbose.stdout == quiet.stdout and len(verbose.stderr) > len(quiet.stderr)


# The default run has test_progress_verbosity_follows_the_stream and the quiet-commands test.
@pytest.mark.slow
def test_training_into_a_pipe_logs_one_line_per_epoch(tmp_path):
    corpus = tmp_path / "pairs.tsv"
    corpus.write_text("".join(f"{s}\t{t}\n" for s, t in TINY_PAIRS * 4), encoding="utf-8")
    result = _run(["train", "--pairs", str(corpus), "--architecture", "seed_toy", "--epochs", "3",
                   "--batch-size", "8", "--out", str(tmp_path / "m")])
    assert result.returncode == 0, result.stderr[-2000:]
    epoch_lines = re.findall(r"^\d+/\d+ - \d+s - .*loss", result.stdout, re.M)
    assert len(epoch_lines) == 3, result.stdout[-2000:]
    assert "\r" not in result.stdout and "\x1b[" not in result.stdout
    assert "ran out of data" not in result.stdout + result.stderr
    assert not TF_LINES.search(result.stderr), result.stderr[-2000:]


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_verbosity_follows_the_stream():
    assert fit_verbosity("auto", _Terminal()) == 1
    assert fit_verbosity("auto", io.StringIO()) == 2
    assert fit_verbosity(0, _Terminal()) == 0 and fit_verbosity(1, io.StringIO()) == 1


QUICK_EXIT = r"""
import atexit, sys
from keras_seq2seq.cli import run
atexit.register(lambda: open(sys.argv[1], "w").write("exit handlers ran"))
print("before", flush=False)  # buffered: the quick exit must flush it
sys.exit(run(sys.argv[2:]))
"""


@pytest.mark.parametrize("full_exit", ["0", "1"])
def test_the_command_ends_quickly_and_loses_nothing(trained_translator, tmp_path, full_exit):
    # `run` ends the process with os._exit once TensorFlow is loaded (its
    # teardown takes about a second); the exit handlers still run, buffered
    # output is flushed, the exit code is main's. KERAS_SEQ2SEQ_FULL_EXIT=1
    # keeps the interpreter's exit: the same output.
    _, _, directory = trained_translator
    source = tmp_path / "in.txt"
    source.write_text("Thank you.\nGood morning.\n", encoding="utf-8")
    marker = tmp_path / f"marker-{full_exit}"
    env = dict(ENV, KERAS_SEQ2SEQ_FULL_EXIT=full_exit)
    ok = subprocess.run([sys.executable, "-c", QUICK_EXIT, str(marker), "translate", "--model",
                         directory, "--input", str(source)],
                        capture_output=True, text=True, timeout=600, env=env)
    assert ok.returncode == 0, ok.stderr[-2000:]
    lines = ok.stdout.splitlines()
    assert lines[0] == "before" and len(lines) == 3 and all(lines[1:]), ok.stdout
    assert marker.read_text() == "exit handlers ran"
    marker.unlink()
    failed = subprocess.run([sys.executable, "-c", QUICK_EXIT, str(marker), "evaluate",
                             "--model", directory, "--source", str(source), "--reference",
                             str(tmp_path / "missing.txt")],
                            capture_output=True, text=True, timeout=600, env=env)
    assert failed.returncode == 1 and "missing.txt" in failed.stderr, failed.stderr[-2000:]
    assert marker.read_text() == "exit handlers ran"


IMPORTED = r"""
import atexit, gc, sys
from keras_seq2seq.cli import run
atexit.register(lambda: open(sys.argv[1], "w").write(" ".join(
    [name for name in ("keras_hub", "tensorflow_text", "kagglehub")
     if sys.modules.get(name) is not None]
    + [f"gc-enabled={gc.isenabled()}", f"frozen={gc.get_freeze_count() > 100000}"])))
sys.exit(run(sys.argv[2:]))
"""


def test_translate_leaves_out_the_imports_decoding_never_uses(trained_translator, tmp_path):
    # In the command's own process keras-hub comes without tensorflow-text
    # and kagglehub (cli/common.py, skip_unused_imports), and the garbage
    # collector, paused while they load, runs again afterwards, with the
    # start-up's objects frozen (decoding_start_up): the same translation.
    translator, _, directory = trained_translator
    record = tmp_path / "modules"
    result = subprocess.run([sys.executable, "-c", IMPORTED, str(record), "translate",
                             "--model", directory, "Thank you."],
                            capture_output=True, text=True, timeout=600, env=ENV)
    assert result.returncode == 0, result.stderr[-2000:]
    assert record.read_text() == "keras_hub gc-enabled=True frozen=True"
    assert result.stdout.strip() == translator.translate("Thank you.")


def test_decoding_start_up_pauses_the_collector_only_in_the_commands_own_process(monkeypatch):
    import gc

    import keras_hub  # noqa: F401  (imported already: nothing is skipped here)

    from keras_seq2seq.cli import common

    with common.decoding_start_up():  # cli.main called from Python: untouched
        assert gc.isenabled()
    monkeypatch.setattr(common, "OWN_PROCESS", True)
    before = gc.get_freeze_count()
    try:
        with common.decoding_start_up():
            assert not gc.isenabled()
        assert gc.isenabled() and gc.get_freeze_count() > before
        with pytest.raises(RuntimeError), common.decoding_start_up():
            raise RuntimeError("a failed load")
        assert gc.isenabled()
    finally:
        gc.unfreeze()
