"""Every public class has a short example in its docstring (keras-hub's
habit), and the examples run."""

import doctest
import importlib
import inspect

import pytest

from conftest import REPO_ROOT

# Public classes outside `keras_seq2seq.__all__` that users build directly.
MORE_CLASSES = [
    ("keras_seq2seq.export.limits", "ServingLimits"),
    ("keras_seq2seq.captioning.captioner", "Captioner"),
]


def _public_objects():
    import keras_seq2seq

    objects = [(name, getattr(keras_seq2seq, name)) for name in keras_seq2seq.__all__]
    objects += [(name, getattr(importlib.import_module(module), name))
                for module, name in MORE_CLASSES]
    return objects


def test_every_public_class_has_an_example():
    if not (REPO_ROOT / "saved_models" / "en-fr" / "config.json").exists():
        pytest.skip("the examples load the shipped model")
    missing = [name for name, obj in _public_objects()
               if inspect.isclass(obj) and ">>>" not in (obj.__doc__ or "")]
    assert not missing, f"public classes without a docstring example: {missing}"


def test_docstring_examples_run():
    if not (REPO_ROOT / "saved_models" / "en-fr" / "config.json").exists():
        pytest.skip("the examples load the shipped model")
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    ran = 0
    seen = set()
    for name, obj in _public_objects():
        if id(obj) in seen or not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        seen.add(id(obj))
        for test in finder.find(obj, name, module=inspect.getmodule(obj)):
            if test.examples:
                runner.run(test)
                ran += 1
    summary = runner.summarize(verbose=False)
    assert ran >= 5 and summary.failed == 0, summary
