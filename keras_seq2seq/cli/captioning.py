"""`keras-seq2seq train-captioner`.

The flags are generated from the fields of the run's settings
(`keras_seq2seq.captioning.config`: the data source, the optimisation and
the model, `CaptionerConfig`): their names, help and choices live there. A
flag not given leaves its field as it is: the defaults (the model's image
size, pooling and caption length are the data source's), or the run that
`--config FILE` repeats.
"""

import argparse
import shlex

from keras_seq2seq.errors import ConfigurationError
from keras_seq2seq.settings import add_flags, overrides

# The flags that are not one field each (tests/test_captioner_config.py).
CONFIG_FLAG = "--config"
IMAGE_SIZE_FLAG = "--image-size"  # both image_height and image_width


def add_parsers(subparsers):
    from keras_seq2seq.captioning import config as c

    p = subparsers.add_parser(
        "train-captioner", help="Train an image captioner (CNN encoder + the LSTM decoder).",
        description="Train an image captioner. The run directory keeps the settings "
        "(training_config.json): --config repeats a run, and flags beside it change it.")
    p.add_argument(CONFIG_FLAG, metavar="FILE", help="A run's training_config.json (or its run "
                   "directory): start from its settings instead of the defaults.")
    add_flags(p, c.CaptionerTrainingConfig, only=("out",))
    add_flags(p.add_argument_group("data (one source)"), c.CaptionerDataConfig)
    model = p.add_argument_group("model")
    add_flags(model, c.CaptionerConfig, exclude=c.SOURCE_FIELDS,
              defaults=c.CaptionerDataConfig().default_model())
    add_flags(model, c.CaptionerConfig, only=c.SOURCE_FIELDS,
              default_note="the data source's ({default}; see --digits)")
    model.add_argument(IMAGE_SIZE_FLAG, type=int, nargs=2, metavar=("HEIGHT", "WIDTH"),
                       default=argparse.SUPPRESS, help="Sets --image-height and --image-width.")
    add_flags(p.add_argument_group("optimisation and schedule"), c.CaptionerOptimizationConfig,
              exclude=c.UNSUPPORTED_OPTIMIZATION)
    p.set_defaults(func=run)


def captioner_training_config(args, parser):
    """The CaptionerTrainingConfig the command line asks for; setting errors
    are usage errors."""
    from keras_seq2seq.captioning import config as c

    fields = {k: v for cls in (*c.SECTIONS.values(), c.CaptionerConfig)
              for k, v in overrides(args, cls).items()}
    if "image_size" in args:
        fields = {"image_height": args.image_size[0], "image_width": args.image_size[1],
                  **fields}
    top = overrides(args, c.CaptionerTrainingConfig, only=("out",))
    if not (args.config or top):
        parser.error("the following arguments are required: --out (or --config FILE)")
    try:
        if args.config:
            config = c.CaptionerTrainingConfig.load(args.config).replace(**top, **fields)
        else:
            config = c.CaptionerTrainingConfig.create(top["out"], **fields)
    except ConfigurationError as e:
        parser.error(str(e))
    if config.data.source is None:
        parser.error("give one data source: --flickr8k, --coco, --image-list with --captions, "
                     "or --digits")
    return config


def run(args, parser):
    config = captioner_training_config(args, parser)
    from keras_seq2seq.training.allocator import keep_large_allocations, use_bfc_allocator

    use_bfc_allocator()  # as `train` does
    keep_large_allocations()
    from keras_seq2seq.captioning.trainer import train_captioner

    command = shlex.join(["keras-seq2seq", *getattr(args, "argv", [])])
    train_captioner(config, metadata={"command": command})
    print(f"Captioner saved to {config.out}")
