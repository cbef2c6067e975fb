/**
 * Analytic masks for homogeneous diffusion (Belhachmi, Bucur, Burgeth, Weickert 2009): the density of kept
 * pixels should grow with the magnitude of the Laplacian of the (slightly smoothed) image. Realised here as
 * a score map s = log(|Δ(G_σ * f)| + ε) that `ditherScores` turns into exactly `count` pixels with local
 * density ∝ |Δ(G_σ * f)| (the logistic map of the dithering is ≈ exp(s − t) at small densities).
 *
 * σ grows as the pixels get sparser: σ = 0.4 / sqrt(D), about 40 % of the mean distance between kept pixels.
 * Measured on the first 16 BSDS500 val images (128×128 centre crops, diffusion inpainting, MAE 0–255) at
 * D = 1 / 2 / 5 / 10 / 20 %: σ = 0.25/√D: 23.78 / 19.51 / 14.00 / 9.88 / 6.04; 0.33/√D: 22.29 / 18.53 /
 * 13.40 / 9.69 / 6.06; 0.45/√D: 21.73 / 18.02 / 13.31 / 9.90 / 6.41 (a flat dithered mask: 19.56 at 2 %,
 * 15.23 / 11.93 / 8.71 at 5 / 10 / 20 %). A fixed σ fails at one end or the other.
 *
 * Used as the `analytic` mask selector of the diffusion backend (milliseconds instead of PS's seconds) and
 * as the prior the mask generator starts from in training (src/nets/train.ts, maskPriorUntil).
 */
import type { MaskSelector } from "../image/seams.ts";
import { createMask, type Image, targetCount } from "../image/types.ts";
import { ditherScores } from "./dither.ts";

/** Smoothing scale for a density. */
export function analyticSigma(density: number): number {
  return 0.4 / Math.sqrt(density);
}

/**
 * Scores log(|Δ(G_σ * g)| + ε) of a grey image g (row-major, any scale; ε is relative to `range`, the
 * value range of g: 255 for 0–255 images, 1 for [0, 1]), with reflecting borders. Mean-free.
 */
export function analyticScores(
  grey: Float64Array | Float32Array,
  width: number,
  height: number,
  density: number,
  range = 255,
): Float32Array {
  const magnitude = laplacianMagnitude(grey, width, height, analyticSigma(density));
  const eps = 0.5 * (range / 255);
  const out = new Float32Array(width * height);
  let mean = 0;
  for (let i = 0; i < out.length; i++) {
    const v = Math.log(magnitude[i] + eps);
    out[i] = v;
    mean += v;
  }
  mean /= width * height;
  for (let i = 0; i < out.length; i++) out[i] -= mean;
  return out;
}

/** |Δ(G_σ ∗ g)| per pixel (5-point Laplacian, reflecting borders); σ = 0: the Laplacian of g itself. */
export function laplacianMagnitude(
  grey: Float64Array | Float32Array,
  width: number,
  height: number,
  sigma: number,
): Float64Array {
  const smooth = sigma > 0 ? gaussianBlur(grey, width, height, sigma) : grey;
  const out = new Float64Array(width * height);
  const at = (x: number, y: number) =>
    smooth[Math.min(height - 1, Math.max(0, y)) * width + Math.min(width - 1, Math.max(0, x))];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      out[y * width + x] = Math.abs(at(x + 1, y) + at(x - 1, y) + at(x, y + 1) + at(x, y - 1) - 4 * at(x, y));
    }
  }
  return out;
}

/**
 * analyticScores of each image of a batch (NHWC, values on [0, 1]), one density per image: [N·H·W] scores.
 * Used by the mask generator's prior and the trainer's prior target.
 */
export function analyticScoresBatch(
  data: Float32Array,
  n: number,
  height: number,
  width: number,
  channels: number,
  densities: readonly number[],
): Float32Array {
  const pixels = height * width;
  const out = new Float32Array(n * pixels);
  for (let i = 0; i < n; i++) {
    const grey = greyOf(data.subarray(i * pixels * channels, (i + 1) * pixels * channels), pixels, channels);
    out.set(analyticScores(grey, width, height, densities[i], 1), i * pixels);
  }
  return out;
}

/** The channel mean of an interleaved image. */
export function greyOf(data: Float32Array, pixels: number, channels: number): Float64Array {
  const g = new Float64Array(pixels);
  for (let i = 0; i < pixels; i++) {
    let s = 0;
    for (let c = 0; c < channels; c++) s += data[i * channels + c];
    g[i] = s / channels;
  }
  return g;
}

/** Separable Gaussian blur with reflecting borders (kernel radius 3σ). */
export function gaussianBlur(
  g: Float64Array | Float32Array,
  width: number,
  height: number,
  sigma: number,
): Float64Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const kernel = new Float64Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) {
    kernel[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
    sum += kernel[i + r];
  }
  for (let i = 0; i < kernel.length; i++) kernel[i] /= sum;
  const reflect = (i: number, n: number) => {
    if (n === 1) return 0;
    const period = 2 * n;
    let j = i % period;
    if (j < 0) j += period;
    return j < n ? j : period - 1 - j;
  };
  // The same sums, tap by tap in the same order, as reading every tap through `reflect`; but a tap's
  // source is reflected only within r of an edge (measured: 1.15 s of a 12 MP gan encode before, the
  // per-tap index arithmetic).
  const tmp = new Float64Array(width * height);
  const out = new Float64Array(width * height);
  const source = new Int32Array(2 * r + 1); // the taps' columns (or rows) near an edge
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      let v = 0;
      if (x >= r && x + r < width) {
        for (let i = -r, k = row + x - r; i <= r; i++, k++) v += kernel[i + r] * g[k];
      } else {
        for (let i = -r; i <= r; i++) v += kernel[i + r] * g[row + reflect(x + i, width)];
      }
      tmp[row + x] = v;
    }
  }
  // vertical pass row by row: each output row is a weighted sum of 2r + 1 rows of tmp, added in order
  for (let y = 0; y < height; y++) {
    for (let i = -r; i <= r; i++)
      source[i + r] = (y >= r && y + r < height ? y + i : reflect(y + i, height)) * width;
    const row = y * width;
    for (let i = 0; i < source.length; i++) {
      // out starts at 0, and each tap adds its term in turn: the same sum as one tap loop per pixel
      const k = kernel[i];
      const from = source[i];
      for (let x = 0; x < width; x++) out[row + x] += k * tmp[from + x];
    }
  }
  return out;
}

/** The `analytic` mask selector: dithered analytic density, exactly targetCount pixels, deterministic. */
export function analyticSelector(): MaskSelector {
  return {
    id: "analytic",
    async select(image: Image, density: number) {
      const { width, height, channels } = image;
      const pixels = width * height;
      const scores = analyticScores(greyOf(image.data, pixels, channels), width, height, density);
      return createMask(width, height, ditherScores(scores, width, height, targetCount(pixels, density)));
    },
  };
}
