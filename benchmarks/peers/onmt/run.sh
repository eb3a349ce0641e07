#!/usr/bin/env bash
# One OpenNMT-py system of the race, from prepared data to clock checkpoints.
#
#   benchmarks/peers/onmt/run.sh lstm        /work/peers-runs/onmt-lstm
#   benchmarks/peers/onmt/run.sh transformer /work/peers-runs/onmt-transformer
#   (extra arguments after the run directory go to onmt_train)
#
# Environment: DATA (default /work/peers-data, from prepare_data.py),
# ONMT_ENV (default /work/peers-env/onmt, from install_onmt.sh),
# MINUTES (default 20,40,60), OMP_NUM_THREADS (default 2); STEPS=300,600
# saves after those optimizer steps instead and stops at the last (equal-step
# comparisons, which a busy machine does not change); CONFIG_EXTRA, YAML lines
# appended to the config, which override the keys they repeat (ablations:
# CONFIG_EXTRA=$'input_feed: 0\nshare_embeddings: false').
# Steps: SentencePiece (once per DATA, shared by both systems), the config
# (onmt/<system>.yaml with the paths filled in) -> RUN/config.yaml,
# onmt_build_vocab, then onmt_train under clock_train.py. Setup times go to
# RUN/setup.json; the race clock starts with the training loop.
set -euo pipefail
system=${1:?lstm or transformer}; run=${2:?run directory (outside the repository)}
shift 2  # anything else goes to onmt_train (smoke runs: -bucket_size 4096 -report_every 10)
here=$(cd "$(dirname "$0")" && pwd)
DATA=${DATA:-/work/peers-data}
ONMT_ENV=${ONMT_ENV:-/work/peers-env/onmt}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
[ -f "$here/$system.yaml" ] || { echo "no config $here/$system.yaml" >&2; exit 2; }
[ -f "$DATA/train.en" ] || { echo "no data in $DATA: run prepare_data.py first" >&2; exit 2; }
mkdir -p "$run"
py="$ONMT_ENV/bin/python"

t0=$(date +%s.%N)
"$py" "$here/spm.py" "$DATA"
t1=$(date +%s.%N)
sed -e "s#@DATA@#$DATA#g" -e "s#@RUN@#$run#g" "$here/$system.yaml" > "$run/config.yaml"
if [ -n "${CONFIG_EXTRA:-}" ]; then
    printf '# CONFIG_EXTRA (overrides the keys above)\n%s\n' "$CONFIG_EXTRA" >> "$run/config.yaml"
fi
"$ONMT_ENV/bin/onmt_build_vocab" -config "$run/config.yaml" -n_sample -1 > "$run/build_vocab.log" 2>&1
t2=$(date +%s.%N)
"$py" - "$run/setup.json" "$t0" "$t1" "$t2" <<'PY'
import json, sys, importlib.metadata as md
path, t0, t1, t2 = sys.argv[1], *map(float, sys.argv[2:])
json.dump({"spm_seconds": round(t1 - t0, 1), "build_vocab_seconds": round(t2 - t1, 1),
           "versions": {p: md.version(p) for p in ("OpenNMT-py", "torch", "numpy", "sentencepiece")}},
          open(path, "w"), indent=2)
PY
"$py" "$here/clock_train.py" --run "$run" --system "onmt-$system" \
    --minutes "${MINUTES:-20,40,60}" ${STEPS:+--steps "$STEPS"} -- -config "$run/config.yaml" "$@" 2>&1 | tee "$run/train.log"
