#!/usr/bin/env bash
# The OpenNMT-py peer environment, outside the repository (never a dependency
# of keras-seq2seq, never in its tests or CI):
#
#   benchmarks/peers/onmt/install_onmt.sh [/work/peers-env/onmt]
#
# OpenNMT-py 3.5.1 (the last release on PyPI) needs torch 2.1-2.2; torch 2.2.2's
# PyPI wheels bring the CUDA libraries (about 5.5 GB installed; the CPU-only
# wheel index is not reachable from here), and torch 2.2 cannot load numpy 2.
# requirements.lock is `pip freeze` of the environment the smoke runs used;
# LOCK=0 resolves the four pins below afresh instead.
set -euo pipefail
env=${1:-/work/peers-env/onmt}
here=$(cd "$(dirname "$0")" && pwd)
python3.11 -m venv "$env"
"$env/bin/pip" install --upgrade pip==24.3.1
if [ "${LOCK:-1}" = 1 ]; then
  "$env/bin/pip" install -r "$here/requirements.lock"
else
  "$env/bin/pip" install OpenNMT-py==3.5.1 torch==2.2.2 numpy==1.26.4 sentencepiece==0.2.0 sacrebleu==2.6.0
fi
"$env/bin/python" -c "import onmt, torch, numpy; print('OpenNMT-py ok: torch', torch.__version__, 'numpy', numpy.__version__)"
du -sh "$env"
