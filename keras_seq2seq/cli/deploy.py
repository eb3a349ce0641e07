"""`keras-seq2seq export`, `serve` and `explore`: flags generated from the
settings classes; exporting is the library's exporter registry."""

from __future__ import annotations

import dataclasses
import typing

from keras_seq2seq.cli.translate import MODEL_DEFAULT
from keras_seq2seq.export.limits import ServingLimits
from keras_seq2seq.settings import DecodingConfig, Settings, add_flags, overrides, setting

# The exporter registry's formats (keras_seq2seq.export.formats; repeated
# here so that --help loads no TensorFlow, checked by a test).
FORMATS = ("saved_model", "tflite", "keras")


@dataclasses.dataclass(frozen=True)
class ExportOptions(Settings):
    """`export`'s options besides the decoding settings it bakes in."""

    model: typing.Optional[str] = setting(
        None, "Model directory or preset name. Default: the en-fr preset.")
    format: str = setting("saved_model", "saved_model: TF Serving; tflite: LiteRT; keras: a "
                          "model directory (new decoding defaults, float16 weights).",
                          choices=FORMATS)
    out: typing.Optional[str] = setting(
        None, "saved_model: the TF Serving model base path (the export goes to "
        "OUT/NAME/VERSION); tflite, keras: the output directory. Required.")
    quantize: str = setting("none", "tflite weights: float32, float16 or int8 (dynamic "
                            "range); keras: none or float16.",
                            choices=("none", "float16", "dynamic-int8"))
    max_source_tokens: typing.Optional[int] = setting(
        None, "tflite: longest source in tokens (longer input is truncated); unset: the "
        "model's max_source_length.")
    name: typing.Optional[str] = setting(None, "saved_model: the model name; unset: the model "
                                         "directory's name.")
    version: typing.Optional[int] = setting(None, "saved_model: the version; unset: the next "
                                            "free one.")


@dataclasses.dataclass(frozen=True)
class ServeOptions(Settings):
    """`serve`'s options besides its `ServingLimits`."""

    base: typing.Optional[str] = setting(None, "Model base path written by `export`. Required.")
    rest_port: int = setting(8501, "REST port.")
    grpc_port: typing.Optional[int] = setting(None, "Also serve gRPC on this port (e.g. 8500).")
    host: str = setting("127.0.0.1", "Address to bind (this machine only by default: the "
                        "server has no authentication and no TLS).")
    quiet: bool = setting(False, "Do not log every request.")


@dataclasses.dataclass(frozen=True)
class ExploreOptions(Settings):
    """`explore`'s options."""

    model: typing.Optional[str] = setting(None, "Translator or captioner directory or preset "
                                          "name. Default: the en-fr preset.")
    toy: bool = setting(False, "Train the seed_toy walk-through model of tutorial 01 "
                        "(seconds) and explore it.")
    host: str = setting("127.0.0.1", "Address to bind (the page has no authentication).")
    port: int = setting(8008, "Port (0: any free port).")


def add_parsers(subparsers):
    p = subparsers.add_parser("export", help="Export a model: SavedModel for TF Serving, "
                              "TFLite, or a model directory; decoding as `translate` decodes.")
    add_flags(p, ExportOptions)
    add_flags(p.add_argument_group("decoding (baked into the export)"), DecodingConfig,
              default_note=MODEL_DEFAULT)
    p.set_defaults(func=export)
    p = subparsers.add_parser("serve", help="A local server with TF Serving's REST (and gRPC) "
                              "API, for development.")
    add_flags(p, ServeOptions)
    add_flags(p.add_argument_group("limits"), ServingLimits)
    p.set_defaults(func=serve)
    p = subparsers.add_parser("explore", help="An interactive page on a model: encoder, "
                              "step-by-step decoder, teacher forcing, beam search, attention.")
    add_flags(p, ExploreOptions)
    p.set_defaults(func=explore)


def export(args, parser):
    options = ExportOptions(**overrides(args, ExportOptions))
    if not options.out:
        parser.error("--out is required")
    from keras_seq2seq.export.formats import export_model
    from keras_seq2seq.model_directory import load
    from keras_seq2seq.presets import default_model

    path = options.model or default_model()
    exported = export_model(
        load(path), options.format, options.out, overrides(args, DecodingConfig),
        quantize=options.quantize, max_source_tokens=options.max_source_tokens,
        name=options.name, version=options.version, model_path=path)
    print(exported.message)


def serve(args, parser):
    options = ServeOptions(**overrides(args, ServeOptions))
    if not options.base:
        parser.error("--base is required")
    from keras_seq2seq.export.serving import LocalServer

    server = LocalServer(options.base, rest_port=options.rest_port, grpc_port=options.grpc_port,
                         verbose=not options.quiet, host=options.host,
                         limits=ServingLimits(**overrides(args, ServingLimits)))
    for name, (version, _) in server.models.models.items():
        settings = server.decoding(name)
        baked = settings.describe() if settings else "settings not recorded in the export"
        print(f"Serving {name} version {version} at {server.rest_url(name)} ({baked})",
              flush=True)
    if server.grpc_port:
        print(f"gRPC on {server.grpc_target}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()


def explore(args, parser):
    import os
    import tempfile

    from keras_seq2seq.explore import Explorer, serve_explorer, toy_translator
    from keras_seq2seq.model_directory import load
    from keras_seq2seq.presets import default_model

    options = ExploreOptions(**overrides(args, ExploreOptions))
    if options.toy and options.model:
        parser.error("--model and --toy are exclusive")
    if options.toy:
        decoder, label = toy_translator(tempfile.mkdtemp(prefix="keras-seq2seq-toy-")), "seed_toy"
    else:
        directory = options.model or default_model()
        decoder, label = load(directory), os.path.basename(os.path.normpath(directory))

    def ready(url):
        print(f"Explorer for {label} at {url} (Ctrl-C stops it)", flush=True)

    try:
        serve_explorer(Explorer(decoder, label=label), host=options.host, port=options.port,
                       on_ready=ready)
    except KeyboardInterrupt:
        pass
