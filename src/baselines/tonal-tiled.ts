/**
 * Tonal optimisation over overlapping windows, so that its memory no longer grows with the image: the
 * least-squares values (optimiseTonal) are computed in each window of a tile grid (src/nets/tiling.ts, a
 * dependency-free geometry module: cores on a grid from (0, 0), each inside a window extended by a margin and
 * clipped to the image), and only the values at mask points inside the window's core are kept.
 *
 * Why this loses little: with homogeneous diffusion a stored value's influence on the reconstruction ends at
 * the known pixels around it, so a value is determined by the image and the mask within a few of the mask's
 * spacings. A margin of that reach gives the values in a core nearly the context of the whole image. The
 * window's own border is a reflecting boundary; the margin keeps it away from the core.
 *
 * An image no larger than one core (or the geometry's `span`) on both sides is a single window: exactly
 * optimiseTonal on the whole image. The windows run on a TonalPool's threads when one is given (the same
 * values).
 */
import { checkInteger } from "../errors.ts";
import { createImage, type Image, type Mask } from "../image/types.ts";
import { type Tile, type TileGeometry, tileGrid, windowOf } from "../nets/tiling.ts";
import { checkInpaintingInput } from "./diffusion.ts";
import { optimiseTonal, type TonalOptions } from "./tonal.ts";
import { solveTonalJob, type TonalJob, type TonalPool } from "./tonal-pool.ts";

/** True when some mask point inside the tile's core is free to change (not in `fixed`). */
function coreHasFreePoints(mask: Uint8Array, fixed: Uint8Array | undefined, width: number, t: Tile): boolean {
  for (let y = t.cy0; y < t.cy1; y++) {
    for (let i = y * width + t.cx0; i < y * width + t.cx1; i++) if (mask[i] && !fixed?.[i]) return true;
  }
  return false;
}

/** One least-squares problem of a batch (optimiseTonalTiledAll): an image, its mask, optimiseTonal's options. */
export interface TonalProblem {
  image: Image;
  mask: Mask;
  options?: TonalOptions;
}

/**
 * The values to store at the mask's points (the image's own elsewhere, `options.start` where given at
 * the mask's points that no window changes), chosen by least squares for diffusion within each window of
 * `geometry`. `start` and `fixed` apply as in optimiseTonal, cut to each window.
 */
export function optimiseTonalTiled(
  image: Image,
  mask: Mask,
  geometry: TileGeometry,
  options: TonalOptions = {},
  pool: TonalPool | null = null,
): Image {
  checkInpaintingInput(image, mask);
  checkGeometry(geometry);
  if (tileGrid(image.width, image.height, geometry).length === 1)
    return optimiseTonal(image, mask, options).values;
  const [atPoints] = optimiseTonalTiledAll([{ image, mask, options }], geometry, pool);
  const { width: w, height: h, channels: C } = image;
  const values = createImage(w, h, C, new Float32Array(image.data));
  for (let i = 0, j = 0; i < w * h; i++) {
    if (!mask.data[i]) continue;
    for (let c = 0; c < C; c++) values.data[i * C + c] = atPoints[j * C + c];
    j++;
  }
  return values;
}

function checkGeometry(geometry: TileGeometry): void {
  if (Number.isFinite(geometry.core)) checkInteger(geometry.core, "tile core", 1, 1 << 16);
  checkInteger(geometry.margin, "tile margin", 0, 1 << 16);
}

/**
 * optimiseTonalTiled of several problems at once (the tree mode's planes), returning only the values at each
 * mask's points (point-major in raster order, channels interleaved: what the caller stores, and at 12 MP a
 * hundredth of a plane). Their windows are one list of jobs, so a pool's threads share out the problems too,
 * an image of one window included (each such problem is one job, optimiseTonal of the whole image). The same
 * values as one call per problem, for any pool.
 */
export function optimiseTonalTiledAll(
  problems: readonly TonalProblem[],
  geometry: TileGeometry,
  pool: TonalPool | null = null,
): Float32Array[] {
  checkGeometry(geometry);
  const jobs: Array<{ problem: number; tile: Tile }> = [];
  // per problem: the number of mask points before each row (to place a window's values by point index)
  const rowStarts: Int32Array[] = [];
  const results = problems.map(({ image, mask, options = {} }, problem) => {
    checkInpaintingInput(image, mask);
    const { width: w, height: h, channels: C } = image;
    const before = new Int32Array(h + 1);
    for (let y = 0; y < h; y++) {
      let n = 0;
      for (let i = y * w; i < (y + 1) * w; i++) n += mask.data[i];
      before[y + 1] = before[y] + n;
    }
    rowStarts.push(before);
    const source = options.start ?? image;
    const values = new Float32Array(before[h] * C);
    for (let i = 0, j = 0; i < w * h; i++) {
      if (!mask.data[i]) continue;
      for (let c = 0; c < C; c++) values[j * C + c] = source.data[i * C + c];
      j++;
    }
    for (const tile of tileGrid(w, h, geometry)) {
      if (coreHasFreePoints(mask.data, options.fixed, w, tile)) jobs.push({ problem, tile });
    }
    return values;
  });
  const jobAt = (k: number): TonalJob => {
    const { problem, tile: t } = jobs[k];
    const { image, mask, options = {} } = problems[problem];
    const { start, fixed, ...accuracy } = options;
    const { width: w, channels: C } = image;
    return {
      width: t.x1 - t.x0,
      height: t.y1 - t.y0,
      channels: C as 1 | 3,
      image: windowOf(image.data, w, C, t),
      mask: windowOf(mask.data, w, 1, t),
      start: start && windowOf(start.data, w, C, t),
      fixed: fixed && windowOf(fixed, w, 1, t),
      options: accuracy,
    };
  };
  const use = (k: number, solved: Float32Array) => {
    const { problem, tile: t } = jobs[k];
    const { image, mask } = problems[problem];
    const values = results[problem];
    const before = rowStarts[problem];
    const { width: w, channels: C } = image;
    const ww = t.x1 - t.x0;
    for (let y = t.cy0; y < t.cy1; y++) {
      let j = before[y];
      for (let i = y * w; i < y * w + t.cx0; i++) j += mask.data[i];
      for (let x = t.cx0; x < t.cx1; x++) {
        const i = y * w + x;
        if (!mask.data[i]) continue;
        const at = (y - t.y0) * ww + (x - t.x0);
        for (let c = 0; c < C; c++) values[j * C + c] = solved[at * C + c];
        j++;
      }
    }
  };
  if (pool) pool.run(jobs.length, jobAt, use);
  else for (let k = 0; k < jobs.length; k++) use(k, solveTonalJob(jobAt(k)));
  return results;
}
