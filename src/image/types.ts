/**
 * The two value types every module shares. Kept free of any library so that the codec core, the
 * baselines and the networks can all depend on them.
 */

/** Number of channels we handle: grey or colour (alpha is dropped on input). */
export type Channels = 1 | 3;

/**
 * A raster image. Samples are interleaved (HWC, like sharp's raw output and tfjs' NHWC) as float32 on the
 * 0–255 scale, the scale of the paper's MAE figures. Float so that inpainting results need no rounding
 * until they are written out.
 */
export interface Image {
  readonly width: number;
  readonly height: number;
  readonly channels: Channels;
  /** length = width * height * channels; sample (x, y, c) at ((y * width) + x) * channels + c. */
  readonly data: Float32Array;
}

/** The set of known pixels: one flag per pixel, shared by all channels (as in the paper). */
export interface Mask {
  readonly width: number;
  readonly height: number;
  /** length = width * height; 1 = known, 0 = to be inpainted. */
  readonly data: Uint8Array;
}

export function createImage(width: number, height: number, channels: Channels, data?: Float32Array): Image {
  const length = width * height * channels;
  if (data && data.length !== length) {
    throw new Error(`image data has ${data.length} samples, expected ${length}`);
  }
  return { width, height, channels, data: data ?? new Float32Array(length) };
}

export function createMask(width: number, height: number, data?: Uint8Array): Mask {
  const length = width * height;
  if (data && data.length !== length) {
    throw new Error(`mask data has ${data.length} entries, expected ${length}`);
  }
  return { width, height, data: data ?? new Uint8Array(length) };
}

/** Number of known pixels. */
export function maskCount(mask: Mask): number {
  let n = 0;
  for (let i = 0; i < mask.data.length; i++) n += mask.data[i];
  return n;
}

/** Fraction of known pixels. */
export function maskDensity(mask: Mask): number {
  return mask.data.length === 0 ? 0 : maskCount(mask) / mask.data.length;
}

/** Exact number of mask pixels we aim for at a given density: round(density * pixels), at least one. */
export function targetCount(pixels: number, density: number): number {
  return Math.min(pixels, Math.max(1, Math.round(density * pixels)));
}
