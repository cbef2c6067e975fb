/**
 * The multigrid preconditioner of the diffusion solver (diffusion-system.ts): one V-cycle of an aggregation
 * multigrid (2×2 aggregates, Galerkin coarse operators) approximates A⁻¹ r.
 *
 * The system restricted to the unknowns is a weighted graph Laplacian plus a diagonal (the edges to known
 * pixels); piecewise-constant aggregation maps such an operator to another of the same 5-point form, so every
 * level is stored as diagonal + east/south edge weights on a padded grid and the mask needs no special case
 * anywhere. Symmetric Gauss–Seidel smoothing (forward before, backward after) keeps the preconditioner
 * symmetric, as conjugate gradients needs; the coarsest level (≤ 64 nodes) is solved by a dense Cholesky
 * factorisation.
 *
 * Every stencil loop below has a WebAssembly twin (wasm/diffusion-kernels.c, the same arithmetic in the same
 * order, so bit-identical results): while a solve is bound to the kernels' memory (kernel-binding.ts) the
 * loops call their twins instead.
 */
import { at, bound, sweepIn } from "./kernel-binding.ts";

export interface Level {
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
 * Coarse-grid correction scale. Aggregation's Galerkin operator is too stiff on smooth errors (the
 * piecewise-constant prolongation has too much energy); scaling the correction compensates. Measured on
 * kodim05 with random 2/5/10% masks: 1.2 and 1.4 need 12/10/8 CG iterations to 1e-6, 1.6 and 1.0 one more,
 * 1.8 three more.
 */
export const COARSE_SCALE = 1.3;
const COARSEST_NODES = 64;
/**
 * Gauss–Seidel sweeps before and after the coarse correction: one on the finest level, two on the coarser
 * ones (a quarter of the cost each). On kodim05 with a random 5 % mask: 10 CG iterations with 1/1, 8 with 1/2,
 * about 10 % less CPU time.
 */
const FINE_SWEEPS = 1; // the CG loop's fused updates (cg.ts: updateAndSweep, finishVcycle) rely on exactly one
const COARSE_SWEEPS = 2;

const empty = new Float64Array(0);

/**
 * Where the arrays of a hierarchy come from: the JavaScript heap, or the WebAssembly kernels' memory for a
 * system that lives there (DiffusionSystem.resident). Arrays come zeroed.
 */
export interface LevelMemory {
  f32(length: number): Float32Array;
  f64(length: number): Float64Array;
  /** Fills a coarse level from the finer one in that memory's own code (the same values as `coarsen`'s). */
  coarsen?(fine: Level, coarse: Level): void;
}

export const HEAP: LevelMemory = {
  f32: (length) => new Float32Array(length),
  f64: (length) => new Float64Array(length),
};

export function newLevel(w: number, h: number, memory: LevelMemory = HEAP): Level {
  const size = (w + 2) * (h + 2);
  return {
    w,
    h,
    s: w + 2,
    diag: memory.f32(size),
    invDiag: memory.f32(size),
    wE: memory.f32(size),
    wS: memory.f32(size),
    r: empty,
    e: empty,
    t: empty,
  };
}

/** The grid sizes of the hierarchy buildLevels makes over a w × h finest grid, finest first. */
export function levelSizes(w: number, h: number): Array<[number, number]> {
  const sizes: Array<[number, number]> = [[w, h]];
  while (w * h > COARSEST_NODES) {
    w = (w + 1) >> 1;
    h = (h + 1) >> 1;
    sizes.push([w, h]);
  }
  return sizes;
}

export function finishLevel(level: Level): void {
  const { diag, invDiag } = level;
  for (let i = 0; i < diag.length; i++) invDiag[i] = diag[i] > 0 ? 1 / diag[i] : 0;
}

function coarsen(f: Level, memory: LevelMemory): Level {
  const wc = (f.w + 1) >> 1;
  const hc = (f.h + 1) >> 1;
  const c = newLevel(wc, hc, memory);
  if (memory.coarsen) {
    memory.coarsen(f, c);
    return c;
  }
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
  solveCoarsestLanes(level, C, C, r, e);
}

/**
 * The coarsest level's direct solve (its Cholesky factor, in doubles), channel by channel, for vectors of
 * `lanes` values per pixel of which the first C are channels (cg-f32.ts: four float32 lanes, or one).
 */
export function solveCoarsestLanes(
  level: Level,
  C: number,
  lanes: number,
  r: Float64Array | Float32Array,
  e: Float64Array | Float32Array,
): void {
  const a = level.chol!;
  const nodes = level.nodes!;
  const y = level.work!;
  const m = nodes.length;
  e.fill(0);
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < m; i++) {
      let v = r[nodes[i] * lanes + c];
      for (let k = 0; k < i; k++) v -= a[i * m + k] * y[k];
      y[i] = v / a[i * m + i];
    }
    for (let i = m - 1; i >= 0; i--) {
      let v = y[i];
      for (let k = i + 1; k < m; k++) v -= a[k * m + i] * y[k];
      y[i] = v / a[i * m + i];
    }
    for (let i = 0; i < m; i++) e[nodes[i] * lanes + c] = y[i];
  }
}

/** One Gauss–Seidel sweep for A e = r, forward (lexicographic) or backward. Known pixels stay 0. */
export function smooth(level: Level, C: number, r: Float64Array, e: Float64Array, forward: boolean): void {
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
export function restrictSweepResidual(
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
export function residualOf(
  level: Level,
  C: number,
  x: Float64Array,
  r: Float64Array,
  out: Float64Array,
): void {
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
export function prolong(fine: Level, coarse: Level, C: number, ec: Float64Array, e: Float64Array): void {
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

/** smoothBackward3, also returning r·e per channel over the final values of e. */
export function smoothBackwardDot3(level: Level, r: Float64Array, e: Float64Array): Float64Array {
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

/**
 * The levels of the hierarchy below `fine` (which the caller has filled and finished), coarsened until at
 * most COARSEST_NODES remain (levelSizes) and the coarsest factorised, with the work vectors of `channels`
 * interleaved channels each level's V-cycle needs, all from `memory` (but the coarsest's small factor).
 */
export function buildLevels(fine: Level, channels: number, memory: LevelMemory = HEAP): Level[] {
  const levels = [fine];
  let last = fine;
  for (let l = 1; l < levelSizes(fine.w, fine.h).length; l++) {
    last = coarsen(last, memory);
    levels.push(last);
  }
  factorCoarsest(last);
  for (const [l, level] of levels.entries()) {
    const n = (level.w + 2) * (level.h + 2) * channels;
    // The finest level works on the CG vectors passed in; it needs only the residual buffer.
    if (l > 0) {
      level.r = memory.f64(n);
      level.e = memory.f64(n);
    }
    // the residual buffer; the finest level needs none when its single sweep's residual is restricted
    // directly (restrictSweepResidual)
    if (l > 0 || FINE_SWEEPS !== 1 || levels.length === 1) level.t = memory.f64(n);
  }
  return levels;
}

/** One symmetric V-cycle from level `l` down: e ≈ A⁻¹ r (padded vectors, 0 on known pixels). */
export function vcycle(levels: Level[], l: number, C: number, r: Float64Array, e: Float64Array): void {
  const level = levels[l];
  if (l === levels.length - 1) {
    solveCoarsest(level, C, r, e);
    return;
  }
  const sweeps = l === 0 ? FINE_SWEEPS : COARSE_SWEEPS;
  smoothFromZero(level, C, r, e);
  for (let k = 1; k < sweeps; k++) smooth(level, C, r, e, true);
  const coarse = levels[l + 1];
  if (sweeps === 1) {
    restrictSweepResidual(level, coarse, C, e, coarse.r);
  } else {
    const t = level.t;
    residualOf(level, C, e, r, t);
    restrict(level, coarse, C, t, coarse.r);
  }
  vcycle(levels, l + 1, C, coarse.r, coarse.e);
  prolong(level, coarse, C, coarse.e, e);
  for (let k = 0; k < sweeps; k++) smooth(level, C, r, e, false);
}
