import type { Image } from "./types.ts";

/**
 * Quality metrics on the 0–255 scale, the paper's protocol: MAE and MSE over all pixels and channels,
 * PSNR with peak 255, SSIM after Wang et al. 2004 (11×11 Gaussian window, σ = 1.5, K1 = 0.01, K2 = 0.03,
 * statistics over "valid" window positions as in the authors' reference code), averaged over channels.
 */

function checkSameShape(a: Image, b: Image): void {
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) {
    throw new Error(
      `images differ in shape: ${a.width}×${a.height}×${a.channels} vs ${b.width}×${b.height}×${b.channels}`,
    );
  }
}

export function mae(a: Image, b: Image): number {
  checkSameShape(a, b);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i] - b.data[i]);
  return sum / a.data.length;
}

export function mse(a: Image, b: Image): number {
  checkSameShape(a, b);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i] - b.data[i];
    sum += d * d;
  }
  return sum / a.data.length;
}

/** PSNR in dB with peak 255; Infinity for identical images. */
export function psnr(a: Image, b: Image): number {
  const m = mse(a, b);
  return m === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / m);
}

const SSIM_C1 = (0.01 * 255) ** 2;
const SSIM_C2 = (0.03 * 255) ** 2;

/** Normalised 1-D Gaussian of odd length. */
export function gaussianKernel(size: number, sigma: number): Float64Array {
  const k = new Float64Array(size);
  const r = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    k[i] = Math.exp(-((i - r) ** 2) / (2 * sigma * sigma));
    sum += k[i];
  }
  for (let i = 0; i < size; i++) k[i] /= sum;
  return k;
}

/** Separable "valid" filtering of a plane (w×h) with kernel k: output (w-n+1)×(h-n+1). */
function filterValid(plane: Float64Array, w: number, h: number, k: Float64Array): Float64Array {
  const n = k.length;
  const ow = w - n + 1;
  const oh = h - n + 1;
  const rows = new Float64Array(ow * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      const base = y * w + x;
      for (let i = 0; i < n; i++) s += k[i] * plane[base + i];
      rows[y * ow + x] = s;
    }
  }
  const out = new Float64Array(ow * oh);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += k[i] * rows[(y + i) * ow + x];
      out[y * ow + x] = s;
    }
  }
  return out;
}

/** Output rows of the SSIM map computed at a time: bounds its memory (~15 planes of the band, not of the image). */
const SSIM_BAND_ROWS = 128;

/**
 * Mean SSIM over channels. Images smaller than the 11×11 window use the largest odd window that fits
 * (σ scaled alike), so that every size from 1×1 up has a defined value. The map is computed in bands of
 * rows, summed in the same order as over the whole map (the same value, bit for bit), so that a 12 MP image
 * needs megabytes here rather than gigabytes.
 */
export function ssim(a: Image, b: Image): number {
  checkSameShape(a, b);
  const { width: w, height: h, channels } = a;
  const size = Math.min(11, (Math.min(w, h) - 1) | 1);
  const kernel = gaussianKernel(size, (1.5 * size) / 11);
  const outRows = h - size + 1;
  let total = 0;
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let oy0 = 0; oy0 < outRows; oy0 += SSIM_BAND_ROWS) {
      const bandRows = Math.min(SSIM_BAND_ROWS, outRows - oy0) + size - 1;
      const n = w * bandRows;
      const x = new Float64Array(n);
      const y = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const p = (oy0 * w + i) * channels + c;
        x[i] = a.data[p];
        y[i] = b.data[p];
      }
      const xx = x.map((v) => v * v);
      const yy = y.map((v) => v * v);
      const xy = x.map((v, i) => v * y[i]);
      const mx = filterValid(x, w, bandRows, kernel);
      const my = filterValid(y, w, bandRows, kernel);
      const sxx = filterValid(xx, w, bandRows, kernel);
      const syy = filterValid(yy, w, bandRows, kernel);
      const sxy = filterValid(xy, w, bandRows, kernel);
      for (let i = 0; i < mx.length; i++) {
        const vx = sxx[i] - mx[i] * mx[i];
        const vy = syy[i] - my[i] * my[i];
        const cxy = sxy[i] - mx[i] * my[i];
        sum +=
          ((2 * mx[i] * my[i] + SSIM_C1) * (2 * cxy + SSIM_C2)) /
          ((mx[i] * mx[i] + my[i] * my[i] + SSIM_C1) * (vx + vy + SSIM_C2));
      }
    }
    total += sum / ((w - size + 1) * outRows);
  }
  return total / channels;
}

export interface QualityFigures {
  mae: number;
  mse: number;
  psnr: number;
  ssim: number;
}

export function quality(reference: Image, test: Image): QualityFigures {
  return {
    mae: mae(reference, test),
    mse: mse(reference, test),
    psnr: psnr(reference, test),
    ssim: ssim(reference, test),
  };
}
