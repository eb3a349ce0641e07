"""`keras-seq2seq caption`: the decoding flags are `DecodingConfig`'s (those
that apply to images)."""

from __future__ import annotations

import dataclasses
import sys
import typing

from keras_seq2seq.cli.translate import MODEL_DEFAULT
from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.settings import DecodingConfig, Settings, add_flags, overrides, setting

# Fields that concern source text: not a captioner's.
TEXT_ONLY = ("unk_penalty", "split_sentences", "protect_names", "replace_unknown",
             "max_input_tokens", "length_ratio", "length_offset")


@dataclasses.dataclass(frozen=True)
class CaptionOptions(Settings):
    """`caption`'s options besides the decoding settings."""

    model: typing.Optional[str] = setting(
        None, "Captioner directory (from train-captioner) or its TFLite export. Required.")
    batch_size: int = setting(32, "Images decoded together.")


def add_parser(subparsers):
    p = subparsers.add_parser("caption", help="Caption images with a trained captioner.")
    p.add_argument("images", nargs="+", help="Image files (JPEG, PNG, GIF, BMP).")
    add_flags(p, CaptionOptions)
    add_flags(p.add_argument_group("decoding"), DecodingConfig, exclude=TEXT_ONLY,
              default_note=MODEL_DEFAULT)
    p.set_defaults(func=caption)


def caption(args, parser):
    options = CaptionOptions(**overrides(args, CaptionOptions))
    if not options.model:
        parser.error("--model DIR is required")
    from keras_seq2seq.captioning.images import load_readable
    from keras_seq2seq.model_directory import load

    captioner = load(options.model)
    if not hasattr(captioner, "caption"):
        raise ConfigurationError(f"{options.model} holds a translator, not a captioner: use "
                                 "`keras-seq2seq translate`.")
    config = captioner.config
    readable, pixels, errors = load_readable(args.images, config.image_height,
                                             config.image_width)
    for error in errors:
        print(f"keras-seq2seq: error: {error}", file=sys.stderr)
    captions = captioner.caption(pixels, batch_size=options.batch_size,
                                 **overrides(args, DecodingConfig))
    for path, text in zip(readable, captions):
        print(f"{path}\t{text}" if len(args.images) > 1 else text, flush=True)
    if errors:
        raise ConfigurationError(f"{len(errors)} of {len(args.images)} images could not be read.")
