#!/usr/bin/env bash
# The v12 candidate (issue 34, item 5): v10 (the shipped model of commit
# 129dc74, float16 weights, loaded into float32) trained on for 2 epochs
# with v10's last mix (Multi30k's training pairs five times over, the same
# Tatoeba pairs and held-out split, name augmentation 0.6), the rate 2.5e-4
# then 1.25e-4, Adam's moments afresh, and label smoothing 0.1, which
# v6-v10 never had (OpenNMT-py's and Vaswani et al.'s usual 0.1). Against
# the one target v10 missed: v6 + 2 BLEU on Multi30k val with beam 5.
#
#   benchmarks/release/train_v12.sh V10_MODEL_DIR /work/runs/en-fr-v12
#
# V10_MODEL_DIR: saved_models/en-fr while it holds v10, else a checkout of
# 129dc74's saved_models/en-fr. Resumes after any interruption with the
# same command (train_v9.sh's backup every 300 batches).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
base=${1:?v10 model directory}
out=${2:?run directory (outside the repository)}
shift 2
M30K_TIMES=5 RATE=2.5e-4 exec "$here/train_v9.sh" "$base" "$out" --label-smoothing 0.1 "$@"
