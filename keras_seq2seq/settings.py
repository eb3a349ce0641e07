"""Settings as objects: frozen dataclasses validated once, and the command-line
flags generated from their fields.

No TensorFlow here: the CLI builds `--help` from these classes.

`DecodingConfig` is how a model translates. A model directory stores one
(`config.json`, key `"decoding"`), and every entry point takes it: the
`translate`, `evaluate`, `export`, `serve` and `explore` commands, `Translator`,
`Seq2SeqTranslator.generate`, the SavedModel (its graph is traced with it) and
the LiteRT runners (`tflite_config.json` carries it). A flag or a keyword
overrides one field; nothing else has a default of its own.

    >>> settings = DecodingConfig()                # beam 5, names protected
    >>> settings.beam_size, settings.replace(beam_size=1).beam_size
    (5, 1)
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import typing

from keras_seq2seq.errors import ConfigurationError

# When beam search is done with a sentence (`DecodingConfig.beam_stop`).
BEAM_STOP_RULES = ("all", "settled", "best")


def setting(default, help, *, choices=None, flag=None, metavar=None):  # noqa: A002
    """A dataclass field with what its command-line flag needs: help text,
    choices, and the flag's name when it is not the field's."""
    metadata = {"help": help, "choices": choices, "flag": flag, "metavar": metavar}
    if isinstance(default, (list, tuple)):
        return dataclasses.field(default_factory=lambda: type(default)(default),
                                 metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


class Settings:
    """JSON round trip, copies with changes and checks shared by the settings
    dataclasses."""

    def to_dict(self) -> dict:
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, values: dict | None, *, ignore_unknown=False):
        """Build from a dict; unknown keys are an error naming them (or
        dropped with `ignore_unknown`); missing keys take the defaults."""
        values = dict(values or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown and not ignore_unknown:
            raise ConfigurationError(
                f"Unknown {cls.__name__} keys: {unknown}; known: {sorted(known)}.")
        return cls(**{k: v for k, v in values.items() if k in known})

    def replace(self, **changes):
        """A copy with some fields changed (checked again); unknown names are
        an error that lists the known ones."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigurationError(
                f"Unknown {type(self).__name__} fields: {unknown}; known: {sorted(known)}.")
        return dataclasses.replace(self, **changes)

    def _check(self, name, ok, expected):
        if not ok:
            raise ConfigurationError(
                f"{type(self).__name__}.{name} must be {expected}, got {getattr(self, name)!r}.")


def _jsonable(value):
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


@dataclasses.dataclass(frozen=True)
class DecodingConfig(Settings):
    """How a model turns a source into a translation: the search, its
    penalties, the text handling around it and the length limits.

    The defaults are what the shipped model's card recommends (beam 5,
    sentence splitting, names protected where the vocabularies allow);
    a model directory written before settings were stored loads with them.

    >>> settings = DecodingConfig()
    >>> settings.describe(), settings.replace(beam_size=1).describe()
    ('beam 5 (alpha 0.6)', 'greedy')
    """

    beam_size: int = setting(5, "1 for greedy search, more for beam search.")
    alpha: float = setting(0.6, "Beam-search length penalty (GNMT): scores are divided by "
                           "((5 + length) / 6) ** alpha.")
    beam_stop: str = setting(
        "settled", "When beam search is done with a sentence: 'settled', as soon as no "
        "unfinished hypothesis can overtake the best finished one (the same translation as "
        "'all', in about a twentieth fewer steps); 'all', when every hypothesis is finished; "
        "'best', as soon as the best one by score is (OpenNMT-py's rule: about a tenth faster "
        "than 'all', but a longer hypothesis that would have overtaken it is dropped, which "
        "shortens some translations). n-best lists always use 'all'.",
        choices=BEAM_STOP_RULES)
    unk_penalty: float = setting(
        0.0, "Subtracted from the log-probability of <unk> at every step; 'inf' never writes "
        "<unk> (the search takes the best real word instead), a negative value makes it "
        "more likely; 0 is the paper's decoder.")
    no_repeat_ngram: int = setting(
        0, "Never write the same N tokens twice in a translation (stops loops such as "
        "'cinq cinq cinq'); 0 turns it off.", metavar="N")
    split_sentences: bool = setting(
        True, "Cut each input into sentences, translate them as one batch and join the "
        "translations with the input's own separators (off: each input whole).")
    protect_names: typing.Optional[bool] = setting(
        None, "Translate each rare capitalised word as a placeholder name the model copies "
        "whole ('Tom') and put the word back; unset: on where the model's vocabularies hold "
        "a placeholder name.")
    replace_unknown: bool = setting(
        False, "Word-level models with attention: write the source word the attention "
        "points to in place of each <unk>.")
    max_input_tokens: int = setting(
        200, "Source tokens beyond this are cut off before encoding.", metavar="TOKENS")
    max_output_tokens: int = setting(100, "Most tokens generated per sentence.",
                                     metavar="TOKENS")
    length_ratio: float = setting(
        2.0, "A sentence may generate at most length_ratio * source tokens + length_offset "
        "tokens (and max_output_tokens at most).")
    length_offset: int = setting(10, "See length_ratio.")

    def __post_init__(self):
        for name in ("beam_size", "no_repeat_ngram", "max_input_tokens", "max_output_tokens",
                     "length_offset"):
            value = getattr(self, name)
            self._check(name, isinstance(value, int) and not isinstance(value, bool),
                        "a whole number")
        for name in ("alpha", "unk_penalty", "length_ratio"):
            value = getattr(self, name)
            if isinstance(value, str):  # "inf" from JSON or a flag
                try:
                    object.__setattr__(self, name, float(value))
                except ValueError:
                    self._check(name, False, "a number")
            self._check(name, isinstance(getattr(self, name), (int, float))
                        and not isinstance(getattr(self, name), bool)
                        and not math.isnan(getattr(self, name)), "a number")
            object.__setattr__(self, name, float(getattr(self, name)))
        self._check("beam_size", self.beam_size >= 1, ">= 1")
        self._check("alpha", self.alpha >= 0, ">= 0")
        self._check("beam_stop", self.beam_stop in BEAM_STOP_RULES,
                    " or ".join(repr(rule) for rule in BEAM_STOP_RULES))
        self._check("no_repeat_ngram", self.no_repeat_ngram == 0 or self.no_repeat_ngram >= 2,
                    "0 (off) or >= 2 (a 1-gram block would forbid every repeated token)")
        for name in ("max_input_tokens", "max_output_tokens"):
            self._check(name, getattr(self, name) >= 1, ">= 1")
        self._check("length_ratio", self.length_ratio >= 0, ">= 0")
        self._check("length_offset", self.length_offset >= 0, ">= 0")
        for name in ("split_sentences", "replace_unknown"):
            self._check(name, isinstance(getattr(self, name), bool), "true or false")
        self._check("protect_names", self.protect_names in (None, True, False),
                    "true, false or null (automatic)")

    def describe(self) -> str:
        """One line for reports: 'beam 5 (alpha 0.6)', 'greedy', with the
        non-default penalties."""
        search = f"beam {self.beam_size} (alpha {self.alpha:g})"
        parts = ["greedy" if self.beam_size == 1 else search]
        if self.unk_penalty:
            parts.append(f"unk penalty {self.unk_penalty:g}")
        if self.no_repeat_ngram:
            parts.append(f"no repeated {self.no_repeat_ngram}-grams")
        if self.replace_unknown:
            parts.append("<unk> replaced")
        return ", ".join(parts)


# Flags from fields.


def _flag_name(field):
    return field.metadata.get("flag") or field.name.replace("_", "-")


def _field_type(cls, field):
    hints = typing.get_type_hints(cls)
    kind = hints[field.name]
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    if typing.get_origin(kind) is typing.Union and len(args) == 1:
        kind = args[0]
    return kind


def add_flags(parser, cls, *, only=None, exclude=(), defaults=None, default_note=None):
    """Add one flag per field of the dataclass `cls` to `parser` (a parser or
    an argument group), with the field's help text and choices.

    A flag that is not given leaves its field out of the parsed namespace
    (`argparse.SUPPRESS`), so `overrides(args, cls)` returns only what the
    user typed, and the object it overrides keeps its own values (a
    model's stored decoding settings, a run's saved training settings).

    Args:
        parser: argparse parser or group.
        cls: a dataclass whose fields were made with `setting`.
        only: field names to add (all when None).
        exclude: field names to leave out.
        defaults: dataclass instance or None. The values "Default:" shows
            (the class's defaults when None).
        default_note: str or None. Shown after "Default:" instead of the
            value; "{default}" in it is replaced by the value (e.g. "the
            model's own; {default} for a model that stores none").
    """
    names = []
    for field in dataclasses.fields(cls):
        if field.name in exclude or (only is not None and field.name not in only):
            continue
        names.append(field.name)
        kind = _field_type(cls, field)
        meta = field.metadata
        default = getattr(defaults, field.name) if defaults is not None else (
            field.default if field.default is not dataclasses.MISSING
            else field.default_factory() if field.default_factory is not dataclasses.MISSING
            else None)
        shown = (default_note or "{default}").replace("{default}", _show(default))
        help_text = f"{meta.get('help') or ''} Default: {shown}.".strip()
        kwargs = {"dest": field.name, "default": argparse.SUPPRESS, "help": help_text}
        if meta.get("metavar"):
            kwargs["metavar"] = meta["metavar"]
        if kind is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(kind) in (list, tuple):
            kwargs["action"] = "append"
            kwargs["type"] = typing.get_args(kind)[0] if typing.get_args(kind) else str
        else:
            kwargs["type"] = kind if kind in (int, float, str) else str
            if meta.get("choices"):
                kwargs["choices"] = list(meta["choices"])
        parser.add_argument(f"--{_flag_name(field)}", **kwargs)
    return names


def _show(value):
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (list, tuple)):
        return "none" if not value else " ".join(map(str, value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def overrides(args, cls, only=None):
    """{field: value} for the fields of `cls` given on the command line."""
    given = vars(args)
    return {f.name: given[f.name] for f in dataclasses.fields(cls)
            if f.name in given and (only is None or f.name in only)}


def flag_names(cls, only=None, exclude=()):
    """The flags `add_flags` generates for `cls` (for tests and docs)."""
    return [f"--{_flag_name(f)}" for f in dataclasses.fields(cls)
            if f.name not in exclude and (only is None or f.name in only)]
