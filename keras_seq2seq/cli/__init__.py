"""Command line: `keras-seq2seq train|translate|evaluate|export|serve|average|explore|
train-captioner|caption`.

A thin layer: each subcommand's flags are generated from the fields of its
settings classes (`keras_seq2seq.settings.add_flags`), and its function
builds those objects and calls the library. Nothing here imports
TensorFlow until a command runs, so `--help` is instant.
"""

import argparse
import atexit
import contextlib
import logging
import os
import sys
import threading

from keras_seq2seq.cli import caption, captioning, common, deploy, train, translate, web
from keras_seq2seq.errors import Seq2SeqError, TrainingInterrupted

# Quiet TensorFlow's C++ start-up logging; set before anything imports TF.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-seq2seq",
        description="Sequence-to-sequence translation with Keras (Sutskever et al. 2014).",
    )
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="More logging, TensorFlow's own C++ log lines included.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    train.add_parser(subparsers)
    translate.add_parsers(subparsers)
    deploy.add_parsers(subparsers)
    train.add_average_parser(subparsers)
    captioning.add_parsers(subparsers)
    caption.add_parser(subparsers)
    web.add_parser(subparsers)
    return parser


@contextlib.contextmanager
def _native_logs_silenced(verbose):
    """Run a command with TensorFlow's C++ log lines sent to /dev/null.

    TensorFlow 2.21 writes its start-up lines (oneDNN, CUDA drivers, cuInit)
    and some op warnings through absl before its logging is initialised, so
    TF_CPP_MIN_LOG_LEVEL does not reach them; only the file descriptor can.
    Descriptor 2 goes to /dev/null and Python's `sys.stderr` (errors,
    progress bars, logging) to a copy of the real one. Only when stderr is
    the process's own (not under pytest's capture) and not `--verbose`.
    """
    try:
        quiet = not verbose and sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        quiet = False
    if not quiet:
        yield
        return
    python_stderr = sys.stderr
    python_stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        sys.stderr = open(saved, "w", buffering=1, encoding=python_stderr.encoding,
                          errors="backslashreplace", closefd=False)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        sys.stderr = python_stderr


def main(argv=None):
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = argv
    if args.verbose:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
    if args.func is deploy.serve:
        # oneDNN keeps per-shape buffers for the life of the process, so a
        # server's memory stays at the high-water mark of its largest batch
        # (+480 MB after 256-sentence requests, measured); without it the
        # memory returns. TF_ENABLE_ONEDNN_OPTS=1 keeps it on.
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    with _native_logs_silenced(args.verbose):
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.INFO,
            format="%(levelname)s %(name)s: %(message)s",
        )
        if not args.verbose:
            # Libraries' start-up notes through absl (grain, beside keras-hub,
            # warns that it has no JAX profiler): TensorFlow's own C++ lines
            # are silenced above; these are their Python twins.
            logging.getLogger("absl").setLevel(logging.ERROR)
        try:
            args.func(args, parser)
        except TrainingInterrupted as e:
            print(f"keras-seq2seq: {e}", file=sys.stderr)
            return 130  # the shell's code for a SIGINT
        except KeyboardInterrupt:
            # Ctrl-C anywhere else (reading a corpus, translating): no
            # traceback, the shell's code.
            print("keras-seq2seq: interrupted", file=sys.stderr)
            return 130
        # The project's own errors (a bad setting, file, corpus, model
        # directory or request; keras_seq2seq.errors) and the operating
        # system's (a missing or unreadable file) are the user's to fix: one
        # line. Anything else is a bug and keeps its traceback.
        except (Seq2SeqError, OSError) as e:
            print(f"keras-seq2seq: error: {e}", file=sys.stderr)
            return 1
    return 0


def run(argv=None):
    """The `keras-seq2seq` command: `main`, then a quick exit.

    Once TensorFlow is loaded, the interpreter's own exit spends about a
    second tearing down modules and native objects (with the shipped model
    loaded, 1.0-1.5 s on 2 busy cores, after `translate` had written its
    output): a quarter of the start-up of a one-sentence `translate`. A
    command's work is done when `main` returns (its files closed, its
    output written), so, when TensorFlow was loaded and no other
    non-daemon thread runs, this runs the exit handlers (`atexit`:
    logging's flush, temporary files, coverage), flushes the standard
    streams and ends the process with `os._exit`. KERAS_SEQ2SEQ_FULL_EXIT=1
    keeps the interpreter's exit. An uncaught exception (a bug) leaves
    normally, with its traceback.
    """
    common.OWN_PROCESS = True
    code = main(argv)
    if ("tensorflow" not in sys.modules or os.environ.get("KERAS_SEQ2SEQ_FULL_EXIT") == "1"
            or any(t.is_alive() and not t.daemon and t is not threading.main_thread()
                   for t in threading.enumerate())):
        return code
    atexit._run_exitfuncs()  # CPython's (undocumented) runner of the exit handlers
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`) or stream
            pass
    os._exit(code)


if __name__ == "__main__":
    sys.exit(run())
