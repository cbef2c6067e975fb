#!/usr/bin/env bash
# Rebuilds the WebAssembly kernels from their C sources (needs clang >= 14 with the wasm32 target and
# wasm-ld: `apt-get install clang lld` on Debian):
#   src/baselines/wasm/diffusion-kernels.wasm  the diffusion solver's loops, in a memory of its own
#   src/nets/wasm/conv-kernels.wasm            the networks' convolutions, on the tfjs wasm backend's memory
#   src/codec/wasm/stream-decoders.wasm        the decoder's mask and value sections, in a memory of its own
# The .wasm files are committed, so users never need this; the recorded SHA-256 of each source lets the tests
# catch a source edited without a rebuild.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
flags=(--target=wasm32 -O3 -nostdlib -fvisibility=default
  -Wl,--no-entry -Wl,--export-dynamic -Wl,--import-memory -Wl,--strip-all)

cd "$root/src/baselines/wasm"
clang "${flags[@]}" -msimd128 -Wl,--export=__heap_base -o diffusion-kernels.wasm diffusion-kernels.c
sha256sum diffusion-kernels.c | cut -d' ' -f1 >diffusion-kernels.c.sha256
echo "built $(pwd)/diffusion-kernels.wasm ($(wc -c <diffusion-kernels.wasm) bytes)"

# SIMD (every engine tfjs' SIMD build runs on has it) and bulk memory (memory.fill for the zeroing loops clang
# turns into memset). The module shares tfjs' memory, so it must own none: no data, no stack (its
# accumulators are locals), which the check below enforces.
cd "$root/src/nets/wasm"
clang "${flags[@]}" -msimd128 -mbulk-memory -o conv-kernels.wasm conv-kernels.c
if llvm-objdump -d conv-kernels.wasm | grep -qE 'global\.(get|set)'; then
  echo "conv-kernels.wasm uses a stack: it would write into tfjs' memory" >&2
  exit 1
fi
sha256sum conv-kernels.c | cut -d' ' -f1 >conv-kernels.c.sha256
echo "built $(pwd)/conv-kernels.wasm ($(wc -c <conv-kernels.wasm) bytes)"

# Bulk memory (memory.fill, for the zeroing loops clang turns into memset; no C library here): Node 20 and
# every current browser have it.
cd "$root/src/codec/wasm"
clang --target=wasm32 -O3 -nostdlib -mbulk-memory -fvisibility=default -Wl,--no-entry -Wl,--export-dynamic \
  -Wl,--export=__heap_base -Wl,--strip-all -o stream-decoders.wasm stream-decoders.c
sha256sum stream-decoders.c | cut -d' ' -f1 >stream-decoders.c.sha256
echo "built $(pwd)/stream-decoders.wasm ($(wc -c <stream-decoders.wasm) bytes)"
