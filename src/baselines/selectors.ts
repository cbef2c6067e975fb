/**
 * The two simple mask selectors: a regular grid and a uniformly random mask. Both return exactly
 * targetCount(width·height, density) pixels.
 */
import { checkInteger } from "../errors.ts";
import type { MaskSelector } from "../image/seams.ts";
import type { Image, Mask } from "../image/types.ts";
import { createMask, targetCount } from "../image/types.ts";
import { createRng, partialShuffle } from "../mask/rng.ts";

/**
 * A regular grid of exactly `count` pixels on a width×height image: an nx×ny lattice of cell centres with
 * nx/ny close to the image's aspect ratio and nx·ny ≥ count, of which `count` evenly spread points (in
 * raster order) are kept. Deterministic.
 */
export function gridMask(width: number, height: number, count: number): Mask {
  const mask = createMask(width, height);
  const k = Math.min(count, width * height);
  if (k <= 0) return mask;
  let nx = Math.min(width, Math.max(1, Math.round(Math.sqrt((k * width) / height))));
  const ny = Math.min(height, Math.max(1, Math.ceil(k / nx)));
  if (nx * ny < k) nx = Math.min(width, Math.ceil(k / ny));
  const total = nx * ny;
  for (let j = 0; j < k; j++) {
    // Evenly spread selection of k of the total lattice points.
    const t = Math.floor(((j + 0.5) * total) / k);
    const gx = t % nx;
    const gy = Math.floor(t / nx);
    const x = Math.floor(((gx + 0.5) * width) / nx);
    const y = Math.floor(((gy + 0.5) * height) / ny);
    mask.data[y * width + x] = 1;
  }
  return mask;
}

/** Exactly `count` uniformly random distinct pixels, deterministic for a seed. */
export function randomMask(width: number, height: number, count: number, seed: number): Mask {
  const n = width * height;
  const k = Math.min(count, n);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  partialShuffle(order, k, createRng(seed));
  const mask = createMask(width, height);
  for (let i = 0; i < k; i++) mask.data[order[i]] = 1;
  return mask;
}

export function gridSelector(): MaskSelector {
  return {
    id: "grid",
    async select(image: Image, density: number): Promise<Mask> {
      return gridMask(image.width, image.height, targetCount(image.width * image.height, density));
    },
  };
}

export function randomSelector(options: { seed?: number } = {}): MaskSelector {
  const seed = checkInteger(options.seed ?? 0, "seed", Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  return {
    id: "random",
    async select(image: Image, density: number): Promise<Mask> {
      return randomMask(image.width, image.height, targetCount(image.width * image.height, density), seed);
    },
  };
}
