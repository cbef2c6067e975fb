/**
 * Growing a subdivision tree for a target number of known pixels: rounds of "inpaint with the current mask,
 * measure each leaf's squared error, split the worst leaves", each round adding about half as many points
 * as the mask has, the last one stopping at the target. The error is that of homogeneous diffusion from
 * the original values (not yet optimised or quantised): cheap, and it ranks the leaves well enough.
 */
import { solveWithSystem } from "../baselines/diffusion.ts";
import { DiffusionSystem } from "../baselines/diffusion-system.ts";
import type { Image } from "../image/types.ts";
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

/** Per-pixel weighted squared error of diffusion inpainting of `planes` from `mask`. */
function inpaintingError(
  planes: readonly Image[],
  weights: readonly number[],
  mask: Uint8Array,
): Float64Array {
  const { width, height } = planes[0];
  const system = new DiffusionSystem(width, height, mask, 1);
  const err = new Float64Array(width * height);
  planes.forEach((plane, p) => {
    const u = solveWithSystem(system, plane, { tolerance: 1e-4 }).image.data;
    const w = weights[p] ?? 1;
    for (let i = 0; i < err.length; i++) {
      const d = u[i] - plane.data[i];
      err[i] += w * d * d;
    }
  });
  return err;
}

/** Sum of err over the closed rectangle of a cell, from a summed-area table of width w + 1. */
function cellSum(sat: Float64Array, w: number, c: Cell): number {
  const s = w + 1;
  return (
    sat[(c.y1 + 1) * s + c.x1 + 1] -
    sat[c.y0 * s + c.x1 + 1] -
    sat[(c.y1 + 1) * s + c.x0] +
    sat[c.y0 * s + c.x0]
  );
}

function summedArea(err: Float64Array, w: number, h: number): Float64Array {
  const s = w + 1;
  const sat = new Float64Array((w + 1) * (h + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      row += err[y * w + x];
      sat[(y + 1) * s + x + 1] = sat[y * s + x + 1] + row;
    }
  }
  return sat;
}

export function growTree(
  layout: TreeLayout,
  planes: readonly Image[],
  weights: readonly number[],
  target: number,
): GrownTree {
  const { width: w, height: h } = layout;
  let leaves = rootCells(layout);
  const splits = new Set<number>();
  const order: Cell[] = [];
  const mask = new Uint8Array(w * h);
  let count = 0;
  for (const c of leaves) count += markCorners(mask, w, c);
  while (count < target) {
    const err = inpaintingError(planes, weights, mask);
    const sat = summedArea(err, w, h);
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
