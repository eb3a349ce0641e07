"""Lazy package exports: a name is imported from its module when first used,
so importing a package (or a light submodule such as `models.config`, which
the CLI reads to build `--help`) does not load TensorFlow."""

import importlib


def lazy_exports(package, exports):
    """`(__getattr__, __dir__)` for a package whose `exports` maps each public
    name to the module that defines it."""
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
