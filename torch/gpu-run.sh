#!/usr/bin/env bash
# One GPU session's training: several runs of torch/train.py side by side on one GPU, each writing
# $OUT/<name>.tar (its state, rewritten every minute) and $OUT/<name>.log. Needs .gpu/train (the training
# images) and .gpu/val.npy (torch/val-crops.ts) in the checkout; MINUTES is each run's training time.
#
#   RUNS=torch/jobs/session7-a.txt MINUTES=7 OUT=/tmp/out bash torch/gpu-run.sh
set -u
MINUTES=${MINUTES:-7}
RUNS=${RUNS:?RUNS=torch/jobs/<file>: one run per line, a name and its torch/train.py arguments}
OUT=${OUT:-out/gpu}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
${PY:-python3} -c "import torch, numba, numpy; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'numba', numba.__version__, 'numpy', numpy.__version__)"
# compile the numba kernels once (cached in torch/__pycache__) before the runs start together
${PY:-python3} -c "import sys; sys.path.insert(0, 'torch'); import numpy as np, dither; print('numba dither', int(dither.dither_batch(np.random.rand(1, 4096).astype(np.float32), np.array([200]), 64, 64, True)[0].sum()))"
export NUMBA_NUM_THREADS=4 OMP_NUM_THREADS=4
# a run's own arguments come after these, so they override them (argparse keeps the last)
common=(--data .gpu/train --val .gpu/val.npy --minutes "$MINUTES" --threads 4 --lr 1e-4 --alpha 0.005)
run() {
  local name=$1
  shift
  ${PY:-python3} torch/train.py "${common[@]}" "$@" --out "$OUT/$name.tar" >"$OUT/$name.log" 2>&1
  echo "$name exit $?"
}
while read -r name args; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  # shellcheck disable=SC2086
  run "$name" $args &
done <"$RUNS"
wait
tail -n 4 "$OUT"/*.log
