"""`keras-seq2seq translate` and `evaluate`: flags generated from
`DecodingConfig` and the option classes below; the work is the library's."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
import time
import typing

from keras_seq2seq.cli.common import (
    check_writable,
    decoding_start_up,
    load_models,
    read_lines,
    write_lines,
)
from keras_seq2seq.constants import DECODE_BATCH_SIZE
from keras_seq2seq.settings import DecodingConfig, Settings, add_flags, overrides, setting

MODEL_HELP = ("Model directory, TFLite export or preset name; repeat it to decode with an "
              "ensemble of translators that share a target vocabulary. Default: the en-fr "
              "preset (the shipped model).")
# How the decoding flags say their default: the model's stored settings.
MODEL_DEFAULT = "the model's own; {default} for a model that stores none"


@dataclasses.dataclass(frozen=True)
class TranslateOptions(Settings):
    """`translate`'s options besides the decoding settings."""

    model: typing.List[str] = setting([], MODEL_HELP)
    input: typing.Optional[str] = setting(
        None, "Translate the lines of FILE (plain or .gz), one output line per input line "
        "(else the texts given, else stdin).", metavar="FILE")
    output: typing.Optional[str] = setting(None, "Write the translations to FILE, not stdout.",
                                           metavar="FILE")
    batch_size: int = setting(DECODE_BATCH_SIZE, "Sentences decoded together.")
    n_best: typing.Optional[int] = setting(
        None, "Print the N best hypotheses of each text as 'index<TAB>score<TAB>text' lines "
        "(N <= beam size).", metavar="N")
    server: typing.Optional[str] = setting(
        None, "Translate with a TF Serving model over REST, e.g. "
        "http://localhost:8501/v1/models/en-fr (with its own settings).")
    grpc: typing.Optional[str] = setting(
        None, "Translate with TF Serving over gRPC at HOST:PORT (with --model-name).")
    model_name: str = setting("en-fr", "Served model name for --grpc.")


@dataclasses.dataclass(frozen=True)
class EvaluateOptions(Settings):
    """`evaluate`'s options besides the decoding settings."""

    model: typing.List[str] = setting([], MODEL_HELP)
    source: typing.Optional[str] = setting(None, "Source sentences, one per line (.gz ok).")
    reference: typing.Optional[str] = setting(None, "References, line-aligned with --source.")
    pairs: typing.Optional[str] = setting(
        None, "Or a TSV pairs file: evaluate on the validation side of the split that "
        "`train --pairs` makes with the same --validation-fraction and --seed.")
    validation_fraction: float = setting(0.1, "Validation share of --pairs.")
    seed: int = setting(0, "Split seed of --pairs.")
    batch_size: int = setting(DECODE_BATCH_SIZE, "Sentences decoded together.")
    hypotheses: typing.Optional[str] = setting(
        None, "Also write the translations to FILE, one per line.", metavar="FILE")
    json: bool = setting(False, "Print the report as JSON.")


def add_parsers(subparsers):
    p = subparsers.add_parser("translate", help="Translate text with a trained model.")
    p.add_argument("text", nargs="*", help="Texts to translate (else --input, else stdin).")
    add_flags(p, TranslateOptions)
    add_flags(p.add_argument_group("decoding"), DecodingConfig, default_note=MODEL_DEFAULT)
    p.set_defaults(func=translate)
    p = subparsers.add_parser("evaluate", help="BLEU, chrF (sacreBLEU) and perplexity on a "
                              "test set, decoded as `translate` decodes.")
    add_flags(p, EvaluateOptions)
    add_flags(p.add_argument_group("decoding"), DecodingConfig, default_note=MODEL_DEFAULT)
    p.set_defaults(func=evaluate)


def translate(args, parser):
    options = TranslateOptions(**overrides(args, TranslateOptions))
    changes = overrides(args, DecodingConfig)
    if options.output:
        check_writable(options.output, "--output", parser)
    texts = read_lines(args.text, options.input, parser)
    if options.server or options.grpc:
        given = [f"--{name.replace('_', '-')}" for name in changes] + [
            flag for flag, value in (("--model", options.model), ("--n-best", options.n_best))
            if value]
        if given:
            parser.error("--server/--grpc translate with the served model's own settings "
                         f"(baked in at export): drop {', '.join(given)}")
        from keras_seq2seq.export.serving import translate_grpc, translate_rest

        results = (translate_rest(options.server, texts) if options.server
                   else translate_grpc(options.grpc, options.model_name, texts))
        return write_lines(options.output, [translation for translation, _ in results])
    with decoding_start_up():
        translator = load_models(options.model)
    settings = translator.settings(None, n_best=options.n_best, **changes)
    # A progress bar (stderr: stdout holds only translations) for long inputs.
    progress = len(texts) > 4 * options.batch_size
    started = time.time()
    with contextlib.redirect_stdout(sys.stderr):
        results = translator.translate(texts, settings, batch_size=options.batch_size,
                                       n_best=options.n_best, progress=progress)
    seconds = time.time() - started
    if options.n_best is not None:
        results = [f"{index}\t{score:.4f}\t{text}" for index, result in enumerate(results)
                   for text, score in result]
    write_lines(options.output, results)
    if progress or options.output:
        from keras_seq2seq.text.sentences import count_sentences

        sentences = count_sentences(texts, settings.split_sentences and options.n_best is None)
        where = f" to {options.output}" if options.output else ""
        print(f"Translated {len(texts)} lines ({sentences} sentences){where} in {seconds:.1f}s: "
              f"{sentences / max(seconds, 1e-9):.1f} sentences/s ({settings.describe()})",
              file=sys.stderr)


def evaluate(args, parser):
    options = EvaluateOptions(**overrides(args, EvaluateOptions))
    if bool(options.pairs) == bool(options.source or options.reference):
        parser.error("give --source FILE --reference FILE, or --pairs FILE")
    if options.source and not options.reference or options.reference and not options.source:
        parser.error("--source and --reference go together")
    if options.hypotheses:
        check_writable(options.hypotheses, "--hypotheses", parser)
    with decoding_start_up():
        from keras_seq2seq.data import read_parallel_files, read_tsv_pairs, split_by_source
        from keras_seq2seq.evaluation import evaluate as evaluate_pairs
        from keras_seq2seq.evaluation import format_report

        if options.pairs:
            corpus = read_tsv_pairs(options.pairs)
            _, validation = split_by_source(corpus, options.validation_fraction,
                                            seed=options.seed)
            pairs = list(validation)
        else:
            corpus = read_parallel_files(options.source, options.reference)
            pairs = list(corpus)
        translator = load_models(options.model)
    report, hypotheses = evaluate_pairs(
        translator, pairs, None, batch_size=options.batch_size, progress=not options.json,
        **overrides(args, DecodingConfig))
    report["skipped_lines"] = corpus.report.skipped
    report["models"] = options.model or ["en-fr"]
    if options.hypotheses:
        report["hypotheses"] = options.hypotheses
        write_lines(options.hypotheses, hypotheses)
    print(json.dumps(report, indent=2, ensure_ascii=False) if options.json
          else format_report(report))
    if options.hypotheses and not options.json:
        print(f"Hypotheses written to {options.hypotheses}")
