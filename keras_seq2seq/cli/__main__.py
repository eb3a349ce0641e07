import sys

from keras_seq2seq.cli import run

sys.exit(run())
