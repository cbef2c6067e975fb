import { DEFAULT_GAN_TONAL_STEPS } from "../defaults.ts";
import { invalidParameter, MaskcodecError } from "../errors.ts";
import type { StoredLevels, TonalOptimiser } from "../image/seams.ts";
import { createImage, type Image, type Mask } from "../image/types.ts";
import { type Progress, silentProgress } from "../util/progress.ts";
import { loadGradients } from "./backend.ts";
import { padReflect, reflect } from "./padding.ts";
import { tf } from "./tf.ts";

/**
 * Tonal optimisation for the gan backend: the encoder knows the inpainting generator the decoder will run,
 * so instead of storing the original values at the mask pixels it stores the values whose reconstruction is
 * closest to the original (mean absolute error, the networks' own training loss). Gradient descent (Adam) on
 * the stored values through the generator and the diffusion interpolation it corrects, whose gradient to the
 * known values is exact (src/nets/diffusion-op.ts). The decoder is unchanged: it inpaints whatever values
 * the stream holds. Not in the paper; the diffusion backend's `--tonal` does the same by least squares.
 */
export interface GanTonalOptions {
  /** Adam steps. Default DEFAULT_GAN_TONAL_STEPS (src/defaults.ts). */
  iterations?: number;
  /** Adam step size on the [0, 1] value scale. Default 0.01. */
  learningRate?: number;
  /**
   * Of the iterations, the fraction (at the end) that optimise the quantised values with a straight-through
   * gradient, when the caller passes the stream's quantisation. Default 0.5.
   */
  quantisedFraction?: number;
  progress?: Progress;
}

/**
 * What the optimiser needs from a loaded model: the decoder's reconstruction u on a padded grid as a
 * differentiable function of the (padded, [0, 1], 3-channel) values, for one image size and mask density.
 */
export interface DifferentiableInpainter {
  /** Padding multiple of the network (2^levels); images are reflect-padded to it as the decoder does. */
  readonly multiple: number;
  forward(
    paddedWidth: number,
    paddedHeight: number,
    density: number,
    stored?: StoredLevels,
  ): { run(values: tf.Tensor4D, mask: tf.Tensor4D): tf.Tensor4D; dispose(): void };
}

/**
 * Largest image (pixels) the gan backend's tonal optimisation accepts. It differentiates through the
 * untiled networks, keeping every activation for the backward pass: about 10 KB per pixel (4 GB and rising
 * for a 768×512 image was measured), so 2^17 pixels (e.g. 362×362) keeps it near the 1.5 GB the rest of the
 * codec stays within. Larger images are refused before any work.
 */
export const GAN_TONAL_MAX_PIXELS = 1 << 17;

/** Refuses an image too large for the gan backend's tonal optimisation (GAN_TONAL_MAX_PIXELS). */
export function checkGanTonalSize(width: number, height: number): void {
  if (width * height > GAN_TONAL_MAX_PIXELS) {
    throw new MaskcodecError(
      `--tonal with the gan backend handles images up to ${GAN_TONAL_MAX_PIXELS} pixels (it optimises through the untiled networks); this one is ${width}×${height}. Encode without --tonal, or use --backend diffusion --tonal`,
      "ERR_INPUT_SIZE",
    );
  }
}

export function ganTonalOptimiser(
  net: DifferentiableInpainter,
  options: GanTonalOptions = {},
): TonalOptimiser {
  const iterations = options.iterations ?? DEFAULT_GAN_TONAL_STEPS;
  const lr = options.learningRate ?? 0.01;
  const quantisedFraction = options.quantisedFraction ?? 0.5;
  if (!(quantisedFraction >= 0 && quantisedFraction <= 1)) {
    throw invalidParameter("quantisedFraction", "a number in [0, 1]", quantisedFraction);
  }
  if (!Number.isInteger(iterations) || iterations < 1)
    throw invalidParameter("iterations", "an integer ≥ 1", iterations);
  if (!(lr > 0)) throw invalidParameter("learningRate", "a number > 0", lr);
  const progress = options.progress ?? silentProgress;
  return {
    async optimise(
      image: Image,
      mask: Mask,
      quantise?: (values: Image) => Image,
      stored?: StoredLevels,
    ): Promise<Image> {
      const { width: w, height: h, channels: C } = image;
      checkGanTonalSize(w, h);
      const n = w * h;
      let known = 0;
      for (let i = 0; i < n; i++) known += mask.data[i] ? 1 : 0;
      if (known === 0) return image;
      await loadGradients();
      const target = Float32Array.from(image.data, (v) => v / 255);
      const values = Float32Array.from(target);
      const maskPad = padReflect(mask.data, w, h, 1, net.multiple);
      const { width: pw, height: ph } = maskPad;
      // the decoder's network, told (like the decoder) how the values are stored
      const forward = net.forward(pw, ph, known / n, stored);
      // padded index -> source pixel, for folding the padded gradient back (reflection repeats pixels)
      const source = sourceIndex(w, h, pw, ph);
      const m = new Float32Array(values.length);
      const v = new Float32Array(values.length);
      let best = { loss: Number.POSITIVE_INFINITY, values: Float32Array.from(values), quantised: false };
      const firstQuantised = Math.round(iterations * (1 - quantisedFraction));
      const bTensor = tf.tensor4d(maskPad.data, [1, ph, pw, 1]);
      const fTensor = tf.tensor4d(target, [1, h, w, C]);
      try {
        for (let it = 0; it <= iterations; it++) {
          // the last phase evaluates (and keeps the best of) what the decoder will see: the quantised values;
          // their gradient updates the continuous ones (straight-through)
          const quantised = quantise !== undefined && it >= firstQuantised;
          const seen = quantised ? quantisedUnit(quantise, values, w, h, C) : values;
          const padded = padReflect(toRgb(seen, n, C), w, h, 3, net.multiple).data;
          const { loss, grad } = tf.tidy(() => {
            const lossOf = (vals: tf.Tensor) => {
              const u = tf.slice(forward.run(vals as tf.Tensor4D, bTensor), [0, 0, 0, 0], [1, h, w, 3]);
              // grey: the decoder outputs the mean of the three channels
              const out = C === 3 ? u : tf.mean(u, 3, true);
              return tf.mean(tf.abs(tf.sub(out, fTensor))) as tf.Scalar;
            };
            const { value, grad: g } = tf.valueAndGrad(lossOf)(tf.tensor4d(padded, [1, ph, pw, 3]));
            return { loss: value.dataSync()[0], grad: g.dataSync() as Float32Array };
          });
          // once quantised, only quantised losses compare (the continuous ones are lower than any decoder sees)
          if ((quantised && !best.quantised) || loss < best.loss) {
            best = { loss, values: Float32Array.from(values), quantised };
          }
          progress.update(it, iterations, `MAE ${(loss * 255).toFixed(2)}`);
          if (it === iterations) break;
          const g = new Float32Array(values.length);
          for (let p = 0; p < pw * ph; p++) {
            const s = source[p];
            if (!mask.data[s]) continue;
            if (C === 3) for (let c = 0; c < 3; c++) g[s * 3 + c] += grad[p * 3 + c];
            else g[s] += grad[p * 3] + grad[p * 3 + 1] + grad[p * 3 + 2];
          }
          adamStep(values, g, m, v, it + 1, lr);
        }
      } finally {
        bTensor.dispose();
        fTensor.dispose();
        forward.dispose();
        progress.done();
      }
      const out = createImage(w, h, C);
      for (let i = 0; i < n * C; i++) {
        const p = Math.floor(i / C);
        out.data[i] = mask.data[p] ? best.values[i] * 255 : image.data[i];
      }
      return out;
    },
  };
}

/** The values as the decoder will receive them, back on the [0, 1] scale. */
function quantisedUnit(
  quantise: (values: Image) => Image,
  values: Float32Array,
  w: number,
  h: number,
  C: 1 | 3,
): Float32Array {
  const q = quantise(
    createImage(
      w,
      h,
      C,
      Float32Array.from(values, (v) => v * 255),
    ),
  );
  return Float32Array.from(q.data, (v) => v / 255);
}

function toRgb(values: Float32Array, n: number, C: number): Float32Array {
  if (C === 3) return values;
  const out = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) out.fill(values[i], 3 * i, 3 * i + 3);
  return out;
}

/** For each pixel of the padded grid, the image pixel that reflection padding copies there. */
function sourceIndex(w: number, h: number, pw: number, ph: number): Int32Array {
  const out = new Int32Array(pw * ph);
  for (let y = 0; y < ph; y++)
    for (let x = 0; x < pw; x++) out[y * pw + x] = reflect(y, h) * w + reflect(x, w);
  return out;
}

/** One Adam step (β 0.9 / 0.999) on the values where the gradient is nonzero, then clamped to [0, 1]. */
function adamStep(
  x: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  t: number,
  lr: number,
): void {
  const c1 = 1 - 0.9 ** t;
  const c2 = 1 - 0.999 ** t;
  for (let i = 0; i < x.length; i++) {
    if (g[i] === 0 && m[i] === 0) continue;
    m[i] = 0.9 * m[i] + 0.1 * g[i];
    v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
    x[i] = Math.min(1, Math.max(0, x[i] - (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + 1e-8)));
  }
}
