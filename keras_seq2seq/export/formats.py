"""The exporter registry: one entry per format, for translators and
captioners alike (OpenNMT-tf's exporter registry); `keras-seq2seq export
--format` takes its choices from `FORMATS`.

Every exporter decodes with the model's own settings (`model.decoding`),
`decoding` overriding them, and writes the settings beside what it exports.
"""

from __future__ import annotations

import dataclasses
import os
import typing

from keras_seq2seq.errors import ConfigurationError


@dataclasses.dataclass(frozen=True)
class Exported:
    """What an export wrote: its path and what to tell the user."""

    path: str
    message: str


def _keras(model, out, settings, *, quantize="none", **_):
    if quantize not in ("none", "float16"):
        raise ConfigurationError("--format keras takes --quantize none or float16.")
    dtype = "float16" if quantize == "float16" else "float32"
    # The directory stores the settings as the model's new defaults (here
    # unresolved: protect_names may stay "automatic").
    model.decoding = settings
    model.save(out, weights_dtype=dtype)
    return Exported(out, f"Model directory written to {out} ({dtype} weights; decoding: "
                         f"{settings.describe()})")


def _saved_model(model, out, settings, *, name=None, version=None, model_path=None, **_):
    name = name or os.path.basename(os.path.normpath(model_path or "seq2seq"))
    if _is_captioner(model):
        from keras_seq2seq.captioning.export import export_captioner_saved_model

        directory = export_captioner_saved_model(model, out, name=name, version=version,
                                                 decoding=settings)
        return Exported(directory, f"SavedModel written to {directory} (serving_default: "
                                   f"image_bytes -> caption; {settings.describe()})")
    from keras_seq2seq.export.saved_model import export_saved_model

    directory = export_saved_model(model, out, name=name, version=version, decoding=settings)
    return Exported(directory, f"SavedModel written to {directory} ({settings.describe()})\n"
                               f"Inspect it: saved_model_cli show --dir {directory} --all")


def _tflite(model, out, settings, *, quantize="none", max_source_tokens=None, **_):
    if _is_captioner(model):
        from keras_seq2seq.captioning.export import export_captioner_tflite

        path = export_captioner_tflite(model, out, quantize=quantize, decoding=settings)
        use = f"keras-seq2seq caption --model {out} IMAGE"
    else:
        from keras_seq2seq.export.tflite import export_tflite

        path = export_tflite(model, out, quantize=quantize, max_source_tokens=max_source_tokens,
                             decoding=settings)
        use = f'keras-seq2seq translate --model {out} "Hello."'
    return Exported(path, f"TFLite model written to {path} ({os.path.getsize(path) / 1e6:.1f} "
                          f"MB; {settings.describe()})\nUse it: {use}")


def _is_captioner(model):
    return model.progress_unit == "image"


# Format -> exporter(model, out, settings, **options) -> Exported.
FORMATS: dict[str, typing.Callable[..., Exported]] = {
    "saved_model": _saved_model,
    "tflite": _tflite,
    "keras": _keras,
}
QUANTIZATIONS = ("none", "float16", "dynamic-int8")


def export_model(model, format, out, decoding=None, **options) -> Exported:  # noqa: A002
    """Export a loaded translator or captioner in one of `FORMATS`.

    Args:
        model: Translator or Captioner (`keras_seq2seq.load`).
        format: str. "saved_model" (TF Serving, `out` is the model base
            path), "tflite" (LiteRT, `out` is a directory) or "keras" (a
            model directory; `quantize="float16"` halves its weights file).
        out: str.
        decoding: DecodingConfig, dict or None. The settings the export
            decodes with (and stores): a DecodingConfig whole, a dict of
            fields changed from the model's own, None the model's own.
        **options: `quantize`, `max_source_tokens` (tflite), `name`,
            `version`, `model_path` (saved_model).
    """
    if format not in FORMATS:
        raise ConfigurationError(f"Unknown export format {format!r}; formats: {sorted(FORMATS)}.")
    if not hasattr(model, "save"):
        raise ConfigurationError(f"A {type(model).__name__} cannot be exported: load a single "
                                 "Keras model directory.")
    chosen = decoding if not isinstance(decoding, (dict, type(None))) else (
        model.decoding.replace(**(decoding or {})))
    model.settings(chosen)  # checked against what this model can do
    return FORMATS[format](model, out, chosen, **options)
