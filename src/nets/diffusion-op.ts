import { inpaintDiffusion, solveWithSystem } from "../baselines/diffusion.ts";
import { DiffusionSystem, toPadded } from "../baselines/diffusion-system.ts";
import { createImage } from "../image/types.ts";
import { tf } from "./tf.ts";

/**
 * Homogeneous diffusion inpainting as a tfjs op, with the exact gradient with respect to the mask.
 *
 * Why: the inpainting generator learns a correction of an interpolation of the known pixels (see
 * ArchOptions.interpolation). Homogeneous diffusion is a much better interpolation than pull-push for the
 * masks that matter (measured in docs/notes/nets.md), and its gradient tells the mask generator how much
 * keeping each pixel would improve it: the signal that mask optimisation for diffusion needs.
 *
 * Forward: per sample, u solves c (u - f) - (1 - c) L u = 0 (L the 4-neighbour graph Laplacian with
 * reflecting borders, c the mask rounded at 0.5), with the multigrid-preconditioned CG of src/baselines.
 * Backward, for a loss E with g = dE/du: relax c to real values, A(c) = C - (I - C) L, A u = C f. Then
 * dE/dc_i = -λ_i [(u_i - f_i) + (L u)_i] with Aᵀ λ = g. Writing μ = (I - C) λ, the unknown rows give
 * -L_UU μ_U = g_U (the same SPD system as the forward solve) and the known rows λ_K = g_K + (L μ)_K. At a
 * binary c: for an unknown pixel (L u)_i = 0, so dE/dc_i = μ_i (f_i - u_i); for a known pixel u_i = f_i, so
 * dE/dc_i = -λ_i (L u)_i. Channels share the mask: their contributions add. The known values get
 * dE/df_K = λ_K (u is linear in them; the unknown values of f are not used, so their gradient is 0): what
 * the gan backend's tonal optimisation needs, since the encoder there chooses the stored values; in training
 * f is data and the gradient goes nowhere. Both are checked against finite differences of a dense solve in
 * test/nets/diffusion-op.test.ts.
 */

/**
 * Relative residual of the CG solves: 1e-4 on the [0, 1] scale is far below what the networks resolve (the
 * decoder of format version 6 stops large windows earlier: diffusionInputTolerance in src/codec/stream.ts).
 */
export const DIFFUSION_INPUT_TOLERANCE = 1e-4;

interface SampleSolve {
  system: DiffusionSystem | null;
  /** The solution (values at every pixel); padded only if a gradient is asked for. */
  u: Float32Array | null;
}

/**
 * The diffusion input of one window at inference, as diffusionInterpolation computes it for a sample: f the
 * values (w × h × C, [0, 1]), b the mask (known where > 0.5). The tiled decoder computes it on the main thread
 * and hands it to the window's networks (InpaintJob.interpolation), so that worker threads need no memory
 * for the solver. `tolerance` is the CG's relative residual (DIFFUSION_INPUT_TOLERANCE unless a format
 * version says otherwise), in `arithmetic` (float64 unless a format version says otherwise); colour windows are
 * solved all channels at once up to `perChannelPixels` (default inpaintDiffusion's PER_CHANNEL_PIXELS, 2^21, a
 * 1448² window), one channel at a time above (the same values in either arithmetic).
 */
export function diffusionInput(
  f: Float32Array,
  b: Float32Array,
  w: number,
  h: number,
  C: 1 | 3,
  tolerance: number = DIFFUSION_INPUT_TOLERANCE,
  perChannelPixels?: number,
  arithmetic: "float64" | "float32" = "float64",
): Float32Array {
  const { mask, known } = binaryMask(b);
  // nothing known: the mid-grey a decoder would have to guess
  if (known === 0) return new Float32Array(w * h * C).fill(0.5);
  const options = { tolerance, perChannelPixels, arithmetic };
  return inpaintDiffusion(createImage(w, h, C, f), { width: w, height: h, data: mask }, options).image
    .data as Float32Array;
}

/** The mask c rounded at 0.5, and how many pixels it keeps. */
function binaryMask(b: Float32Array): { mask: Uint8Array; known: number } {
  const mask = new Uint8Array(b.length);
  let known = 0;
  for (let i = 0; i < mask.length; i++) {
    mask[i] = b[i] > 0.5 ? 1 : 0;
    known += mask[i];
  }
  return { mask, known };
}

/**
 * A choice for diffusionInput's perChannelPixels where memory is short: colour windows over 2^19 pixels solved
 * one channel at a time (the same values, a third of the solver's vectors: about 130 MB less for a 1280²
 * window, for a third more time).
 */
export const DIFFUSION_INPUT_PER_CHANNEL_PIXELS = 1 << 19;

export function diffusionInterpolation(f: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, C] = f.shape;
  const pixels = h * w;
  const fData = f.dataSync() as Float32Array;
  const bData = b.dataSync() as Float32Array;
  const solves: SampleSolve[] = [];
  const out = new Float32Array(n * pixels * C);
  // Inference (no gradient tape): no system kept for the gradient, so each sample is solved as the diffusion
  // decoder solves, its system built in the WebAssembly kernels' memory (the same values, less set-up).
  const inference = !tf.engine().isTapeOn();
  for (let s = 0; s < n; s++) {
    const fs = fData.subarray(s * pixels * C, (s + 1) * pixels * C);
    const bs = bData.subarray(s * pixels, (s + 1) * pixels);
    const os = out.subarray(s * pixels * C, (s + 1) * pixels * C);
    if (inference) {
      os.set(diffusionInput(fs, bs, w, h, C as 1 | 3));
      continue;
    }
    const { mask, known } = binaryMask(bs);
    if (known === 0) {
      // nothing known: the mid-grey a decoder would have to guess; no gradient
      os.fill(0.5);
      solves.push({ system: null, u: null });
      continue;
    }
    const values = createImage(w, h, C as 1 | 3, fs);
    const system = new DiffusionSystem(w, h, mask, C as 1 | 3);
    const result = solveWithSystem(system, values, { tolerance: DIFFUSION_INPUT_TOLERANCE });
    os.set(result.image.data);
    solves.push({ system, u: result.image.data });
  }
  const value = tf.tensor4d(out, [n, h, w, C]);
  // Inference: the solution itself. The op below adds zeros to it (0 · sum f, which is 0 for the finite f
  // here), so the values are the same; it costs six passes over the image.
  if (inference) return value;
  const op = tf.customGrad(((fIn: tf.Tensor, bIn: tf.Tensor) => ({
    // tie the output to the inputs so that tfjs routes the gradient through gradFunc
    value: tf.add(value, tf.mul(tf.sum(tf.mul(fIn, 0)), tf.sum(tf.mul(bIn, 0)))),
    gradFunc: (dy: tf.Tensor) => {
      const grads = gradients(dy.dataSync() as Float32Array, fData, solves, w, h, C);
      return [tf.tensor4d(grads.values, [n, h, w, C]), tf.tensor4d(grads.mask, [n, h, w, 1])];
    },
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(f, b) as tf.Tensor4D;
}

/**
 * dE/dc for every sample and pixel (summed over channels) and dE/df (per channel, nonzero on known pixels
 * only), from dy = dE/du.
 */
function gradients(
  dy: Float32Array,
  fData: Float32Array,
  solves: SampleSolve[],
  w: number,
  h: number,
  C: number,
): { mask: Float32Array; values: Float32Array } {
  const pixels = w * h;
  const grad = new Float32Array(solves.length * pixels);
  const values = new Float32Array(solves.length * pixels * C);
  for (const [s, { system, u: solution }] of solves.entries()) {
    if (!system || !solution) continue;
    const u = toPadded(system, createImage(w, h, C as 1 | 3, solution));
    const stride = system.stride;
    const mask = system.mask;
    const g = toPadded(system, createImage(w, h, C as 1 | 3, dy.slice(s * pixels * C, (s + 1) * pixels * C)));
    const f = toPadded(
      system,
      createImage(w, h, C as 1 | 3, fData.slice(s * pixels * C, (s + 1) * pixels * C)),
    );
    // right-hand side g_U (zero on known pixels), solve -L_UU mu_U = g_U
    const rhs = new Float64Array(system.length);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (mask[y * w + x]) continue;
        const q = ((y + 1) * stride + x + 1) * C;
        for (let c = 0; c < C; c++) rhs[q + c] = g[q + c];
      }
    }
    const mu = new Float64Array(system.length);
    system.solve(rhs, mu, DIFFUSION_INPUT_TOLERANCE, 500);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        const q = ((y + 1) * stride + x + 1) * C;
        let sum = 0;
        if (!mask[i]) {
          for (let c = 0; c < C; c++) sum += mu[q + c] * (f[q + c] - u[q + c]);
        } else {
          const neighbours: number[] = [];
          if (x > 0) neighbours.push(q - C);
          if (x < w - 1) neighbours.push(q + C);
          if (y > 0) neighbours.push(q - stride * C);
          if (y < h - 1) neighbours.push(q + stride * C);
          for (let c = 0; c < C; c++) {
            let lambda = g[q + c];
            let lu = 0;
            for (const p of neighbours) {
              lambda += mu[p + c]; // mu is zero on known pixels
              lu += u[p + c] - u[q + c];
            }
            sum -= lambda * lu;
            values[(s * pixels + i) * C + c] = lambda;
          }
        }
        grad[s * pixels + i] = sum;
      }
    }
  }
  return { mask: grad, values };
}
