"""`keras-seq2seq train-captioner`."""

import shlex
import sys

from keras_seq2seq.errors import ConfigurationError


def add_parsers(subparsers):
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
