#!/usr/bin/env bash
# The v8 training run (issue 34, item 5): v7's network and data
# (train_v7.sh) with what the peer race taught since: the `cpu`
# architecture's default start, every weight uniform in [-0.1, 0.1] as in
# OpenNMT-py (ahead of OpenNMT-py's LSTM at every checkpoint of the race,
# benchmarks/peers/README.md), and a fixed schedule that fits one session:
# 7 epochs, the rate 2e-3 for epochs 1-4 and halved each epoch from epoch 5
# (Luong et al. 2015 halve after a fixed number of epochs; v7 gained most
# from its first halving, saved_models/en-fr/README.md).
#
#   benchmarks/release/train_v8.sh /work/runs/en-fr-v8
#   benchmarks/release/ship_v7.sh select /work/runs/en-fr-v8
#
# Run it in the background, outside the repository; the same command resumes
# after any interruption (a backup every 300 batches). KERAS_SEQ2SEQ_DATA
# names the data directory.
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
    --embedding-dropout 0.2 --epochs 7 --batch-size 128 \
    --learning-rate 2e-3 --lr-schedule step --lr-decay-start 5 --lr-decay 0.5 --seed 0 \
    --bidirectional-encoder --backup-every 300 --out "$out" "$@"
