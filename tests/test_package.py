"""Package hygiene: modules use each other through public names only."""

import ast
import importlib
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "keras_seq2seq"


def _private(name):
    return name.startswith("_") and not name.startswith("__")


def test_no_module_uses_another_modules_private_names():
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in PACKAGE.rglob("*.py")}
    # Private functions, methods and classes defined anywhere in the package.
    defined = {node.name for tree in trees.values() for node in ast.walk(tree)
               if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
               and _private(node.name)}
    found = []
    for path, tree in trees.items():
        where = path.relative_to(PACKAGE.parent)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("keras_seq2seq"):
                found += [f"{where}:{node.lineno}: imports {a.name} from {node.module}"
                          for a in node.names if _private(a.name)]
            elif (isinstance(node, ast.Attribute) and _private(node.attr)
                  and node.attr in defined
                  and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
                found.append(f"{where}:{node.lineno}: uses {ast.unparse(node)}")
    assert not found, "\n".join(found)


def test_every_error_the_project_raises_is_a_seq2seq_error():
    import inspect
    import pkgutil

    import keras_seq2seq
    from keras_seq2seq.errors import Seq2SeqError

    errors = {}
    for info in pkgutil.walk_packages(keras_seq2seq.__path__, "keras_seq2seq."):
        if info.name.startswith("keras_seq2seq.explore.app") or info.name.endswith("__main__"):
            continue  # the Flask app module builds an app on import; __main__ runs the CLI
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, Exception)
                    and value.__module__ == info.name):
                errors[name] = value
    assert {"CorpusError", "ModelDirectoryError", "VocabularyError", "ConfigurationError",
            "ServingError", "ExportError", "TrainingInterrupted"} <= set(errors)
    outside = sorted(n for n, e in errors.items() if not issubclass(e, Seq2SeqError))
    assert outside == [], f"not Seq2SeqError subclasses: {outside}"
    # The built-in bases stay, so `except ValueError` in users' code still works.
    assert issubclass(errors["ConfigurationError"], ValueError)
    assert issubclass(errors["CorpusError"], ValueError)


def test_cli_prints_project_errors_in_one_line_and_lets_bugs_keep_their_traceback(
        tmp_path, capsys, monkeypatch):
    from keras_seq2seq import cli

    # A project error: averaging a run with no checkpoints.
    assert cli.main(["average", "--run", str(tmp_path), "--last", "2",
                     "--out", str(tmp_path / "avg")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("keras-seq2seq: error: ")

    # Anything else is a bug: it propagates with its traceback.
    def broken(args, parser):
        return {}["missing"]

    monkeypatch.setattr(cli.train, "average", broken)
    with pytest.raises(KeyError):
        cli.main(["average", "--run", str(tmp_path), "--last", "2",
                  "--out", str(tmp_path / "avg")])
