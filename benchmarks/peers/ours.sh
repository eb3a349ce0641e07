#!/usr/bin/env bash
# Ours in the race: the shipped v6 recipe (saved_models/en-fr/README.md, "How it
# was made", and config.json's metadata "command"), with --architecture for the
# old --preset, --max-minutes 60 for its --epochs 6 --max-minutes 110 budget,
# and checkpoints by the clock (ours_train.py). Runs in the project's venv.
#
#   benchmarks/peers/ours.sh copy   0 /work/peers-runs/ours-copy-s0
#   benchmarks/peers/ours.sh nocopy 0 /work/peers-runs/ours-nocopy-s0
#   benchmarks/peers/ours.sh copy   1 /work/peers-runs/ours-copy-s1
#
# Extra arguments after the run directory go to `keras-seq2seq train` (a smoke
# run: --max-examples 2000). MINUTES=20,40,60 by default; STEPS=500,1000 saves
# after those training steps instead (comparisons at equal steps, which a busy
# machine does not change). INIT_UNIFORM=0.1 re-initialises every weight
# uniformly in [-0.1, 0.1] before the first step, as OpenNMT-py does by default
# (an ablation of the per-step gap, benchmarks/peers/README.md).
#
# Since 2026-12-06 the `cpu` architecture starts every weight uniform in
# [-0.1, 0.1] (init_scale 0.1), as `ours-copy-init-s0` ran with
# `--init-scale 0.1`; the earlier runs (ours-copy-s0, -s0-r2, -s1,
# ours-nocopy-s0) started from Keras' initialisers: add `--init-scale 0` to
# rerun them as they ran.
set -euo pipefail
variant=${1:?copy or nocopy}; seed=${2:?seed}; out=${3:?run directory (outside the repository)}
shift 3
here=$(cd "$(dirname "$0")" && pwd)
D=${KERAS_SEQ2SEQ_DATA:-$(cd "$here/../../.." && pwd)/shared/data}
case $variant in
  copy) copy=(--copy-attention --name-augmentation 0.6) ;;
  nocopy) copy=(--no-copy-attention --name-augmentation 0.6) ;;
  *) echo "variant: copy or nocopy" >&2; exit 2 ;;
esac
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
exec python "$here/ours_train.py" --minutes "${MINUTES:-20,40,60}" ${STEPS:+--steps "$STEPS"} \
    ${INIT_UNIFORM:+--init-uniform "$INIT_UNIFORM"} -- \
    --pairs "$D/tatoeba/eng-fra-full.tsv.gz" \
    --source "$D/multi30k/train.en.gz" --target "$D/multi30k/train.fr.gz" \
    --validation-source "$D/multi30k/val.en.gz" --validation-target "$D/multi30k/val.fr.gz" \
    --validation-fraction 0.1 --architecture cpu --attention luong --tokenizer wordpiece \
    --shared-vocabulary "${copy[@]}" --embedding-dim 192 \
    --source-vocab-size 8000 --target-vocab-size 8000 --max-length 100 --dropout 0.3 \
    --embedding-dropout 0.2 --epochs 100 --max-minutes 60 --batch-size 128 \
    --learning-rate 2e-3 --lr-schedule plateau --patience 4 --seed "$seed" \
    --bidirectional-encoder --out "$out" "$@"
