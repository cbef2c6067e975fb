#!/usr/bin/env bash
# The recipe of the shipped density-conditioned model models/maskgan-v2 (see docs/notes/nets.md): width 4,
# the inpainting generator corrects homogeneous diffusion, the mask generator corrects the analytic mask
# scores and trains on dithered exact-count masks. (The shipped weights reached this configuration in three
# phases, listed in docs/notes/nets.md; this script starts it from scratch in one. Width 4, the diffusion
# input, the analytic mask and dithered masks are `maskcodec train`'s defaults.) Runs in the background on one core, checkpoints to runs/maskgan-v2/checkpoint every
# 5 minutes and exports to runs/maskgan-v2/export (not models/, so a half-trained model is never picked
# by the codec); ship with the --export-only command at the end.
#   scripts/train-maskgan.sh          fresh start (refuses to overwrite a run that has a checkpoint)
#   scripts/train-maskgan.sh --resume continue from runs/maskgan-v2/checkpoint with the options saved in it
#   kill -INT "$(cat runs/maskgan-v2/pid)"   stop: writes a checkpoint and exports
#   node bin/maskcodec.js train --density 0.01:0.25 --out models/maskgan-v2 --run-dir runs/maskgan-v2 \
#     --export-only --select-by mae --selection dither     # ship the best weights by validation MAE
set -euo pipefail
cd "$(dirname "$0")/.."
ID=maskgan-v2
RUN="runs/$ID"
mkdir -p "$RUN"
if [[ "${1:-}" == "--resume" ]]; then
  ARGS=(--resume)
else
  if [[ -e "$RUN/checkpoint/state.json" ]]; then
    echo "$RUN has a checkpoint; use --resume" >&2
    exit 1
  fi
  ARGS=(--data ../shared/datasets/bsds500/train --steps 100000 --warmup-steps 200 --lr 5e-4 --batch 16 --size 64
    --width 4 --alpha 0 --beta 1 --select-by mae --selection dither
    --val-every 100 --val-count 16 --checkpoint-minutes 5)
fi
nohup node bin/maskcodec.js train --density 0.01:0.25 --val ../shared/datasets/bsds500/val --out "$RUN/export" \
  --run-dir "$RUN" "${ARGS[@]}" --json >>"$RUN/stdout.log" 2>&1 &
echo $! >"$RUN/pid"
echo "training $ID in the background, pid $(cat "$RUN/pid"); log: $RUN/stdout.log, $RUN/train-log.csv"
