"""Settings as objects: DecodingConfig's checks and round trip, the flags
generated from the fields, and the stored settings being what every entry
point uses."""

import argparse
import dataclasses
import json
import math

import pytest

from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.settings import DecodingConfig, add_flags, flag_names, overrides


def _subparser(name):
    from keras_seq2seq.cli import build_parser

    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return actions[0].choices[name]


def _flags(parser):
    """{first option string: dest} of a parser's flags (not --help)."""
    return {a.option_strings[0]: a.dest for a in parser._actions
            if a.option_strings and a.dest != "help"}


@pytest.mark.parametrize("command", ["translate", "evaluate", "export", "serve", "explore",
                                     "caption"])
def test_every_flag_of_a_command_maps_to_a_field(command):
    from keras_seq2seq.cli import caption, deploy, translate
    from keras_seq2seq.export.limits import ServingLimits

    classes = {
        "translate": [(translate.TranslateOptions, ()), (DecodingConfig, ())],
        "evaluate": [(translate.EvaluateOptions, ()), (DecodingConfig, ())],
        "export": [(deploy.ExportOptions, ()), (DecodingConfig, ())],
        "serve": [(deploy.ServeOptions, ()), (ServingLimits, ())],
        "explore": [(deploy.ExploreOptions, ())],
        "caption": [(caption.CaptionOptions, ()), (DecodingConfig, caption.TEXT_ONLY)],
    }[command]
    flags = _flags(_subparser(command))
    expected = {}
    for cls, excluded in classes:
        fields = [f.name for f in dataclasses.fields(cls) if f.name not in excluded]
        expected.update(zip(flag_names(cls, exclude=excluded), fields))
    # No flag dropped, none unused: the flags are exactly the fields'.
    assert flags == expected


def test_decoding_config_checks_each_field_once_with_a_clear_error():
    assert DecodingConfig().beam_size == 5
    for bad, match in [({"beam_size": 0}, "beam_size must be >= 1"),
                       ({"no_repeat_ngram": 1}, "no_repeat_ngram must be 0"),
                       ({"alpha": "x"}, "alpha must be a number"),
                       ({"unk_penalty": math.nan}, "unk_penalty must be a number"),
                       ({"max_output_tokens": 0}, "max_output_tokens must be >= 1"),
                       ({"protect_names": "yes"}, "protect_names must be")]:
        with pytest.raises(ConfigurationError, match=match):
            DecodingConfig(**bad)
    with pytest.raises(ConfigurationError, match="Unknown DecodingConfig fields: \\['beam'\\]"):
        DecodingConfig().replace(beam=3)
    with pytest.raises(ConfigurationError, match="Unknown DecodingConfig keys"):
        DecodingConfig.from_dict({"beam": 3})


def test_decoding_config_round_trips_through_json_infinity_included():
    settings = DecodingConfig(beam_size=3, unk_penalty=math.inf, protect_names=False)
    again = DecodingConfig.from_dict(json.loads(json.dumps(settings.to_dict())))
    assert again == settings and again.unk_penalty == math.inf
    # A model record written before the settings were stored: the limits
    # it has are kept, the rest are the defaults.
    old = DecodingConfig.from_dict({"max_input_tokens": 50, "max_output_tokens": 60,
                                    "length_ratio": 1.5, "length_offset": 4})
    assert (old.beam_size, old.max_output_tokens, old.length_ratio) == (5, 60, 1.5)


def test_only_the_flags_given_override_the_stored_settings():
    parser = argparse.ArgumentParser()
    add_flags(parser, DecodingConfig)
    args = parser.parse_args(["--beam-size", "2", "--no-split-sentences", "--unk-penalty",
                              "inf"])
    changes = overrides(args, DecodingConfig)
    assert changes == {"beam_size": 2, "split_sentences": False, "unk_penalty": math.inf}
    stored = DecodingConfig(alpha=1.0, no_repeat_ngram=3)
    merged = stored.replace(**changes)
    assert (merged.alpha, merged.no_repeat_ngram, merged.beam_size) == (1.0, 3, 2)


def test_a_model_translates_with_its_stored_settings_and_a_keyword_overrides_one(
        trained_translator, tmp_path):
    from keras_seq2seq import load

    translator, _, directory = trained_translator
    texts = ["Thank you.", "I am cold. Where are you?", "Nice to meet you."]
    greedy = translator.translate(texts, beam_size=1)
    # A copy of the model whose stored settings are greedy search.
    translator.decoding = translator.decoding.replace(beam_size=1)
    try:
        translator.save(str(tmp_path / "greedy"))
    finally:
        translator.decoding = translator.decoding.replace(beam_size=5)
    record = json.loads((tmp_path / "greedy" / "config.json").read_text(encoding="utf-8"))
    assert record["decoding"]["beam_size"] == 1
    reloaded = load(str(tmp_path / "greedy"))
    assert reloaded.decoding.beam_size == 1
    assert reloaded.translate(texts) == greedy
    assert reloaded.translate(texts, beam_size=5) == translator.translate(texts)
    with pytest.raises(ConfigurationError, match="n_best must be between 1 and beam_size=1"):
        reloaded.translate(texts, n_best=2)
