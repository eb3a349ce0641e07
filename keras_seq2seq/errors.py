"""The project's own error types.

Every error the library raises on purpose, for a problem with what it was
given (a setting, a file, a corpus, a request), is a `Seq2SeqError`; the
CLI prints those as one line and exits with status 1, and lets anything
else (a bug) keep its traceback. Each also keeps the built-in base it has
always had (ValueError, RuntimeError, ImportError), so `except ValueError`
in users' code goes on working.
"""


class Seq2SeqError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigurationError(Seq2SeqError, ValueError):
    """A setting or argument value that cannot work, named in the message."""


class MissingDependencyError(Seq2SeqError, ImportError):
    """An optional package that this feature needs is not installed."""


class TrainingInterrupted(Seq2SeqError, RuntimeError):
    """Ctrl-C stopped training (after saving a backup when there is one)."""
