/**
 * Conjugate gradients preconditioned with one multigrid V-cycle (multigrid.ts), all channels at once: one
 * set of CG scalars per channel, a channel stops moving once it has converged. Stops at a relative residual
 * ‖b − Ax‖₂ / ‖b‖₂ ≤ tolerance, with b the contribution of the known pixels; x holds the initial guess
 * (warm start) and receives the solution.
 *
 * The CG vector updates are fused with the V-cycle's first and last sweeps (updateAndSweep, finishVcycle),
 * which saves passes over memory. Like the multigrid's, every loop here has a WebAssembly twin that runs
 * while a solve is bound (kernel-binding.ts).
 */
import { at, bound } from "./kernel-binding.ts";
import {
  type Level,
  prolong,
  residualOf,
  restrictSweepResidual,
  smooth,
  smoothBackwardDot3,
  vcycle,
} from "./multigrid.ts";

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

/**
 * Per-channel dot products of two interleaved vectors, each channel's sum in index order (on the kernels
 * while a solve is bound, on this loop otherwise: the same sums).
 */
export function dot(a: Float64Array, b: Float64Array, C: number): Float64Array {
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
 * The rest of a fine-level V-cycle whose first sweep (from zero, into z) updateAndSweep has done: coarse
 * correction, then the backward sweep with r·z accumulated as z is finalised. Returns r·z per channel.
 */
function finishVcycle(levels: Level[], C: number, r: Float64Array, z: Float64Array): Float64Array {
  const fine = levels[0];
  const coarse = levels[1];
  restrictSweepResidual(fine, coarse, C, z, coarse.r);
  vcycle(levels, 1, C, coarse.r, coarse.e);
  prolong(fine, coarse, C, coarse.e, z);
  if (C !== 3) {
    smooth(fine, C, r, z, false);
    return dot(r, z, C);
  }
  return smoothBackwardDot3(fine, r, z);
}

/**
 * Solves A x = b on the levels' finest grid by preconditioned CG. `b` must be 0 on known pixels; `x` holds
 * the initial guess on the unknowns and receives the solution, its entries at known pixels and on the ring
 * set to 0. `bufs`: the work vectors r, z, p, q, allocated here as far as missing (zero padding rings).
 * Returns the iterations and the final relative residual per channel.
 *
 * `scratchRhs`: the caller no longer needs b, so the solve uses it as q once the initial residual is formed
 * (one vector less: 100 MB at 12 MP).
 */
export function conjugateGradients(
  levels: Level[],
  C: number,
  bufs: Float64Array[],
  b: Float64Array,
  x: Float64Array,
  tolerance: number,
  maxIterations: number,
  scratchRhs = false,
): { iterations: number[]; residuals: number[] } {
  const fine = levels[0];
  const invDiag = fine.invDiag;
  const n = (fine.w + 2) * (fine.h + 2) * C;
  while (bufs.length < (scratchRhs ? 3 : 4)) bufs.push(new Float64Array(n));
  const [r, z, p] = bufs;
  // q is first written after b's last read (the initial residual and its norm below)
  const q = scratchRhs ? b : bufs[3];
  if (bound) bound.k.zero_known(C, invDiag.length, at(invDiag), at(x));
  else {
    for (let j = 0, i = 0; j < invDiag.length; j++) {
      if (invDiag[j] === 0) for (let c = 0; c < C; c++) x[i + c] = 0;
      i += C;
    }
  }
  const bb = dot(b, b, C);
  for (let c = 0; c < C; c++) {
    if (bb[c] === 0) for (let i = c; i < n; i += C) x[i] = 0;
  }
  const tol2 = tolerance * tolerance;
  const iterations = new Array<number>(C).fill(0);
  const done = new Float64Array(C);
  residualOf(fine, C, x, b, r);
  let rr = dot(r, r, C);
  let active = 0;
  for (let c = 0; c < C; c++) {
    if (rr[c] <= tol2 * bb[c]) done[c] = 1;
    else active++;
  }
  let rz: Float64Array = new Float64Array(C);
  if (active > 0) {
    vcycle(levels, 0, C, r, z);
    p.set(z);
    rz = dot(r, z, C);
  }
  const alpha = new Float64Array(C);
  const beta = new Float64Array(C);
  let it = 0;
  while (active > 0 && it < maxIterations) {
    it++;
    const pq = applyDot(fine, C, p, q);
    for (let c = 0; c < C; c++) {
      alpha[c] = done[c] || pq[c] <= 0 ? 0 : rz[c] / pq[c];
      if (!done[c]) iterations[c] = it;
    }
    // Fused: the x and r updates ride along the V-cycle's first sweep (which reads r only at the pixel it
    // updates), and r·z along its last one; on the final iteration the sweep's work is simply discarded.
    rr = updateAndSweep(fine, C, x, r, p, q, alpha, z);
    active = 0;
    for (let c = 0; c < C; c++) {
      if (!done[c] && (rr[c] <= tol2 * bb[c] || alpha[c] === 0)) done[c] = 1;
      if (!done[c]) active++;
    }
    if (active === 0) break;
    let rzNew: Float64Array;
    if (levels.length > 1) {
      rzNew = finishVcycle(levels, C, r, z);
    } else {
      // a single level is solved directly (tiny images): the sweep into z above is simply replaced
      vcycle(levels, 0, C, r, z);
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
export function applyDot(level: Level, C: number, p: Float64Array, out: Float64Array): Float64Array {
  const { w, h, s, diag, wE, wS } = level;
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
          diag[i] * p[i] - wE[i] * p[i + 1] - wE[i - 1] * p[i - 1] - wS[i] * p[i + s] - wS[i - s] * p[i - s];
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
