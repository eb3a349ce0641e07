"""Command line: `keras-seq2seq train|translate|evaluate|export|serve|train-captioner|caption`,
a thin layer over the API."""

import argparse
import contextlib
import logging
import os
import shlex
import sys
import time

from keras_seq2seq.errors import ConfigurationError, Seq2SeqError, TrainingInterrupted

# Quiet TensorFlow's C++ start-up logging; set before anything imports TF.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The shipped model, in the repository next to the package (an editable
# install, as in the README); $KERAS_SEQ2SEQ_MODEL overrides it.
_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MODEL = os.environ.get(
    "KERAS_SEQ2SEQ_MODEL", os.path.join(_REPO_ROOT, "saved_models", "en-fr")
)


def _share(text):
    """argparse type: a float in [0, 1]."""
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {value}")
    return value


def _add_train_parser(subparsers):
    from keras_seq2seq.models.config import DEFAULT_PRESET, PRESETS

    p = subparsers.add_parser("train", help="Train a translation model with model.fit.")
    data = p.add_argument_group(
        "data (repeat a flag, or combine them, to train on several corpora at once)"
    )
    data.add_argument("--pairs", action="append", default=[],
                      help="TSV file of source<TAB>target lines (plain or .gz).")
    data.add_argument("--source", action="append", default=[],
                      help="Source side of line-aligned files (with --target; in the same order).")
    data.add_argument("--target", action="append", default=[],
                      help="Target side of line-aligned files (with --source).")
    data.add_argument("--tfds", help="TFDS translation dataset, e.g. ted_hrlr_translate/pt_to_en.")
    data.add_argument("--tfds-data-dir", help="TFDS data directory (nothing is downloaded).")
    data.add_argument("--tfds-split", default="train", help="TFDS split. Default: train.")
    data.add_argument(
        "--validation-source", action="append", default=[],
        help="Validation source file (with --validation-target; may repeat).",
    )
    data.add_argument("--validation-target", action="append", default=[],
                      help="Validation target file.")
    data.add_argument(
        "--validation-fraction", type=float, default=None,
        help="Share of unique source sentences held out for validation. Without "
        "validation files: from every corpus (default 0.1). With validation files: "
        "the corpora are used whole, unless this is given, then it is held out "
        "from the --pairs corpora (TSV corpora such as Tatoeba have no official "
        "split) and added to the validation files.",
    )
    p.add_argument("--source-language", default="en", help="Source language code. Default: en.")
    p.add_argument("--target-language", default="fr", help="Target language code. Default: fr.")
    p.add_argument("--preset", default=DEFAULT_PRESET, choices=sorted(PRESETS),
                   help=f"Model size. Default: {DEFAULT_PRESET}.")
    p.add_argument("--init-from", metavar="MODEL_DIR",
                   help="Fine-tune this trained model on the data given: its settings, "
                        "vocabularies and weights are the start (model flags such as --units "
                        "do not apply); the learning rate and schedule are this run's.")
    p.add_argument("--vocab-update", choices=["keep", "merge"], default="keep",
                   help="With --init-from: keep the model's vocabularies, or merge in the new "
                        "data's frequent tokens (old ids unchanged, new rows initialised). "
                        "Default: keep.")
    p.add_argument("--cell", choices=["lstm", "gru"], help="Override the preset's cell type.")
    p.add_argument("--layers", type=int, help="Override the preset's number of layers.")
    p.add_argument("--units", type=int, help="Override the preset's units per layer.")
    p.add_argument("--embedding-dim", type=int, help="Override the preset's embedding size.")
    p.add_argument("--source-vocab-size", type=int,
                   help="Override the preset's largest source vocabulary (specials included).")
    p.add_argument("--target-vocab-size", type=int,
                   help="Override the preset's largest target vocabulary (specials included).")
    p.add_argument("--min-frequency", type=int,
                   help="Override the preset's minimum count for a word to enter a vocabulary.")
    p.add_argument("--tokenizer", choices=["word", "wordpiece"],
                   help="word: whole words, rarer ones <unk> (the paper; the presets' "
                        "default); wordpiece: sub-word pieces learned from the training "
                        "text, so rare words are spelled out. The vocabulary sizes then "
                        "limit pieces.")
    p.add_argument("--max-length", type=int, metavar="TOKENS",
                   help="Override the preset's longest source and target (in tokens: "
                        "words, or pieces with --tokenizer wordpiece); longer pairs are "
                        "left out of training. Default: the preset's (50).")
    p.add_argument("--epochs", type=int, default=10, help="Default: 10.")
    p.add_argument("--max-minutes", type=float,
                   help="Stop after the epoch that passes this much training time.")
    p.add_argument("--attention", choices=["none", "luong"],
                   help="Override the preset's attention (none: the paper's model).")
    p.add_argument("--shared-vocabulary", action="store_true", default=None,
                   help="One vocabulary for both languages, learned from both sides "
                        "(size: --source-vocab-size), so names and numbers get the same "
                        "pieces on both sides.")
    p.add_argument("--copy-attention", action="store_true", default=None,
                   help="Let each decoder step copy a source token through its attention "
                        "weights, with a learned gate (pointer-generator; needs --attention "
                        "luong and --shared-vocabulary).")
    p.add_argument("--bidirectional-encoder", action="store_true", default=None,
                   help="The bottom encoder layer reads the source both ways, half the "
                        "units each (GNMT), so attention sees both sides of every word; "
                        "helps copy attention spell names piece by piece.")
    p.add_argument("--name-augmentation", type=_share, default=0.0, metavar="P",
                   help="In this share of the training pairs, replace each name or number "
                        "written verbatim on both sides by a made-up one, so the model learns "
                        "to copy names it has never seen (best with --copy-attention). "
                        "Default: 0 (off).")
    p.add_argument("--concatenate-pairs", type=_share, default=0.0, metavar="P",
                   help="Also train on a share P of consecutive training pairs joined into "
                        "one (longer examples against the fall of BLEU on long sentences, Kondo "
                        "et al. 2021). Default: 0 (off).")
    p.add_argument("--dropout", type=float, help="Override the preset's dropout.")
    p.add_argument("--embedding-dropout", type=float,
                   help="Override the preset's dropout on the word embeddings.")
    p.add_argument("--batch-size", type=int, default=64, help="Default: 64.")
    p.add_argument("--batch-tokens", type=int, metavar="N",
                   help="Size training batches in tokens instead of sentences: each length "
                   "bucket's batches hold about N tokens per side (more short sentences, fewer "
                   "long ones); --batch-size then sets only the validation batches.")
    p.add_argument("--learning-rate", type=float, default=1e-3, help="Adam. Default: 1e-3.")
    p.add_argument("--max-examples", type=int,
                   help="Use only the first N training pairs (and a proportional validation set).")
    p.add_argument("--reverse-source", action=argparse.BooleanOptionalAction, default=None,
                   help="Reverse the source words (the paper does). Default: the preset's (on).")
    p.add_argument("--lowercase", action=argparse.BooleanOptionalAction, default=None,
                   help="Lowercase all text. Default: the preset's.")
    p.add_argument("--lr-schedule", default="constant", choices=["constant", "step", "plateau"],
                   help="constant; step: multiply by --lr-decay each epoch from "
                   "--lr-decay-start (the paper halved it every half epoch after 5 epochs); "
                   "plateau: halve when validation loss stalls. Default: constant.")
    p.add_argument("--lr-decay-start", type=int, default=5,
                   help="step schedule: first decayed epoch (1-based). Default: 5.")
    p.add_argument("--lr-decay", type=float, default=0.5,
                   help="step schedule: factor per epoch. Default: 0.5.")
    p.add_argument("--clipnorm", type=float, default=5.0,
                   help="Gradient norm clipping (the paper: 5). Default: 5.")
    p.add_argument("--label-smoothing", type=float, default=0.0,
                   help="Label smoothing of the training loss (not in the paper; 0.1 is "
                        "usual). Default: 0.")
    p.add_argument("--patience", type=int,
                   help="Early stopping: epochs without a better validation loss. Default: off.")
    p.add_argument("--backup", action=argparse.BooleanOptionalAction, default=True,
                   help="Keep OUT/backup so the same command resumes a killed run. Default: on.")
    p.add_argument("--backup-every", type=int, metavar="BATCHES",
                   help="Also back up every N batches. Default: at each epoch's end.")
    p.add_argument("--bleu-sample", type=int, default=200,
                   help="Validation pairs translated after each epoch for val_bleu "
                   "(TensorBoard, history); 0 turns it off. Default: 200.")
    p.add_argument("--seed", type=int, default=0,
                   help="Seeds weights, dropout and shuffling: the same seed gives the same "
                   "weights on CPU. Default: 0.")
    p.add_argument("--mixed-precision", choices=["mixed_float16", "mixed_bfloat16"],
                   help="Train under a Keras mixed-precision policy (mixed_float16 on GPU, "
                   "with loss scaling). Default: float32.")
    p.add_argument("--cache-dir",
                   help="Keep the tokenized corpus in files here instead of in memory.")
    p.add_argument("--strategy", default="default", choices=["default", "mirrored", "multi_worker"],
                   help="tf.distribute: mirrored for the GPUs of one machine, multi_worker for "
                   "several machines set up by TF_CONFIG (the same command on each; the "
                   "chief writes the model). Default: default.")
    p.add_argument("--out", required=True, help="Run directory: checkpoints, logs, the model.")
    p.set_defaults(func=_train)


def _corpus_spec(args, parser):
    """The training corpora named on the command line, as a library CorpusSpec."""
    from keras_seq2seq.data.corpora import CorpusSpec

    # Flag-level checks, in the flags' own names; the library checks the rest.
    if len(args.source) != len(args.target):
        parser.error(
            f"--source and --target go together: got {len(args.source)} --source and "
            f"{len(args.target)} --target"
        )
    if len(args.validation_source) != len(args.validation_target):
        parser.error("--validation-source and --validation-target go together")
    if not (args.pairs or args.source or args.tfds):
        parser.error("give a corpus: --pairs FILE, --source FILE --target FILE, or --tfds NAME")
    return CorpusSpec(
        pairs=args.pairs, sources=args.source, targets=args.target, tfds=args.tfds,
        tfds_split=args.tfds_split, tfds_data_dir=args.tfds_data_dir,
        validation_sources=args.validation_source, validation_targets=args.validation_target,
        validation_fraction=args.validation_fraction, max_examples=args.max_examples,
    )


def _train(args, parser):
    if args.batch_tokens is not None and args.batch_tokens < 1:
        parser.error(f"--batch-tokens must be at least 1, got {args.batch_tokens}")
    from keras_seq2seq.models import get_preset
    from keras_seq2seq.training import train

    overrides = {
        "cell_type": args.cell,
        "num_layers": args.layers,
        "units": args.units,
        "embedding_dim": args.embedding_dim,
        "reverse_source": args.reverse_source,
        "lowercase": args.lowercase,
        "attention": args.attention,
        "dropout": args.dropout,
        "embedding_dropout": args.embedding_dropout,
        "shared_vocabulary": args.shared_vocabulary,
        "copy_attention": args.copy_attention,
        "bidirectional_encoder": args.bidirectional_encoder,
        "source_vocab_size": args.source_vocab_size,
        "target_vocab_size": args.target_vocab_size,
        "min_frequency": args.min_frequency,
        "tokenizer": args.tokenizer,
        "max_source_length": args.max_length,
        "max_target_length": args.max_length,
    }
    # Before any other TensorFlow work: MultiWorkerMirroredStrategy sets up
    # the collective ops of the process.
    from keras_seq2seq.training.distributed import is_chief, make_strategy

    strategy = make_strategy(args.strategy)
    given = {k: v for k, v in overrides.items() if v is not None}
    if args.init_from:
        if given:
            parser.error(f"--init-from keeps the model's settings; drop {', '.join(sorted(given))}")
        config = None
    else:
        config = get_preset(args.preset, **given)
    from keras_seq2seq.data.corpora import training_data

    train_pairs, validation_pairs = training_data(
        _corpus_spec(args, parser), seed=args.seed, concatenate=args.concatenate_pairs,
        name_augmentation=args.name_augmentation)
    command = shlex.join(["keras-seq2seq", *args.argv])
    translator, _ = train(
        train_pairs,
        config,
        args.out,
        validation_pairs=validation_pairs,
        epochs=args.epochs,
        batch_size=args.batch_size,
        batch_tokens=args.batch_tokens,
        learning_rate=args.learning_rate,
        seed=args.seed,
        source_language=args.source_language,
        target_language=args.target_language,
        metadata={"command": command,
                  **{flag: getattr(args, flag) for flag in ("name_augmentation",
                                                            "concatenate_pairs")
                     if getattr(args, flag)}},
        max_minutes=args.max_minutes,
        clipnorm=args.clipnorm,
        label_smoothing=args.label_smoothing,
        lr_schedule=args.lr_schedule,
        lr_decay_start=args.lr_decay_start,
        lr_decay_factor=args.lr_decay,
        early_stopping_patience=args.patience,
        backup=args.backup,
        backup_every_batches=args.backup_every,
        bleu_sample=args.bleu_sample,
        strategy=strategy,
        cache_dir=args.cache_dir,
        dtype_policy=args.mixed_precision,
        init_from=args.init_from,
        vocab_update=args.vocab_update,
        validation_bleu=True,
    )
    if not is_chief(strategy):
        print("Training done; the chief worker writes the model.")
        return
    record = translator.metadata
    if "validation_bleu" in record:
        print(f"Validation BLEU (sacreBLEU, greedy, {record['validation_pairs']} pairs, "
              f"{record['validation_bleu_seconds']:.0f}s): "
              f"{record['validation_bleu_details']}")
    print(f"Model saved to {args.out}")


UNK_PENALTY_HELP = (
    "Subtracted from the log-probability of <unk> at every decoding step; 'inf' never "
    "writes <unk> (the search takes the best real word instead). Default: 0, the paper's "
    "decoder."
)


NO_REPEAT_NGRAM_HELP = (
    "Never write the same N tokens (word pieces with a word-piece model) twice in a "
    "translation, which stops degenerate loops such as 'cinq cinq cinq'; 0 turns it off. "
    "Default: 0."
)
SPLIT_SENTENCES_HELP = (
    "Cut each input into sentences, translate them as one batch and join the "
    "translations with the input's own separators (--no-split-sentences: each input "
    "whole, as the model was trained). Default: on."
)

PROTECT_NAMES_HELP = (
    "Translate each rare capitalised word (one the source vocabulary cuts into 3+ pieces "
    "or cannot spell, not the first of its sentence) as a name the model copies whole "
    "('Tom') and put the word back, so names are kept; a sentence whose translation loses "
    "the placeholder is translated again as it is. Default: on where the model's "
    "vocabularies hold a placeholder name (the shipped model's do) and --n-best is not set."
)

# `translate`'s default search: what gave the best translations at an
# acceptable speed (measured on the shipped model: README, "The shipped model").
TRANSLATE_BEAM_SIZE = 5


def _add_decoding_arguments(p, beam_default=1):
    p.add_argument("--model", action="append",
                   help="Model directory; repeat it to decode with an ensemble of models "
                   "that share a target vocabulary. Default: the shipped saved_models/en-fr.")
    p.add_argument("--beam-size", type=int, default=None,
                   help=f"1 for greedy search, more for beam search. Default: {beam_default}.")
    p.set_defaults(beam_default=beam_default)
    p.add_argument("--alpha", type=float, default=0.6,
                   help="Beam-search length penalty (GNMT). Default: 0.6.")
    p.add_argument("--batch-size", type=int, default=64, help="Default: 64.")
    p.add_argument("--unk-penalty", type=float, default=0.0, help=UNK_PENALTY_HELP)
    p.add_argument("--no-repeat-ngram", type=int, default=0, metavar="N",
                   help=NO_REPEAT_NGRAM_HELP)
    p.add_argument("--split-sentences", action=argparse.BooleanOptionalAction, default=True,
                   help=SPLIT_SENTENCES_HELP)
    p.add_argument("--replace-unknown", action="store_true",
                   help="Word-level models with attention: write the source word the "
                   "attention points to in place of each <unk> (names, numbers).")
    p.add_argument("--protect-names", action=argparse.BooleanOptionalAction, default=None,
                   help=PROTECT_NAMES_HELP)


def _load_models(args):
    from keras_seq2seq.translator import Ensemble, load

    paths = args.model or [DEFAULT_MODEL]
    translators = [load(path) for path in paths]
    return translators[0] if len(translators) == 1 else Ensemble(translators)


def _add_translate_parser(subparsers):
    p = subparsers.add_parser("translate", help="Translate text with a trained model.")
    p.add_argument("text", nargs="*",
                   help="Texts to translate; the lines of --input or stdin when none.")
    p.add_argument("--input", metavar="FILE",
                   help="Translate the lines of FILE (plain or .gz), one output line per "
                   "input line. Default: stdin.")
    p.add_argument("--output", metavar="FILE",
                   help="Write the translations to FILE instead of stdout.")
    _add_decoding_arguments(p, beam_default=TRANSLATE_BEAM_SIZE)
    p.add_argument("--server",
                   help="Translate with a TF Serving model over REST instead of a local "
                   "model, e.g. http://localhost:8501/v1/models/en-fr.")
    p.add_argument("--grpc",
                   help="Translate with TF Serving over gRPC at HOST:PORT (with --model-name).")
    p.add_argument("--model-name", default="en-fr", help="Served model name for --grpc.")
    p.add_argument("--tflite",
                   help="Translate with a TFLite export (its directory or model.tflite) on "
                   "the LiteRT interpreter.")
    p.add_argument("--n-best", type=int,
                   help="Print the N best hypotheses of each sentence as "
                   "'index<TAB>score<TAB>text' lines (N <= beam size).")
    p.set_defaults(func=_translate)


def _read_input_lines(args, parser):
    """The texts to translate: arguments, --input lines or stdin lines (bytes:
    invalid UTF-8 is replaced, not fatal)."""
    if args.text:
        if args.input:
            parser.error("give texts as arguments or --input FILE, not both")
        return args.text
    if args.input:
        import gzip

        opener = gzip.open if args.input.endswith(".gz") else open
        with opener(args.input, "rb") as f:
            data = f.read()
    else:
        data = sys.stdin.buffer.read()
    # Only \n (and \r\n) end a line: one output line per input line.
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def _write_output_lines(args, results):
    # A text given as an argument keeps its own line breaks; lines of
    # --input or stdin have none, so each gives one output line.
    lines = results
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.writelines(line + "\n" for line in lines)
    else:
        for line in lines:
            print(line)


def _check_writable(path, flag, parser):
    """Refuse an output path now, not after translating everything; creates
    nothing."""
    if os.path.isdir(path):
        parser.error(f"cannot write {flag} {path}: it is a directory")
    if os.path.exists(path):
        if not os.access(path, os.W_OK):
            parser.error(f"cannot write {flag} {path}: permission denied")
        return
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        parser.error(f"cannot write {flag} {path}: no directory {parent}")
    if not os.access(parent, os.W_OK):
        parser.error(f"cannot write {flag} {path}: directory {parent} is not writable")


def _translate(args, parser):
    if args.output:
        _check_writable(args.output, "--output", parser)
    texts = _read_input_lines(args, parser)
    if args.server or args.grpc:
        from keras_seq2seq.export.serving import translate_grpc, translate_rest

        if (args.n_best or args.beam_size is not None or args.model or args.unk_penalty
                or args.no_repeat_ngram or not args.split_sentences or args.replace_unknown
                or args.protect_names is not None):
            parser.error("--server/--grpc translate with the served model's own settings: "
                         "no --model, --beam-size, --unk-penalty, --no-repeat-ngram, "
                         "--no-split-sentences, --replace-unknown, --[no-]protect-names or "
                         "--n-best")
        if args.server:
            results = translate_rest(args.server, texts)
        else:
            results = translate_grpc(args.grpc, args.model_name, texts)
        _write_output_lines(args, [translation for translation, _ in results])
        return
    if args.beam_size is None:
        args.beam_size = args.beam_default
    if args.tflite:
        from keras_seq2seq.export.runner import TFLiteTranslator

        if args.model:
            parser.error("--tflite and --model are exclusive")
        path = args.tflite
        translator = TFLiteTranslator(path if os.path.isdir(path) else os.path.dirname(path))
    else:
        translator = _load_models(args)
    # A progress bar (on stderr, so that stdout holds only translations) for
    # inputs of more than a few batches.
    progress = len(texts) > 4 * args.batch_size
    started = time.time()
    with contextlib.redirect_stdout(sys.stderr):
        results = translator.translate(
            texts, batch_size=args.batch_size, beam_size=args.beam_size, alpha=args.alpha,
            n_best=args.n_best, unk_penalty=args.unk_penalty,
            no_repeat_ngram=args.no_repeat_ngram, split_sentences=args.split_sentences,
            replace_unknown=args.replace_unknown, protect_names=args.protect_names,
            progress=progress,
        )
    seconds = time.time() - started
    if args.n_best is None:
        _write_output_lines(args, results)
    else:
        lines = [f"{index}\t{score:.4f}\t{text}" for index, result in enumerate(results)
                 for text, score in result]
        _write_output_lines(args, lines)
    if progress or args.output:
        from keras_seq2seq.text import split_sentences_batch

        where = f" to {args.output}" if args.output else ""
        sentences = len(texts)
        if args.split_sentences and args.n_best is None:
            decoded = [t.decode("utf-8", errors="replace") if isinstance(t, bytes) else t
                       for t in texts]
            sentences = sum(sum(1 for s in p[1::2] if s)
                            for p in split_sentences_batch(decoded))
        print(f"Translated {len(texts)} lines ({sentences} sentences){where} in "
              f"{seconds:.1f}s: {sentences / max(seconds, 1e-9):.1f} sentences/s",
              file=sys.stderr)


def _add_evaluate_parser(subparsers):
    p = subparsers.add_parser(
        "evaluate", help="BLEU, chrF (sacreBLEU) and perplexity on a test set."
    )
    p.add_argument("--source", help="Source sentences, one per line (.gz ok).")
    p.add_argument("--reference", help="Reference translations, line-aligned with --source.")
    p.add_argument("--pairs",
                   help="Or a TSV pairs file: evaluate on the validation side of the split "
                   "that `train --pairs` makes with the same --validation-fraction and --seed.")
    p.add_argument("--validation-fraction", type=float, default=0.1, help="Default: 0.1.")
    p.add_argument("--seed", type=int, default=0, help="Split seed. Default: 0.")
    _add_decoding_arguments(p)
    p.add_argument("--hypotheses",
                   help="Also write the translations to this file, one per line. Default: "
                        "none written.")
    p.add_argument("--json", action="store_true", help="Print the report as JSON.")
    p.set_defaults(func=_evaluate)


def _evaluate(args, parser):
    import json

    from keras_seq2seq.data import read_parallel_files, read_tsv_pairs, split_by_source
    from keras_seq2seq.evaluation import evaluate

    if bool(args.pairs) == bool(args.source or args.reference):
        parser.error("give --source FILE --reference FILE, or --pairs FILE")
    if args.hypotheses:
        _check_writable(args.hypotheses, "--hypotheses", parser)
    if args.pairs:
        corpus = read_tsv_pairs(args.pairs)
        _, validation = split_by_source(corpus, args.validation_fraction, seed=args.seed)
        pairs = list(validation)
    else:
        if not (args.source and args.reference):
            parser.error("--source and --reference go together")
        corpus = read_parallel_files(args.source, args.reference)
        pairs = list(corpus)
    if args.beam_size is None:
        args.beam_size = args.beam_default
    translator = _load_models(args)
    report, hypotheses = evaluate(
        translator, pairs, beam_size=args.beam_size, alpha=args.alpha,
        batch_size=args.batch_size, progress=not args.json, unk_penalty=args.unk_penalty,
        no_repeat_ngram=args.no_repeat_ngram, split_sentences=args.split_sentences,
        replace_unknown=args.replace_unknown, protect_names=args.protect_names,
    )
    report["skipped_lines"] = corpus.report.skipped
    report["models"] = args.model or [DEFAULT_MODEL]
    if args.hypotheses:
        report["hypotheses"] = args.hypotheses
        with open(args.hypotheses, "w", encoding="utf-8") as f:
            f.writelines(h + "\n" for h in hypotheses)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        search = "greedy" if args.beam_size == 1 else f"beam {args.beam_size}"
        ppl = report.get("perplexity", report.get("member_perplexities"))
        print(f"{report['pairs']} pairs, {search}: BLEU {report['bleu']:.2f}  "
              f"chrF {report['chrf']:.2f}  perplexity {ppl}"
              f"{' per ' + report['perplexity_per'] if 'perplexity_per' in report else ''}  "
              f"<unk> written {report['unknown_words']}  "
              f"repeated 3-grams {report['repeated_trigram_share']:.1%}  "
              f"names kept {report['names_kept'][0]}/{report['names_kept'][1]}")
        print(report["bleu_details"])
        print("BLEU by source length: " + "  ".join(
            f"{b['words']} words: " + ("-" if b["bleu"] is None else f"{b['bleu']:.2f}")
            + f" ({b['pairs']})" for b in report["by_length"]))
        print(f"BLEU signature: {report['bleu_signature']}")
        if args.hypotheses:
            print(f"Hypotheses written to {args.hypotheses}")


def _add_export_parser(subparsers):
    p = subparsers.add_parser(
        "export", help="Export a model for TF Serving (SavedModel, text in / text out)."
    )
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help="Model directory. Default: the shipped saved_models/en-fr.")
    p.add_argument("--format", default="saved_model", choices=["saved_model", "tflite", "keras"],
                   help="Export format; keras: a model directory (for --quantize float16). "
                   "Default: saved_model.")
    p.add_argument("--out", required=True,
                   help="saved_model: TF Serving model base path, the export goes to "
                   "OUT/NAME/VERSION. tflite: the output directory.")
    p.add_argument("--quantize", default="none", choices=["none", "float16", "dynamic-int8"],
                   help="tflite weights: float32, float16 or int8 (dynamic range); keras "
                   "weights file: none (float32) or float16. Default: none.")
    p.add_argument("--max-source-tokens", type=int,
                   help="tflite: longest source in words (longer input is truncated). "
                   "Default: the model's max_source_length.")
    p.add_argument("--name", help="Model name. Default: the model directory's name.")
    p.add_argument("--version", type=int, help="Version number. Default: the next free one.")
    p.add_argument("--beam-size", type=int, default=1,
                   help="Search in serving_default: 1 greedy, more for beam. Default: 1.")
    p.add_argument("--alpha", type=float, default=0.6, help="Beam length penalty. Default: 0.6.")
    p.add_argument("--unk-penalty", type=float, default=0.0,
                   help="SavedModel of a translator: the <unk> penalty of serving_default. "
                   + UNK_PENALTY_HELP)
    p.add_argument("--no-repeat-ngram", type=int, default=0, metavar="N",
                   help="SavedModel of a translator: n-gram blocking of serving_default. "
                   + NO_REPEAT_NGRAM_HELP)
    p.add_argument("--split-sentences", action=argparse.BooleanOptionalAction, default=True,
                   help="SavedModel of a translator: serving_default splits each text into "
                   "sentences in the graph. Default: on.")
    p.add_argument("--protect-names", action=argparse.BooleanOptionalAction, default=None,
                   help="SavedModel of a translator: serving_default translates rare names "
                   "as placeholders and puts them back, in the graph. Default: on where the "
                   "model's vocabularies hold a placeholder name.")
    p.set_defaults(func=_export)


def _export(args, parser):
    from keras_seq2seq.export import export_saved_model
    from keras_seq2seq.translator import load, read_model_record

    captioner = read_model_record(args.model).get("kind") == "captioner"
    baked = [flag for flag, given in (("--unk-penalty", args.unk_penalty),
                                      ("--no-repeat-ngram", args.no_repeat_ngram),
                                      ("--no-split-sentences", not args.split_sentences),
                                      ("--[no-]protect-names", args.protect_names is not None))
             if given]
    if baked and (captioner or args.format != "saved_model"):
        parser.error(f"{' and '.join(baked)} {'applies' if len(baked) == 1 else 'apply'} to "
                     "the SavedModel of a translator (TFLite and Keras directories take "
                     "them when they are used)")
    if args.format == "keras":
        if args.quantize == "dynamic-int8":
            parser.error("--format keras takes --quantize none or float16")
        if captioner:
            from keras_seq2seq.captioning import load_captioner

            model = load_captioner(args.model)
        else:
            model = load(args.model)
        dtype = "float16" if args.quantize == "float16" else "float32"
        model.save(args.out, weights_dtype=dtype)
        print(f"Model directory written to {args.out} ({dtype} weights)")
        return
    if captioner:
        return _export_captioner(args)
    translator = load(args.model)
    if args.format == "tflite":
        from keras_seq2seq.export.tflite import export_tflite

        path = export_tflite(translator, args.out, quantize=args.quantize,
                             max_source_tokens=args.max_source_tokens)
        print(f"TFLite model written to {path} ({os.path.getsize(path) / 1e6:.1f} MB)")
        print(f"Translate with it: keras-seq2seq translate --tflite {args.out} \"Hello.\"")
        return
    name = args.name or os.path.basename(os.path.normpath(args.model))
    directory = export_saved_model(
        translator, args.out, name=name, beam_size=args.beam_size, alpha=args.alpha,
        version=args.version, unk_penalty=args.unk_penalty,
        no_repeat_ngram=args.no_repeat_ngram, split_sentences=args.split_sentences,
        protect_names=args.protect_names,
    )
    print(f"SavedModel written to {directory}")
    print(f"Inspect it: saved_model_cli show --dir {directory} --all")


def _export_captioner(args):
    from keras_seq2seq.captioning import load_captioner
    from keras_seq2seq.captioning.export import (
        export_captioner_saved_model,
        export_captioner_tflite,
    )

    captioner = load_captioner(args.model)
    if args.format == "tflite":
        path = export_captioner_tflite(captioner, args.out, quantize=args.quantize)
        print(f"TFLite captioner written to {path} ({os.path.getsize(path) / 1e6:.1f} MB)")
        print(f"Caption with it: keras-seq2seq caption --tflite {args.out} IMAGE")
        return
    name = args.name or os.path.basename(os.path.normpath(args.model))
    directory = export_captioner_saved_model(
        captioner, args.out, name=name, beam_size=args.beam_size, alpha=args.alpha,
        version=args.version,
    )
    print(f"SavedModel written to {directory} (serving_default: image_bytes -> caption)")


def _add_average_parser(subparsers):
    p = subparsers.add_parser(
        "average", help="Average a run's epoch checkpoints into a model directory.")
    p.add_argument("--run", required=True,
                   help="A `train` output directory (config, vocabularies, checkpoints/).")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--last", type=int, help="Average the last N epoch checkpoints.")
    which.add_argument("--checkpoints", nargs="+", metavar="FILE",
                       help="Or these weight files (of the same model).")
    p.add_argument("--out", required=True, help="The averaged model directory.")
    p.set_defaults(func=_average)


def _average(args, parser):
    from keras_seq2seq.training.finetune import average_checkpoints

    translator = average_checkpoints(args.run, args.out, last=args.last,
                                     checkpoints=args.checkpoints)
    names = translator.metadata["averaged_checkpoints"]
    print(f"Averaged {len(names)} checkpoints ({', '.join(names)}) into {args.out}")


def _add_serve_parser(subparsers):
    p = subparsers.add_parser(
        "serve", help="A local server with TF Serving's REST (and gRPC) API, for development.")
    p.add_argument("--base", required=True, help="Model base path written by `export`.")
    p.add_argument("--rest-port", type=int, default=8501, help="Default: 8501.")
    p.add_argument("--grpc-port", type=int, help="Also serve gRPC on this port (e.g. 8500).")
    p.add_argument("--host", default="127.0.0.1",
                   help="Address to bind. Default: 127.0.0.1 (this machine only): the server "
                        "has no authentication and no TLS; see the README before exposing it.")
    defaults = _serving_limit_defaults()
    for flag, meaning in SERVING_LIMIT_FLAGS.items():
        field = flag.replace("-", "_")
        p.add_argument(f"--{flag}", type=type(defaults[field]), default=defaults[field],
                       help=f"{meaning} Default: {defaults[field]:g}.")
    p.add_argument("--quiet", action="store_true", help="Do not log every request.")
    p.set_defaults(func=_serve)


# `serve` flags for the fields of export.serving.ServingLimits.
SERVING_LIMIT_FLAGS = {
    "max-body-bytes": "Largest request body (REST) or message (gRPC).",
    "max-instances": "Most strings per request.",
    "max-chars": "Most characters per string.",
    "max-sentences": "Most sentence ends (. ! ? ...) per request.",
    "max-json-depth": "Deepest JSON nesting.",
    "request-timeout": "Seconds to receive a whole request.",
    "idle-timeout": "Seconds an idle keep-alive connection stays open.",
    "threads": "Request threads.",
    "max-connections": "Open connections at once; more wait in the backlog.",
    "concurrent-predictions": "Predictions run at once.",
    "queue-timeout": "Seconds a request waits for a prediction slot before a 503.",
}


def _serving_limit_defaults():
    import dataclasses

    from keras_seq2seq.export.limits import ServingLimits

    return {f.name: f.default for f in dataclasses.fields(ServingLimits)}


def _serve(args, parser):
    from keras_seq2seq.export.limits import ServingLimits
    from keras_seq2seq.export.serving import LocalServer

    limits = ServingLimits(**{f.replace("-", "_"): getattr(args, f.replace("-", "_"))
                              for f in SERVING_LIMIT_FLAGS})
    server = LocalServer(args.base, rest_port=args.rest_port, grpc_port=args.grpc_port,
                         verbose=not args.quiet, host=args.host, limits=limits)
    for name, (version, _) in server.models.models.items():
        print(f"Serving {name} version {version} at {server.rest_url(name)}", flush=True)
    if server.grpc_port:
        print(f"gRPC on {server.grpc_target}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()


def _add_explore_parser(subparsers):
    p = subparsers.add_parser(
        "explore", help="An interactive page on a model: encoder, step-by-step decoder, "
        "teacher forcing, beam search, attention.")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--model", help="Translator or captioner directory. Default: the shipped "
                       "saved_models/en-fr.")
    which.add_argument("--toy", action="store_true",
                       help="Train the seed_toy walk-through model of tutorial 01 (seconds) and "
                       "explore it.")
    p.add_argument("--host", default="127.0.0.1",
                   help="Address to bind. Default: 127.0.0.1 (this machine only; the page has "
                        "no authentication).")
    p.add_argument("--port", type=int, default=8008, help="Default: 8008 (0: any free port).")
    p.set_defaults(func=_explore)


def _explore(args, parser):
    import tempfile

    from keras_seq2seq.explore import Explorer, serve_explorer, toy_translator

    if args.toy:
        decoder, label = toy_translator(tempfile.mkdtemp(prefix="keras-seq2seq-toy-")), "seed_toy"
    else:
        directory = args.model or DEFAULT_MODEL
        decoder, label = _load_any(directory), os.path.basename(os.path.normpath(directory))

    def ready(url):
        print(f"Explorer for {label} at {url} (Ctrl-C stops it)", flush=True)

    try:
        serve_explorer(Explorer(decoder, label=label), host=args.host, port=args.port,
                       on_ready=ready)
    except KeyboardInterrupt:
        pass


def _load_any(directory):
    """A translator or a captioner, whichever the directory holds."""
    from keras_seq2seq.translator import load, read_model_record

    if read_model_record(directory).get("kind", "translator") == "captioner":
        from keras_seq2seq.captioning import load_captioner

        return load_captioner(directory)
    return load(directory)


def _add_captioning_parsers(subparsers):
    from keras_seq2seq.captioning.config import BACKBONES, POOLINGS

    p = subparsers.add_parser(
        "train-captioner", help="Train an image captioner (CNN encoder + the LSTM decoder).")
    data = p.add_argument_group("data (one of)")
    data.add_argument("--flickr8k", metavar="TOKEN_FILE",
                      help="Flickr8k.token.txt (or Flickr30k's results_20130124.token).")
    data.add_argument("--coco", metavar="JSON", help="COCO captions JSON.")
    data.add_argument("--image-list", help="Image names, one per line (Multi30k task 2), "
                      "with --captions.")
    data.add_argument("--captions", help="Captions, line-aligned with --image-list.")
    data.add_argument("--digits", action="store_true",
                      help="The offline handwritten-digits canvases (needs scikit-learn).")
    data.add_argument("--images", help="Image directory (with --flickr8k, --coco, --image-list).")
    data.add_argument("--digits-train", type=int, default=20000,
                      help="--digits: training canvases. Default: 20000.")
    data.add_argument("--digits-augment", action="store_true",
                      help="--digits: vary the training digits' width, brightness, slant "
                      "and rotation.")
    data.add_argument("--validation-fraction", type=float, default=0.1,
                      help="Share of images held out for validation. Default: 0.1.")
    p.add_argument("--backbone", default="small_cnn", choices=BACKBONES,
                   help="CNN encoder. Default: small_cnn (trained from scratch).")
    p.add_argument("--weights", help="Backbone weights: 'imagenet' (downloaded by Keras) or a "
                   "local weights file. Default: random initialisation.")
    p.add_argument("--train-backbone", action="store_true",
                   help="Fine-tune the backbone (else it is frozen and its features cached).")
    p.add_argument("--image-size", type=int, nargs=2, metavar=("HEIGHT", "WIDTH"),
                   help="Input size. Default: 224 224 (32 96 with --digits).")
    p.add_argument("--pooling", choices=POOLINGS, help="Default: avg (flatten with --digits).")
    p.add_argument("--units", type=int, default=256, help="Decoder LSTM units. Default: 256.")
    p.add_argument("--embedding-dim", type=int, default=128, help="Default: 128.")
    p.add_argument("--layers", type=int, default=1, help="Decoder layers. Default: 1.")
    p.add_argument("--dropout", type=float, default=0.2, help="Default: 0.2.")
    p.add_argument("--feature-cache", help="Directory for cached frozen-backbone features.")
    p.add_argument("--epochs", type=int, default=10, help="Default: 10.")
    p.add_argument("--max-minutes", type=float,
                   help="Stop after the epoch that passes this much training time.")
    p.add_argument("--batch-size", type=int, default=64, help="Default: 64.")
    p.add_argument("--learning-rate", type=float, default=1e-3, help="Adam. Default: 1e-3.")
    p.add_argument("--lr-schedule", default="constant", choices=["constant", "step", "plateau"],
                   help="plateau: halve the learning rate when validation loss stalls. "
                   "Default: constant.")
    p.add_argument("--lr-patience", type=int, default=1,
                   help="plateau: epochs without a lower validation loss before halving. "
                   "Default: 1.")
    p.add_argument("--patience", type=int,
                   help="Early stopping: epochs without a better validation loss. Default: off.")
    p.add_argument("--seed", type=int, default=0, help="Default: 0.")
    p.add_argument("--out", required=True, help="Run directory: checkpoints, logs, the model.")
    p.set_defaults(func=_train_captioner)

    p = subparsers.add_parser("caption", help="Caption images with a trained captioner.")
    p.add_argument("images", nargs="+", help="Image files (JPEG, PNG, GIF, BMP).")
    p.add_argument("--model", help="Captioner directory (from train-captioner).")
    p.add_argument("--tflite", help="Directory from `export --format tflite` of a captioner.")
    p.add_argument("--beam-size", type=int, default=1,
                   help="1 for greedy search, more for beam search. Default: 1.")
    p.add_argument("--alpha", type=float, default=0.6, help="Beam length penalty. Default: 0.6.")
    p.set_defaults(func=_caption)


def _caption_corpus(args, parser):
    from keras_seq2seq.captioning import read_coco, read_flickr8k, read_image_list

    chosen = [bool(args.flickr8k), bool(args.coco), bool(args.image_list or args.captions),
              args.digits]
    if sum(chosen) != 1:
        parser.error("give exactly one of --flickr8k, --coco, --image-list/--captions, --digits")
    if not args.digits and not args.images:
        parser.error("--images DIR is needed with --flickr8k, --coco and --image-list")
    if args.flickr8k:
        return read_flickr8k(args.flickr8k, args.images)
    if args.coco:
        return read_coco(args.coco, args.images)
    if not (args.image_list and args.captions):
        parser.error("--image-list and --captions go together")
    return read_image_list(args.image_list, args.captions, args.images)


def _train_captioner(args, parser):
    from keras_seq2seq.captioning import CaptionerConfig, train_captioner

    if args.digits:
        from keras_seq2seq.captioning.digits import digits_corpora

        train_corpus, validation_corpus, _ = digits_corpora(
            args.digits_train, max(1, args.digits_train // 20), 1, seed=args.seed,
            augment_train=args.digits_augment)
        size, pooling, max_length = (32, 96), "flatten", 12
    else:
        corpus = _caption_corpus(args, parser)
        train_corpus, validation_corpus = corpus.split(args.validation_fraction, args.seed)
        size, pooling, max_length = (224, 224), "avg", 40
    height, width = args.image_size or size
    config = CaptionerConfig(
        backbone=args.backbone, weights=args.weights, train_backbone=args.train_backbone,
        image_height=height, image_width=width, pooling=args.pooling or pooling,
        units=args.units, embedding_dim=args.embedding_dim, num_layers=args.layers,
        dropout=args.dropout, max_target_length=max_length,
    )
    train_captioner(
        train_corpus, config, args.out, validation_corpus, epochs=args.epochs,
        batch_size=args.batch_size, learning_rate=args.learning_rate, seed=args.seed,
        lr_schedule=args.lr_schedule, lr_patience=args.lr_patience,
        early_stopping_patience=args.patience, feature_cache=args.feature_cache,
        max_minutes=args.max_minutes,
        metadata={"command": shlex.join(["keras-seq2seq", *args.argv])},
    )
    print(f"Captioner saved to {args.out}")


def _caption(args, parser):
    if bool(args.model) == bool(args.tflite):
        parser.error("give one of --model DIR or --tflite DIR")
    if args.tflite:
        from keras_seq2seq.captioning.export import TFLiteCaptioner

        captioner = TFLiteCaptioner(args.tflite)
    else:
        from keras_seq2seq.captioning import load_captioner

        captioner = load_captioner(args.model)
    from keras_seq2seq.captioning import ImageError, load_image

    # Each file is read on its own, so an unreadable one is reported and
    # skipped; the readable ones are captioned in batches.
    readable, pixels = [], []
    for path in args.images:
        try:
            pixels.append(load_image(path, captioner.config.image_height,
                                     captioner.config.image_width))
            readable.append(path)
        except ImageError as e:
            print(f"keras-seq2seq: error: {e}", file=sys.stderr)
    failed = len(args.images) - len(readable)
    captions = captioner.caption(pixels, beam_size=args.beam_size, alpha=args.alpha)
    for path, caption in zip(readable, captions):
        print(f"{path}\t{caption}" if len(args.images) > 1 else caption, flush=True)
    if failed:
        raise ConfigurationError(f"{failed} of {len(args.images)} images could not be read.")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-seq2seq",
        description="Sequence-to-sequence translation with Keras (Sutskever et al. 2014).",
    )
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="More logging, TensorFlow's own C++ log lines included.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_train_parser(subparsers)
    _add_translate_parser(subparsers)
    _add_evaluate_parser(subparsers)
    _add_export_parser(subparsers)
    _add_serve_parser(subparsers)
    _add_average_parser(subparsers)
    _add_explore_parser(subparsers)
    _add_captioning_parsers(subparsers)
    return parser


@contextlib.contextmanager
def _native_logs_silenced(verbose):
    """Run a command with TensorFlow's C++ log lines sent to /dev/null.

    TensorFlow 2.21 writes its start-up lines (oneDNN, CUDA drivers, cuInit)
    and some op warnings through absl before its logging is initialised, so
    TF_CPP_MIN_LOG_LEVEL does not reach them; only the file descriptor can.
    Descriptor 2 goes to /dev/null and Python's `sys.stderr` (errors,
    progress bars, logging) to a copy of the real one. Only when stderr is
    the process's own (not under pytest's capture) and not `--verbose`.
    """
    try:
        quiet = not verbose and sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        quiet = False
    if not quiet:
        yield
        return
    python_stderr = sys.stderr
    python_stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        sys.stderr = open(saved, "w", buffering=1, encoding=python_stderr.encoding,
                          errors="backslashreplace", closefd=False)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        sys.stderr = python_stderr


def main(argv=None):
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = argv
    if args.verbose:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
    if args.func is _serve:
        # oneDNN keeps per-shape buffers for the life of the process, so a
        # server's memory stays at the high-water mark of its largest batch
        # (+480 MB after 256-sentence requests, measured); without it the
        # memory returns. TF_ENABLE_ONEDNN_OPTS=1 keeps it on.
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    with _native_logs_silenced(args.verbose):
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.INFO,
            format="%(levelname)s %(name)s: %(message)s",
        )
        try:
            args.func(args, parser)
        except TrainingInterrupted as e:
            print(f"keras-seq2seq: {e}", file=sys.stderr)
            return 130  # the shell's code for a SIGINT
        except KeyboardInterrupt:
            # Ctrl-C anywhere else (reading a corpus, translating): no
            # traceback, the shell's code.
            print("keras-seq2seq: interrupted", file=sys.stderr)
            return 130
        # The project's own errors (a bad setting, file, corpus, model
        # directory or request; keras_seq2seq.errors) and the operating
        # system's (a missing or unreadable file) are the user's to fix: one
        # line. Anything else is a bug and keeps its traceback.
        except (Seq2SeqError, OSError) as e:
            print(f"keras-seq2seq: error: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
