"""Lazy package exports and lazy Keras registration.

A name is imported from its module when first used, so importing a package
(or a light submodule such as `models.config`, which the CLI reads to build
`--help`) does not load TensorFlow.

The Keras classes are registered the same way: `register_keras_proxies` puts
a small stand-in for each one in Keras's custom-object registry (the
`keras.saving.get_custom_objects()` dict), so that `keras.saving.load_model`
finds `"keras_seq2seq>Seq2SeqTranslator"` in a process that only ran
`import keras_seq2seq`. A stand-in's `from_config` imports the real class and
delegates; the real class, once its module is imported, takes the stand-in's
place in the registry (`register_keras_class`). The stand-ins go in as soon
as Keras is imported, by `sys.meta_path` hook when it is not yet: the hook
does no more than fill the dict (TensorFlow imports Keras while it is itself
initialising, so nothing heavy may be imported from there).
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys
from typing import Any, Callable


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable, Callable]:
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


# Lazy Keras registration.

KERAS_PACKAGE = "keras_seq2seq"


class _ProxyType(type):
    """The stand-ins' metaclass: any other class attribute (`from_preset`,
    `presets`...) is the real class's."""

    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(cls.resolve(), name)

    def __repr__(cls):
        return f"<stand-in for {cls._module}.{cls._class_name} (not imported yet)>"


class KerasProxy(metaclass=_ProxyType):
    """A registry entry standing for a class whose module is not imported yet."""

    _module = ""
    _class_name = ""

    @classmethod
    def resolve(cls) -> type:
        """Import the real class (which registers itself in our place)."""
        return getattr(importlib.import_module(cls._module), cls._class_name)

    @classmethod
    def from_config(cls, config: dict, *args, **kwargs) -> Any:
        return cls.resolve().from_config(config, *args, **kwargs)

    @classmethod
    def get_config(cls) -> dict:  # what `register_keras_serializable` asks of a class
        return {}


def registered_name(class_name: str) -> str:
    return f"{KERAS_PACKAGE}>{class_name}"


def _make_proxy(class_name: str, module: str) -> type:
    return _ProxyType(class_name, (KerasProxy,), {"_module": module, "_class_name": class_name,
                                                   "__module__": __name__})


def _install_proxies(classes: dict[str, str]) -> None:
    import keras  # already imported and initialised: a dict lookup

    registry = keras.saving.get_custom_objects()
    for class_name, module in classes.items():
        # A real class, registered already, stays.
        registry.setdefault(registered_name(class_name), _make_proxy(class_name, module))


def register_keras_class(cls: type) -> type:
    """Class decorator: `keras.saving.register_keras_serializable(package=
    "keras_seq2seq")`, replacing the stand-in registered for `cls`."""
    import keras

    name = registered_name(cls.__name__)
    registry = keras.saving.get_custom_objects()
    current = registry.get(name)
    if isinstance(current, _ProxyType):
        del registry[name]
    return keras.saving.register_keras_serializable(package=KERAS_PACKAGE)(cls)


def _initialising(module) -> bool:
    spec = getattr(module, "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


class _LoaderWrapper(importlib.abc.Loader):
    """The `keras` package's own loader, which calls `after` once the
    package has executed."""

    def __init__(self, loader, after):
        self._loader = loader
        self._after = after

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        try:
            self._after()
        except Exception:  # never break `import keras`: the real classes register
            pass  # themselves when their modules are imported

    def __getattr__(self, name):  # get_resource_reader, get_data, is_package...
        return getattr(self._loader, name)


class _KerasImportHook(importlib.abc.MetaPathFinder):
    """Runs `after` when the `keras` package has finished importing, then
    leaves `sys.meta_path`. (A `find_spec` alone, such as
    `importlib.util.find_spec("keras")`, which TensorFlow asks before it
    imports Keras, executes nothing: the hook stays for the import.)"""

    def __init__(self, after):
        self._after = after

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras":
            return None
        spec = self._find(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _LoaderWrapper(spec.loader, self._done)
        return spec

    def _find(self, fullname, path, target):
        for finder in list(sys.meta_path):
            find_spec = getattr(finder, "find_spec", None)
            if finder is self or find_spec is None:
                continue
            spec = find_spec(fullname, path, target)
            if spec is not None:
                return spec
        return None

    def _done(self):
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        self._after()


def register_keras_proxies(classes: dict[str, str]) -> None:
    """Make the Keras classes `{class name: module}` loadable by
    `keras.saving.load_model` without importing their modules now: the
    stand-ins go in now if Keras is imported, else when it is."""
    keras = sys.modules.get("keras")
    if keras is not None and not _initialising(keras):
        _install_proxies(classes)
    elif keras is None:
        if not any(isinstance(f, _KerasImportHook) for f in sys.meta_path):
            sys.meta_path.insert(0, _KerasImportHook(lambda: _install_proxies(classes)))
    # Keras half-imported (this package imported from inside Keras's own
    # initialisation): nothing to hook; importing a class registers it.
