/**
 * Ordered dithering of a score map with a blue-noise threshold tile: keep the `count` pixels with the highest
 * s − logit(T), where T is a fixed 64×64 tile of thresholds in (0, 1) repeated over the image.
 *
 * Why beside error diffusion (`dither.ts`): for a smooth score map both realise the density sigmoid(s − t),
 * but with error diffusion a change of one score moves pixels somewhere downstream of it, while here raising
 * the score of pixel i turns on pixel i itself (the decision is per pixel: s_i − logit(T_i) > t). A mask
 * generator trained through this selection can therefore place single pixels, not only shape the density; the
 * straight-through gradient of the binarisation is locally right. Exactly `count` pixels by construction
 * (a top-count of the shifted scores), deterministic.
 *
 * The tile: every pixel's threshold is its rank in a void-filling sequence on the torus (each next point
 * where a Gaussian-weighted count of the earlier points, σ = 1.5 pixels, is smallest; ties by a fixed
 * hash), so every prefix of the sequence is spread out — the ranks below any level form a blue-noise pattern.
 */
import { topCountMask } from "./topk.ts";

export const BLUE_NOISE_TILE = 64;
const TILE_SIGMA = 1.5;

let tile: Float64Array | undefined;

/** Thresholds (rank + 0.5) / 64² of the blue-noise tile, row-major; computed once (about 50 ms). */
export function blueNoiseTile(): Float64Array {
  if (tile) return tile;
  const n = BLUE_NOISE_TILE;
  const pixels = n * n;
  const energy = new Float64Array(pixels);
  const placed = new Uint8Array(pixels);
  const thresholds = new Float64Array(pixels);
  const reach = Math.ceil(4 * TILE_SIGMA);
  const kernel: number[] = [];
  for (let dy = -reach; dy <= reach; dy++) {
    for (let dx = -reach; dx <= reach; dx++) {
      kernel.push(Math.exp(-(dx * dx + dy * dy) / (2 * TILE_SIGMA * TILE_SIGMA)));
    }
  }
  // a tiny fixed perturbation breaks the ties of the empty and the symmetric states reproducibly
  const jitter = Float64Array.from({ length: pixels }, (_, i) => (((i * 2654435761) >>> 0) / 2 ** 32) * 1e-9);
  for (let rank = 0; rank < pixels; rank++) {
    let best = -1;
    let bestEnergy = Number.POSITIVE_INFINITY;
    for (let i = 0; i < pixels; i++) {
      if (placed[i]) continue;
      const e = energy[i] + jitter[i];
      if (e < bestEnergy) {
        bestEnergy = e;
        best = i;
      }
    }
    placed[best] = 1;
    thresholds[best] = (rank + 0.5) / pixels;
    const bx = best % n;
    const by = (best - bx) / n;
    let k = 0;
    for (let dy = -reach; dy <= reach; dy++) {
      const row = ((by + dy + n) % n) * n;
      for (let dx = -reach; dx <= reach; dx++) energy[row + ((bx + dx + n) % n)] += kernel[k++];
    }
  }
  tile = thresholds;
  return tile;
}

/** s − logit(T) per pixel, T the blue-noise tile repeated from the top-left corner. */
export function orderedScores(scores: Float32Array, width: number, height: number): Float32Array {
  const t = blueNoiseTile();
  const n = BLUE_NOISE_TILE;
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = (y % n) * n;
    for (let x = 0; x < width; x++) {
      const threshold = t[row + (x % n)];
      out[y * width + x] = scores[y * width + x] - Math.log(threshold / (1 - threshold));
    }
  }
  return out;
}

/** The mask of exactly `count` pixels: ordered dithering of sigmoid(scores − t) with the blue-noise tile. */
export function orderedDither(
  scores: Float32Array,
  width: number,
  height: number,
  count: number,
): Uint8Array {
  return topCountMask(orderedScores(scores, width, height), width * height, count);
}
