"""What the commands share: reading inputs, writing outputs, loading models.
No TensorFlow at import (the parsers are built from these modules)."""

import contextlib
import gc
import gzip
import os
import sys

from keras_seq2seq.errors import ConfigurationError

# True in the `keras-seq2seq` command's own process (`cli.run`), False when
# `cli.main` is called from Python (tests, notebooks): process-wide start-up
# choices are made only in the former.
OWN_PROCESS = False


def skip_unused_imports():
    """Start-up of a command that only decodes (`translate`, `evaluate`).

    keras-hub (whose classes the model is built from) imports, when it is
    imported, tensorflow-text (0.15 s) and kagglehub with its SDK (0.2 s),
    about a tenth of `translate`'s start-up (python -X importtime). A
    decoding process uses neither: the tokenizers are this project's own
    core-op ones (tensorflow-text learns vocabularies, in `train`) and the
    models are local directories (kagglehub downloads Kaggle presets). So
    neither is imported: keras-hub takes both as not installed, as it does
    on a machine without them. (Importing tensorflow-text lazily does not
    work: keras-hub imports one of its submodules at once.) Only in the
    command's own process (`OWN_PROCESS`), before keras-hub is imported;
    the Python API and `cli.main` called from Python import everything as
    usual.
    """
    if not OWN_PROCESS or "keras_hub" in sys.modules:
        return
    for name in ("tensorflow_text", "kagglehub"):
        # None in sys.modules: `import name` raises ModuleNotFoundError.
        sys.modules.setdefault(name, None)


@contextlib.contextmanager
def decoding_start_up():
    """The start-up of a command that only decodes (`translate`,
    `evaluate`): run the imports and the model loading in this block.

    In the command's own process (`OWN_PROCESS`) only:
    - the imports that decoding never uses are skipped
      (`skip_unused_imports`);
    - Python's cyclic garbage collector is paused until the block ends,
      and what was built by then is frozen (`gc.freeze`, made for this: a
      long-lived heap that later collections need not walk). Importing
      TensorFlow and keras-hub allocates hundreds of thousands of objects,
      each allocation burst triggering a collection that walks all the
      objects made before it: those collections took 0.4 s of the 3.4 s
      before the first translation (TensorFlow's import 1.9 -> 1.55 s,
      keras-hub's 0.27 -> 0.15; benchmarks/peers/README.md, "Two batches
      in flight, the collector paused, Grappler once"). Garbage made inside the block is still
      freed by reference counting; only cycles wait (and are frozen).
    """
    if not OWN_PROCESS:
        yield
        return
    skip_unused_imports()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.enable()


def load_models(paths):
    """One model, or an ensemble of several translators; a preset name or a
    path each (`keras_seq2seq.load` dispatches on what the directory holds)."""
    from keras_seq2seq.model_directory import load
    from keras_seq2seq.presets import default_model

    models = [load(path) for path in (paths or [default_model()])]
    for path, model in zip(paths or [default_model()], models):
        if model.source_tokenizer is None:
            raise ConfigurationError(f"{path} holds a captioner, not a translator: caption "
                                     "images with `keras-seq2seq caption`.")
    if len(models) == 1:
        return models[0]
    from keras_seq2seq.translator import Ensemble

    return Ensemble(models)


def read_lines(texts, path, parser):
    """The texts to translate: arguments, the lines of `path` or of stdin
    (bytes: invalid UTF-8 is replaced later, not fatal)."""
    if texts:
        if path:
            parser.error("give texts as arguments or --input FILE, not both")
        return texts
    if path:
        with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
            data = f.read()
    else:
        data = sys.stdin.buffer.read()
    # Only \n (and \r\n) end a line: one output line per input line.
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def write_lines(path, lines):
    if path:
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(line + "\n" for line in lines)
    else:
        for line in lines:
            print(line)


def check_writable(path, flag, parser):
    """Refuse an output path now, not after translating everything; creates
    nothing."""
    if os.path.isdir(path):
        parser.error(f"cannot write {flag} {path}: it is a directory")
    if os.path.exists(path):
        if not os.access(path, os.W_OK):
            parser.error(f"cannot write {flag} {path}: permission denied")
        return
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        parser.error(f"cannot write {flag} {path}: no directory {parent}")
    if not os.access(parent, os.W_OK):
        parser.error(f"cannot write {flag} {path}: directory {parent} is not writable")
