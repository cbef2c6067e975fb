/**
 * Subdivision-tree masks (after R-EED, Schmaltz et al., IJCV 2014): the image's pixel lattice [0, w-1] ×
 * [0, h-1] is tiled by root cells, and each cell is either a leaf or split into four at its midpoints. The
 * known pixels are the corners of the leaves, so the mask costs one bit per splittable node and its density
 * follows the content: the encoder splits where the inpainting error is large.
 *
 * Cells are closed rectangles of integer corner coordinates; neighbouring cells share their edges, so a
 * corner is stored once however many leaves meet there. A cell can split while both of its sides span at
 * least 2 pixels; its children are cut at the floor of the midpoints.
 */
import { createMask, type Mask } from "../image/types.ts";

export interface Cell {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  depth: number;
}

/** How the lattice is tiled: the number of root cells across and down (at least 1 each). */
export interface TreeLayout {
  width: number;
  height: number;
  cols: number;
  rows: number;
}

/** The layout whose root cells are about `rootSize` pixels on a side. */
export function treeLayout(width: number, height: number, rootSize: number): TreeLayout {
  const cols = Math.max(1, Math.min(Math.round((width - 1) / rootSize), Math.max(1, width - 1)));
  const rows = Math.max(1, Math.min(Math.round((height - 1) / rootSize), Math.max(1, height - 1)));
  return { width, height, cols, rows };
}

/** Root cells in raster order. Corner coordinates are floor(i · (w-1) / cols), exact integer arithmetic. */
export function rootCells(layout: TreeLayout): Cell[] {
  const { width, height, cols, rows } = layout;
  const xs = Array.from({ length: cols + 1 }, (_, i) => Math.floor((i * (width - 1)) / cols));
  const ys = Array.from({ length: rows + 1 }, (_, j) => Math.floor((j * (height - 1)) / rows));
  const cells: Cell[] = [];
  for (let j = 0; j < rows; j++) {
    for (let i = 0; i < cols; i++)
      cells.push({ x0: xs[i], y0: ys[j], x1: xs[i + 1], y1: ys[j + 1], depth: 0 });
  }
  return cells;
}

export function canSplit(cell: Cell): boolean {
  return cell.x1 - cell.x0 >= 2 && cell.y1 - cell.y0 >= 2;
}

/** The four children of a splittable cell: NW, NE, SW, SE. */
export function children(cell: Cell): [Cell, Cell, Cell, Cell] {
  const mx = (cell.x0 + cell.x1) >> 1;
  const my = (cell.y0 + cell.y1) >> 1;
  const d = cell.depth + 1;
  return [
    { x0: cell.x0, y0: cell.y0, x1: mx, y1: my, depth: d },
    { x0: mx, y0: cell.y0, x1: cell.x1, y1: my, depth: d },
    { x0: cell.x0, y0: my, x1: mx, y1: cell.y1, depth: d },
    { x0: mx, y0: my, x1: cell.x1, y1: cell.y1, depth: d },
  ];
}

/** A key naming a cell uniquely within one layout. */
export function cellKey(cell: Cell, width: number): number {
  return (cell.y0 * width + cell.x0) * 64 + cell.depth;
}

/** Sets the four corners of a cell in a mask; returns how many of them were new. */
export function markCorners(mask: Uint8Array, width: number, cell: Cell): number {
  let added = 0;
  for (const i of [
    cell.y0 * width + cell.x0,
    cell.y0 * width + cell.x1,
    cell.y1 * width + cell.x0,
    cell.y1 * width + cell.x1,
  ]) {
    if (!mask[i]) {
      mask[i] = 1;
      added++;
    }
  }
  return added;
}

/** The mask of a set of leaves: their corners. */
export function leavesMask(width: number, height: number, leaves: readonly Cell[]): Mask {
  const mask = createMask(width, height);
  for (const cell of leaves) markCorners(mask.data, width, cell);
  return mask;
}

/**
 * Walks the tree in depth-first pre-order (root cells in raster order, children NW, NE, SW, SE), asking
 * `split(cell)` for every splittable cell; returns the leaves. Encoder and decoder share this walk: the
 * encoder answers from its tree and writes the bit, the decoder answers with the bit it reads.
 */
export function walkTree(layout: TreeLayout, split: (cell: Cell) => boolean): Cell[] {
  const leaves: Cell[] = [];
  const stack = rootCells(layout).reverse();
  while (stack.length > 0) {
    const cell = stack.pop() as Cell;
    if (canSplit(cell) && split(cell)) {
      const [a, b, c, d] = children(cell);
      stack.push(d, c, b, a);
    } else {
      leaves.push(cell);
    }
  }
  return leaves;
}
