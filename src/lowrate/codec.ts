/**
 * The low-rate codec mode end to end. Encoder: split the image into planes (Y, Cb, Cr or grey), grow one
 * subdivision tree for luma and one for chroma to their point budgets, choose the stored values by least
 * squares for the decoder's diffusion (tonal optimisation), quantise, write a version-2 stream. Decoder:
 * parse, place the dequantised values at the trees' points, inpaint each plane by homogeneous diffusion,
 * convert back to RGB.
 */
import { inpaintDiffusion } from "../baselines/diffusion.ts";
import type { TonalOptions } from "../baselines/tonal.ts";
import { TonalPool } from "../baselines/tonal-pool.ts";
import { optimiseTonalTiledAll } from "../baselines/tonal-tiled.ts";
import { diffusionDecoding } from "../codec/stream.ts";
import { checkInteger, invalidParameter } from "../errors.ts";
import { createImage, createMask, type Image, type Mask } from "../image/types.ts";
import { type TileGeometry, tileGrid } from "../nets/tiling.ts";
import { assemblePlanes, inpaintingJobs } from "./decode.ts";
import { type GrownTree, growTree, prefixTree } from "./grow.ts";
import { PLANE_WEIGHTS, toPlanes } from "./planes.ts";
import {
  type LowrateContent,
  type ParsedLowrate,
  parseLowrate,
  rangeDequantise,
  rangeQuantise,
  writeLowrate,
} from "./stream.ts";
import { treeLayout } from "./tree.ts";

export interface LowrateSettings {
  /** Known pixels for luma (or the grey plane). */
  lumaPoints: number;
  /** Known pixels for chroma (ignored for grey images). */
  chromaPoints: number;
  lumaLevels: number;
  chromaLevels: number;
  /** Side of the root cells of the luma tree, and of the chroma tree. */
  lumaRoot: number;
  chromaRoot: number;
  /** Least-squares values for the decoder (default true). */
  tonal?: boolean;
  /**
   * With tonal values: quantise in closed loop (closedLoopIndices): after each share of the points is quantised,
   * the values still free are optimised again to make up for its error. Default false (the rate search's
   * trial streams); the final stream of a search uses it.
   */
  closedLoop?: boolean;
  /**
   * With tonal values: an estimate only, the least squares stopped after a few iterations
   * (ESTIMATE_ITERATIONS). The rate search measures sizes and compares quantisers with such streams and
   * computes full values only for its final stream. Default false.
   */
  estimate?: boolean;
}

export interface LowrateEncoded {
  bytes: Uint8Array;
  /** The decoded image, exactly as decodeLowrate will produce it (when asked for). */
  decoded?: Image;
  lumaCount: number;
  chromaCount: number;
}

function checkSettings(s: LowrateSettings): void {
  checkInteger(s.lumaPoints, "luma points", 1, 1 << 26);
  checkInteger(s.chromaPoints, "chroma points", 1, 1 << 26);
  checkInteger(s.lumaLevels, "luma levels", 2, 256);
  checkInteger(s.chromaLevels, "chroma levels", 2, 256);
  checkInteger(s.lumaRoot, "luma root size", 2, 4096);
  checkInteger(s.chromaRoot, "chroma root size", 2, 4096);
}

/**
 * The least-squares solve's accuracy and preconditioning: stop when its residual has fallen 20-fold; inner
 * diffusion solves to a relative residual of 1e-3. Inner solves to 1e-6 (the optimiser's default) cost 35 %
 * more encoding time for 0.000–0.004 dB (two BSDS500 val photos at 0.1 and 0.25 bpp); 1e-2 lost
 * 0.15–0.25 dB. The preconditioner scales each value by its nearest-pixel area (tonal.ts): on BSDS500 train
 * photos it halves the iterations (14–17 to 7 for luma, 10–12 to 8 for chroma) for the same error (κ from
 * 0.1 to 3 all within 0.1 %; 0.3 the lowest).
 */
const TONAL_ACCURACY = { tolerance: 0.05, innerTolerance: 1e-3, precondition: 0.3 } as const;

/**
 * Outer iterations of an estimate's least squares (the full solve takes 6–8 preconditioned): three get 94–95 %
 * of the full solve's reduction of the squared error on luma and 89–91 % on chroma (two BSDS500 train photos),
 * enough for the stream's size and the quantisers' ranking.
 */
export const ESTIMATE_ITERATIONS = 3;

/**
 * Outer iterations of each closed-loop re-optimisation (closedLoopIndices), which starts from the full
 * solve's values with a share of them fixed at their levels: the first two iterations make up for nearly all
 * of the quantisation error (left to the 20-fold stopping rule, they took 3–5). On the six BSDS500 val photos
 * of the rate control's tuning at 0.1, 0.15 and 0.25 bpp: mean PSNR 25.2454 dB against 25.2440 without the cap,
 * 9 % less encoding time; one iteration lost 0.0065 dB, three gained nothing. Checked on kodim01, 02 and 07 at
 * the same rates: 26.1345 against 26.1397 dB (the largest loss 0.016 dB), 10 % less time.
 */
export const CLOSED_LOOP_ITERATIONS = 2;

/**
 * The windows the least-squares values (optimiseTonalTiled) and the trees' error solves (growTree) are
 * computed in, so that their memory is a window's, not the image's: 512-pixel cores with one root cell (32
 * pixels) of context, an image side of up to 768 pixels not cut (Kodak's 768 × 512 is one window, encoded
 * exactly as by an untiled encoder). Measured against untiled values (docs/lowrate.md, "Large images:
 * windows"): within 0.015 dB at the same trees, and the cheapest of the geometries tried.
 */
export const TONAL_TILING: TileGeometry = { core: 512, margin: 32, span: 768 };

/** One plane's least squares: the plane, the mask of its points, optimiseTonal's options. */
interface PlaneProblem {
  plane: Image;
  mask: Uint8Array;
  options?: TonalOptions;
}

/**
 * The least-squares values of each problem's plane at its mask's points (raster order), window by window,
 * all problems' windows in one batch (a pool's threads share out the planes as well as the windows).
 */
function leastSquaresAll(problems: readonly PlaneProblem[], windows: Windows): Float32Array[] {
  const batch = problems.map(({ plane, mask, options = {} }) => ({
    image: plane,
    mask: createMask(plane.width, plane.height, mask),
    options: { ...TONAL_ACCURACY, ...options },
  }));
  return optimiseTonalTiledAll(batch, windows.tiling, windows.pool);
}

/** Where the least squares run: the windows' geometry, and the threads that solve them (none: this one). */
interface Windows {
  readonly tiling: TileGeometry;
  pool: TonalPool | null;
}

/**
 * Values to store at the masks' points for planes (one list per request, the planes' values in raster order of
 * their mask's points, kept compact: the rate search holds many of them): least squares for diffusion, all
 * requests' planes in one batch, or the planes' own values.
 */
function storedValuesAll(
  requests: ReadonlyArray<{ planes: readonly Image[]; mask: Uint8Array }>,
  tonal: boolean,
  estimate: boolean,
  windows: Windows,
): Float32Array[][] {
  if (!tonal) return requests.map(({ planes, mask }) => planes.map((p) => atPoints(p.data, mask)));
  const options: TonalOptions = estimate ? { maxIterations: ESTIMATE_ITERATIONS } : {};
  const problems = requests.flatMap(({ planes, mask }) => planes.map((plane) => ({ plane, mask, options })));
  const solved = leastSquaresAll(problems, windows);
  let k = 0;
  return requests.map(({ planes }) => planes.map(() => solved[k++]));
}

/** The values of a one-plane image at a mask's points, in raster order. */
function atPoints(full: ArrayLike<number>, mask: Uint8Array): Float32Array {
  let count = 0;
  for (let i = 0; i < mask.length; i++) count += mask[i];
  const out = new Float32Array(count);
  let j = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) out[j++] = full[i];
  return out;
}

/** Each plane's range: the stored values' extent, rounded outwards to integers in [0, 255]. */
function rangesOf(planes: readonly Float32Array[]): Array<[number, number]> {
  return planes.map((p) => {
    let lo = 255;
    let hi = 0;
    for (const v of p) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    lo = Math.max(0, Math.floor(lo));
    hi = Math.min(255, Math.ceil(hi));
    return hi < lo ? [lo, lo] : [lo, hi];
  });
}

/** Level indices of the stored values, points in raster order, planes interleaved per point. */
function quantiseValues(
  planes: readonly Float32Array[],
  levels: number,
  ranges: Array<[number, number]>,
): Uint8Array {
  const count = planes[0].length;
  const q = new Uint8Array(count * planes.length);
  planes.forEach((p, c) => {
    const [lo, hi] = ranges[c];
    for (let j = 0; j < count; j++) q[j * planes.length + c] = rangeQuantise(p[j], levels, lo, hi);
  });
  return q;
}

/** A part of a stream quantised in closed loop (luma, or chroma's planes): what closedLoopIndices needs. */
interface ClosedLoopPart {
  planes: readonly Image[];
  mask: Uint8Array;
  values: readonly Float32Array[];
  levels: number;
  ranges: Array<[number, number]>;
}

/**
 * Closed-loop quantisation of the least-squares values (after Peter et al., "Evaluating the true potential of
 * diffusion-based inpainting in a compression context", 2016): the points are quantised in three shares
 * (every other point in raster order, then every fourth, then the rest); before each later share the values
 * still free are optimised again with the quantised ones fixed, so they make up for the quantisation error
 * around them. Returns each part's level indices laid out like quantiseValues'; the parts' planes are independent, so
 * each round's re-optimisations of all of them run as one batch (leastSquaresAll).
 */
function closedLoopIndices(parts: readonly ClosedLoopPart[], windows: Windows): Uint8Array[] {
  const share = (j: number) => (j % 2 === 0 ? 0 : j % 4 === 1 ? 1 : 2);
  const indices = parts.map((part) => new Uint8Array(part.values[0].length * part.planes.length));
  const current: Float32Array[][] = parts.map((part) => part.values.map((v) => Float32Array.from(v)));
  for (let round = 0; round < 3; round++) {
    if (round > 0) {
      // Optimise the free values again, those of earlier shares fixed at their levels.
      const problems: PlaneProblem[] = [];
      parts.forEach((part, p) => {
        const { width, height } = part.planes[0];
        part.planes.forEach((plane, c) => {
          const start = createImage(width, height, 1);
          const fixed = new Uint8Array(width * height);
          let j = 0;
          for (let i = 0; i < part.mask.length; i++) {
            if (!part.mask[i]) continue;
            start.data[i] = current[p][c][j];
            if (share(j) < round) fixed[i] = 1;
            j++;
          }
          problems.push({
            plane,
            mask: part.mask,
            options: { start, fixed, maxIterations: CLOSED_LOOP_ITERATIONS },
          });
        });
      });
      const solved = leastSquaresAll(problems, windows);
      let k = 0;
      parts.forEach((part, p) => {
        part.planes.forEach((_, c) => {
          current[p][c] = solved[k++];
        });
      });
    }
    parts.forEach((part, p) => {
      const np = part.planes.length;
      part.planes.forEach((_, c) => {
        const [lo, hi] = part.ranges[c];
        const values = current[p][c];
        for (let j = 0; j < values.length; j++) {
          if (share(j) !== round) continue;
          const level = rangeQuantise(values[j], part.levels, lo, hi);
          indices[p][j * np + c] = level;
          values[j] = rangeDequantise(level, part.levels, lo, hi);
        }
      });
    });
  }
  return indices;
}

/**
 * One plane (or a window of it) inpainted as the decoder inpaints a stream of `version`: homogeneous
 * diffusion with that version's stopping rule and arithmetic (diffusionDecoding).
 */
export function inpaintPlane(known: Image, mask: Mask, version: number): Image {
  return inpaintDiffusion(known, mask, diffusionDecoding(version)).image;
}

/** Decodes a tree-mode stream with homogeneous diffusion (what decodeBytes does with the diffusion backend). */
export function decodeLowrate(
  bytes: Uint8Array,
  options: { maxPixels?: number } = {},
): { image: Image; parsed: ParsedLowrate } {
  const parsed = parseLowrate(bytes, options);
  const planes = Array.from(inpaintingJobs(parsed), (job) =>
    inpaintPlane(job.known, job.mask, parsed.version),
  );
  return { image: assemblePlanes(parsed, planes), parsed };
}

/**
 * An image prepared for low-rate encoding at many settings (what the rate search needs): the planes, one
 * tree per plane group and root size grown once to the largest budget asked so far (smaller budgets are
 * its prefixes), and the stored values per tree.
 */
export class LowrateEncoder {
  readonly planes: Image[];
  private readonly grown = new Map<string, { tree: GrownTree; budget: number }>();
  private readonly stored = new Map<string, Float32Array[]>();

  /** The windows of the least-squares values (default TONAL_TILING; UNTILED for comparisons). */
  readonly tiling: TileGeometry;
  private readonly windows: Windows;

  /**
   * `threads`: threads for the least squares of a colour image's three planes and of a large image's windows
   * (default 1; Node only; the streams are the same for any number). `close()` ends them.
   */
  constructor(
    readonly image: Image,
    options: { tiling?: TileGeometry; threads?: number; pool?: TonalPool | null } = {},
  ) {
    this.tiling = options.tiling ?? TONAL_TILING;
    if (image.channels !== 1 && image.channels !== 3) {
      throw invalidParameter("image", "an image with 1 or 3 channels", image.channels);
    }
    this.planes = toPlanes(image);
    // threads have work where there are several windows or several planes
    const windowed = tileGrid(image.width, image.height, this.tiling).length > 1;
    const parallel = windowed || image.channels === 3;
    const pool = options.pool ?? (parallel ? TonalPool.create(options.threads ?? 1) : null);
    this.windows = { tiling: this.tiling, pool };
  }

  /** Ends the least squares' worker threads, if any (the encoder runs on this thread afterwards). */
  close(): void {
    this.windows.pool?.close();
    this.windows.pool = null;
  }

  /** An encoder of the same image with other windows for the least squares, sharing the trees grown so far (with this one's). */
  withTiling(tiling: TileGeometry): LowrateEncoder {
    const other = new LowrateEncoder(this.image, { tiling, pool: this.windows.pool });
    for (const [key, grown] of this.grown) other.grown.set(key, grown);
    return other;
  }

  private tree(chroma: boolean, root: number, points: number): GrownTree {
    const { width, height } = this.image;
    const layout = treeLayout(width, height, root);
    const key = `${chroma}:${root}`;
    let grown = this.grown.get(key);
    if (!grown || grown.budget < points) {
      // Grow a little beyond the request: the rate search usually asks for a bit more next.
      const budget = grown ? Math.max(points, Math.ceil(grown.budget * 1.5)) : points;
      const planes = chroma ? this.planes.slice(1) : [this.planes[0]];
      const weights = chroma ? PLANE_WEIGHTS.slice(1) : [PLANE_WEIGHTS[0]];
      grown = { tree: growTree(layout, planes, weights, budget, this.tiling), budget };
      this.grown.set(key, grown);
    }
    // A tree that stopped short of its budget could not split further: it serves every larger request.
    return grown.tree.count <= points ? grown.tree : prefixTree(layout, grown.tree, points);
  }

  /**
   * The stored values of each request's planes (luma: plane 0; chroma: planes 1 and 2) for its tree, from the
   * cache or computed, those not cached in one batch (the planes' least squares share the threads).
   */
  private valuesFor(
    requests: ReadonlyArray<{ chroma: boolean; root: number; tree: GrownTree }>,
    tonal: boolean,
    estimate: boolean,
  ): Float32Array[][] {
    const keyOf = (r: { chroma: boolean; root: number; tree: GrownTree }) =>
      `${r.chroma}:${r.root}:${r.tree.count}:${tonal}:${tonal && estimate}`;
    // (luma and chroma: never the same key)
    const missing = requests.filter((r) => !this.stored.has(keyOf(r)));
    if (missing.length > 0) {
      const planesOf = (chroma: boolean) => (chroma ? this.planes.slice(1) : [this.planes[0]]);
      const computed = storedValuesAll(
        missing.map((r) => ({ planes: planesOf(r.chroma), mask: r.tree.mask })),
        tonal,
        estimate,
        this.windows,
      );
      missing.forEach((r, k) => {
        this.stored.set(keyOf(r), computed[k]);
      });
    }
    return requests.map((r) => this.stored.get(keyOf(r)) as Float32Array[]);
  }

  /** The stream for these settings; `decode` also returns the decoded image (one diffusion per plane). */
  encode(settings: LowrateSettings, options: { decode?: boolean } = {}): LowrateEncoded {
    checkSettings(settings);
    const image = this.image;
    const tonal = settings.tonal ?? true;
    const estimate = tonal && (settings.estimate ?? false);
    const closed = tonal && !estimate && (settings.closedLoop ?? false);
    const luma = this.tree(false, settings.lumaRoot, settings.lumaPoints);
    const chroma =
      image.channels === 3 ? this.tree(true, settings.chromaRoot, settings.chromaPoints) : undefined;
    const requests = [{ chroma: false, root: settings.lumaRoot, tree: luma }];
    if (chroma) requests.push({ chroma: true, root: settings.chromaRoot, tree: chroma });
    // luma's and chroma's values (and below their closed loops) computed together: their planes are
    // independent, so with threads they run side by side
    const [lumaValues, chromaValues] = this.valuesFor(requests, tonal, estimate);
    const parts: ClosedLoopPart[] = [
      {
        planes: [this.planes[0]],
        mask: luma.mask,
        values: lumaValues,
        levels: settings.lumaLevels,
        ranges: rangesOf(lumaValues),
      },
    ];
    if (chroma) {
      parts.push({
        planes: this.planes.slice(1),
        mask: chroma.mask,
        values: chromaValues,
        levels: settings.chromaLevels,
        ranges: rangesOf(chromaValues),
      });
    }
    const indices = closed
      ? closedLoopIndices(parts, this.windows)
      : parts.map((part) => quantiseValues(part.values, part.levels, part.ranges));
    const content: LowrateContent = {
      width: image.width,
      height: image.height,
      channels: image.channels,
      luma: {
        rootSize: settings.lumaRoot,
        splits: luma.splits,
        levels: settings.lumaLevels,
        ranges: parts[0].ranges,
        indices: indices[0],
      },
    };
    if (chroma) {
      content.chroma = {
        rootSize: settings.chromaRoot,
        splits: chroma.splits,
        levels: settings.chromaLevels,
        ranges: parts[1].ranges,
        indices: indices[1],
      };
    }
    const bytes = writeLowrate(content);
    const decoded = options.decode ? decodeLowrate(bytes).image : undefined;
    return { bytes, decoded, lumaCount: luma.count, chromaCount: chroma?.count ?? 0 };
  }
}

/** Encodes an image in the low-rate mode with fixed settings, and decodes it. */
export function encodeLowrate(image: Image, settings: LowrateSettings): Required<LowrateEncoded> {
  const encoded = new LowrateEncoder(image).encode(settings, { decode: true });
  return encoded as Required<LowrateEncoded>;
}
