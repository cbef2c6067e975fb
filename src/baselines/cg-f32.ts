/**
 * The decodes of format version 7 (diffusionDecodeArithmetic): the diffusion solver of cg.ts and multigrid.ts
 * — the same hierarchy and coefficients, the same V-cycle, the same conjugate gradients and stopping rule — on
 * float32 vectors. A colour image solved jointly holds each padded pixel's three channels in one four-lane
 * group (the fourth lane stays 0); a single channel (grey images, colour images over PER_CHANNEL_PIXELS solved
 * one channel at a time, the gan decoder's diffusion input beside worker threads) one float per pixel. Why:
 * the float64 solve of a 768 × 512 colour image moves about 0.1 GB per iteration and spends most of a
 * diffusion decode; here a pixel's three channels are one 128-bit WebAssembly SIMD operation and a vector
 * takes 16 bytes a pixel instead of 24 (one channel: 4 instead of 8), so a joint solve takes about half the
 * time (docs/notes/photos.md, "Format version 7"). CG's scalars stay doubles.
 *
 * The arithmetic is part of what a stream decodes to, so it is spelt out: every lane takes the scalar
 * expression's operations in the order written, each rounded to float32 (Math.fround here, float32 lanes or
 * scalars in the kernels, which have no fused multiply-add), and sums are taken per row: a float32 sum of the
 * row's terms in the loop's order, added into a double per channel, row after row. Each channel's values
 * therefore depend on that channel alone: a channel solved by itself takes exactly its values of a joint
 * solve. The kernels (wasm/diffusion-kernels.c, the `…4` and `…1f` functions) and the loops below compute the
 * same values, bit for bit; the loops run where WebAssembly is unavailable or switched off (MASKCODEC_WASM=0).
 */
import { MaskcodecError } from "../errors.ts";
import type { Image, Mask } from "../image/types.ts";
import { assembleLevels } from "./diffusion-system.ts";
import { at } from "./kernel-binding.ts";
import { COARSE_SCALE, type Level, levelSizes, solveCoarsestLanes } from "./multigrid.ts";
import { type DiffusionKernels, type KernelArena, kernelArena } from "./wasm-kernels.ts";

const f = Math.fround;
/** The coarse-grid correction's scale as the float32 lanes multiply by it. */
const SCALE = f(COARSE_SCALE);

/** A level's coefficients (the float64 solver's) and its float32 work vectors. */
interface Level32 {
  level: Level;
  r: Float32Array;
  e: Float32Array;
  t: Float32Array;
}

/**
 * The kernels of one lane count (`…4` or `…1f` in diffusion-kernels.c), picked once per solve: the same
 * signatures but for the per-channel scalars, which come as arrays.
 */
interface Kernels32 {
  dot: DiffusionKernels["dot4"];
  applyDot: DiffusionKernels["apply_dot4"];
  residualOf: DiffusionKernels["residual_of4"];
  smoothFromZero: DiffusionKernels["smooth_from_zero4"];
  smoothForward: DiffusionKernels["smooth_forward4"];
  smoothBackwardDot: DiffusionKernels["smooth_backward_dot4"];
  restrictSweepResidual: DiffusionKernels["restrict_sweep_residual4"];
  restrict: DiffusionKernels["restrict4"];
  prolong: DiffusionKernels["prolong4"];
  /** w, h, s, pointers invDiag, wE, wS, x, r, p, q, then α per channel, then e. */
  updateAndSweep(
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
    alpha: number[],
    e: number,
  ): void;
  /** w, h, s, pointers p, z, then β and keep per channel. */
  updateP(w: number, h: number, s: number, p: number, z: number, beta: number[], keep: number[]): void;
}

function kernelsFor(k: DiffusionKernels, lanes: 1 | 4): Kernels32 {
  if (lanes === 4) {
    return {
      dot: k.dot4,
      applyDot: k.apply_dot4,
      residualOf: k.residual_of4,
      smoothFromZero: k.smooth_from_zero4,
      smoothForward: k.smooth_forward4,
      smoothBackwardDot: k.smooth_backward_dot4,
      restrictSweepResidual: k.restrict_sweep_residual4,
      restrict: k.restrict4,
      prolong: k.prolong4,
      updateAndSweep: (w, h, s, invDiag, wE, wS, x, r, p, q, alpha, e) =>
        k.update_and_sweep4(w, h, s, invDiag, wE, wS, x, r, p, q, alpha[0], alpha[1], alpha[2], e),
      updateP: (w, h, s, p, z, beta, keep) =>
        k.update_p4(w, h, s, p, z, beta[0], beta[1], beta[2], keep[0], keep[1], keep[2]),
    };
  }
  return {
    dot: k.dot1f,
    applyDot: k.apply_dot1f,
    residualOf: k.residual_of1f,
    smoothFromZero: k.smooth_from_zero1f,
    smoothForward: k.smooth_forward1f,
    smoothBackwardDot: k.smooth_backward_dot1f,
    restrictSweepResidual: k.restrict_sweep_residual1f,
    restrict: k.restrict1f,
    prolong: k.prolong1f,
    updateAndSweep: (w, h, s, invDiag, wE, wS, x, r, p, q, alpha, e) =>
      k.update_and_sweep1f(w, h, s, invDiag, wE, wS, x, r, p, q, alpha[0], e),
    updateP: (w, h, s, p, z, beta, keep) => k.update_p1f(w, h, s, p, z, beta[0], keep[0]),
  };
}

/**
 * A solve's layout, where its vectors live and so which code runs (the kernels on their arena, or the loops
 * below). `lanes` floats per padded pixel: four (channels 0–2 and a zero) for a joint colour solve, one for a
 * single channel.
 */
interface Layout {
  levels: Level32[];
  lanes: 1 | 4;
  channels: 1 | 3;
  k: Kernels32 | null;
  /** The kernels' sums of their last reducing call. */
  results: Float64Array | null;
}

export interface Float32SolveResult {
  iterations: number[];
  residuals: number[];
}

/** Bytes of a solve's layout in the kernels' arena (8-byte alignment slack per array included). */
function arenaBytes(w: number, h: number, lanes: number): number {
  const sizes = levelSizes(w, h);
  const vector = (size: number) => lanes * 4 * size + 8;
  // the mask's copy and the image's (a joint solve) or one channel's, then b, x, r, z, p on the finest grid
  let bytes = w * h + 8 + 4 * w * h * (lanes === 4 ? 3 : 1) + 8 + 5 * vector((w + 2) * (h + 2));
  for (const [l, [lw, lh]] of sizes.entries()) {
    const size = (lw + 2) * (lh + 2);
    bytes += 4 * (4 * size + 8) + (l > 0 ? 3 * vector(size) : 0);
  }
  return bytes;
}

/** A system of one mask and its vectors, on the kernels' arena where it fits. */
class System32 {
  readonly solve: Layout;
  readonly b: Float32Array;
  readonly x: Float32Array;
  private readonly bufs: Float32Array[];
  private readonly arena: KernelArena | null;
  private readonly maskCopy: Uint8Array | undefined;
  private imageCopy: Float32Array | undefined;
  private used = false;

  constructor(
    readonly width: number,
    readonly height: number,
    readonly mask: Uint8Array,
    lanes: 1 | 4,
  ) {
    if (mask.findIndex((v) => v !== 0) < 0) {
      throw new MaskcodecError("Diffusion inpainting needs at least one known pixel", "ERR_EMPTY_MASK");
    }
    const bytes = arenaBytes(width, height, lanes);
    const arena = kernelArena(bytes);
    this.arena = arena?.reset(bytes) ? arena : null;
    const resident = this.arena;
    const n = (width + 2) * (height + 2) * lanes;
    const vector = resident ? () => resident.f32(n, true) : () => new Float32Array(n);
    const { levels, maskCopy } = assembleLevels(width, height, mask, 0, resident ?? undefined);
    this.maskCopy = maskCopy;
    const levels32: Level32[] = levels.map((level, l) => {
      const empty = new Float32Array(0);
      if (l === 0) return { level, r: empty, e: empty, t: empty };
      const size = (level.w + 2) * (level.h + 2) * lanes;
      const make = resident ? () => resident.f32(size, true) : () => new Float32Array(size);
      return { level, r: make(), e: make(), t: make() };
    });
    this.solve = {
      levels: levels32,
      lanes,
      channels: lanes === 4 ? 3 : 1,
      k: resident ? kernelsFor(resident.k, lanes) : null,
      results: resident ? resident.results() : null,
    };
    this.b = vector();
    this.x = vector();
    this.bufs = [vector(), vector(), vector()];
  }

  /**
   * b and x of a cold solve: b the sum of an unknown pixel's known neighbours, x the known pixels' mean, from
   * `data` (the system's channels, or channel `first` of `step` interleaved ones for a one-lane system). For
   * a system solved again (channel after channel) b and x are cleared first; the work vectors need not be
   * (a solve writes every interior value before reading it, and their padding stays 0).
   */
  coldStart(data: Float32Array, step: number, first: number): void {
    const { width: w, height: h, b, x, solve } = this;
    if (this.used) {
      b.fill(0);
      x.fill(0);
    }
    this.used = true;
    if (solve.k && this.arena && this.maskCopy) {
      const k = this.arena.k;
      if (solve.lanes === 4) {
        const copy = this.imageCopy ?? this.arena.f32(w * h * 3);
        this.imageCopy = copy;
        copy.set(data);
        k.cold_start4(w, h, at(this.maskCopy), at(copy), at(b), at(x));
      } else {
        const copy = this.imageCopy ?? this.arena.f32(w * h);
        this.imageCopy = copy;
        for (let i = 0, j = first; i < w * h; i++, j += step) copy[i] = data[j];
        k.cold_start1f(w, h, at(this.maskCopy), at(copy), at(b), at(x));
      }
      return;
    }
    const m = this.mask;
    const { lanes: L, channels: C } = solve;
    const at3 = (i: number, c: number) => data[i * step + first + c];
    const mean = [0, 0, 0];
    let count = 0;
    for (let i = 0; i < w * h; i++) {
      if (!m[i]) continue;
      for (let c = 0; c < C; c++) mean[c] += at3(i, c);
      count++;
    }
    const start = mean.map((v) => f(v / count));
    const s = w + 2;
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        const i = y * w + xx;
        if (m[i]) continue;
        const q = L * ((y + 1) * s + xx + 1);
        const west = xx > 0 && m[i - 1] !== 0;
        const east = xx < w - 1 && m[i + 1] !== 0;
        const north = y > 0 && m[i - w] !== 0;
        const south = y < h - 1 && m[i + w] !== 0;
        for (let c = 0; c < C; c++) {
          let v = 0;
          if (west) v = f(v + at3(i - 1, c));
          if (east) v = f(v + at3(i + 1, c));
          if (north) v = f(v + at3(i - w, c));
          if (south) v = f(v + at3(i + w, c));
          b[q + c] = v;
          x[q + c] = start[c];
        }
      }
    }
  }

  /** Solves from coldStart's b and x: x receives the solution (cg.ts conjugateGradients). */
  run(tolerance: number, maxIterations: number): Float32SolveResult {
    return conjugateGradients(this.solve, this.bufs, this.b, this.x, tolerance, maxIterations);
  }

  /** The solution's unknown pixels into channels `first`… of `out` (`step` interleaved channels). */
  scatter(out: Float32Array, step: number, first: number): void {
    const { width: w, height: h, mask, x } = this;
    const { lanes: L, channels: C } = this.solve;
    const s = w + 2;
    for (let y = 0; y < h; y++) {
      const row = y * w;
      const from = L * ((y + 1) * s + 1);
      for (let xx = 0; xx < w; xx++) {
        if (mask[row + xx] !== 0) continue;
        const q = from + L * xx;
        const i = step * (row + xx) + first;
        for (let c = 0; c < C; c++) out[i + c] = x[q + c];
      }
    }
  }
}

/**
 * Homogeneous diffusion inpainting in float32 (see the module's comment): the unknown pixels of `out` receive
 * the solution. A colour image is solved jointly, or (`perChannel`) one channel at a time with one system:
 * the same values, a quarter of the vectors' memory. Stops at a relative residual of `tolerance` per channel,
 * as cg.ts does.
 */
export function inpaintFloat32(
  known: Image,
  mask: Mask,
  out: Image,
  tolerance: number,
  maxIterations: number,
  perChannel = false,
): Float32SolveResult {
  const { width: w, height: h, channels } = known;
  if (channels === 3 && !perChannel) {
    const system = new System32(w, h, mask.data, 4);
    system.coldStart(known.data, 3, 0);
    const result = system.run(tolerance, maxIterations);
    system.scatter(out.data, 3, 0);
    return result;
  }
  const system = new System32(w, h, mask.data, 1);
  const iterations: number[] = [];
  const residuals: number[] = [];
  for (let c = 0; c < channels; c++) {
    system.coldStart(known.data, channels, c);
    const result = system.run(tolerance, maxIterations);
    // written after the channel's cold start has read it: later channels read only their own samples
    system.scatter(out.data, channels, c);
    iterations.push(result.iterations[0]);
    residuals.push(result.residuals[0]);
  }
  return { iterations, residuals };
}

/** The kernels' sums. */
function sums(solve: Layout): number[] {
  const r = solve.results as Float64Array;
  return solve.channels === 3 ? [r[0], r[1], r[2]] : [r[0]];
}

/** Per-channel a·b over the interior rows (row sums in float32). */
function dot(solve: Layout, a: Float32Array, b: Float32Array): number[] {
  const { w, h, s } = solve.levels[0].level;
  const { k, lanes: L, channels: C } = solve;
  if (k) {
    k.dot(w, h, s, at(a), at(b));
    return sums(solve);
  }
  const acc = new Array<number>(C).fill(0);
  for (let y = 1; y <= h; y++) {
    for (let c = 0; c < C; c++) {
      let row = 0;
      for (let i = y * s + 1; i <= y * s + w; i++) row = f(row + f(a[L * i + c] * b[L * i + c]));
      acc[c] += row;
    }
  }
  return acc;
}

/** (A p) at padded pixel i, lane q = L·i + c: g P − a E − b W − c S − d N. */
function applyAt(level: Level, L: number, p: Float32Array, i: number, c: number): number {
  const { s, diag, wE, wS } = level;
  const q = L * i + c;
  let v = f(diag[i] * p[q]);
  v = f(v - f(wE[i] * p[q + L]));
  v = f(v - f(wE[i - 1] * p[q - L]));
  v = f(v - f(wS[i] * p[q + L * s]));
  return f(v - f(wS[i - s] * p[q - L * s]));
}

/** q = A p and p·q per channel. */
function applyDot(solve: Layout, p: Float32Array, q: Float32Array): number[] {
  const level = solve.levels[0].level;
  const { w, h, s } = level;
  const { k, lanes: L, channels: C } = solve;
  if (k) {
    k.applyDot(w, h, s, at(level.diag), at(level.wE), at(level.wS), at(p), at(q));
    return sums(solve);
  }
  const acc = new Array<number>(C).fill(0);
  for (let y = 1; y <= h; y++) {
    for (let c = 0; c < C; c++) {
      let row = 0;
      for (let i = y * s + 1; i <= y * s + w; i++) {
        const v = applyAt(level, L, p, i, c);
        q[L * i + c] = v;
        row = f(row + f(v * p[L * i + c]));
      }
      acc[c] += row;
    }
  }
  return acc;
}

/** out = r − A x on a level. */
function residualOf(solve: Layout, level: Level, x: Float32Array, r: Float32Array, out: Float32Array): void {
  const { w, h, s } = level;
  const { k, lanes: L, channels: C } = solve;
  if (k) {
    k.residualOf(w, h, s, at(level.diag), at(level.wE), at(level.wS), at(x), at(r), at(out));
    return;
  }
  for (let y = 1; y <= h; y++) {
    for (let i = y * s + 1; i <= y * s + w; i++) {
      for (let c = 0; c < C; c++) out[L * i + c] = f(r[L * i + c] - applyAt(level, L, x, i, c));
    }
  }
}

/** The first forward sweep of a V-cycle, from e = 0: id (r + b W + d N). */
function smoothFromZero(solve: Layout, level: Level, r: Float32Array, e: Float32Array): void {
  const { w, h, s, invDiag, wE, wS } = level;
  const { k, lanes: L, channels: C } = solve;
  if (k) {
    k.smoothFromZero(w, h, s, at(invDiag), at(wE), at(wS), at(r), at(e));
    return;
  }
  const up = L * s;
  for (let y = 1; y <= h; y++) {
    for (let p = y * s + 1; p <= y * s + w; p++) {
      const id = invDiag[p];
      const b = wE[p - 1];
      const d = wS[p - s];
      for (let c = 0; c < C; c++) {
        const q = L * p + c;
        e[q] = f(id * f(f(r[q] + f(b * e[q - L])) + f(d * e[q - up])));
      }
    }
  }
}

/** A full Gauss–Seidel update of pixel p, lane c: id (r + a E + b W + c S + d N). */
function gaussSeidelAt(
  level: Level,
  L: number,
  r: Float32Array,
  e: Float32Array,
  p: number,
  c: number,
): number {
  const { s, invDiag, wE, wS } = level;
  const q = L * p + c;
  let v = f(r[q] + f(wE[p] * e[q + L]));
  v = f(v + f(wE[p - 1] * e[q - L]));
  v = f(v + f(wS[p] * e[q + L * s]));
  v = f(v + f(wS[p - s] * e[q - L * s]));
  const value = f(invDiag[p] * v);
  e[q] = value;
  return value;
}

function smoothForward(solve: Layout, level: Level, r: Float32Array, e: Float32Array): void {
  const { w, h, s, invDiag, wE, wS } = level;
  const { k, lanes: L, channels: C } = solve;
  if (k) {
    k.smoothForward(w, h, s, at(invDiag), at(wE), at(wS), at(r), at(e));
    return;
  }
  for (let y = 1; y <= h; y++) {
    for (let p = y * s + 1; p <= y * s + w; p++) {
      for (let c = 0; c < C; c++) gaussSeidelAt(level, L, r, e, p, c);
    }
  }
}

/** The backward sweep, returning r·e per channel over the final e (rows bottom up, right to left). */
function smoothBackwardDot(solve: Layout, level: Level, r: Float32Array, e: Float32Array): number[] {
  const { w, h, s, invDiag, wE, wS } = level;
  const { k, lanes: L, channels: C } = solve;
  if (k) {
    k.smoothBackwardDot(w, h, s, at(invDiag), at(wE), at(wS), at(r), at(e));
    return sums(solve);
  }
  const acc = new Array<number>(C).fill(0);
  for (let y = h; y >= 1; y--) {
    const row = new Array<number>(C).fill(0);
    for (let p = y * s + w; p >= y * s + 1; p--) {
      for (let c = 0; c < C; c++) {
        const v = gaussSeidelAt(level, L, r, e, p, c);
        row[c] = f(row[c] + f(r[L * p + c] * v));
      }
    }
    for (let c = 0; c < C; c++) acc[c] += row[c];
  }
  return acc;
}

/**
 * The restriction of the residual a from-zero sweep leaves (multigrid.ts restrictSweepResidual): per 2×2
 * aggregate, wE e_east + wS e_south summed over p, p + 1, p + s, p + s + 1 in that order.
 */
function restrictSweepResidual(solve: Layout, fine: Level, coarse: Level32, e: Float32Array): void {
  const { s, wE, wS } = fine;
  const { w: cw, h: ch, s: sc } = coarse.level;
  const rc = coarse.r;
  const { k, lanes: L, channels: C } = solve;
  if (k) {
    k.restrictSweepResidual(fine.h, s, at(wE), at(wS), at(e), cw, ch, sc, at(rc));
    return;
  }
  for (let Y = 0; Y < ch; Y++) {
    const bottomRing = 2 * Y + 2 > fine.h; // odd height: the aggregate's lower row is the padding ring
    for (let X = 0; X < cw; X++) {
      const p = (2 * Y + 1) * s + 2 * X + 1;
      const pixels = bottomRing ? [p, p + 1] : [p, p + 1, p + s, p + s + 1];
      const P = L * ((Y + 1) * sc + X + 1);
      for (let c = 0; c < C; c++) {
        let v = 0;
        for (const [j, q] of pixels.entries()) {
          const east = f(wE[q] * e[L * (q + 1) + c]);
          v = j === 0 ? east : f(v + east);
          v = f(v + f(wS[q] * e[L * (q + s) + c]));
        }
        rc[P + c] = v;
      }
    }
  }
}

/** Sums t over each 2×2 aggregate: ((t00 + t01) + t10) + t11. */
function restrict(solve: Layout, fine: Level, coarse: Level32, t: Float32Array): void {
  const s = fine.s;
  const { w: cw, h: ch, s: sc } = coarse.level;
  const rc = coarse.r;
  const { k, lanes: L, channels: C } = solve;
  if (k) {
    k.restrict(s, cw, ch, sc, at(t), at(rc));
    return;
  }
  for (let Y = 0; Y < ch; Y++) {
    for (let X = 0; X < cw; X++) {
      const q = L * ((2 * Y + 1) * s + 2 * X + 1);
      const Q = L * ((Y + 1) * sc + X + 1);
      const down = L * s;
      for (let c = 0; c < C; c++) {
        rc[Q + c] = f(f(f(t[q + c] + t[q + L + c]) + t[q + down + c]) + t[q + down + L + c]);
      }
    }
  }
}

/** Adds the scaled coarse correction to the unknowns of each aggregate: e += m ec, m = SCALE or 0. */
function prolong(solve: Layout, fine: Level, coarse: Level32, e: Float32Array): void {
  const { s, invDiag: act } = fine;
  const { w: cw, h: ch, s: sc } = coarse.level;
  const ec = coarse.e;
  const { k, lanes: L, channels: C } = solve;
  if (k) {
    k.prolong(s, at(act), cw, ch, sc, at(ec), at(e), SCALE);
    return;
  }
  for (let Y = 0; Y < ch; Y++) {
    for (let X = 0; X < cw; X++) {
      const p = (2 * Y + 1) * s + 2 * X + 1;
      const P = L * ((Y + 1) * sc + X + 1);
      for (const q of [p, p + 1, p + s, p + s + 1]) {
        const m = act[q] !== 0 ? SCALE : 0;
        for (let c = 0; c < C; c++) e[L * q + c] = f(e[L * q + c] + f(m * ec[P + c]));
      }
    }
  }
}

/** One symmetric V-cycle from level l down (multigrid.ts vcycle): e ≈ A⁻¹ r. */
function vcycle(solve: Layout, l: number, r: Float32Array, e: Float32Array): void {
  const { levels } = solve;
  const { level, t } = levels[l];
  if (l === levels.length - 1) {
    solveCoarsestLanes(level, solve.channels, solve.lanes, r, e);
    return;
  }
  // one sweep each way on the finest level, two on the coarser ones (multigrid.ts FINE_SWEEPS, COARSE_SWEEPS)
  const sweeps = l === 0 ? 1 : 2;
  const coarse = levels[l + 1];
  smoothFromZero(solve, level, r, e);
  if (sweeps === 1) restrictSweepResidual(solve, level, coarse, e);
  else {
    smoothForward(solve, level, r, e);
    residualOf(solve, level, e, r, t);
    restrict(solve, level, coarse, t);
  }
  vcycle(solve, l + 1, coarse.r, coarse.e);
  prolong(solve, level, coarse, e);
  for (let k = 0; k < sweeps; k++) smoothBackwardDot(solve, level, r, e);
}

/**
 * x += α p, r −= α q (α rounded to float32 per channel) and r·r per channel, fused with the next V-cycle's
 * first sweep from zero on the new r, into e (cg.ts updateAndSweep).
 */
function updateAndSweep(
  solve: Layout,
  x: Float32Array,
  r: Float32Array,
  p: Float32Array,
  q: Float32Array,
  alpha: number[],
  e: Float32Array,
): number[] {
  const level = solve.levels[0].level;
  const { w, h, s, invDiag, wE, wS } = level;
  const { k, lanes: L, channels: C } = solve;
  if (k) {
    const coefficients = [w, h, s, at(invDiag), at(wE), at(wS)] as const;
    const vectors = [at(x), at(r), at(p), at(q)] as const;
    k.updateAndSweep(...coefficients, ...vectors, alpha, at(e));
    return sums(solve);
  }
  const a = alpha.map(f);
  const acc = new Array<number>(C).fill(0);
  for (let y = 1; y <= h; y++) {
    for (let c = 0; c < C; c++) {
      let row = 0;
      for (let i = y * s + 1; i <= y * s + w; i++) {
        const j = L * i + c;
        x[j] = f(x[j] + f(a[c] * p[j]));
        const v = f(r[j] - f(a[c] * q[j]));
        r[j] = v;
        row = f(row + f(v * v));
      }
      acc[c] += row;
    }
  }
  smoothFromZero(solve, level, r, e);
  return acc;
}

/** p = keep (z + β p) per channel (β rounded to float32; keep 0 for channels that are done). */
function updateP(solve: Layout, p: Float32Array, z: Float32Array, beta: number[], done: boolean[]): void {
  const { w, h, s } = solve.levels[0].level;
  const { k, lanes: L, channels: C } = solve;
  const keep = done.map((d) => (d ? 0 : 1));
  if (k) {
    k.updateP(w, h, s, at(p), at(z), beta, keep);
    return;
  }
  const b = beta.map(f);
  for (let y = 1; y <= h; y++) {
    for (let i = y * s + 1; i <= y * s + w; i++) {
      for (let c = 0; c < C; c++) {
        const j = L * i + c;
        p[j] = f(keep[c] * f(z[j] + f(b[c] * p[j])));
      }
    }
  }
}

/**
 * Preconditioned CG (cg.ts conjugateGradients with scratchRhs: b serves as q once the initial residual is
 * formed). `x` holds the cold start on the unknowns, 0 elsewhere, and receives the solution.
 */
function conjugateGradients(
  solve: Layout,
  bufs: Float32Array[],
  b: Float32Array,
  x: Float32Array,
  tolerance: number,
  maxIterations: number,
): Float32SolveResult {
  const { levels, lanes: L, channels: C } = solve;
  const [r, z, p] = bufs;
  const q = b;
  const bb = dot(solve, b, b);
  for (let c = 0; c < C; c++) {
    if (bb[c] === 0) for (let i = c; i < x.length; i += L) x[i] = 0;
  }
  const tol2 = tolerance * tolerance;
  const iterations = new Array<number>(C).fill(0);
  const done = new Array<boolean>(C).fill(false);
  residualOf(solve, levels[0].level, x, b, r);
  let rr = dot(solve, r, r);
  let active = 0;
  for (let c = 0; c < C; c++) {
    if (rr[c] <= tol2 * bb[c]) done[c] = true;
    else active++;
  }
  let rz = new Array<number>(C).fill(0);
  if (active > 0) {
    vcycle(solve, 0, r, z);
    p.set(z);
    rz = dot(solve, r, z);
  }
  const alpha = [0, 0, 0];
  const beta = [0, 0, 0];
  let it = 0;
  while (active > 0 && it < maxIterations) {
    it++;
    const pq = applyDot(solve, p, q);
    for (let c = 0; c < C; c++) {
      alpha[c] = done[c] || pq[c] <= 0 ? 0 : rz[c] / pq[c];
      if (!done[c]) iterations[c] = it;
    }
    rr = updateAndSweep(solve, x, r, p, q, alpha, z);
    active = 0;
    for (let c = 0; c < C; c++) {
      if (!done[c] && (rr[c] <= tol2 * bb[c] || alpha[c] === 0)) done[c] = true;
      if (!done[c]) active++;
    }
    if (active === 0) break;
    let rzNew: number[];
    if (levels.length > 1) {
      const coarse = levels[1];
      restrictSweepResidual(solve, levels[0].level, coarse, z);
      vcycle(solve, 1, coarse.r, coarse.e);
      prolong(solve, levels[0].level, coarse, z);
      rzNew = smoothBackwardDot(solve, levels[0].level, r, z);
    } else {
      vcycle(solve, 0, r, z);
      rzNew = dot(solve, r, z);
    }
    for (let c = 0; c < C; c++) {
      beta[c] = done[c] ? 0 : rzNew[c] / rz[c];
      rz[c] = rzNew[c];
    }
    updateP(solve, p, z, beta, done);
  }
  const residuals = iterations.map((_, c) => (bb[c] === 0 ? Math.sqrt(rr[c]) : Math.sqrt(rr[c] / bb[c])));
  return { iterations, residuals };
}
