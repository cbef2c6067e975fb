import { targetCount } from "../image/types.ts";
import { ditherScores } from "../mask/dither.ts";
import { topCountMask } from "../mask/topk.ts";
import { inpaintingGenerator, maskGenerator, type Weights } from "./models.ts";
import { Rng } from "./ops.ts";
import { ssimPerImage } from "./ssim.ts";
import { tf } from "./tf.ts";
import type { TrainOptions } from "./train.ts";

/**
 * Validation during training: on fixed centre crops, at the validation densities of the run's range, MAE
 * (and SSIM) with exact-count masks as the codec makes them, with the network's own rounding, and with a
 * uniformly random mask (the inpainting generator alone), and the Eq. (4) loss. Fixed noise (seed 12345), so
 * that figures compare between steps and with torch/train.py's validation.
 */

export interface ValidationContext {
  weights: Weights;
  options: TrainOptions;
  val?: { data: Float32Array; count: number };
  state: { step: number };
}

export interface ValResult {
  step: number;
  /** Mean over the validation densities of the Eq. (4) loss with the network's own rounding. */
  maskLoss: number;
  perDensity: Array<{
    density: number;
    /** MAE (0-255) with the mask thresholded to exactly the target count (what the codec does). */
    maeExact: number;
    /** MAE (0-255) with the network's own hard rounding. */
    maeRound: number;
    densityRound: number;
    maskLoss: number;
    /** MAE (0-255) of g with a uniformly random mask of the same density (g alone). */
    maeRandom: number;
    /** Mean SSIM with the exact-count masks (absent in older logs). */
    ssimExact?: number;
  }>;
}

export function validationDensities(min: number, max: number): number[] {
  if (min === max) return [min];
  return [0.01, 0.02, 0.05, 0.1, 0.2].filter((d) => d >= min - 1e-12 && d <= max + 1e-12);
}

/** Validation on the fixed centre crops: MAE (exact density and own rounding) and the Eq. (4) loss. */
export function validateOnCrops(t: ValidationContext): ValResult | null {
  if (!t.val || t.val.count === 0) return null;
  const o = t.options;
  const S = o.valSize;
  const N = t.val.count;
  const per: ValResult["perDensity"] = [];
  const chunk = 8;
  for (const density of validationDensities(o.densityMin, o.densityMax)) {
    const rng = new Rng(12345);
    let sumExact = 0;
    let sumSsim = 0;
    let sumRound = 0;
    let sumRandom = 0;
    let sumDensity = 0;
    for (let start = 0; start < N; start += chunk) {
      const n = Math.min(chunk, N - start);
      const shape: [number, number, number, number] = [n, S, S, 3];
      const shape1: [number, number, number, number] = [n, S, S, 1];
      const fData = t.val.data.subarray(start * S * S * 3, (start + n) * S * S * 3);
      const noiseM = rng.fill(new Float32Array(n * S * S));
      const noiseG = rng.fill(new Float32Array(n * S * S));
      const random = new Float32Array(n * S * S);
      for (let i = 0; i < random.length; i++) random[i] = rng.next() < density ? 1 : 0;
      const ds = new Array(n).fill(density);
      const [zTensor, figures] = tf.tidy(() => {
        const f = tf.tensor4d(fData, shape);
        const rG = tf.tensor4d(noiseG, shape1);
        const { z, b } = maskGenerator(t.weights, o.arch, f, tf.tensor4d(noiseM, shape1), ds);
        const uRound = inpaintingGenerator(t.weights, o.arch, f, b, rG, ds).u;
        const uRandom = inpaintingGenerator(t.weights, o.arch, f, tf.tensor4d(random, shape1), rG, ds).u;
        const sums = [
          tf.sum(tf.mean(tf.abs(tf.sub(f, uRound)), [1, 2, 3])),
          tf.sum(tf.mean(tf.abs(tf.sub(f, uRandom)), [1, 2, 3])),
          tf.sum(tf.mean(b, [1, 2, 3])),
        ].map((t) => t.dataSync()[0]);
        return [tf.keep(z), sums] as const;
      });
      // the logits are read outside tidy, which would walk a returned typed array element by element
      const zData = zTensor.dataSync() as Float32Array;
      zTensor.dispose();
      sumRound += figures[0];
      sumRandom += figures[1];
      sumDensity += figures[2];
      const count = targetCount(S * S, density);
      const exact = new Float32Array(n * S * S);
      for (let i = 0; i < n; i++) {
        const block = zData.subarray(i * S * S, (i + 1) * S * S);
        const mask = o.ditherMasks ? ditherScores(block, S, S, count) : topCountMask(block, S * S, count);
        exact.set(mask, i * S * S);
      }
      const [exactL1, exactSsim] = tf.tidy(() => {
        const f = tf.tensor4d(fData, shape);
        const b = tf.tensor4d(Float32Array.from(exact), shape1);
        const { u } = inpaintingGenerator(t.weights, o.arch, f, b, tf.tensor4d(noiseG, shape1), ds);
        return [tf.sum(tf.mean(tf.abs(tf.sub(f, u)), [1, 2, 3])), tf.sum(ssimPerImage(f, u))].map(
          (t) => t.dataSync()[0],
        );
      });
      sumExact += exactL1;
      sumSsim += exactSsim;
    }
    const maeRound = sumRound / N;
    const densityRound = sumDensity / N;
    per.push({
      density,
      maeExact: (sumExact / N) * 255,
      ssimExact: sumSsim / N,
      maeRound: maeRound * 255,
      maeRandom: (sumRandom / N) * 255,
      densityRound,
      maskLoss: Math.abs(densityRound - density) + o.beta * maeRound,
    });
  }
  const maskLoss = per.reduce((s, p) => s + p.maskLoss, 0) / per.length;
  return { step: t.state.step, maskLoss, perDensity: per };
}
