#!/usr/bin/env bash
# The v9 candidate (issue 34, item 5): v8 (train_v8.sh, OpenNMT-py's start,
# 7 epochs) trained on for 2 epochs with Multi30k's training pairs three
# times over, against v7's and v8's shortfall on Multi30k val (its target:
# v6 + 2 BLEU). Multi30k train is 29k of 175k training pairs; given three
# times it is 37% of 233k. The Tatoeba pairs and the held-out split are
# v8's (the same file, --validation-fraction and seed), so the validation
# sets stay unseen. Adam's moments start afresh (`--init-from`); the rate
# 5e-4, then 2.5e-4.
#
#   benchmarks/release/train_v9.sh /work/runs/en-fr-v8 /work/runs/en-fr-v9
#   benchmarks/release/ship_v7.sh select /work/runs/en-fr-v9
#
# Run it in the background, outside the repository; the same command resumes
# after any interruption (a backup every 300 batches). KERAS_SEQ2SEQ_DATA
# names the data directory. M30K_TIMES (default 3) and RATE (default 5e-4)
# change the mix and the first epoch's rate (train_v10.sh sets both).
set -euo pipefail
base=${1:?the v8 model directory, as train_v8.sh wrote it}
out=${2:?run directory (outside the repository)}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
D=${KERAS_SEQ2SEQ_DATA:-$(cd "$here/../../.." && pwd)/shared/data}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
m30k=()
for _ in $(seq "${M30K_TIMES:-3}"); do
  m30k+=(--source "$D/multi30k/train.en.gz" --target "$D/multi30k/train.fr.gz")
done
exec keras-seq2seq train --init-from "$base" --pairs "$D/tatoeba/eng-fra-full.tsv.gz" \
    "${m30k[@]}" \
    --validation-source "$D/multi30k/val.en.gz" --validation-target "$D/multi30k/val.fr.gz" \
    --validation-fraction 0.1 --name-augmentation 0.6 --epochs 2 --batch-size 128 \
    --learning-rate "${RATE:-5e-4}" --lr-schedule step --lr-decay-start 2 --lr-decay 0.5 --seed 0 \
    --backup-every 300 --out "$out" "$@"
