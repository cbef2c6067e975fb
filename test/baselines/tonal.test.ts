import { describe, expect, it } from "vitest";
import { inpaintDiffusion } from "../../src/baselines/diffusion.ts";
import { randomMask } from "../../src/baselines/selectors.ts";
import { nearestAreas, optimiseTonal, tonalOptimiser } from "../../src/baselines/tonal.ts";
import { createMask } from "../../src/image/types.ts";
import { syntheticImage } from "./helpers.ts";

function mse(a: Float32Array, b: Float32Array): number {
  let e = 0;
  for (let i = 0; i < a.length; i++) e += (a[i] - b[i]) ** 2;
  return e / a.length;
}

describe("tonal optimisation", () => {
  it("never increases the squared error, and lowers it on a sparse mask", () => {
    for (const [seed, count] of [
      [1, 30],
      [2, 100],
      [3, 300],
    ]) {
      const img = syntheticImage(32, 24, 3, seed);
      const mask = randomMask(32, 24, count, seed);
      const result = optimiseTonal(img, mask);
      const before = mse(inpaintDiffusion(img, mask).image.data, img.data);
      const after = mse(inpaintDiffusion(result.values, mask).image.data, img.data);
      expect(after).toBeLessThanOrEqual(before + 1e-6);
      expect(result.mseAfter).toBeLessThan(result.mseBefore);
      expect(after).toBeCloseTo(result.mseAfter, 3);
    }
  });

  it("keeps values within [0, 255] and leaves pixels off the mask alone", async () => {
    const img = syntheticImage(24, 24, 1, 4);
    const mask = randomMask(24, 24, 40, 4);
    const values = await tonalOptimiser().optimise(img, mask);
    for (let i = 0; i < values.data.length; i++) {
      expect(values.data[i]).toBeGreaterThanOrEqual(0);
      expect(values.data[i]).toBeLessThanOrEqual(255);
      if (!mask.data[i]) expect(values.data[i]).toBe(img.data[i]);
    }
  });

  it("changes nothing for a full mask", () => {
    const img = syntheticImage(8, 8, 3, 1);
    const result = optimiseTonal(img, createMask(8, 8, new Uint8Array(64).fill(1)));
    expect(Array.from(result.values.data)).toEqual(Array.from(img.data));
    expect(result.mseAfter).toBe(0);
  });

  it("preconditioning reaches the same optimum in fewer iterations on a mask of mixed spacing", () => {
    // A dense corner and a sparse rest, like a subdivision tree's leaves: the values' scales differ widely.
    const w = 48;
    const h = 40;
    const img = syntheticImage(w, h, 1, 9);
    const m = new Uint8Array(w * h);
    for (let y = 0; y < h; y += 8) for (let x = 0; x < w; x += 8) m[y * w + x] = 1;
    for (let y = 0; y < 12; y += 2) for (let x = 0; x < 12; x += 2) m[y * w + x] = 1;
    const mask = createMask(w, h, m);
    const plain = optimiseTonal(img, mask, { tolerance: 1e-8 });
    const pre = optimiseTonal(img, mask, { tolerance: 1e-8, precondition: 0.3 });
    // the same to float32 rounding of the stored values (a relative 1e-7 of an error of about 260)
    expect(pre.mseAfter).toBeCloseTo(plain.mseAfter, 4);
    expect(pre.iterations).toBeLessThan(plain.iterations);
  });
});

describe("nearest-pixel areas", () => {
  it("share out every pixel among the mask's pixels", () => {
    const w = 17;
    const h = 13;
    const m = new Uint8Array(w * h);
    for (const i of [0, 40, 100, 220]) m[i] = 1;
    const area = nearestAreas(w, h, m);
    let sum = 0;
    for (let i = 0; i < area.length; i++) {
      if (!m[i]) expect(area[i]).toBe(0);
      sum += area[i];
    }
    expect(sum).toBe(w * h);
  });

  it("give a lone pixel the whole image and each point of a regular grid its cell", () => {
    const lone = new Uint8Array(30);
    lone[7] = 1;
    expect(nearestAreas(6, 5, lone)[7]).toBe(30);
    // points at the centres of 5 × 5 cells: every pixel is nearest to its own cell's centre
    const grid = new Uint8Array(20 * 10);
    for (let y = 2; y < 10; y += 5) for (let x = 2; x < 20; x += 5) grid[y * 20 + x] = 1;
    const area = nearestAreas(20, 10, grid);
    for (let i = 0; i < grid.length; i++) if (grid[i]) expect(area[i]).toBe(25);
  });
});
