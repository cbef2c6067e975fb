/**
 * The colour decodes of format version 7 (diffusionDecodeArithmetic): the diffusion solver of cg.ts and
 * multigrid.ts — the same hierarchy and coefficients, the same V-cycle, the same conjugate gradients and
 * stopping rule — with float32 vectors that hold each padded pixel's three channels in one four-lane group
 * (the fourth lane stays 0). Why: the float64 solve of a 768 × 512 colour image moves about 0.1 GB per
 * iteration and spends most of a diffusion decode; here a pixel's three channels are one 128-bit WebAssembly
 * SIMD operation and a vector takes 16 bytes a pixel instead of 24, so a solve takes about half the time and
 * two thirds of the memory (docs/notes/photos.md, "Format version 7"). CG's scalars stay doubles.
 *
 * The arithmetic is part of what a stream decodes to, so it is spelt out: every lane takes the scalar
 * expression's operations in the order written, each rounded to float32 (Math.fround here, float32 lanes in
 * the kernels, which have no fused multiply-add), and sums are taken per row: a float32 sum of the row's terms
 * in the loop's order, added into a double per channel, row after row. The kernels
 * (wasm/diffusion-kernels.c, the `…4` functions) and the loops below therefore compute the same values, bit
 * for bit; the loops run where WebAssembly is unavailable or switched off (MASKCODEC_WASM=0).
 */
import type { Image, Mask } from "../image/types.ts";
import { assembleLevels } from "./diffusion-system.ts";
import { at } from "./kernel-binding.ts";
import { COARSE_SCALE, type Level, levelSizes } from "./multigrid.ts";
import { type DiffusionKernels, type KernelArena, kernelArena } from "./wasm-kernels.ts";

const f = Math.fround;
/** The coarse-grid correction's scale as the float32 lanes multiply by it. */
const SCALE = f(COARSE_SCALE);
const LANES = 4;

/** A level's coefficients (the float64 solver's) and its float32 work vectors. */
interface Level4 {
  level: Level;
  r: Float32Array;
  e: Float32Array;
  t: Float32Array;
}

/** Where the vectors live, and so which code runs: the kernels on their arena, or the loops below. */
interface Solve4 {
  levels: Level4[];
  k: DiffusionKernels | null;
  /** The kernels' sums of their last reducing call. */
  results: Float64Array | null;
}

export interface Float32SolveResult {
  iterations: number[];
  residuals: number[];
}

/** Bytes of a solve's layout in the kernels' arena (8-byte alignment slack per array included). */
function arenaBytes(w: number, h: number): number {
  const sizes = levelSizes(w, h);
  const vector = (size: number) => LANES * 4 * size + 8;
  // the mask's and the image's copies, then b, x, r, z, p on the finest grid
  let bytes = w * h + 8 + 12 * w * h + 8 + 5 * vector((w + 2) * (h + 2));
  for (const [l, [lw, lh]] of sizes.entries()) {
    const size = (lw + 2) * (lh + 2);
    bytes += 4 * (4 * size + 8) + (l > 0 ? 3 * vector(size) : 0);
  }
  return bytes;
}

/**
 * Homogeneous diffusion inpainting of a colour image in float32 (see the module's comment): the unknown pixels
 * of `out` receive the solution. Stops at a relative residual of `tolerance` per channel, as cg.ts does.
 */
export function inpaintFloat32(
  known: Image,
  mask: Mask,
  out: Image,
  tolerance: number,
  maxIterations: number,
): Float32SolveResult {
  const { width: w, height: h } = known;
  if (known.channels !== 3) throw new Error("inpaintFloat32: three channels only");
  const bytes = arenaBytes(w, h);
  const arena = kernelArena(bytes);
  const resident = arena?.reset(bytes) ? arena : null;
  const n = (w + 2) * (h + 2) * LANES;
  const vector = resident ? () => resident.f32(n, true) : () => new Float32Array(n);
  const { levels, maskCopy } = assembleLevels(w, h, mask.data, 0, resident ?? undefined);
  const levels4: Level4[] = levels.map((level, l) => {
    const size = (level.w + 2) * (level.h + 2) * LANES;
    const empty = new Float32Array(0);
    if (l === 0) return { level, r: empty, e: empty, t: empty };
    const make = resident ? () => resident.f32(size, true) : () => new Float32Array(size);
    return { level, r: make(), e: make(), t: make() };
  });
  const solve: Solve4 = {
    levels: levels4,
    k: resident ? resident.k : null,
    results: resident ? resident.results() : null,
  };
  const b = vector();
  const x = vector();
  coldStart4(solve, resident, maskCopy, known, mask, b, x);
  const bufs = [vector(), vector(), vector()];
  const result = conjugateGradients4(solve, bufs, b, x, tolerance, maxIterations);
  // the solution's unknown pixels into the image
  const d = out.data;
  const s = w + 2;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    const from = LANES * ((y + 1) * s + 1);
    for (let xx = 0; xx < w; xx++) {
      if (mask.data[row + xx] !== 0) continue;
      const q = from + LANES * xx;
      const i = 3 * (row + xx);
      d[i] = x[q];
      d[i + 1] = x[q + 1];
      d[i + 2] = x[q + 2];
    }
  }
  return result;
}

/** b (the sum of an unknown pixel's known neighbours) and x (the known pixels' mean) of a cold solve. */
function coldStart4(
  solve: Solve4,
  arena: KernelArena | null,
  maskCopy: Uint8Array | undefined,
  known: Image,
  mask: Mask,
  b: Float32Array,
  x: Float32Array,
): void {
  const { width: w, height: h, data } = known;
  if (solve.k && arena && maskCopy) {
    const copy = arena.f32(w * h * 3);
    copy.set(data);
    solve.k.cold_start4(w, h, at(maskCopy), at(copy), at(b), at(x));
    return;
  }
  const m = mask.data;
  const mean = [0, 0, 0];
  let count = 0;
  for (let i = 0; i < w * h; i++) {
    if (!m[i]) continue;
    for (let c = 0; c < 3; c++) mean[c] += data[3 * i + c];
    count++;
  }
  const start = mean.map((v) => f(v / count));
  const s = w + 2;
  for (let y = 0; y < h; y++) {
    for (let xx = 0; xx < w; xx++) {
      const i = y * w + xx;
      if (m[i]) continue;
      const q = LANES * ((y + 1) * s + xx + 1);
      const west = xx > 0 && m[i - 1] !== 0;
      const east = xx < w - 1 && m[i + 1] !== 0;
      const north = y > 0 && m[i - w] !== 0;
      const south = y < h - 1 && m[i + w] !== 0;
      for (let c = 0; c < 3; c++) {
        let v = 0;
        if (west) v = f(v + data[3 * (i - 1) + c]);
        if (east) v = f(v + data[3 * (i + 1) + c]);
        if (north) v = f(v + data[3 * (i - w) + c]);
        if (south) v = f(v + data[3 * (i + w) + c]);
        b[q + c] = v;
        x[q + c] = start[c];
      }
    }
  }
}

/** The kernels' three sums. */
function sums(solve: Solve4): number[] {
  const r = solve.results as Float64Array;
  return [r[0], r[1], r[2]];
}

/** Per-channel a·b over the interior rows (row sums in float32). */
function dot4(solve: Solve4, a: Float32Array, b: Float32Array): number[] {
  const { w, h, s } = solve.levels[0].level;
  if (solve.k) {
    solve.k.dot4(w, h, s, at(a), at(b));
    return sums(solve);
  }
  const acc = [0, 0, 0];
  for (let y = 1; y <= h; y++) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    for (let i = y * s + 1; i <= y * s + w; i++) {
      const q = LANES * i;
      s0 = f(s0 + f(a[q] * b[q]));
      s1 = f(s1 + f(a[q + 1] * b[q + 1]));
      s2 = f(s2 + f(a[q + 2] * b[q + 2]));
    }
    acc[0] += s0;
    acc[1] += s1;
    acc[2] += s2;
  }
  return acc;
}

/** (A p)_c at padded pixel i, channel c: g P − a E − b W − c S − d N. */
function applyAt(level: Level, p: Float32Array, i: number, c: number): number {
  const { s, diag, wE, wS } = level;
  const q = LANES * i + c;
  let v = f(diag[i] * p[q]);
  v = f(v - f(wE[i] * p[q + LANES]));
  v = f(v - f(wE[i - 1] * p[q - LANES]));
  v = f(v - f(wS[i] * p[q + LANES * s]));
  return f(v - f(wS[i - s] * p[q - LANES * s]));
}

/** q = A p and p·q per channel. */
function applyDot4(solve: Solve4, p: Float32Array, q: Float32Array): number[] {
  const level = solve.levels[0].level;
  const { w, h, s } = level;
  if (solve.k) {
    solve.k.apply_dot4(w, h, s, at(level.diag), at(level.wE), at(level.wS), at(p), at(q));
    return sums(solve);
  }
  const acc = [0, 0, 0];
  for (let y = 1; y <= h; y++) {
    const row = [0, 0, 0];
    for (let i = y * s + 1; i <= y * s + w; i++) {
      for (let c = 0; c < 3; c++) {
        const v = applyAt(level, p, i, c);
        q[LANES * i + c] = v;
        row[c] = f(row[c] + f(v * p[LANES * i + c]));
      }
    }
    for (let c = 0; c < 3; c++) acc[c] += row[c];
  }
  return acc;
}

/** out = r − A x on a level. */
function residualOf4(solve: Solve4, level: Level, x: Float32Array, r: Float32Array, out: Float32Array): void {
  const { w, h, s } = level;
  if (solve.k) {
    solve.k.residual_of4(w, h, s, at(level.diag), at(level.wE), at(level.wS), at(x), at(r), at(out));
    return;
  }
  for (let y = 1; y <= h; y++) {
    for (let i = y * s + 1; i <= y * s + w; i++) {
      for (let c = 0; c < 3; c++) out[LANES * i + c] = f(r[LANES * i + c] - applyAt(level, x, i, c));
    }
  }
}

/** The first forward sweep of a V-cycle, from e = 0: id (r + b W + d N). */
function smoothFromZero4(solve: Solve4, level: Level, r: Float32Array, e: Float32Array): void {
  const { w, h, s, invDiag, wE, wS } = level;
  if (solve.k) {
    solve.k.smooth_from_zero4(w, h, s, at(invDiag), at(wE), at(wS), at(r), at(e));
    return;
  }
  const up = LANES * s;
  for (let y = 1; y <= h; y++) {
    for (let p = y * s + 1; p <= y * s + w; p++) {
      const id = invDiag[p];
      const b = wE[p - 1];
      const d = wS[p - s];
      for (let c = 0; c < 3; c++) {
        const q = LANES * p + c;
        e[q] = f(id * f(f(r[q] + f(b * e[q - LANES])) + f(d * e[q - up])));
      }
    }
  }
}

/** A full Gauss–Seidel update of pixel p, channel c: id (r + a E + b W + c S + d N). */
function gaussSeidelAt(level: Level, r: Float32Array, e: Float32Array, p: number, c: number): number {
  const { s, invDiag, wE, wS } = level;
  const q = LANES * p + c;
  let v = f(r[q] + f(wE[p] * e[q + LANES]));
  v = f(v + f(wE[p - 1] * e[q - LANES]));
  v = f(v + f(wS[p] * e[q + LANES * s]));
  v = f(v + f(wS[p - s] * e[q - LANES * s]));
  const value = f(invDiag[p] * v);
  e[q] = value;
  return value;
}

function smoothForward4(solve: Solve4, level: Level, r: Float32Array, e: Float32Array): void {
  const { w, h, s, invDiag, wE, wS } = level;
  if (solve.k) {
    solve.k.smooth_forward4(w, h, s, at(invDiag), at(wE), at(wS), at(r), at(e));
    return;
  }
  for (let y = 1; y <= h; y++) {
    for (let p = y * s + 1; p <= y * s + w; p++) {
      for (let c = 0; c < 3; c++) gaussSeidelAt(level, r, e, p, c);
    }
  }
}

/** The backward sweep, returning r·e per channel over the final e (rows bottom up, right to left). */
function smoothBackwardDot4(solve: Solve4, level: Level, r: Float32Array, e: Float32Array): number[] {
  const { w, h, s, invDiag, wE, wS } = level;
  if (solve.k) {
    solve.k.smooth_backward_dot4(w, h, s, at(invDiag), at(wE), at(wS), at(r), at(e));
    return sums(solve);
  }
  const acc = [0, 0, 0];
  for (let y = h; y >= 1; y--) {
    const row = [0, 0, 0];
    for (let p = y * s + w; p >= y * s + 1; p--) {
      for (let c = 0; c < 3; c++) {
        const v = gaussSeidelAt(level, r, e, p, c);
        row[c] = f(row[c] + f(r[LANES * p + c] * v));
      }
    }
    for (let c = 0; c < 3; c++) acc[c] += row[c];
  }
  return acc;
}

/**
 * The restriction of the residual a from-zero sweep leaves (multigrid.ts restrictSweepResidual): per 2×2
 * aggregate, wE e_east + wS e_south summed over p, p + 1, p + s, p + s + 1 in that order.
 */
function restrictSweepResidual4(solve: Solve4, fine: Level, coarse: Level4, e: Float32Array): void {
  const { s, wE, wS } = fine;
  const { w: cw, h: ch, s: sc } = coarse.level;
  const rc = coarse.r;
  if (solve.k) {
    solve.k.restrict_sweep_residual4(fine.h, s, at(wE), at(wS), at(e), cw, ch, sc, at(rc));
    return;
  }
  for (let Y = 0; Y < ch; Y++) {
    const bottomRing = 2 * Y + 2 > fine.h; // odd height: the aggregate's lower row is the padding ring
    for (let X = 0; X < cw; X++) {
      const p = (2 * Y + 1) * s + 2 * X + 1;
      const pixels = bottomRing ? [p, p + 1] : [p, p + 1, p + s, p + s + 1];
      const P = LANES * ((Y + 1) * sc + X + 1);
      for (let c = 0; c < 3; c++) {
        let v = 0;
        for (const [k, q] of pixels.entries()) {
          const east = f(wE[q] * e[LANES * (q + 1) + c]);
          v = k === 0 ? east : f(v + east);
          v = f(v + f(wS[q] * e[LANES * (q + s) + c]));
        }
        rc[P + c] = v;
      }
    }
  }
}

/** Sums t over each 2×2 aggregate: ((t00 + t01) + t10) + t11. */
function restrict4(solve: Solve4, fine: Level, coarse: Level4, t: Float32Array): void {
  const s = fine.s;
  const { w: cw, h: ch, s: sc } = coarse.level;
  const rc = coarse.r;
  if (solve.k) {
    solve.k.restrict4(s, cw, ch, sc, at(t), at(rc));
    return;
  }
  for (let Y = 0; Y < ch; Y++) {
    for (let X = 0; X < cw; X++) {
      const q = LANES * ((2 * Y + 1) * s + 2 * X + 1);
      const Q = LANES * ((Y + 1) * sc + X + 1);
      const down = LANES * s;
      for (let c = 0; c < 3; c++) {
        rc[Q + c] = f(f(f(t[q + c] + t[q + LANES + c]) + t[q + down + c]) + t[q + down + LANES + c]);
      }
    }
  }
}

/** Adds the scaled coarse correction to the unknowns of each aggregate: e += m ec, m = SCALE or 0. */
function prolong4(solve: Solve4, fine: Level, coarse: Level4, e: Float32Array): void {
  const { s, invDiag: act } = fine;
  const { w: cw, h: ch, s: sc } = coarse.level;
  const ec = coarse.e;
  if (solve.k) {
    solve.k.prolong4(s, at(act), cw, ch, sc, at(ec), at(e), SCALE);
    return;
  }
  for (let Y = 0; Y < ch; Y++) {
    for (let X = 0; X < cw; X++) {
      const p = (2 * Y + 1) * s + 2 * X + 1;
      const P = LANES * ((Y + 1) * sc + X + 1);
      for (const q of [p, p + 1, p + s, p + s + 1]) {
        const m = act[q] !== 0 ? SCALE : 0;
        for (let c = 0; c < 3; c++) e[LANES * q + c] = f(e[LANES * q + c] + f(m * ec[P + c]));
      }
    }
  }
}

/** The coarsest level's direct solve (its Cholesky factor, in doubles), channel by channel. */
function solveCoarsest4(level: Level, r: Float32Array, e: Float32Array): void {
  const a = level.chol as Float64Array;
  const nodes = level.nodes as Int32Array;
  const y = level.work as Float64Array;
  const m = nodes.length;
  e.fill(0);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < m; i++) {
      let v = r[LANES * nodes[i] + c];
      for (let k = 0; k < i; k++) v -= a[i * m + k] * y[k];
      y[i] = v / a[i * m + i];
    }
    for (let i = m - 1; i >= 0; i--) {
      let v = y[i];
      for (let k = i + 1; k < m; k++) v -= a[k * m + i] * y[k];
      y[i] = v / a[i * m + i];
    }
    for (let i = 0; i < m; i++) e[LANES * nodes[i] + c] = y[i];
  }
}

/** One symmetric V-cycle from level l down (multigrid.ts vcycle): e ≈ A⁻¹ r. */
function vcycle4(solve: Solve4, l: number, r: Float32Array, e: Float32Array): void {
  const { levels } = solve;
  const { level, t } = levels[l];
  if (l === levels.length - 1) {
    solveCoarsest4(level, r, e);
    return;
  }
  // one sweep each way on the finest level, two on the coarser ones (multigrid.ts FINE_SWEEPS, COARSE_SWEEPS)
  const sweeps = l === 0 ? 1 : 2;
  const coarse = levels[l + 1];
  smoothFromZero4(solve, level, r, e);
  if (sweeps === 1) restrictSweepResidual4(solve, level, coarse, e);
  else {
    smoothForward4(solve, level, r, e);
    residualOf4(solve, level, e, r, t);
    restrict4(solve, level, coarse, t);
  }
  vcycle4(solve, l + 1, coarse.r, coarse.e);
  prolong4(solve, level, coarse, e);
  for (let k = 0; k < sweeps; k++) smoothBackwardDot4(solve, level, r, e);
}

/**
 * x += α p, r −= α q (α rounded to float32 per channel) and r·r per channel, fused with the next V-cycle's
 * first sweep from zero on the new r, into e (cg.ts updateAndSweep).
 */
function updateAndSweep4(
  solve: Solve4,
  x: Float32Array,
  r: Float32Array,
  p: Float32Array,
  q: Float32Array,
  alpha: number[],
  e: Float32Array,
): number[] {
  const level = solve.levels[0].level;
  const { w, h, s, invDiag, wE, wS } = level;
  if (solve.k) {
    const [a0, a1, a2] = alpha;
    solve.k.update_and_sweep4(
      w,
      h,
      s,
      at(invDiag),
      at(wE),
      at(wS),
      at(x),
      at(r),
      at(p),
      at(q),
      a0,
      a1,
      a2,
      at(e),
    );
    return sums(solve);
  }
  const a = alpha.map(f);
  const acc = [0, 0, 0];
  for (let y = 1; y <= h; y++) {
    const row = [0, 0, 0];
    for (let i = y * s + 1; i <= y * s + w; i++) {
      for (let c = 0; c < 3; c++) {
        const k = LANES * i + c;
        x[k] = f(x[k] + f(a[c] * p[k]));
        const v = f(r[k] - f(a[c] * q[k]));
        r[k] = v;
        row[c] = f(row[c] + f(v * v));
      }
    }
    for (let c = 0; c < 3; c++) acc[c] += row[c];
  }
  smoothFromZero4(solve, level, r, e);
  return acc;
}

/** p = keep (z + β p) per channel (β rounded to float32; keep 0 for channels that are done). */
function updateP4(solve: Solve4, p: Float32Array, z: Float32Array, beta: number[], done: boolean[]): void {
  const { w, h, s } = solve.levels[0].level;
  const keep = done.map((d) => (d ? 0 : 1));
  if (solve.k) {
    solve.k.update_p4(w, h, s, at(p), at(z), beta[0], beta[1], beta[2], keep[0], keep[1], keep[2]);
    return;
  }
  const b = beta.map(f);
  for (let y = 1; y <= h; y++) {
    for (let i = y * s + 1; i <= y * s + w; i++) {
      for (let c = 0; c < 3; c++) {
        const k = LANES * i + c;
        p[k] = f(keep[c] * f(z[k] + f(b[c] * p[k])));
      }
    }
  }
}

/**
 * Preconditioned CG (cg.ts conjugateGradients with scratchRhs: b serves as q once the initial residual is
 * formed). `x` holds the cold start on the unknowns, 0 elsewhere, and receives the solution.
 */
function conjugateGradients4(
  solve: Solve4,
  bufs: Float32Array[],
  b: Float32Array,
  x: Float32Array,
  tolerance: number,
  maxIterations: number,
): Float32SolveResult {
  const { levels } = solve;
  const [r, z, p] = bufs;
  const q = b;
  const bb = dot4(solve, b, b);
  for (let c = 0; c < 3; c++) {
    if (bb[c] === 0) for (let i = c; i < x.length; i += LANES) x[i] = 0;
  }
  const tol2 = tolerance * tolerance;
  const iterations = [0, 0, 0];
  const done = [false, false, false];
  residualOf4(solve, levels[0].level, x, b, r);
  let rr = dot4(solve, r, r);
  let active = 0;
  for (let c = 0; c < 3; c++) {
    if (rr[c] <= tol2 * bb[c]) done[c] = true;
    else active++;
  }
  let rz = [0, 0, 0];
  if (active > 0) {
    vcycle4(solve, 0, r, z);
    p.set(z);
    rz = dot4(solve, r, z);
  }
  const alpha = [0, 0, 0];
  const beta = [0, 0, 0];
  let it = 0;
  while (active > 0 && it < maxIterations) {
    it++;
    const pq = applyDot4(solve, p, q);
    for (let c = 0; c < 3; c++) {
      alpha[c] = done[c] || pq[c] <= 0 ? 0 : rz[c] / pq[c];
      if (!done[c]) iterations[c] = it;
    }
    rr = updateAndSweep4(solve, x, r, p, q, alpha, z);
    active = 0;
    for (let c = 0; c < 3; c++) {
      if (!done[c] && (rr[c] <= tol2 * bb[c] || alpha[c] === 0)) done[c] = true;
      if (!done[c]) active++;
    }
    if (active === 0) break;
    let rzNew: number[];
    if (levels.length > 1) {
      const coarse = levels[1];
      restrictSweepResidual4(solve, levels[0].level, coarse, z);
      vcycle4(solve, 1, coarse.r, coarse.e);
      prolong4(solve, levels[0].level, coarse, z);
      rzNew = smoothBackwardDot4(solve, levels[0].level, r, z);
    } else {
      vcycle4(solve, 0, r, z);
      rzNew = dot4(solve, r, z);
    }
    for (let c = 0; c < 3; c++) {
      beta[c] = done[c] ? 0 : rzNew[c] / rz[c];
      rz[c] = rzNew[c];
    }
    updateP4(solve, p, z, beta, done);
  }
  const residuals = [0, 1, 2].map((c) => (bb[c] === 0 ? Math.sqrt(rr[c]) : Math.sqrt(rr[c] / bb[c])));
  return { iterations, residuals };
}
