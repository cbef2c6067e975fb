/**
 * Tonal optimisation for homogeneous diffusion: for a fixed mask, the values g stored at the mask pixels
 * that minimise ‖M g − f‖₂², where M is the inpainting operator (linear in g: g itself on the mask,
 * A⁻¹ B g elsewhere, A the Laplacian on the unknowns, B the coupling to the known pixels). Solved by CG on
 * the normal equations Mᵀ M g = Mᵀ f, started from the original values; each iteration costs one inpainting
 * (A⁻¹ B p) and one adjoint inpainting (Bᵀ A⁻¹ y) with the multigrid solver, all channels at once. The
 * result is clipped to [0, 255] and kept only if its squared error is below that of the original values.
 */
import { invalidParameter } from "../errors.ts";
import type { TonalOptimiser } from "../image/seams.ts";
import type { Image, Mask } from "../image/types.ts";
import { createImage } from "../image/types.ts";
import { dot } from "./cg.ts";
import { checkInpaintingInput } from "./diffusion.ts";
import { DiffusionSystem, fromPadded, toPadded } from "./diffusion-system.ts";
import { releaseLargeArena } from "./wasm-kernels.ts";

export interface TonalOptions {
  /** Maximum CG iterations on the normal equations. Default 100. */
  maxIterations?: number;
  /** Stop when the normal equations' residual Mᵀ(f − M g) has fallen by this factor, per channel. Default 1e-2. */
  tolerance?: number;
  /** Relative residual of the inner inpaintings. Default 1e-6. */
  innerTolerance?: number;
  /** Values to start from at the mask's pixels (default: the image's own). */
  start?: Image;
  /** 1 at mask pixels whose start value is kept as it is: only the others are optimised. */
  fixed?: Uint8Array;
  /** Scale of the Jacobi-like preconditioner (1 + κ · area of each point's nearest-pixel region); 0: none. */
  precondition?: number;
}

/**
 * For every mask pixel, the number of pixels nearer to it than to any other mask pixel (4-neighbour
 * distance, ties to the first reached): a multi-source breadth-first search, O(pixels).
 */
export function nearestAreas(width: number, height: number, mask: Uint8Array): Int32Array {
  const n = width * height;
  const owner = new Int32Array(n).fill(-1);
  const queue = new Int32Array(n);
  let head = 0;
  let tail = 0;
  for (let i = 0; i < n; i++) {
    if (mask[i]) {
      owner[i] = i;
      queue[tail++] = i;
    }
  }
  while (head < tail) {
    const i = queue[head++];
    const o = owner[i];
    const x = i % width;
    if (x > 0 && owner[i - 1] < 0) {
      owner[i - 1] = o;
      queue[tail++] = i - 1;
    }
    if (x < width - 1 && owner[i + 1] < 0) {
      owner[i + 1] = o;
      queue[tail++] = i + 1;
    }
    if (i >= width && owner[i - width] < 0) {
      owner[i - width] = o;
      queue[tail++] = i - width;
    }
    if (i + width < n && owner[i + width] < 0) {
      owner[i + width] = o;
      queue[tail++] = i + width;
    }
  }
  const area = new Int32Array(n);
  for (let i = 0; i < n; i++) if (owner[i] >= 0) area[owner[i]]++;
  return area;
}

export interface TonalResult {
  /** Values to store: the optimised values at mask pixels, the original elsewhere. */
  values: Image;
  /** Reconstruction from the stored values. */
  reconstruction: Image;
  /** Mean squared error of the reconstruction from the original and from the optimised values. */
  mseBefore: number;
  mseAfter: number;
  iterations: number;
  /** False when clipping made the optimum worse than the original values, which are then returned. */
  improved: boolean;
}

/** out = Bᵀ z: for each known pixel, the sum of z over its unknown neighbours (padded vectors). */
function couplingAdjoint(system: DiffusionSystem, z: Float64Array, out: Float64Array): void {
  const { width: w, height: h, stride: s, mask, channels: C } = system;
  out.fill(0);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!mask[i]) continue;
      const q = ((y + 1) * s + x + 1) * C;
      for (let c = 0; c < C; c++) {
        let v = 0;
        if (x > 0 && !mask[i - 1]) v += z[q - C + c];
        if (x < w - 1 && !mask[i + 1]) v += z[q + C + c];
        if (y > 0 && !mask[i - w]) v += z[q - s * C + c];
        if (y < h - 1 && !mask[i + w]) v += z[q + s * C + c];
        out[q + c] = v;
      }
    }
  }
}

/** The preconditioner's diagonal, padded like the system's vectors: 1 / (1 + κ · nearest-pixel area) at mask pixels. */
function inverseAreaScaling(system: DiffusionSystem, mask: Uint8Array, kappa: number): Float64Array {
  const { width: w, height: h, stride, channels: C } = system;
  const invD = new Float64Array(system.length).fill(1);
  const area = nearestAreas(w, h, mask);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const q = ((y + 1) * stride + x + 1) * C;
      for (let c = 0; c < C; c++) invD[q + c] = 1 / (1 + kappa * area[y * w + x]);
    }
  }
  return invD;
}

export function optimiseTonal(image: Image, mask: Mask, options: TonalOptions = {}): TonalResult {
  checkInpaintingInput(image, mask);
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-2;
  const inner = options.innerTolerance ?? 1e-6;
  if (!(tolerance > 0 && tolerance < 1)) throw invalidParameter("tolerance", "a number in (0, 1)", tolerance);
  const { width: w, height: h, channels: C } = image;
  // Built in the kernels' memory where it can be (its solves then copy nothing in and out: a least-squares
  // window makes some twenty of them), with room for b and tmp and the CG's four work vectors.
  const system = DiffusionSystem.resident(w, h, mask.data, C, 6) ?? new DiffusionSystem(w, h, mask.data, C);
  const n = system.length;
  const stride = system.stride;
  const isKnown = new Uint8Array(n);
  const isUnknown = new Uint8Array(n);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const q = ((y + 1) * stride + x + 1) * C;
      for (let c = 0; c < C; c++) {
        if (mask.data[y * w + x]) isKnown[q + c] = 1;
        else isUnknown[q + c] = 1;
      }
    }
  }
  const f = toPadded(system, image);
  const b = system.vector();
  const tmp = system.vector();
  /** out = M g (full image from values at known pixels). */
  const forward = (g: Float64Array, out: Float64Array) => {
    system.rhs(g, b);
    tmp.fill(0);
    system.solve(b, tmp, inner);
    for (let i = 0; i < n; i++) out[i] = isKnown[i] ? g[i] : tmp[i];
  };
  /** out = Mᵀ y (values at known pixels). */
  const adjoint = (y: Float64Array, out: Float64Array) => {
    for (let i = 0; i < n; i++) b[i] = isUnknown[i] ? y[i] : 0;
    tmp.fill(0);
    system.solve(b, tmp, inner);
    couplingAdjoint(system, tmp, out);
    for (let i = 0; i < n; i++) out[i] = isKnown[i] ? out[i] + y[i] : 0;
  };
  const sse = (u: Float64Array) => {
    let e = 0;
    for (let i = 0; i < n; i++) {
      const d = u[i] - f[i];
      e += d * d;
    }
    return e;
  };
  const start = options.start ? toPadded(system, options.start) : f;
  const frozen = new Uint8Array(n);
  if (options.fixed) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (!options.fixed[y * w + x]) continue;
        const q = ((y + 1) * stride + x + 1) * C;
        for (let c = 0; c < C; c++) frozen[q + c] = 1;
      }
    }
  }
  const g = new Float64Array(n);
  for (let i = 0; i < n; i++) g[i] = isKnown[i] ? start[i] : 0;
  const u0 = new Float64Array(n);
  forward(g, u0);
  const sseBefore = sse(u0);
  // r = Mᵀ (f − M g)
  const res = new Float64Array(n);
  for (let i = 0; i < n; i++) res[i] = f[i] - u0[i];
  const r = new Float64Array(n);
  adjoint(res, r);
  // Fixed values take no part: their gradient is zero, so no search direction moves them.
  for (let i = 0; i < n; i++) if (frozen[i]) r[i] = 0;
  const kappa = options.precondition ?? 0;
  // Without a preconditioner z is r itself (no two more vectors of the image's size).
  const invD = kappa > 0 ? inverseAreaScaling(system, mask.data, kappa) : undefined;
  const z = invD ? new Float64Array(n) : r;
  if (invD) for (let i = 0; i < n; i++) z[i] = invD[i] * r[i];
  const p = new Float64Array(z);
  const rz = dot(r, z, C);
  const mp = new Float64Array(n);
  const q = new Float64Array(n);
  const rr = dot(r, r, C);
  const norm = new Float64Array(rr);
  let iterations = 0;
  const done = new Uint8Array(C);
  for (let it = 0; it < maxIterations; it++) {
    let active = 0;
    for (let c = 0; c < C; c++) {
      if (rr[c] <= tolerance * tolerance * norm[c]) done[c] = 1;
      if (!done[c]) active++;
    }
    if (active === 0) break;
    iterations++;
    forward(p, mp);
    const pq = dot(mp, mp, C);
    adjoint(mp, q);
    for (let i = 0; i < n; i++) if (frozen[i]) q[i] = 0;
    const alpha = new Float64Array(C);
    for (let c = 0; c < C; c++) alpha[c] = done[c] || pq[c] <= 0 ? 0 : rz[c] / pq[c];
    const rrNew = new Float64Array(C);
    const rzNew = new Float64Array(C);
    // channel by channel (each channel's values in the order of the interleaved loop: the same sums), which
    // spares every value an integer division by C
    for (let c = 0; c < C; c++) {
      const a = alpha[c];
      let sr = 0;
      let sz = 0;
      for (let i = c; i < n; i += C) {
        g[i] += a * p[i];
        const ri = r[i] - a * q[i];
        r[i] = ri;
        const zi = invD ? invD[i] * ri : ri;
        if (invD) z[i] = zi;
        sr += ri * ri;
        sz += ri * zi;
      }
      rrNew[c] = sr;
      rzNew[c] = sz;
    }
    for (let c = 0; c < C; c++) {
      const beta = rzNew[c] / rz[c];
      if (done[c]) for (let i = c; i < n; i += C) p[i] = 0;
      else for (let i = c; i < n; i += C) p[i] = z[i] + beta * p[i];
    }
    for (let c = 0; c < C; c++) {
      rr[c] = rrNew[c];
      rz[c] = rzNew[c];
    }
  }
  // Clip, and round to float32 as the stored Image will.
  for (let i = 0; i < n; i++) if (isKnown[i]) g[i] = Math.fround(Math.min(255, Math.max(0, g[i])));
  const u1 = new Float64Array(n);
  forward(g, u1);
  const sseAfter = sse(u1);
  const improved = sseAfter < sseBefore;
  const values = createImage(w, h, C, new Float32Array(image.data));
  if (options.start) {
    for (let i = 0; i < w * h; i++) {
      if (!mask.data[i]) continue;
      for (let c = 0; c < C; c++) values.data[i * C + c] = options.start.data[i * C + c];
    }
  }
  const reconstruction = createImage(w, h, C);
  if (improved) {
    // Only the mask's values change; the rest of `values` stays the original.
    const gImage = createImage(w, h, C);
    fromPadded(system, g, gImage);
    for (let i = 0; i < w * h; i++) {
      if (!mask.data[i]) continue;
      for (let c = 0; c < C; c++) values.data[i * C + c] = gImage.data[i * C + c];
    }
  }
  fromPadded(system, improved ? u1 : u0, reconstruction);
  releaseLargeArena(); // a resident system of a large image is done with
  const count = w * h * C;
  return {
    values,
    reconstruction,
    mseBefore: sseBefore / count,
    mseAfter: (improved ? sseAfter : sseBefore) / count,
    iterations,
    improved,
  };
}

/** The diffusion backend's TonalOptimiser: values to store at mask positions. */
export function tonalOptimiser(options: TonalOptions = {}): TonalOptimiser {
  return {
    async optimise(image: Image, mask: Mask): Promise<Image> {
      return optimiseTonal(image, mask, options).values;
    },
  };
}
