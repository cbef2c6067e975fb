import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The WebAssembly build of the diffusion solver's inner loops (src/baselines/wasm/diffusion-kernels.c) and
 * the one memory they work in.
 *
 * A solve binds its vectors to this arena for its duration (diffusion.ts, DiffusionSystem.solve): the
 * arena grows to the largest solve seen and is reused, so no view into it outlives a solve (growing the
 * memory detaches them). WebAssembly memories are 32-bit: solves that need more than MAX_ARENA_BYTES (about
 * 20 megapixels in colour) run on the TypeScript loops, which compute the same values. Setting
 * MASKCODEC_WASM=0 forces those everywhere (benchmarks compare the two that way).
 */

/** Pointers are byte offsets into the arena's memory; reductions land at `result()`. */
export interface DiffusionKernels {
  result(): number;
  smooth_from_zero1(
    w: number,
    h: number,
    s: number,
    invDiag: number,
    wE: number,
    wS: number,
    r: number,
    e: number,
  ): void;
  smooth_from_zero3(
    w: number,
    h: number,
    s: number,
    invDiag: number,
    wE: number,
    wS: number,
    r: number,
    e: number,
  ): void;
  smooth_forward1(
    w: number,
    h: number,
    s: number,
    invDiag: number,
    wE: number,
    wS: number,
    r: number,
    e: number,
  ): void;
  smooth_backward1(
    w: number,
    h: number,
    s: number,
    invDiag: number,
    wE: number,
    wS: number,
    r: number,
    e: number,
  ): void;
  smooth_forward3(
    w: number,
    h: number,
    s: number,
    invDiag: number,
    wE: number,
    wS: number,
    r: number,
    e: number,
  ): void;
  smooth_backward_dot3(
    w: number,
    h: number,
    s: number,
    invDiag: number,
    wE: number,
    wS: number,
    r: number,
    e: number,
  ): void;
  residual_of1(
    w: number,
    h: number,
    s: number,
    diag: number,
    wE: number,
    wS: number,
    x: number,
    r: number,
    out: number,
  ): void;
  residual_of3(
    w: number,
    h: number,
    s: number,
    diag: number,
    wE: number,
    wS: number,
    x: number,
    r: number,
    out: number,
  ): void;
  restrict_sweep_residual1(
    fh: number,
    s: number,
    wE: number,
    wS: number,
    e: number,
    cw: number,
    ch: number,
    sc: number,
    rc: number,
  ): void;
  restrict_sweep_residual3(
    fh: number,
    s: number,
    wE: number,
    wS: number,
    e: number,
    cw: number,
    ch: number,
    sc: number,
    rc: number,
  ): void;
  restrict1(s: number, cw: number, ch: number, sc: number, t: number, rc: number): void;
  restrict3(s: number, cw: number, ch: number, sc: number, t: number, rc: number): void;
  prolong(
    C: number,
    s: number,
    act: number,
    cw: number,
    ch: number,
    sc: number,
    ec: number,
    e: number,
    scale: number,
  ): void;
  update_and_sweep1(
    w: number,
    h: number,
    s: number,
    invDiag: number,
    wE: number,
    wS: number,
    x: number,
    r: number,
    p: number,
    q: number,
    a: number,
    e: number,
  ): void;
  update_and_sweep3(
    w: number,
    h: number,
    s: number,
    invDiag: number,
    wE: number,
    wS: number,
    x: number,
    r: number,
    p: number,
    q: number,
    a0: number,
    a1: number,
    a2: number,
    e: number,
  ): void;
  apply_dot1(
    w: number,
    h: number,
    s: number,
    diag: number,
    wE: number,
    wS: number,
    p: number,
    q: number,
  ): void;
  apply_dot3(
    w: number,
    h: number,
    s: number,
    diag: number,
    wE: number,
    wS: number,
    p: number,
    q: number,
  ): void;
  dot(C: number, n: number, a: number, b: number): void;
  update_p(
    C: number,
    n: number,
    p: number,
    z: number,
    b0: number,
    b1: number,
    b2: number,
    k0: number,
    k1: number,
    k2: number,
  ): void;
}

const PAGE = 65536;
/** Beyond this a solve takes the TypeScript loops (V8 allows 4 GiB of 32-bit memory; leave headroom). */
export const MAX_ARENA_BYTES = 3.5 * 2 ** 30;

export class KernelArena {
  readonly memory: WebAssembly.Memory;
  readonly k: DiffusionKernels;
  private readonly base: number;
  private top: number;

  constructor(module: WebAssembly.Module) {
    this.memory = new WebAssembly.Memory({ initial: 2, maximum: 65536 });
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.k = instance.exports as unknown as DiffusionKernels;
    const heapBase = (instance.exports.__heap_base as WebAssembly.Global).value as number;
    this.base = (heapBase + 7) & ~7;
    this.top = this.base;
  }

  /**
   * Starts a new layout of `bytes` bytes (plus 8-byte alignment slack per array): grows the memory if
   * needed, which detaches every earlier view. Returns false if it cannot be that large.
   */
  reset(bytes: number): boolean {
    const need = this.base + bytes;
    if (need > MAX_ARENA_BYTES) return false;
    const have = this.memory.buffer.byteLength;
    if (need > have) {
      try {
        this.memory.grow(Math.ceil((need - have) / PAGE));
      } catch {
        return false;
      }
    }
    this.top = this.base;
    return true;
  }

  f64(length: number): Float64Array {
    const v = new Float64Array(this.memory.buffer, this.top, length);
    this.top += length * 8;
    return v;
  }

  f32(length: number): Float32Array {
    const v = new Float32Array(this.memory.buffer, this.top, length);
    this.top += ((length * 4 + 7) >> 3) << 3;
    return v;
  }

  /** The reduction results of the last kernel call (valid until the memory grows). */
  results(): Float64Array {
    return new Float64Array(this.memory.buffer, this.k.result(), 3);
  }
}

let arena: KernelArena | null | undefined;

/** The shared arena, or null where WebAssembly is unavailable or switched off (MASKCODEC_WASM=0). */
export function kernelArena(): KernelArena | null {
  if (arena !== undefined) return arena;
  if (process.env.MASKCODEC_WASM === "0" || typeof WebAssembly === "undefined") {
    arena = null;
    return arena;
  }
  try {
    const bytes = readFileSync(join(import.meta.dirname, "wasm", "diffusion-kernels.wasm"));
    arena = new KernelArena(new WebAssembly.Module(bytes));
  } catch {
    arena = null;
  }
  return arena;
}

/** For tests and benchmarks: switch the WebAssembly kernels on or off for later solves. */
export function setWasmKernels(enabled: boolean): void {
  arena = enabled ? undefined : null;
  if (enabled && process.env.MASKCODEC_WASM === "0") arena = null;
}
