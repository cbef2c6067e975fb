#!/usr/bin/env bash
# Rebuilds src/baselines/wasm/diffusion-kernels.wasm from its C source (needs clang >= 14 with the wasm32
# target and wasm-ld: `apt-get install clang lld` on Debian). The .wasm is committed, so users never need
# this; the recorded SHA-256 of the source lets the tests catch a source edited without a rebuild.
set -euo pipefail
cd "$(dirname "$0")/../src/baselines/wasm"
clang --target=wasm32 -O3 -nostdlib -fvisibility=default \
  -Wl,--no-entry -Wl,--export-dynamic -Wl,--export=__heap_base -Wl,--import-memory -Wl,--strip-all \
  -o diffusion-kernels.wasm diffusion-kernels.c
sha256sum diffusion-kernels.c | cut -d' ' -f1 >diffusion-kernels.c.sha256
echo "built $(pwd)/diffusion-kernels.wasm ($(wc -c <diffusion-kernels.wasm) bytes)"
