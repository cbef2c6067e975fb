import { corruptStream } from "../errors.ts";
import type { BitCoder } from "./bitio.ts";
import { BinaryContexts } from "./rangecoder.ts";
import { spacingMultiple } from "./spacing.ts";

/**
 * Adaptive coding of the quantised values at the known pixels, in raster order, channel by channel per
 * pixel.
 *
 * Prediction. For every column the coder remembers the last known pixel decoded in it (a "skyline" of the
 * nearest known pixels above and to the left). A value is predicted as the inverse-square-distance
 * weighted mean of the skyline's pixels within a window whose radius follows the mask's mean spacing
 * (2.5 / sqrt(density)); with no neighbour at all, from the previous value of the channel.
 * For channels after the first, the first channel's residual at the same pixel, scaled, is added to the
 * prediction (inter-channel correlation: large for RGB, small for YCbCr).
 *
 * Residual coding. The residual e = q - prediction is binarised: a zero flag, a sign, then |e| as an
 * Elias-gamma-like class (1, 2, 3–4, 5–8, …) in unary with adaptive contexts, and the bits inside the
 * class (the most significant one adaptive, the rest at probability 1/2). Contexts are chosen by the
 * channel (first or other), by the local activity (the weighted mean absolute deviation of the
 * neighbours around the prediction, in 12 buckets), and for later channels by the size of the first
 * channel's residual. All arithmetic is +, -, *, / on doubles (IEEE-exact, so identical in encoder and
 * decoder on every platform).
 */

export interface ValueModelOptions {
  /** Window radius = clamp(ceil(radiusFactor / sqrt(density)), MIN_RADIUS, MAX_RADIUS); tenths only. */
  radiusFactor: number;
  /** Weight of a neighbour at squared distance d2: 1 / d2^power (power 1 or 2). */
  power: number;
  /** Fraction (in 1/4 steps) of the first channel's residual added to later channels' predictions. */
  interChannel: number;
  /** Count limit (half-counts) of the value contexts. */
  limit: number;
  /** Use only this many nearest skyline neighbours (0 = all in the window). */
  nearest: number;
  /** Subtract the running mean residual of the context from the prediction (LOCO-I style). */
  bias: boolean;
}

export const DEFAULT_VALUE_MODEL: ValueModelOptions = {
  radiusFactor: 2.5,
  power: 1,
  interChannel: 0,
  limit: 512,
  nearest: 6,
  bias: false,
};

/** The model a stream uses: RGB without a colour transform predicts G and B with R's residual added. */
export function valueModelFor(colour: "none" | "ycbcr", channels: number): ValueModelOptions {
  return { ...DEFAULT_VALUE_MODEL, interChannel: colour === "none" && channels === 3 ? 4 : 0 };
}

const MIN_RADIUS = 2;
const MAX_RADIUS = 48;
const ACT_BUCKETS = 12;
const ACT_THRESHOLDS = [0.25, 0.5, 1, 1.5, 2.5, 4, 6, 9, 14, 21, 32];
const CROSS_BUCKETS = 3;
const MAX_CLASS = 9; // |e| <= 255 → class index <= 8

/** A values section that decodes to a level outside the quantiser's range. */
export const valueOutOfRange = () =>
  corruptStream("values section holds a value outside the quantiser's range");

function activityBucket(a: number): number {
  let k = 0;
  while (k < ACT_THRESHOLDS.length && a >= ACT_THRESHOLDS[k]) k++;
  return k;
}

/** Window radius ⌈radiusFactor / √density⌉ clamped to [MIN_RADIUS, MAX_RADIUS], in exact integer arithmetic. */
export function windowRadius(count: number, pixels: number, options: ValueModelOptions): number {
  const r = spacingMultiple(Math.round(options.radiusFactor * 10), 10, count, pixels, MAX_RADIUS);
  return Math.max(MIN_RADIUS, r);
}

class ChannelGroupContexts {
  readonly zero: BinaryContexts;
  readonly sign: BinaryContexts;
  readonly unary: BinaryContexts;
  readonly msb: BinaryContexts;
  constructor(limit: number) {
    this.zero = new BinaryContexts(ACT_BUCKETS * CROSS_BUCKETS, limit);
    this.sign = new BinaryContexts(CROSS_BUCKETS * 3, limit);
    this.unary = new BinaryContexts(ACT_BUCKETS * CROSS_BUCKETS * MAX_CLASS, limit);
    this.msb = new BinaryContexts(MAX_CLASS, limit);
  }
}

/**
 * Codes (or decodes into) q: count * channels level indices, pixel-major, for the known pixels of `mask`
 * in raster order. levels[c] is the number of levels of channel c.
 */
export function codeValues(
  mask: Uint8Array,
  width: number,
  height: number,
  count: number,
  channels: number,
  levels: readonly number[],
  q: Uint8Array,
  io: BitCoder,
  options: ValueModelOptions = DEFAULT_VALUE_MODEL,
): void {
  const R = windowRadius(count, width * height, options);
  const colRow = new Int32Array(width).fill(-1);
  const colIdx = new Int32Array(width);
  const groups = [new ChannelGroupContexts(options.limit), new ChannelGroupContexts(options.limit)];
  const lastValue = new Float64Array(channels);
  for (let c = 0; c < channels; c++) lastValue[c] = (levels[c] - 1) >> 1;
  const sum = new Float64Array(channels);
  const candD2 = new Float64Array(2 * R + 1);
  const candW = new Float64Array(2 * R + 1);
  const candIdx = new Int32Array(2 * R + 1);
  const nearest = options.nearest;
  const bias = options.bias;
  const biasSum = new Float64Array(2 * ACT_BUCKETS);
  const biasN = new Float64Array(2 * ACT_BUCKETS);
  const power = options.power;
  const inter = options.interChannel;

  let j = 0;
  for (let y = 0; y < height; y++) {
    const rowStart = y * width;
    for (let x = 0; x < width; x++) {
      if (!mask[rowStart + x]) continue;
      // Gather the skyline neighbours in the window, keep the `nearest` closest.
      let nc = 0;
      const x0 = Math.max(x - R, 0);
      const x1 = Math.min(x + R, width - 1);
      for (let cx = x0; cx <= x1; cx++) {
        const r = colRow[cx];
        if (r < 0) continue;
        const dy = y - r;
        if (dy > R) continue;
        const dx = cx - x;
        candD2[nc] = dx * dx + dy * dy;
        candIdx[nc] = colIdx[cx];
        nc++;
      }
      if (nearest > 0 && nc > nearest) {
        // Partial selection sort: the `nearest` smallest distances first (ties: the earlier column).
        for (let a = 0; a < nearest; a++) {
          let best = a;
          for (let b = a + 1; b < nc; b++) if (candD2[b] < candD2[best]) best = b;
          if (best !== a) {
            const d = candD2[a];
            candD2[a] = candD2[best];
            candD2[best] = d;
            const t = candIdx[a];
            candIdx[a] = candIdx[best];
            candIdx[best] = t;
          }
        }
        nc = nearest;
      }
      let wsum = 0;
      sum.fill(0);
      for (let k = 0; k < nc; k++) {
        const d2 = candD2[k];
        const w = power === 2 ? 1 / (d2 * d2) : 1 / d2;
        candW[k] = w;
        wsum += w;
        const base = candIdx[k] * channels;
        for (let c = 0; c < channels; c++) sum[c] += w * q[base + c];
      }
      const here = j * channels;
      let firstResidual = 0;
      for (let c = 0; c < channels; c++) {
        const L = levels[c];
        let pred: number;
        let act: number;
        if (wsum > 0) {
          const mean = sum[c] / wsum;
          let dev = 0;
          for (let k = 0; k < nc; k++) {
            const v = q[candIdx[k] * channels + c] - mean;
            dev += candW[k] * (v < 0 ? -v : v);
          }
          act = activityBucket(dev / wsum);
          pred = mean;
        } else {
          pred = lastValue[c];
          act = ACT_BUCKETS - 1;
        }
        const gi = c === 0 ? 0 : 1;
        if (bias) {
          const bi = gi * ACT_BUCKETS + act;
          if (biasN[bi] > 0) pred += biasSum[bi] / biasN[bi];
        }
        let cross = 0;
        if (c > 0) {
          pred += (inter * firstResidual) / 4;
          const a = firstResidual < 0 ? -firstResidual : firstResidual;
          cross = a === 0 ? 0 : a <= 2 ? 1 : 2;
        }
        let p = Math.round(pred);
        if (p < 0) p = 0;
        else if (p > L - 1) p = L - 1;
        const g = groups[gi];
        const actual = q[here + c] - p; // encoder: the residual; decoder: garbage, ignored by io
        const ctxBase = act * CROSS_BUCKETS + cross;
        const e = codeResidual(
          io,
          g,
          ctxBase,
          cross * 3 + (p < L / 3 ? 0 : p < (2 * L) / 3 ? 1 : 2),
          p,
          L,
          actual,
        );
        const value = p + e;
        if (bias) {
          // Running mean of (value - unbiased prediction) per activity context, halved every 64 values.
          const bi = gi * ACT_BUCKETS + act;
          biasSum[bi] += value - (pred - (biasN[bi] > 0 ? biasSum[bi] / biasN[bi] : 0));
          biasN[bi]++;
          if (biasN[bi] >= 64) {
            biasSum[bi] /= 2;
            biasN[bi] /= 2;
          }
        }
        q[here + c] = value;
        lastValue[c] = value;
        if (c === 0) firstResidual = e;
      }
      colRow[x] = y;
      colIdx[x] = j;
      j++;
    }
  }
}

/**
 * Codes one residual e = value - p (value in [0, L-1]) in the contexts of group g: zero flag, sign (implied at
 * the ends of the range), magnitude class in unary, bits inside the class. Returns e (decoded or given).
 */
function codeResidual(
  io: BitCoder,
  g: ChannelGroupContexts,
  ctxBase: number,
  signCtx: number,
  p: number,
  L: number,
  actual: number,
): number {
  if (io.bit(g.zero, ctxBase, actual === 0 ? 1 : 0)) return 0;
  let negative: number;
  if (p === 0) negative = 0;
  else if (p === L - 1) negative = 1;
  else negative = io.bit(g.sign, signCtx, actual < 0 ? 1 : 0);
  const maxMag = negative ? p : L - 1 - p;
  const maxCls = classOf(maxMag);
  const m = actual < 0 ? -actual : actual;
  const cls = classOf(m);
  let k = 0;
  const unaryBase = ctxBase * MAX_CLASS;
  while (k < maxCls && io.bit(g.unary, unaryBase + k, k < cls ? 1 : 0)) k++;
  let mag: number;
  if (k <= 1) mag = k + 1;
  else {
    const lo = (1 << (k - 1)) + 1; // class k covers lo .. 2^k
    const off = m - lo;
    const nbits = k - 1;
    const top = io.bit(g.msb, k, (off >>> (nbits - 1)) & 1);
    const rest = nbits > 1 ? io.evenBits(off & ((1 << (nbits - 1)) - 1), nbits - 1) : 0;
    mag = lo + ((top << (nbits - 1)) | rest);
  }
  if (mag > maxMag) throw valueOutOfRange();
  return negative ? -mag : mag;
}

/** Class of magnitude m >= 0 as used above: 0 for m <= 1, else ceil(log2(m)) (2 → 1, 3..4 → 2, 5..8 → 3, …). */
function classOf(m: number): number {
  return m <= 1 ? 0 : 32 - Math.clz32(m - 1);
}
