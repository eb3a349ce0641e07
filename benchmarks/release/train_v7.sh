#!/usr/bin/env bash
# The v7 training run (issue 34, item 5): the v6 recipe of
# saved_models/en-fr/README.md ("How it was made"), with what the peer race
# taught (benchmarks/peers/README.md): the whole training set shuffled each
# epoch (the default since 2026-12-05), and trained as long as validation
# loss keeps falling (early stopping after 4 epochs without a better one,
# the rate halved on a plateau) instead of 6 epochs.
#
#   benchmarks/release/train_v7.sh /work/runs/en-fr-v7
#
# Run it in the background, outside the repository; the same command resumes
# after any interruption (a backup every 300 batches, so a cut loses a few
# minutes, not an epoch). KERAS_SEQ2SEQ_DATA names the data directory.
# v7 started from Keras' initialisers, the `cpu` architecture's default until
# 2026-12-06 (its default is now OpenNMT-py's uniform 0.1): --init-scale 0
# keeps this the run that made v7.
set -euo pipefail
out=${1:?run directory (outside the repository)}
shift
here=$(cd "$(dirname "$0")" && pwd)
D=${KERAS_SEQ2SEQ_DATA:-$(cd "$here/../../.." && pwd)/shared/data}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
exec keras-seq2seq train --pairs "$D/tatoeba/eng-fra-full.tsv.gz" \
    --source "$D/multi30k/train.en.gz" --target "$D/multi30k/train.fr.gz" \
    --validation-source "$D/multi30k/val.en.gz" --validation-target "$D/multi30k/val.fr.gz" \
    --validation-fraction 0.1 --architecture cpu --attention luong --tokenizer wordpiece \
    --shared-vocabulary --copy-attention --name-augmentation 0.6 --embedding-dim 192 \
    --source-vocab-size 8000 --target-vocab-size 8000 --max-length 100 --dropout 0.3 \
    --embedding-dropout 0.2 --epochs 40 --max-minutes 1500 --batch-size 128 \
    --learning-rate 2e-3 --lr-schedule plateau --patience 4 --seed 0 \
    --bidirectional-encoder --init-scale 0 --backup-every 300 --out "$out" "$@"
