import sys

from keras_seq2seq.cli import main

sys.exit(main())
