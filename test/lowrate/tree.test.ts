import { describe, expect, it } from "vitest";
import { growTree, prefixTree } from "../../src/lowrate/grow.ts";
import { toPlanes } from "../../src/lowrate/planes.ts";
import { canSplit, leavesMask, rootCells, treeLayout, walkTree } from "../../src/lowrate/tree.ts";
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
