/**
 * Growing a subdivision tree for a target number of known pixels: rounds of "inpaint with the current mask,
 * measure each leaf's squared error, split the worst leaves", each round adding about half as many points
 * as the mask has, the last one stopping at the target. The error is that of homogeneous diffusion from
 * the original values (not yet optimised or quantised): cheap, and it ranks the leaves well enough. Large
 * images are inpainted window by window for it (errorTable).
 */
import { solveWithSystem } from "../baselines/diffusion.ts";
import { DiffusionSystem } from "../baselines/diffusion-system.ts";
import { createImage, type Image } from "../image/types.ts";
import { type Tile, type TileGeometry, tileGrid, UNTILED, windowHoldsAny, windowOf } from "../nets/tiling.ts";
import { type Cell, canSplit, cellKey, children, markCorners, rootCells, type TreeLayout } from "./tree.ts";

export interface GrownTree {
  /** Keys (cellKey) of the cells that are split. */
  splits: Set<number>;
  /** The split cells in the order they were split (a parent always before its children). */
  order: Cell[];
  leaves: Cell[];
  /** 1 at the leaves' corners. */
  mask: Uint8Array;
  count: number;
}

/**
 * Summed-area table (width w + 1, height h + 1) of the per-pixel weighted squared error of diffusion
 * inpainting of `planes` from `mask`. Each pixel's error is first summed where its entry goes, and the table
 * is then built in place: one array of the image's size rather than an error image and a table.
 *
 * On an image larger than one window of `tiling` (and whose every window holds a known pixel), each window
 * is inpainted on its own and gives the error of its core: the diffusion system then has the size of a
 * window, not of the image (at 12 MP the whole-image system and its solve needed about a gigabyte). The
 * tree's root corners are known pixels every root cell, so a margin of a root cell or two gives each core
 * nearly the inpainting of the whole image.
 */
function errorTable(
  planes: readonly Image[],
  weights: readonly number[],
  mask: Uint8Array,
  tiling: TileGeometry,
): Float64Array {
  const { width: w, height: h } = planes[0];
  const s = w + 1;
  const sat = new Float64Array(s * (h + 1));
  const tiles = tileGrid(w, h, tiling);
  const windowed = tiles.length > 1 && tiles.every((t) => windowHoldsAny(mask, w, t));
  const whole: Tile = { x0: 0, y0: 0, x1: w, y1: h, cx0: 0, cy0: 0, cx1: w, cy1: h };
  for (const t of windowed ? tiles : [whole]) {
    const ww = t.x1 - t.x0;
    const system = new DiffusionSystem(ww, t.y1 - t.y0, windowed ? windowOf(mask, w, 1, t) : mask, 1);
    planes.forEach((plane, p) => {
      const known = windowed ? createImage(ww, t.y1 - t.y0, 1, windowOf(plane.data, w, 1, t)) : plane;
      const u = solveWithSystem(system, known, { tolerance: 1e-4 }).image.data;
      const weight = weights[p] ?? 1;
      for (let y = t.cy0; y < t.cy1; y++) {
        for (let x = t.cx0; x < t.cx1; x++) {
          const d = u[(y - t.y0) * ww + x - t.x0] - plane.data[y * w + x];
          sat[(y + 1) * s + x + 1] += weight * d * d;
        }
      }
    });
  }
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      const k = (y + 1) * s + x + 1;
      row += sat[k];
      sat[k] = sat[k - s] + row;
    }
  }
  return sat;
}

/** Sum of the error over the closed rectangle of a cell, from errorTable's table. */
function cellSum(sat: Float64Array, w: number, c: Cell): number {
  const s = w + 1;
  return (
    sat[(c.y1 + 1) * s + c.x1 + 1] -
    sat[c.y0 * s + c.x1 + 1] -
    sat[(c.y1 + 1) * s + c.x0] +
    sat[c.y0 * s + c.x0]
  );
}

export function growTree(
  layout: TreeLayout,
  planes: readonly Image[],
  weights: readonly number[],
  target: number,
  tiling: TileGeometry = UNTILED,
): GrownTree {
  const { width: w, height: h } = layout;
  let leaves = rootCells(layout);
  const splits = new Set<number>();
  const order: Cell[] = [];
  const mask = new Uint8Array(w * h);
  let count = 0;
  for (const c of leaves) count += markCorners(mask, w, c);
  while (count < target) {
    const sat = errorTable(planes, weights, mask, tiling);
    const ranked = leaves
      .filter(canSplit)
      .map((c) => ({ c, e: cellSum(sat, w, c) }))
      .sort((a, b) => b.e - a.e);
    if (ranked.length === 0) break;
    const budget = Math.min(target - count, Math.max(64, Math.ceil(count / 2)));
    let added = 0;
    const split = new Set<Cell>();
    for (const { c } of ranked) {
      if (added >= budget) break;
      split.add(c);
      order.push(c);
      splits.add(cellKey(c, w));
      for (const child of children(c)) added += markCorners(mask, w, child);
    }
    count += added;
    const next: Cell[] = [];
    for (const c of leaves) {
      if (split.has(c)) next.push(...children(c));
      else next.push(c);
    }
    leaves = next;
  }
  return { splits, order, leaves, mask, count };
}

/**
 * The tree with the first splits of `tree.order` up to the first that brings the mask to `target` points.
 * Round budgets depend on the target only in the last round, so this is the tree growTree would have grown
 * for `target` directly: one growth to the largest budget serves every smaller one.
 */
export function prefixTree(layout: TreeLayout, tree: GrownTree, target: number): GrownTree {
  const { width: w, height: h } = layout;
  const mask = new Uint8Array(w * h);
  let count = 0;
  for (const c of rootCells(layout)) count += markCorners(mask, w, c);
  const splits = new Set<number>();
  const order: Cell[] = [];
  for (const c of tree.order) {
    if (count >= target) break;
    order.push(c);
    splits.add(cellKey(c, w));
    for (const child of children(c)) count += markCorners(mask, w, child);
  }
  return { splits, order, leaves: [], mask, count };
}
