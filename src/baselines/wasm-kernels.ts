import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The WebAssembly build of the diffusion solver's inner loops (src/baselines/wasm/diffusion-kernels.c) and
 * the one memory they work in.
 *
 * A solve binds its vectors to this arena for its duration (kernel-binding.ts, DiffusionSystem.solve), or a
 * resident system is laid out in it until the next layout (DiffusionSystem.resident): the arena grows to the
 * largest layout seen and is reused, so no view into it outlives its layout (growing the memory detaches
 * them). WebAssembly memories are 32-bit: solves that need more than MAX_ARENA_BYTES (about 20 megapixels in
 * colour) run on the TypeScript loops, which compute the same values. Setting MASKCODEC_WASM=0 forces those
 * everywhere (benchmarks compare the two that way).
 */

/**
 * A sweep over a level: w, h, row stride s, then pointers invDiag, wE, wS (float32), r, e (float64; float32 for
 * the `…4` kernels).
 */
type Sweep = (
  w: number,
  h: number,
  s: number,
  invDiag: number,
  wE: number,
  wS: number,
  r: number,
  e: number,
) => void;
/** out = r − A x, or q = A p with the dots: w, h, s, pointers diag, wE, wS, then the vectors. */
type Stencil = (
  w: number,
  h: number,
  s: number,
  diag: number,
  wE: number,
  wS: number,
  ...vectors: number[]
) => void;
/** Fine grid (height fh, stride s, wE, wS, e) to the coarse grid (cw, ch, stride sc, rc). */
type Restriction = (
  fh: number,
  s: number,
  wE: number,
  wS: number,
  e: number,
  cw: number,
  ch: number,
  sc: number,
  rc: number,
) => void;

/** Sums over each 2×2 aggregate: fine stride s, the coarse grid (cw, ch, stride sc), pointers t, rc. */
type Aggregation = (s: number, cw: number, ch: number, sc: number, t: number, rc: number) => void;
/** The float32 solver's prolongation: fine stride s, pointer act, the coarse grid, pointers ec, e, the scale. */
type Prolongation = (
  s: number,
  act: number,
  cw: number,
  ch: number,
  sc: number,
  ec: number,
  e: number,
  scale: number,
) => void;
/** The float32 solver's dot products over a level's interior rows: w, h, s, pointers a, b. */
type Dot = (w: number, h: number, s: number, a: number, b: number) => void;

/**
 * The module's exports (src/baselines/wasm/diffusion-kernels.c). Pointers are byte offsets into the arena's
 * memory; the sums of the reducing ones land at `result()`.
 */
export interface DiffusionKernels {
  result(): number;
  /** The finest level of a mask's system: w, h, pointers mask (bytes), diag, invDiag, wE, wS (zeroed). */
  assemble(w: number, h: number, mask: number, diag: number, invDiag: number, wE: number, wS: number): void;
  /** b and x of a cold solve: w, h, C, pointers mask (bytes), image (float32, C interleaved), b, x. */
  cold_start(w: number, h: number, C: number, mask: number, data: number, b: number, x: number): void;
  /** The next coarser level: fine w, h, pointers diag, wE, wS, then the coarse diag, invDiag, wE, wS. */
  coarsen(
    fw: number,
    fh: number,
    diag: number,
    wE: number,
    wS: number,
    cdiag: number,
    cinvDiag: number,
    cwE: number,
    cwS: number,
  ): void;
  smooth_from_zero1: Sweep;
  smooth_from_zero3: Sweep;
  smooth_forward1: Sweep;
  smooth_backward1: Sweep;
  smooth_forward3: Sweep;
  smooth_backward_dot3: Sweep;
  residual_of1: Stencil;
  residual_of3: Stencil;
  apply_dot1: Stencil;
  apply_dot3: Stencil;
  restrict_sweep_residual1: Restriction;
  restrict_sweep_residual3: Restriction;
  restrict1: Aggregation;
  restrict3: Aggregation;
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
  /** x, r, p, q, then α per channel (one for grey, three for colour), then e. */
  update_and_sweep1: Stencil;
  update_and_sweep3: Stencil;
  dot(C: number, n: number, a: number, b: number): void;
  /** x = 0 where invDiag is 0: C, pixels n, pointers invDiag (float32), x. */
  zero_known(C: number, n: number, invDiag: number, x: number): void;
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
  // the float32 solver of version 7's decodes (cg-f32.ts): vectors of four float32 lanes per pixel
  /** b and x of a cold solve: w, h, pointers mask (bytes), image (float32, 3 interleaved), b, x. */
  cold_start4(w: number, h: number, mask: number, data: number, b: number, x: number): void;
  smooth_from_zero4: Sweep;
  smooth_forward4: Sweep;
  smooth_backward_dot4: Sweep;
  apply_dot4: Stencil;
  residual_of4: Stencil;
  /** x, r, p, q, then α per channel, then e. */
  update_and_sweep4: Stencil;
  restrict_sweep_residual4: Restriction;
  restrict4: Aggregation;
  prolong4: Prolongation;
  update_p4(
    w: number,
    h: number,
    s: number,
    p: number,
    z: number,
    b0: number,
    b1: number,
    b2: number,
    k0: number,
    k1: number,
    k2: number,
  ): void;
  dot4: Dot;
  // the same for one channel, one float32 per pixel
  /** b and x of a cold solve: w, h, pointers mask (bytes), image (float32, one channel), b, x. */
  cold_start1f(w: number, h: number, mask: number, data: number, b: number, x: number): void;
  smooth_from_zero1f: Sweep;
  smooth_forward1f: Sweep;
  smooth_backward_dot1f: Sweep;
  apply_dot1f: Stencil;
  residual_of1f: Stencil;
  /** x, r, p, q, then α, then e. */
  update_and_sweep1f: Stencil;
  restrict_sweep_residual1f: Restriction;
  restrict1f: Aggregation;
  prolong1f: Prolongation;
  update_p1f(w: number, h: number, s: number, p: number, z: number, b0: number, k0: number): void;
  dot1f: Dot;
}

const PAGE = 65536;
/** Beyond this a solve takes the TypeScript loops (V8 allows 4 GiB of 32-bit memory; leave headroom). */
export const MAX_ARENA_BYTES = 3.5 * 2 ** 30;

export class KernelArena {
  readonly memory: WebAssembly.Memory;
  readonly k: DiffusionKernels;
  /** Counts the layouts (reset): arrays of an earlier one may have been overwritten. */
  generation = 0;
  private readonly base: number;
  private top: number;
  /** Memory from here up has never been handed out: still zero, as WebAssembly memory grows. */
  private untouched: number;

  constructor(module: WebAssembly.Module) {
    this.memory = new WebAssembly.Memory({ initial: 2, maximum: 65536 });
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.k = instance.exports as unknown as DiffusionKernels;
    const heapBase = (instance.exports.__heap_base as WebAssembly.Global).value as number;
    this.base = (heapBase + 7) & ~7;
    this.top = this.base;
    this.untouched = this.base;
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
    this.generation++;
    return true;
  }

  /** `zero`: the array must start zeroed (cleared only where an earlier layout may have written). */
  f64(length: number, zero = false): Float64Array {
    const v = new Float64Array(this.memory.buffer, this.top, length);
    this.advance(length * 8, zero ? v : null);
    return v;
  }

  f32(length: number, zero = false): Float32Array {
    const v = new Float32Array(this.memory.buffer, this.top, length);
    this.advance(((length * 4 + 7) >> 3) << 3, zero ? v : null);
    return v;
  }

  u8(length: number): Uint8Array {
    const v = new Uint8Array(this.memory.buffer, this.top, length);
    this.advance(((length + 7) >> 3) << 3, null);
    return v;
  }

  private advance(bytes: number, zero: Float64Array | Float32Array | null): void {
    if (zero && this.top < this.untouched) {
      zero.fill(0, 0, Math.min(zero.length, Math.ceil((this.untouched - this.top) / zero.BYTES_PER_ELEMENT)));
    }
    this.top += bytes;
    this.untouched = Math.max(this.untouched, this.top);
  }

  /** The reduction results of the last kernel call (valid until the memory grows). */
  results(): Float64Array {
    return new Float64Array(this.memory.buffer, this.k.result(), 3);
  }
}

/**
 * A memory cannot shrink: an arena above this size is replaced by a fresh one when a solve needs less than a
 * quarter of it, so a long-running process that once solved a huge image does not keep gigabytes for small
 * ones, while repeated solves of one large image (PS, NLPE, tonal optimisation) keep theirs. 512 MiB holds a
 * ~2.7-megapixel colour solve.
 */
export const KEEP_ARENA_BYTES = 512 * 2 ** 20;

let arena: KernelArena | null | undefined;
/**
 * The arena releaseLargeArena let go, while the collector has not yet taken it: a solve that needs about as
 * much takes it back rather than making a second one beside it (the tree mode decodes three planes in turn,
 * each of which lets the arena go; a fresh gigabyte per plane doubled the decoder's peak at 12 MP).
 */
let released: WeakRef<KernelArena> | undefined;

/**
 * The shared arena, or null where WebAssembly is unavailable or switched off (MASKCODEC_WASM=0). `need`: the
 * bytes the caller is about to lay out (see KEEP_ARENA_BYTES).
 */
export function kernelArena(need = 0): KernelArena | null {
  if (arena) {
    const size = arena.memory.buffer.byteLength;
    if (size > KEEP_ARENA_BYTES && need * 4 < size) arena = undefined;
  }
  if (arena === undefined && released) {
    const kept = released.deref();
    released = undefined;
    if (kept && need * 4 >= kept.memory.buffer.byteLength) arena = kept;
  }
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

/**
 * Lets the shared arena go when it is over KEEP_ARENA_BYTES (the next solve makes a fresh one): after a one-off
 * solve of a large image, whose gigabyte would otherwise stay with the process until a smaller solve replaces
 * it (the caller's next steps, say reading the image again for the figures of `encode --json`, then stack
 * on top of it).
 */
export function releaseLargeArena(): void {
  if (arena && arena.memory.buffer.byteLength > KEEP_ARENA_BYTES) {
    released = new WeakRef(arena);
    arena = undefined;
  }
}

/** For tests and benchmarks: switch the WebAssembly kernels on or off for later solves. */
export function setWasmKernels(enabled: boolean): void {
  arena = enabled ? undefined : null;
  released = undefined;
  if (enabled && process.env.MASKCODEC_WASM === "0") arena = null;
}
