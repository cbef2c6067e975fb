import { describe, expect, it } from "vitest";
import { inpaintDiffusion } from "../../src/baselines/diffusion.ts";
import { randomMask } from "../../src/baselines/selectors.ts";
import { optimiseTonal, tonalOptimiser } from "../../src/baselines/tonal.ts";
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
});
