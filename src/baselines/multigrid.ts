/**
 * Homogeneous diffusion inpainting: the Laplace equation Δu = 0 on the unknown pixels, the known pixels as
 * Dirichlet data, reflecting (Neumann) image boundaries, the 5-point stencil, solved per channel.
 *
 * Solver: conjugate gradients preconditioned with one V-cycle of an aggregation multigrid (2×2 aggregates,
 * Galerkin coarse operators). The system restricted to the unknowns is a weighted graph Laplacian plus a
 * diagonal (the edges to known pixels); piecewise-constant aggregation maps such an operator to another of
 * the same 5-point form, so every level is stored as diagonal + east/south edge weights on a padded grid and
 * the mask needs no special case anywhere. Symmetric Gauss–Seidel smoothing (forward before, backward after)
 * keeps the preconditioner symmetric; the coarsest level (≤ 64 nodes) is solved by a dense Cholesky
 * factorisation. Stops at a relative residual ‖b − Ax‖₂ / ‖b‖₂ ≤ tolerance (1e-6 by default, the paper's
 * setting), with b the contribution of the known pixels; accepts an initial guess (warm start).
 *
 * Every stencil loop below has a WebAssembly twin (wasm/diffusion-kernels.c, the same arithmetic in the same
 * order, so bit-identical results, about twice as fast): `DiffusionSystem.solve` moves its arrays into the
 * kernels' memory for the duration of a solve (`bind`) and the loops then call their twins; the TypeScript
 * loops run when WebAssembly is off (MASKCODEC_WASM=0) or a solve is too large for a 32-bit memory.
 */
import { checkInteger, invalidParameter, MaskcodecError } from "../errors.ts";
import type { Inpainter } from "../image/seams.ts";
import type { Image, Mask } from "../image/types.ts";
import { createImage } from "../image/types.ts";
import { type DiffusionKernels, type KernelArena, kernelArena } from "./wasm-kernels.ts";

export interface DiffusionOptions {
  /** Relative residual at which the solver stops. Default 1e-6. */
  tolerance?: number;
  /** Safety limit on CG iterations per channel. Default 500. */
  maxIterations?: number;
}

export interface DiffusionSolveOptions extends DiffusionOptions {
  /** Warm start: a previous solution (any values; only the unknown pixels are read). */
  initial?: Image;
}

export interface DiffusionResult {
  image: Image;
  /** CG iterations per channel. */
  iterations: number[];
  /** Final relative residual per channel. */
  residuals: number[];
}

interface Level {
  w: number;
  h: number;
  /** Row stride of the padded grid, w + 2. */
  s: number;
  /** Operator coefficients: small integers, exact in float32, which halves the memory traffic. */
  diag: Float32Array;
  invDiag: Float32Array;
  /** Weight of the edge to the east / south neighbour (0 if either end is not an unknown). */
  wE: Float32Array;
  wS: Float32Array;
  /** Work vectors (padded, channels interleaved), allocated for the channel count in use. */
  r: Float64Array;
  e: Float64Array;
  t: Float64Array;
  /** Coarsest level only: Cholesky factor (row-major, lower) of the active nodes, and their indices. */
  chol?: Float64Array;
  nodes?: Int32Array;
  work?: Float64Array;
  /**
   * During a solve on the WebAssembly kernels the arrays above (but chol, nodes, work) are views into their
   * memory; `own` keeps the level's own arrays meanwhile.
   */
  own?: Pick<Level, "diag" | "invDiag" | "wE" | "wS" | "r" | "e" | "t">;
}

/**
 * The WebAssembly kernels while a solve runs on them (solves are synchronous, so one at a time): every
 * kernel function below then runs its WebAssembly twin on the byte offsets of its arguments, which are all
 * views into the kernels' memory; `results` views the sums they return.
 */
let bound: { k: DiffusionKernels; results: Float64Array } | null = null;

/** The byte offset of a view into the kernels' memory. */
function at(v: Float64Array | Float32Array): number {
  return v.byteOffset;
}

/** Runs a WebAssembly sweep kernel on a bound level. */
function sweepIn(
  f: DiffusionKernels["smooth_forward3"],
  level: Level,
  r: Float64Array,
  e: Float64Array,
): void {
  f(level.w, level.h, level.s, at(level.invDiag), at(level.wE), at(level.wS), at(r), at(e));
}

/**
 * Coarse-grid correction scale. Aggregation's Galerkin operator is too stiff on smooth errors (the
 * piecewise-constant prolongation has too much energy); scaling the correction compensates. Measured on
 * kodim05 with random 2/5/10% masks: 1.2 and 1.4 need 12/10/8 CG iterations to 1e-6, 1.6 and 1.0 one more,
 * 1.8 three more.
 */
const COARSE_SCALE = 1.3;
const COARSEST_NODES = 64;
/**
 * Gauss–Seidel sweeps before and after the coarse correction: one on the finest level, two on the coarser
 * ones (a quarter of the cost each). On kodim05 with a random 5 % mask: 10 CG iterations with 1/1, 8 with 1/2,
 * about 10 % less CPU time.
 */
const FINE_SWEEPS = 1; // the CG loop's fused updates (updateAndSweep, finishVcycle) rely on exactly one
const COARSE_SWEEPS = 2;

/**
 * Largest system (bytes of its WebAssembly copy, see arenaBytes) solved on the WebAssembly kernels: about
 * 6 MP for one channel, 2.5 MP for three. Larger solves run on the TypeScript loops (about half the speed)
 * so that a 12 MP decode stays within 1.5 GB (measured with `npm run bench -- photos`, docs/notes/photos.md).
 */
const WASM_SOLVE_MAX_BYTES = 512 * 2 ** 20;

const empty = new Float64Array(0);

function newLevel(w: number, h: number): Level {
  const size = (w + 2) * (h + 2);
  return {
    w,
    h,
    s: w + 2,
    diag: new Float32Array(size),
    invDiag: new Float32Array(size),
    wE: new Float32Array(size),
    wS: new Float32Array(size),
    r: empty,
    e: empty,
    t: empty,
  };
}

function finishLevel(level: Level): void {
  const { diag, invDiag } = level;
  for (let i = 0; i < diag.length; i++) invDiag[i] = diag[i] > 0 ? 1 / diag[i] : 0;
}

function coarsen(f: Level): Level {
  const wc = (f.w + 1) >> 1;
  const hc = (f.h + 1) >> 1;
  const c = newLevel(wc, hc);
  const s = f.s;
  const sc = c.s;
  const { diag, wE, wS } = f;
  for (let Y = 0; Y < hc; Y++) {
    for (let X = 0; X < wc; X++) {
      const P = (Y + 1) * sc + X + 1;
      const p00 = (2 * Y + 1) * s + 2 * X + 1;
      const p01 = p00 + 1;
      const p10 = p00 + s;
      const p11 = p10 + 1;
      const d = diag[p00] + diag[p01] + diag[p10] + diag[p11] - 2 * (wE[p00] + wE[p10] + wS[p00] + wS[p01]);
      c.diag[P] = d > 1e-9 ? d : 0;
      c.wE[P] = wE[p01] + wE[p11];
      c.wS[P] = wS[p10] + wS[p11];
    }
  }
  finishLevel(c);
  return c;
}

function factorCoarsest(level: Level): void {
  const { w, h, s, diag, wE, wS } = level;
  const index = new Int32Array((w + 2) * (h + 2)).fill(-1);
  const nodes: number[] = [];
  for (let y = 1; y <= h; y++) {
    for (let p = y * s + 1; p <= y * s + w; p++) {
      if (diag[p] > 0) {
        index[p] = nodes.length;
        nodes.push(p);
      }
    }
  }
  const m = nodes.length;
  const a = new Float64Array(m * m);
  for (let k = 0; k < m; k++) {
    const p = nodes[k];
    a[k * m + k] = diag[p];
    if (wE[p] !== 0 && index[p + 1] >= 0) {
      const j = index[p + 1];
      a[k * m + j] = a[j * m + k] = -wE[p];
    }
    if (wS[p] !== 0 && index[p + s] >= 0) {
      const j = index[p + s];
      a[k * m + j] = a[j * m + k] = -wS[p];
    }
  }
  // In-place Cholesky, lower triangle. The operator is SPD when at least one pixel is known; the guard only
  // protects against round-off.
  for (let j = 0; j < m; j++) {
    let d = a[j * m + j];
    for (let k = 0; k < j; k++) d -= a[j * m + k] * a[j * m + k];
    d = Math.sqrt(Math.max(d, 1e-300));
    a[j * m + j] = d;
    for (let i = j + 1; i < m; i++) {
      let v = a[i * m + j];
      for (let k = 0; k < j; k++) v -= a[i * m + k] * a[j * m + k];
      a[i * m + j] = v / d;
    }
  }
  level.chol = a;
  level.nodes = Int32Array.from(nodes);
  level.work = new Float64Array(m);
}

function solveCoarsest(level: Level, C: number, r: Float64Array, e: Float64Array): void {
  const a = level.chol!;
  const nodes = level.nodes!;
  const y = level.work!;
  const m = nodes.length;
  e.fill(0);
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < m; i++) {
      let v = r[nodes[i] * C + c];
      for (let k = 0; k < i; k++) v -= a[i * m + k] * y[k];
      y[i] = v / a[i * m + i];
    }
    for (let i = m - 1; i >= 0; i--) {
      let v = y[i];
      for (let k = i + 1; k < m; k++) v -= a[k * m + i] * y[k];
      y[i] = v / a[i * m + i];
    }
    for (let i = 0; i < m; i++) e[nodes[i] * C + c] = y[i];
  }
}

/** One Gauss–Seidel sweep for A e = r, forward (lexicographic) or backward. Known pixels stay 0. */
function smooth(level: Level, C: number, r: Float64Array, e: Float64Array, forward: boolean): void {
  if (C === 1) {
    if (forward) smoothForward1(level, r, e);
    else smoothBackward1(level, r, e);
  } else if (forward) smoothForward3(level, r, e);
  else smoothBackward3(level, r, e);
}

/**
 * The first forward Gauss–Seidel sweep of a V-cycle, which starts from e = 0: the east and south neighbours
 * are still 0 when a pixel is visited, so only the west and north ones are read, and nothing needs clearing
 * first (every interior value is written; the padding ring stays 0).
 */
function smoothFromZero(level: Level, C: number, r: Float64Array, e: Float64Array): void {
  const { w, h, s, invDiag, wE, wS } = level;
  if (bound) {
    sweepIn(C === 1 ? bound.k.smooth_from_zero1 : bound.k.smooth_from_zero3, level, r, e);
    return;
  }
  if (C === 1) {
    for (let y = 1; y <= h; y++) {
      const end = y * s + w;
      for (let p = y * s + 1; p <= end; p++) {
        e[p] = invDiag[p] * (r[p] + wE[p - 1] * e[p - 1] + wS[p - s] * e[p - s]);
      }
    }
    return;
  }
  const s3 = 3 * s;
  for (let y = 1; y <= h; y++) {
    const end = y * s + w;
    for (let p = y * s + 1; p <= end; p++) {
      const id = invDiag[p];
      const b = wE[p - 1];
      const d = wS[p - s];
      const q = 3 * p;
      e[q] = id * (r[q] + b * e[q - 3] + d * e[q - s3]);
      e[q + 1] = id * (r[q + 1] + b * e[q - 2] + d * e[q + 1 - s3]);
      e[q + 2] = id * (r[q + 2] + b * e[q - 1] + d * e[q + 2 - s3]);
    }
  }
}

/**
 * Restriction of the residual left by smoothFromZero alone, without computing it pixel by pixel: at an
 * unknown pixel p, diag·e_p = r_p + (west and north terms) by the sweep, so r − A e = wE_p e_{p+1} +
 * wS_p e_{p+s} (the neighbours visited after p); 0 at known pixels and on the padding ring (their weights
 * are 0). Sums it over each 2×2 aggregate, as restrict does.
 */
function restrictSweepResidual(
  fine: Level,
  coarse: Level,
  C: number,
  e: Float64Array,
  rc: Float64Array,
): void {
  const { s, wE, wS } = fine;
  const sc = coarse.s;
  const k = bound?.k;
  if (k) {
    const f = C === 1 ? k.restrict_sweep_residual1 : k.restrict_sweep_residual3;
    f(fine.h, s, at(wE), at(wS), at(e), coarse.w, coarse.h, sc, at(rc));
    return;
  }
  if (C === 1) {
    for (let Y = 0; Y < coarse.h; Y++) {
      let p = (2 * Y + 1) * s + 1;
      let P = (Y + 1) * sc + 1;
      const bottomRing = 2 * Y + 2 > fine.h; // odd height: the aggregate's lower row is the padding ring
      for (let X = 0; X < coarse.w; X++, p += 2, P++) {
        const p1 = p + 1;
        const p2 = p + s;
        const p3 = p2 + 1;
        if (bottomRing) {
          rc[P] = wE[p] * e[p + 1] + wS[p] * e[p + s] + wE[p1] * e[p1 + 1] + wS[p1] * e[p1 + s];
          continue;
        }
        rc[P] =
          wE[p] * e[p + 1] +
          wS[p] * e[p + s] +
          wE[p1] * e[p1 + 1] +
          wS[p1] * e[p1 + s] +
          wE[p2] * e[p2 + 1] +
          wS[p2] * e[p2 + s] +
          wE[p3] * e[p3 + 1] +
          wS[p3] * e[p3 + s];
      }
    }
    return;
  }
  const s3 = 3 * s;
  for (let Y = 0; Y < coarse.h; Y++) {
    let p = (2 * Y + 1) * s + 1;
    let P = (Y + 1) * sc + 1;
    const bottomRing = 2 * Y + 2 > fine.h;
    for (let X = 0; X < coarse.w; X++, p += 2, P++) {
      const a0 = wE[p];
      const b0 = wS[p];
      const a1 = wE[p + 1];
      const b1 = wS[p + 1];
      const q = 3 * p;
      const Q = 3 * P;
      if (bottomRing) {
        for (let c = 0; c < 3; c++) {
          const k = q + c;
          rc[Q + c] = a0 * e[k + 3] + b0 * e[k + s3] + a1 * e[k + 6] + b1 * e[k + 3 + s3];
        }
        continue;
      }
      const a2 = wE[p + s];
      const b2 = wS[p + s];
      const a3 = wE[p + s + 1];
      const b3 = wS[p + s + 1];
      for (let c = 0; c < 3; c++) {
        const k = q + c;
        rc[Q + c] =
          a0 * e[k + 3] +
          b0 * e[k + s3] +
          a1 * e[k + 6] +
          b1 * e[k + 3 + s3] +
          a2 * e[k + s3 + 3] +
          b2 * e[k + 2 * s3] +
          a3 * e[k + s3 + 6] +
          b3 * e[k + 2 * s3 + 3];
      }
    }
  }
}

function smoothForward1(level: Level, r: Float64Array, e: Float64Array): void {
  const { w, h, s, invDiag, wE, wS } = level;
  if (bound) {
    sweepIn(bound.k.smooth_forward1, level, r, e);
    return;
  }
  for (let y = 1; y <= h; y++) {
    const end = y * s + w;
    for (let p = y * s + 1; p <= end; p++) {
      e[p] =
        invDiag[p] *
        (r[p] + wE[p] * e[p + 1] + wE[p - 1] * e[p - 1] + wS[p] * e[p + s] + wS[p - s] * e[p - s]);
    }
  }
}

function smoothBackward1(level: Level, r: Float64Array, e: Float64Array): void {
  const { w, h, s, invDiag, wE, wS } = level;
  if (bound) {
    sweepIn(bound.k.smooth_backward1, level, r, e);
    return;
  }
  for (let y = h; y >= 1; y--) {
    const start = y * s + 1;
    for (let p = y * s + w; p >= start; p--) {
      e[p] =
        invDiag[p] *
        (r[p] + wE[p] * e[p + 1] + wE[p - 1] * e[p - 1] + wS[p] * e[p + s] + wS[p - s] * e[p - s]);
    }
  }
}

function smoothForward3(level: Level, r: Float64Array, e: Float64Array): void {
  const { w, h, s, invDiag, wE, wS } = level;
  if (bound) {
    sweepIn(bound.k.smooth_forward3, level, r, e);
    return;
  }
  const s3 = 3 * s;
  for (let y = 1; y <= h; y++) {
    const end = y * s + w;
    for (let p = y * s + 1; p <= end; p++) {
      const id = invDiag[p];
      const a = wE[p];
      const b = wE[p - 1];
      const c = wS[p];
      const d = wS[p - s];
      const q = 3 * p;
      e[q] = id * (r[q] + a * e[q + 3] + b * e[q - 3] + c * e[q + s3] + d * e[q - s3]);
      e[q + 1] = id * (r[q + 1] + a * e[q + 4] + b * e[q - 2] + c * e[q + 1 + s3] + d * e[q + 1 - s3]);
      e[q + 2] = id * (r[q + 2] + a * e[q + 5] + b * e[q - 1] + c * e[q + 2 + s3] + d * e[q + 2 - s3]);
    }
  }
}

function smoothBackward3(level: Level, r: Float64Array, e: Float64Array): void {
  smoothBackwardDot3(level, r, e); // (the dot products cost a few multiply-adds; one copy of the sweep)
}

/** out = r − A x on a level; 0 on known pixels. */
function residualOf(level: Level, C: number, x: Float64Array, r: Float64Array, out: Float64Array): void {
  const { w, h, s, diag, wE, wS } = level;
  const k = bound?.k;
  if (k) {
    const f = C === 1 ? k.residual_of1 : k.residual_of3;
    f(w, h, s, at(diag), at(wE), at(wS), at(x), at(r), at(out));
    return;
  }
  if (C === 1) {
    for (let y = 1; y <= h; y++) {
      const end = y * s + w;
      for (let p = y * s + 1; p <= end; p++) {
        out[p] =
          r[p] -
          (diag[p] * x[p] -
            wE[p] * x[p + 1] -
            wE[p - 1] * x[p - 1] -
            wS[p] * x[p + s] -
            wS[p - s] * x[p - s]);
      }
    }
    return;
  }
  const s3 = 3 * s;
  for (let y = 1; y <= h; y++) {
    const end = y * s + w;
    for (let p = y * s + 1; p <= end; p++) {
      const g = diag[p];
      const a = wE[p];
      const b = wE[p - 1];
      const c = wS[p];
      const d = wS[p - s];
      const q = 3 * p;
      out[q] = r[q] - (g * x[q] - a * x[q + 3] - b * x[q - 3] - c * x[q + s3] - d * x[q - s3]);
      out[q + 1] =
        r[q + 1] - (g * x[q + 1] - a * x[q + 4] - b * x[q - 2] - c * x[q + 1 + s3] - d * x[q + 1 - s3]);
      out[q + 2] =
        r[q + 2] - (g * x[q + 2] - a * x[q + 5] - b * x[q - 1] - c * x[q + 2 + s3] - d * x[q + 2 - s3]);
    }
  }
}

/** Sums the residual over each 2×2 aggregate. */
function restrict(fine: Level, coarse: Level, C: number, t: Float64Array, rc: Float64Array): void {
  const s = fine.s;
  const sc = coarse.s;
  const k = bound?.k;
  if (k) {
    (C === 1 ? k.restrict1 : k.restrict3)(s, coarse.w, coarse.h, sc, at(t), at(rc));
    return;
  }
  if (C === 1) {
    for (let Y = 0; Y < coarse.h; Y++) {
      let p = (2 * Y + 1) * s + 1;
      let P = (Y + 1) * sc + 1;
      for (let X = 0; X < coarse.w; X++, p += 2, P++) rc[P] = t[p] + t[p + 1] + t[p + s] + t[p + s + 1];
    }
    return;
  }
  const s3 = 3 * s;
  for (let Y = 0; Y < coarse.h; Y++) {
    let q = 3 * ((2 * Y + 1) * s + 1);
    let Q = 3 * ((Y + 1) * sc + 1);
    for (let X = 0; X < coarse.w; X++, q += 6, Q += 3) {
      rc[Q] = t[q] + t[q + 3] + t[q + s3] + t[q + s3 + 3];
      rc[Q + 1] = t[q + 1] + t[q + 4] + t[q + s3 + 1] + t[q + s3 + 4];
      rc[Q + 2] = t[q + 2] + t[q + 5] + t[q + s3 + 2] + t[q + s3 + 5];
    }
  }
}

/** Adds the scaled coarse correction to the unknowns of each aggregate. */
function prolong(fine: Level, coarse: Level, C: number, ec: Float64Array, e: Float64Array): void {
  const s = fine.s;
  const sc = coarse.s;
  const act = fine.invDiag;
  if (bound) {
    bound.k.prolong(C, s, at(act), coarse.w, coarse.h, sc, at(ec), at(e), COARSE_SCALE);
    return;
  }
  for (let Y = 0; Y < coarse.h; Y++) {
    let p = (2 * Y + 1) * s + 1;
    let P = (Y + 1) * sc + 1;
    for (let X = 0; X < coarse.w; X++, p += 2, P++) {
      const m0 = act[p] !== 0 ? COARSE_SCALE : 0;
      const m1 = act[p + 1] !== 0 ? COARSE_SCALE : 0;
      const m2 = act[p + s] !== 0 ? COARSE_SCALE : 0;
      const m3 = act[p + s + 1] !== 0 ? COARSE_SCALE : 0;
      if (C === 1) {
        const v = ec[P];
        e[p] += m0 * v;
        e[p + 1] += m1 * v;
        e[p + s] += m2 * v;
        e[p + s + 1] += m3 * v;
      } else {
        for (let c = 0; c < 3; c++) {
          const v = ec[3 * P + c];
          e[3 * p + c] += m0 * v;
          e[3 * (p + 1) + c] += m1 * v;
          e[3 * (p + s) + c] += m2 * v;
          e[3 * (p + s + 1) + c] += m3 * v;
        }
      }
    }
  }
}

/**
 * x += α p and r −= α q (per channel) on the interior, returning the new r·r, fused with the first
 * (from-zero) forward Gauss–Seidel sweep of the next V-cycle on the new r, into e.
 */
function updateAndSweep(
  level: Level,
  C: number,
  x: Float64Array,
  r: Float64Array,
  p: Float64Array,
  q: Float64Array,
  alpha: Float64Array,
  e: Float64Array,
): Float64Array {
  const { w, h, s, invDiag, wE, wS } = level;
  const out = new Float64Array(C);
  if (bound) {
    const { k, results } = bound;
    if (C === 1)
      k.update_and_sweep1(w, h, s, at(invDiag), at(wE), at(wS), at(x), at(r), at(p), at(q), alpha[0], at(e));
    else {
      const [a0, a1, a2] = alpha;
      k.update_and_sweep3(
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
    }
    for (let c = 0; c < C; c++) out[c] = results[c];
    return out;
  }
  if (C === 1) {
    const a = alpha[0];
    let acc = 0;
    for (let y = 1; y <= h; y++) {
      const end = y * s + w;
      for (let i = y * s + 1; i <= end; i++) {
        x[i] += a * p[i];
        const v = r[i] - a * q[i];
        r[i] = v;
        acc += v * v;
        e[i] = invDiag[i] * (v + wE[i - 1] * e[i - 1] + wS[i - s] * e[i - s]);
      }
    }
    out[0] = acc;
    return out;
  }
  const [a0, a1, a2] = alpha;
  const s3 = 3 * s;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  for (let y = 1; y <= h; y++) {
    const end = y * s + w;
    for (let i = y * s + 1; i <= end; i++) {
      const k = 3 * i;
      x[k] += a0 * p[k];
      x[k + 1] += a1 * p[k + 1];
      x[k + 2] += a2 * p[k + 2];
      const v0 = r[k] - a0 * q[k];
      const v1 = r[k + 1] - a1 * q[k + 1];
      const v2 = r[k + 2] - a2 * q[k + 2];
      r[k] = v0;
      r[k + 1] = v1;
      r[k + 2] = v2;
      s0 += v0 * v0;
      s1 += v1 * v1;
      s2 += v2 * v2;
      const id = invDiag[i];
      const b = wE[i - 1];
      const d = wS[i - s];
      e[k] = id * (v0 + b * e[k - 3] + d * e[k - s3]);
      e[k + 1] = id * (v1 + b * e[k - 2] + d * e[k + 1 - s3]);
      e[k + 2] = id * (v2 + b * e[k - 1] + d * e[k + 2 - s3]);
    }
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  return out;
}

/** smoothBackward3, also returning r·e per channel over the final values of e. */
function smoothBackwardDot3(level: Level, r: Float64Array, e: Float64Array): Float64Array {
  const { w, h, s, invDiag, wE, wS } = level;
  if (bound) {
    sweepIn(bound.k.smooth_backward_dot3, level, r, e);
    return Float64Array.from(bound.results);
  }
  const s3 = 3 * s;
  let d0 = 0;
  let d1 = 0;
  let d2 = 0;
  for (let y = h; y >= 1; y--) {
    const start = y * s + 1;
    for (let p = y * s + w; p >= start; p--) {
      const id = invDiag[p];
      const a = wE[p];
      const b = wE[p - 1];
      const c = wS[p];
      const d = wS[p - s];
      const q = 3 * p;
      const e0 = id * (r[q] + a * e[q + 3] + b * e[q - 3] + c * e[q + s3] + d * e[q - s3]);
      const e1 = id * (r[q + 1] + a * e[q + 4] + b * e[q - 2] + c * e[q + 1 + s3] + d * e[q + 1 - s3]);
      const e2 = id * (r[q + 2] + a * e[q + 5] + b * e[q - 1] + c * e[q + 2 + s3] + d * e[q + 2 - s3]);
      e[q] = e0;
      e[q + 1] = e1;
      e[q + 2] = e2;
      d0 += r[q] * e0;
      d1 += r[q + 1] * e1;
      d2 += r[q + 2] * e2;
    }
  }
  return Float64Array.of(d0, d1, d2);
}

/** Sets the padding ring of a padded interleaved vector (w × h interior, C channels) to 0. */
function zeroRing(v: Float64Array, w: number, h: number, C: number): void {
  const rowLength = (w + 2) * C;
  v.fill(0, 0, rowLength);
  v.fill(0, (h + 1) * rowLength, (h + 2) * rowLength);
  for (let y = 1; y <= h; y++) {
    v.fill(0, y * rowLength, y * rowLength + C);
    v.fill(0, (y + 1) * rowLength - C, (y + 1) * rowLength);
  }
}

/** Per-channel dot products of two interleaved vectors. */
function dot(a: Float64Array, b: Float64Array, C: number): Float64Array {
  const out = new Float64Array(C);
  const n = a.length;
  if (bound) {
    bound.k.dot(C, n, at(a), at(b));
    for (let c = 0; c < C; c++) out[c] = bound.results[c];
    return out;
  }
  if (C === 1) {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[i] * b[i];
    out[0] = s;
  } else {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < n; i += 3) {
      s0 += a[i] * b[i];
      s1 += a[i + 1] * b[i + 1];
      s2 += a[i + 2] * b[i + 2];
    }
    out[0] = s0;
    out[1] = s1;
    out[2] = s2;
  }
  return out;
}

/** p = z + β p per channel (p = 0 for channels that are done). */
function updateP(p: Float64Array, z: Float64Array, beta: Float64Array, done: Float64Array, C: number): void {
  const n = p.length;
  if (bound) {
    const k = (c: number) => (c < C && !done[c] ? 1 : 0);
    bound.k.update_p(C, n, at(p), at(z), beta[0], beta[1] ?? 0, beta[2] ?? 0, k(0), k(1), k(2));
    return;
  }
  if (C === 1) {
    const b = beta[0];
    const keep = done[0] ? 0 : 1;
    for (let i = 0; i < n; i++) p[i] = keep * (z[i] + b * p[i]);
    return;
  }
  const [b0, b1, b2] = beta;
  const k0 = done[0] ? 0 : 1;
  const k1 = done[1] ? 0 : 1;
  const k2 = done[2] ? 0 : 1;
  for (let i = 0; i < n; i += 3) {
    p[i] = k0 * (z[i] + b0 * p[i]);
    p[i + 1] = k1 * (z[i + 1] + b1 * p[i + 1]);
    p[i + 2] = k2 * (z[i + 2] + b2 * p[i + 2]);
  }
}

/**
 * The linear system of one mask, reusable for every channel and every right-hand side (PS, NLPE and tonal
 * optimisation solve many with the same mask). Vectors are padded grids ((w+2)·(h+2) pixels, a ring of
 * zeros around the image) with `channels` values per pixel, interleaved.
 */
export class DiffusionSystem {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  /** Padded row stride in pixels. */
  readonly stride: number;
  /** Padded vector length in values: (w+2)·(h+2)·channels. */
  readonly length: number;
  /** 1 where the pixel is known (unpadded, as the mask). */
  readonly mask: Uint8Array;
  readonly unknownCount: number;
  private readonly levels: Level[];
  /** CG work vectors r, z, p, q (allocated on first use; views into the kernels' memory while bound). */
  private bufs: Float64Array[] | undefined;
  /** While bound: b and x of the solve, in the kernels' memory. */
  private io: Float64Array[] | undefined;

  constructor(width: number, height: number, mask: Uint8Array, channels = 1) {
    if (channels !== 1 && channels !== 3) throw invalidParameter("channels", "1 or 3", channels);
    this.width = width;
    this.height = height;
    this.channels = channels;
    this.stride = width + 2;
    this.length = (width + 2) * (height + 2) * channels;
    this.mask = mask;
    let known = 0;
    for (let i = 0; i < mask.length; i++) known += mask[i] ? 1 : 0;
    if (known === 0) {
      throw new MaskcodecError("Diffusion inpainting needs at least one known pixel", "ERR_EMPTY_MASK");
    }
    this.unknownCount = width * height - known;
    const fine = newLevel(width, height);
    const s = fine.s;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        if (mask[i]) continue;
        const p = (y + 1) * s + x + 1;
        fine.diag[p] = (x > 0 ? 1 : 0) + (x < width - 1 ? 1 : 0) + (y > 0 ? 1 : 0) + (y < height - 1 ? 1 : 0);
        if (x < width - 1 && !mask[i + 1]) fine.wE[p] = 1;
        if (y < height - 1 && !mask[i + width]) fine.wS[p] = 1;
      }
    }
    finishLevel(fine);
    const levels = [fine];
    let last = fine;
    while (last.w * last.h > COARSEST_NODES) {
      last = coarsen(last);
      levels.push(last);
    }
    factorCoarsest(last);
    for (const [l, level] of levels.entries()) {
      const n = (level.w + 2) * (level.h + 2) * channels;
      // The finest level works on the CG vectors passed in; it needs only the residual buffer.
      if (l > 0) {
        level.r = new Float64Array(n);
        level.e = new Float64Array(n);
      }
      // the residual buffer; the finest level needs none when its single sweep's residual is restricted
      // directly (restrictSweepResidual)
      if (l > 0 || FINE_SWEEPS !== 1 || levels.length === 1) level.t = new Float64Array(n);
    }
    this.levels = levels;
  }

  /** Padded pixel index of (x, y); multiply by channels for the vector offset. */
  index(x: number, y: number): number {
    return (y + 1) * this.stride + x + 1;
  }

  /**
   * The rest of a fine-level V-cycle whose first sweep (from zero, into z) updateAndSweep has done: coarse
   * correction, then the backward sweep with r·z accumulated as z is finalised. Returns r·z per channel.
   */
  private finishVcycle(r: Float64Array, z: Float64Array): Float64Array {
    const C = this.channels;
    const fine = this.levels[0];
    const coarse = this.levels[1];
    restrictSweepResidual(fine, coarse, C, z, coarse.r);
    this.vcycle(1, coarse.r, coarse.e);
    prolong(fine, coarse, C, coarse.e, z);
    if (C !== 3) {
      smooth(fine, C, r, z, false);
      return dot(r, z, C);
    }
    return smoothBackwardDot3(fine, r, z);
  }

  /** One symmetric V-cycle: z ≈ A⁻¹ r (padded vectors, 0 on known pixels). */
  precondition(r: Float64Array, z: Float64Array): void {
    this.vcycle(0, r, z);
  }

  private vcycle(l: number, r: Float64Array, e: Float64Array): void {
    const C = this.channels;
    const level = this.levels[l];
    if (l === this.levels.length - 1) {
      solveCoarsest(level, C, r, e);
      return;
    }
    const sweeps = l === 0 ? FINE_SWEEPS : COARSE_SWEEPS;
    smoothFromZero(level, C, r, e);
    for (let k = 1; k < sweeps; k++) smooth(level, C, r, e, true);
    const coarse = this.levels[l + 1];
    if (sweeps === 1) {
      restrictSweepResidual(level, coarse, C, e, coarse.r);
    } else {
      const t = level.t;
      residualOf(level, C, e, r, t);
      restrict(level, coarse, C, t, coarse.r);
    }
    this.vcycle(l + 1, coarse.r, coarse.e);
    prolong(level, coarse, C, coarse.e, e);
    for (let k = 0; k < sweeps; k++) smooth(level, C, r, e, false);
  }

  /** out = A x on the unknowns (0 elsewhere). */
  apply(x: Float64Array, out: Float64Array): void {
    this.applyDot(x, out);
  }

  /**
   * Right-hand side b from padded known values (read only where the mask is set): for an unknown pixel, the
   * sum of its known neighbours' values.
   */
  rhs(known: Float64Array, out: Float64Array): void {
    const { width: w, height: h, stride: s, mask, channels: C } = this;
    out.fill(0);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        if (mask[i]) continue;
        const q = ((y + 1) * s + x + 1) * C;
        for (let c = 0; c < C; c++) {
          let v = 0;
          if (x > 0 && mask[i - 1]) v += known[q - C + c];
          if (x < w - 1 && mask[i + 1]) v += known[q + C + c];
          if (y > 0 && mask[i - w]) v += known[q - s * C + c];
          if (y < h - 1 && mask[i + w]) v += known[q + s * C + c];
          out[q + c] = v;
        }
      }
    }
  }

  /**
   * Solves A x = b by preconditioned CG, all channels at once (one set of CG scalars per channel, a channel
   * stops moving once it has converged). `b` must be 0 on known pixels (as `rhs` makes it). `x` holds the
   * initial guess on the unknowns and receives the solution; its entries at known pixels and on the ring are
   * set to 0. Returns the iterations and the final relative residual per channel.
   *
   * `scratchRhs`: the caller no longer needs b, so a solve on the TypeScript loops may use it as a work
   * vector once the initial residual is formed (one vector less: 100 MB at 12 MP).
   */
  solve(
    b: Float64Array,
    x: Float64Array,
    tolerance = 1e-6,
    maxIterations = 500,
    scratchRhs = false,
  ): { iterations: number[]; residuals: number[] } {
    // Large solves stay on the TypeScript loops: binding copies the whole system into the kernels' memory,
    // which doubles the solver's footprint and, WebAssembly memory never shrinking, keeps it for the rest of
    // the process (see WASM_SOLVE_MAX_BYTES).
    const bytes = this.arenaBytes();
    const arena = bytes <= WASM_SOLVE_MAX_BYTES ? kernelArena(bytes) : null;
    if (!arena || !this.bind(arena)) return this.solveHere(b, x, tolerance, maxIterations, scratchRhs);
    try {
      const [bw, xw] = this.io as [Float64Array, Float64Array];
      bw.set(b);
      xw.set(x);
      const result = this.solveHere(bw, xw, tolerance, maxIterations);
      x.set(xw);
      return result;
    } finally {
      this.unbind();
    }
  }

  /**
   * Moves the solver's arrays into the kernels' memory for one solve (coefficients copied, work vectors with
   * their padding rings zeroed, as the kernels read them) and switches the kernel functions to WebAssembly.
   * False when the memory cannot hold them (the TypeScript loops then do the solve).
   */
  private bind(arena: KernelArena): boolean {
    const C = this.channels;
    if (!arena.reset(this.arenaBytes())) return false;
    const ringed = (length: number, level: Level) => {
      const v = arena.f64(length);
      zeroRing(v, level.w, level.h, C);
      return v;
    };
    for (const level of this.levels) {
      const own = {
        diag: level.diag,
        invDiag: level.invDiag,
        wE: level.wE,
        wS: level.wS,
        r: level.r,
        e: level.e,
        t: level.t,
      };
      level.own = own;
      for (const key of ["diag", "invDiag", "wE", "wS"] as const) {
        const v = arena.f32(own[key].length);
        v.set(own[key]);
        level[key] = v;
      }
      for (const key of ["r", "e", "t"] as const) {
        if (own[key].length > 0) level[key] = ringed(own[key].length, level);
      }
    }
    const fine = this.levels[0];
    this.bufs = [0, 1, 2, 3].map(() => ringed(this.length, fine));
    this.io = [arena.f64(this.length), arena.f64(this.length)];
    bound = { k: arena.k, results: arena.results() };
    return true;
  }

  /** Bytes `bind` lays out: the coefficients and work vectors of every level, the CG vectors, b and x. */
  private arenaBytes(): number {
    const f32Bytes = (n: number) => ((n * 4 + 7) >> 3) << 3;
    let bytes = 6 * 8 * this.length;
    for (const level of this.levels) {
      const size = (level.w + 2) * (level.h + 2);
      bytes += 4 * f32Bytes(size) + 8 * (level.r.length + level.e.length + level.t.length);
    }
    return bytes;
  }

  /** Back to the system's own arrays (no view into the kernels' memory is kept). */
  private unbind(): void {
    bound = null;
    for (const level of this.levels) {
      if (level.own) Object.assign(level, level.own);
      level.own = undefined;
    }
    this.bufs = undefined;
    this.io = undefined;
  }

  private solveHere(
    b: Float64Array,
    x: Float64Array,
    tolerance: number,
    maxIterations: number,
    scratchRhs = false,
  ): { iterations: number[]; residuals: number[] } {
    const C = this.channels;
    const invDiag = this.levels[0].invDiag;
    this.bufs ??= [];
    while (this.bufs.length < (scratchRhs && !bound ? 3 : 4)) this.bufs.push(new Float64Array(this.length));
    const [r, z, p] = this.bufs;
    // q is first written after b's last read (the initial residual and its norm below)
    const q = scratchRhs && !bound ? b : this.bufs[3];
    const n = this.length;
    for (let j = 0, i = 0; j < invDiag.length; j++) {
      if (invDiag[j] === 0) for (let c = 0; c < C; c++) x[i + c] = 0;
      i += C;
    }
    const bb = dot(b, b, C);
    for (let c = 0; c < C; c++) {
      if (bb[c] === 0) for (let i = c; i < n; i += C) x[i] = 0;
    }
    const tol2 = tolerance * tolerance;
    const iterations = new Array<number>(C).fill(0);
    const done = new Float64Array(C);
    residualOf(this.levels[0], C, x, b, r);
    let rr = dot(r, r, C);
    let active = 0;
    for (let c = 0; c < C; c++) {
      if (rr[c] <= tol2 * bb[c]) done[c] = 1;
      else active++;
    }
    let rz: Float64Array = new Float64Array(C);
    if (active > 0) {
      this.precondition(r, z);
      p.set(z);
      rz = dot(r, z, C);
    }
    const alpha = new Float64Array(C);
    const beta = new Float64Array(C);
    let it = 0;
    while (active > 0 && it < maxIterations) {
      it++;
      const pq = this.applyDot(p, q);
      for (let c = 0; c < C; c++) {
        alpha[c] = done[c] || pq[c] <= 0 ? 0 : rz[c] / pq[c];
        if (!done[c]) iterations[c] = it;
      }
      // Fused: the x and r updates ride along the V-cycle's first sweep (which reads r only at the pixel it
      // updates), and r·z along its last one; on the final iteration the sweep's work is simply discarded.
      rr = updateAndSweep(this.levels[0], C, x, r, p, q, alpha, z);
      active = 0;
      for (let c = 0; c < C; c++) {
        if (!done[c] && (rr[c] <= tol2 * bb[c] || alpha[c] === 0)) done[c] = 1;
        if (!done[c]) active++;
      }
      if (active === 0) break;
      let rzNew: Float64Array;
      if (this.levels.length > 1) {
        rzNew = this.finishVcycle(r, z);
      } else {
        // a single level is solved directly (tiny images): the sweep into z above is simply replaced
        this.precondition(r, z);
        rzNew = dot(r, z, C);
      }
      for (let c = 0; c < C; c++) {
        beta[c] = done[c] ? 0 : rzNew[c] / rz[c];
        rz[c] = rzNew[c];
      }
      updateP(p, z, beta, done, C);
    }
    const residuals: number[] = [];
    for (let c = 0; c < C; c++) residuals.push(bb[c] === 0 ? Math.sqrt(rr[c]) : Math.sqrt(rr[c] / bb[c]));
    return { iterations, residuals };
  }

  /** q = A p and the per-channel dot products p·q, in one pass. */
  private applyDot(p: Float64Array, out: Float64Array): Float64Array {
    const { w, h, s, diag, wE, wS } = this.levels[0];
    const C = this.channels;
    const result = new Float64Array(C);
    if (bound) {
      (C === 1 ? bound.k.apply_dot1 : bound.k.apply_dot3)(w, h, s, at(diag), at(wE), at(wS), at(p), at(out));
      for (let c = 0; c < C; c++) result[c] = bound.results[c];
      return result;
    }
    if (C === 1) {
      let acc = 0;
      for (let y = 1; y <= h; y++) {
        const end = y * s + w;
        for (let i = y * s + 1; i <= end; i++) {
          const v =
            diag[i] * p[i] -
            wE[i] * p[i + 1] -
            wE[i - 1] * p[i - 1] -
            wS[i] * p[i + s] -
            wS[i - s] * p[i - s];
          out[i] = v;
          acc += v * p[i];
        }
      }
      result[0] = acc;
      return result;
    }
    const s3 = 3 * s;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    for (let y = 1; y <= h; y++) {
      const end = y * s + w;
      for (let i = y * s + 1; i <= end; i++) {
        const g = diag[i];
        const a = wE[i];
        const b = wE[i - 1];
        const c = wS[i];
        const d = wS[i - s];
        const k = 3 * i;
        const v0 = g * p[k] - a * p[k + 3] - b * p[k - 3] - c * p[k + s3] - d * p[k - s3];
        const v1 = g * p[k + 1] - a * p[k + 4] - b * p[k - 2] - c * p[k + 1 + s3] - d * p[k + 1 - s3];
        const v2 = g * p[k + 2] - a * p[k + 5] - b * p[k - 1] - c * p[k + 2 + s3] - d * p[k + 2 - s3];
        out[k] = v0;
        out[k + 1] = v1;
        out[k + 2] = v2;
        a0 += v0 * p[k];
        a1 += v1 * p[k + 1];
        a2 += v2 * p[k + 2];
      }
    }
    result[0] = a0;
    result[1] = a1;
    result[2] = a2;
    return result;
  }

  /** Relative residual ‖b − Ax‖ / ‖b‖ per channel, computed afresh (for tests and checks). */
  residual(b: Float64Array, x: Float64Array): number[] {
    const C = this.channels;
    const q = new Float64Array(this.length);
    residualOf(this.levels[0], C, x, b, q);
    const rr = new Float64Array(C);
    const bb = new Float64Array(C);
    for (let i = 0; i < q.length; i++) {
      rr[i % C] += q[i] * q[i];
      bb[i % C] += b[i] * b[i];
    }
    return Array.from(rr, (v, c) => (bb[c] === 0 ? Math.sqrt(v) : Math.sqrt(v / bb[c])));
  }
}

export function checkInpaintingInput(known: Image, mask: Mask): void {
  if (mask.width !== known.width || mask.height !== known.height) {
    throw invalidParameter(
      "mask",
      `a ${known.width}×${known.height} mask`,
      `${mask.width}×${mask.height}` as unknown as string,
    );
  }
  if (known.width < 1 || known.height < 1) {
    throw invalidParameter("image", "an image of at least 1×1 pixels", `${known.width}×${known.height}`);
  }
}

/**
 * Colour images with more pixels than this are solved one channel at a time: one single-channel system
 * and three solves instead of one three-channel system, so the solver's vectors (six of them, 8 bytes per
 * value, plus their WebAssembly copies) take a third of the memory — 0.6 GB instead of 1.7 GB at 12 MP.
 * Below it, all channels at once (one pass over the coefficients per sweep serves three channels).
 */
export const PER_CHANNEL_PIXELS = 1 << 21;

/** Homogeneous diffusion inpainting of `known` from the pixels where `mask` is 1. */
export function inpaintDiffusion(
  known: Image,
  mask: Mask,
  options: DiffusionSolveOptions = {},
): DiffusionResult {
  checkInpaintingInput(known, mask);
  if (known.channels === 3 && known.width * known.height > PER_CHANNEL_PIXELS) {
    return inpaintPerChannel(known, mask, options);
  }
  const system = new DiffusionSystem(known.width, known.height, mask.data, known.channels);
  return solveWithSystem(system, known, options);
}

/**
 * inpaintDiffusion of a colour image as three single-channel solves with one system (PER_CHANNEL_PIXELS),
 * lean on memory: each solution goes straight from the solver's vector into the output, and the right-hand
 * side doubles as a work vector.
 */
export function inpaintPerChannel(
  known: Image,
  mask: Mask,
  options: DiffusionSolveOptions = {},
): DiffusionResult {
  const tolerance = options.tolerance ?? 1e-6;
  const maxIterations = options.maxIterations ?? 500;
  if (!(tolerance > 0 && tolerance < 1)) throw invalidParameter("tolerance", "a number in (0, 1)", tolerance);
  checkInteger(maxIterations, "maxIterations", 1, 1e6);
  const { width: w, height: h } = known;
  const n = w * h;
  const system = new DiffusionSystem(w, h, mask.data, 1);
  const out = createImage(w, h, 3, new Float32Array(known.data));
  const plane = createImage(w, h, 1);
  const iterations: number[] = [];
  const residuals: number[] = [];
  // one b and x for the three solves: fresh ones per channel would leave 200 MB of garbage per channel at
  // 12 MP for the collector to find
  const b = new Float64Array(system.length);
  const x = new Float64Array(system.length);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < n; i++) plane.data[i] = known.data[3 * i + c];
    b.fill(0);
    x.fill(0);
    if (options.initial) {
      system.rhs(toPadded(system, plane), b);
      const start = createImage(w, h, 1);
      for (let i = 0; i < n; i++) start.data[i] = options.initial.data[3 * i + c];
      toPadded(system, start, x);
    } else {
      prepareColdStart(system, plane, b, x);
    }
    const result = system.solve(b, x, tolerance, maxIterations, true);
    const s = system.stride;
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        const i = y * w + xx;
        if (!mask.data[i]) out.data[3 * i + c] = x[(y + 1) * s + xx + 1];
      }
    }
    iterations.push(result.iterations[0]);
    residuals.push(result.residuals[0]);
  }
  return { image: out, iterations, residuals };
}

/** Copies an Image into a padded interleaved vector of a system (values at every pixel). */
export function toPadded(system: DiffusionSystem, image: Image, out?: Float64Array): Float64Array {
  const { width: w, height: h, stride: s, channels: C } = system;
  const v = out ?? new Float64Array(system.length);
  const d = image.data;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const q = ((y + 1) * s + x + 1) * C;
      const i = (y * w + x) * C;
      for (let c = 0; c < C; c++) v[q + c] = d[i + c];
    }
  }
  return v;
}

/** Writes a padded vector into an Image; `onlyUnknown` leaves the mask's pixels alone. */
export function fromPadded(
  system: DiffusionSystem,
  v: Float64Array,
  image: Image,
  onlyUnknown = false,
): void {
  const { width: w, height: h, stride: s, channels: C, mask } = system;
  const d = image.data;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (onlyUnknown && mask[y * w + x]) continue;
      const q = ((y + 1) * s + x + 1) * C;
      const i = (y * w + x) * C;
      for (let c = 0; c < C; c++) d[i + c] = v[q + c];
    }
  }
}

/** Solves every channel of `known` with an already built system (same mask, same channel count). */
export function solveWithSystem(
  system: DiffusionSystem,
  known: Image,
  options: DiffusionSolveOptions = {},
): DiffusionResult {
  const tolerance = options.tolerance ?? 1e-6;
  const maxIterations = options.maxIterations ?? 500;
  if (!(tolerance > 0 && tolerance < 1)) throw invalidParameter("tolerance", "a number in (0, 1)", tolerance);
  checkInteger(maxIterations, "maxIterations", 1, 1e6);
  const b = new Float64Array(system.length);
  let x: Float64Array;
  if (options.initial) {
    system.rhs(toPadded(system, known), b);
    x = toPadded(system, options.initial);
  } else {
    x = new Float64Array(system.length);
    prepareColdStart(system, known, b, x);
  }
  const { iterations, residuals } = system.solve(b, x, tolerance, maxIterations);
  const out = createImage(known.width, known.height, known.channels, new Float32Array(known.data));
  fromPadded(system, x, out, true);
  return { image: out, iterations, residuals };
}

/**
 * The right-hand side and the starting guess of a cold solve in one pass over the image (instead of a
 * padded copy of it, rhs and initialGuess: a few percent of a 768×512 decode). Same values as those.
 */
function prepareColdStart(system: DiffusionSystem, known: Image, b: Float64Array, x: Float64Array): void {
  const { width: w, height: h, stride: s, mask, channels: C } = system;
  const d = known.data;
  const mean = new Float64Array(C);
  let n = 0;
  for (let i = 0; i < w * h; i++) {
    if (!mask[i]) continue;
    for (let c = 0; c < C; c++) mean[c] += d[i * C + c];
    n++;
  }
  for (let c = 0; c < C; c++) mean[c] /= n;
  for (let y = 0; y < h; y++) {
    for (let xx = 0; xx < w; xx++) {
      const i = y * w + xx;
      if (mask[i]) continue;
      const q = ((y + 1) * s + xx + 1) * C;
      const west = xx > 0 && mask[i - 1] !== 0;
      const east = xx < w - 1 && mask[i + 1] !== 0;
      const north = y > 0 && mask[i - w] !== 0;
      const south = y < h - 1 && mask[i + w] !== 0;
      for (let c = 0; c < C; c++) {
        let v = 0;
        if (west) v += d[(i - 1) * C + c];
        if (east) v += d[(i + 1) * C + c];
        if (north) v += d[(i - w) * C + c];
        if (south) v += d[(i + w) * C + c];
        b[q + c] = v;
        x[q + c] = mean[c];
      }
    }
  }
}

/** The `Inpainter` of the diffusion backend. */
export function diffusionInpainter(options: DiffusionOptions = {}): Inpainter {
  return {
    id: "diffusion",
    async inpaint(known: Image, mask: Mask): Promise<Image> {
      return inpaintDiffusion(known, mask, options).image;
    },
  };
}
