"""`keras-seq2seq train` and `average`.

The train flags are generated from the fields of the run's settings
(`keras_seq2seq.training.config`) and of the model (`Seq2SeqConfig`): their
names, help and choices live there. A flag not given leaves its field as it
is: the defaults, or the run that `--config FILE` repeats.
"""

import argparse
import shlex

from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.settings import add_flags, overrides

# The flags that are not one field each (tests/test_training_config.py).
CONFIG_FLAG = "--config"
MAX_LENGTH_FLAG = "--max-length"  # both max_source_length and max_target_length
GROUPS = {
    "data": "data (repeat a flag, or combine them, to train on several corpora at once)",
    "optimization": "optimisation and schedule",
    "checkpoints": "checkpoints and monitoring",
    "finetune": "fine-tuning",
}


def _cli_defaults():
    """What `keras-seq2seq train` starts from without --config: the library's
    defaults, plus the final validation BLEU the command prints."""
    from keras_seq2seq.training.config import CheckpointConfig

    return {"checkpoints": CheckpointConfig(validation_bleu=True)}


def add_parser(subparsers):
    from keras_seq2seq.models.config import Seq2SeqConfig
    from keras_seq2seq.training.config import SECTIONS, TrainingConfig

    p = subparsers.add_parser(
        "train", help="Train a translation model with model.fit.",
        description="Train a translation model. The run directory keeps the settings "
        "(training_config.json): --config repeats a run, and flags beside it change it.")
    p.add_argument(CONFIG_FLAG, metavar="FILE", help="A run's training_config.json (or its run "
                   "directory): start from its settings instead of the defaults.")
    add_flags(p, TrainingConfig, only=("out", "architecture"))
    model = p.add_argument_group("model (each overrides the field of --architecture's template)")
    add_flags(model, Seq2SeqConfig, default_note="the architecture's")
    model.add_argument(MAX_LENGTH_FLAG, type=int, metavar="TOKENS", default=argparse.SUPPRESS,
                       help="Sets both --max-source-length and --max-target-length.")
    defaults = _cli_defaults()
    for name, cls in SECTIONS.items():
        add_flags(p.add_argument_group(GROUPS[name]), cls, defaults=defaults.get(name))
    p.set_defaults(func=run)


def training_config(args, parser):
    """The TrainingConfig the command line asks for; setting errors are
    usage errors."""
    from keras_seq2seq.models.config import Seq2SeqConfig
    from keras_seq2seq.training.config import SECTIONS, TrainingConfig

    fields = {k: v for cls in SECTIONS.values() for k, v in overrides(args, cls).items()}
    model = overrides(args, Seq2SeqConfig)
    if "max_length" in args:
        for name in ("max_source_length", "max_target_length"):
            model.setdefault(name, args.max_length)
    top = overrides(args, TrainingConfig, only=("out",))
    if not (args.config or top):
        parser.error("the following arguments are required: --out (or --config FILE)")
    try:
        if args.config:
            config = TrainingConfig.load(args.config).replace(**top)
        else:
            config = TrainingConfig.create(top["out"], **_cli_defaults())
        config = config.replace(**fields)
        if model and config.finetune.init_from:
            flags = sorted("--" + name.replace("_", "-") for name in model)
            parser.error(f"--init-from keeps the model's settings; drop {', '.join(flags)}")
        config = config.with_model(getattr(args, "architecture", None), **model)
    except ConfigurationError as e:
        parser.error(str(e))
    if not config.data.has_corpus:
        parser.error("give a corpus: --pairs FILE, --source FILE --target FILE, or --tfds NAME")
    return config


def run(args, parser):
    config = training_config(args, parser)
    from keras_seq2seq.training.allocator import keep_large_allocations, use_bfc_allocator

    # Before TensorFlow is imported: 1.47x the steps/s of neither.
    use_bfc_allocator()
    keep_large_allocations()
    # Before any other TensorFlow work: MultiWorkerMirroredStrategy sets up
    # the collective ops of the process.
    from keras_seq2seq.training.distributed import is_chief, make_strategy

    strategy = make_strategy(config.optimization.strategy)
    from keras_seq2seq.training import train

    command = shlex.join(["keras-seq2seq", *getattr(args, "argv", [])])
    translator, _ = train(config, strategy=strategy, metadata={"command": command})
    if not is_chief(strategy):
        print("Training done; the chief worker writes the model.")
        return
    record = translator.metadata
    if "validation_bleu" in record:
        print(f"Validation BLEU (sacreBLEU, greedy, {record['validation_pairs']} pairs, "
              f"{record['validation_bleu_seconds']:.0f}s): "
              f"{record['validation_bleu_details']}")
    print(f"Model saved to {config.out}")


def add_average_parser(subparsers):
    p = subparsers.add_parser(
        "average", help="Average a run's epoch checkpoints into a model directory.")
    p.add_argument("--run", required=True,
                   help="A `train` output directory (config, vocabularies, checkpoints/).")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--last", type=int, help="Average the last N epoch checkpoints.")
    which.add_argument("--checkpoints", nargs="+", metavar="FILE",
                       help="Or these weight files (of the same model).")
    p.add_argument("--out", required=True, help="The averaged model directory.")
    p.set_defaults(func=average)


def average(args, parser):
    from keras_seq2seq.training.finetune import average_checkpoints

    translator = average_checkpoints(args.run, args.out, last=args.last,
                                     checkpoints=args.checkpoints)
    names = translator.metadata["averaged_checkpoints"]
    print(f"Averaged {len(names)} checkpoints ({', '.join(names)}) into {args.out}")
