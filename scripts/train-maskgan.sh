#!/usr/bin/env bash
# The training run of the shipped density-conditioned model models/maskgan-v1 (see docs/notes/nets.md).
# Runs in the background on one core, checkpoints to runs/maskgan-v1/checkpoint every 5 minutes.
#   scripts/train-maskgan.sh          fresh start (refuses to overwrite a run that has a checkpoint)
#   scripts/train-maskgan.sh --resume continue from runs/maskgan-v1/checkpoint (or the files of a
#                                     previous session copied there), with the options saved in it
#   kill -INT "$(cat runs/maskgan-v1/pid)"   stop: writes a checkpoint and exports models/maskgan-v1
set -euo pipefail
cd "$(dirname "$0")/.."
ID=maskgan-v1
mkdir -p "runs/$ID"
if [[ "${1:-}" == "--resume" ]]; then
  ARGS=(--resume)
else
  if [[ -e "runs/$ID/checkpoint/state.json" ]]; then
    echo "runs/$ID has a checkpoint; use --resume" >&2
    exit 1
  fi
  ARGS=(--data ../shared/datasets/bsds500/train --steps 100000 --warmup-steps 150 --lr 5e-4 --batch 16 --size 64
    --val-every 100 --val-count 16 --checkpoint-minutes 5)
fi
nohup node bin/maskcodec.js train --density 0.01:0.25 --val ../shared/datasets/bsds500/val --out "models/$ID" \
  "${ARGS[@]}" --json >>"runs/$ID/stdout.log" 2>&1 &
echo $! >"runs/$ID/pid"
echo "training $ID in the background, pid $(cat "runs/$ID/pid"); log: runs/$ID/stdout.log, runs/$ID/train-log.csv"
