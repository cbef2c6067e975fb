import { describe, expect, it } from "vitest";
import { growTree, prefixTree } from "../../src/lowrate/grow.ts";
import { toPlanes } from "../../src/lowrate/planes.ts";
import { canSplit, leavesMask, rootCells, treeLayout, walkTree } from "../../src/lowrate/tree.ts";
import { UNTILED } from "../../src/nets/tiling.ts";
import { syntheticImage } from "../codec/helpers.ts";

describe("subdivision trees", () => {
  it("root cells tile the lattice corner to corner", () => {
    const layout = treeLayout(61, 40, 16);
    const cells = rootCells(layout);
    expect(cells.length).toBe(layout.cols * layout.rows);
    expect(Math.min(...cells.map((c) => c.x0))).toBe(0);
    expect(Math.max(...cells.map((c) => c.x1))).toBe(60);
    expect(Math.max(...cells.map((c) => c.y1))).toBe(39);
  });

  it("a fully split tree keeps every pixel", () => {
    const layout = treeLayout(17, 9, 8);
    const leaves = walkTree(layout, () => true);
    expect(leaves.every((c) => !canSplit(c))).toBe(true);
    expect(leavesMask(17, 9, leaves).data.every((v) => v === 1)).toBe(true);
  });

  it("grows to its point budget, with more points where the image has more detail", () => {
    const w = 64;
    const h = 48;
    const image = syntheticImage(w, h, 1, 3, 0);
    // Flat left half, textured right half.
    for (let y = 0; y < h; y++) for (let x = 0; x < w / 2; x++) image.data[y * w + x] = 100;
    const tree = growTree(treeLayout(w, h, 16), toPlanes(image), [1], 300);
    expect(tree.count).toBeGreaterThanOrEqual(300);
    expect(tree.count).toBeLessThan(310);
    let left = 0;
    for (let y = 0; y < h; y++) for (let x = 0; x < w / 2 - 1; x++) left += tree.mask[y * w + x];
    expect(left).toBeLessThan(tree.count / 4);
  });

  it("grows the same tree from windowed error solves when one window covers the image", () => {
    const image = syntheticImage(60, 44, 1, 4);
    const layout = treeLayout(60, 44, 8);
    const whole = growTree(layout, toPlanes(image), [1], 400, UNTILED);
    const covered = growTree(layout, toPlanes(image), [1], 400, { core: 16, margin: 8, span: 60 });
    expect(covered.order).toEqual(whole.order);
    expect(covered.mask).toEqual(whole.mask);
  });

  it("grows nearly the whole image's tree from windows with a margin of two root cells", () => {
    // A pixel's diffusion error depends on the known pixels within a root cell or two (the root corners are
    // known everywhere), so windowed solves rank the leaves almost as the whole image's does; leaves of
    // near-equal error may swap at a round's cut. Measured: 99 % of the splits shared with a margin of two
    // root cells, 85 % without a margin.
    for (const seed of [1, 2]) {
      const planes = toPlanes(syntheticImage(128, 96, 1, seed));
      const layout = treeLayout(128, 96, 8);
      const whole = growTree(layout, planes, [1], 1200, UNTILED);
      const shared = (margin: number) => {
        const tiled = growTree(layout, planes, [1], 1200, { core: 32, margin });
        expect(tiled.count).toBeGreaterThanOrEqual(1200);
        expect(tiled.count).toBeLessThan(1205); // the last split overshoots the budget by at most 4 corners
        let n = 0;
        for (const key of tiled.splits) if (whole.splits.has(key)) n++;
        return n / whole.splits.size;
      };
      const withMargin = shared(16);
      expect(withMargin).toBeGreaterThan(0.95);
      expect(shared(0)).toBeLessThan(withMargin);
    }
  });

  it("a prefix of a larger tree is the tree grown for the smaller budget", () => {
    const image = syntheticImage(50, 37, 1, 5);
    const layout = treeLayout(50, 37, 8);
    const big = growTree(layout, toPlanes(image), [1], 600);
    const direct = growTree(layout, toPlanes(image), [1], 250);
    const prefix = prefixTree(layout, big, 250);
    expect(prefix.count).toBe(direct.count);
    expect(Array.from(prefix.mask)).toEqual(Array.from(direct.mask));
  });
});
