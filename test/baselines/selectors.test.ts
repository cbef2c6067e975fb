import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { gridSelector, randomSelector } from "../../src/baselines/selectors.ts";
import { createImage, maskCount, targetCount } from "../../src/image/types.ts";

describe("grid and random selectors", () => {
  it("hit the target count exactly for any size and density", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 70 }),
        fc.double({ min: 1e-4, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 1000 }),
        async (w, h, density, seed) => {
          const image = createImage(w, h, 1);
          const expected = targetCount(w * h, density);
          expect(maskCount(await gridSelector().select(image, density))).toBe(expected);
          expect(maskCount(await randomSelector({ seed }).select(image, density))).toBe(expected);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("random masks are deterministic for a seed and differ between seeds", async () => {
    const image = createImage(64, 48, 3);
    const a = await randomSelector({ seed: 7 }).select(image, 0.1);
    const b = await randomSelector({ seed: 7 }).select(image, 0.1);
    const c = await randomSelector({ seed: 8 }).select(image, 0.1);
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(Array.from(a.data)).not.toEqual(Array.from(c.data));
  });

  it("grid masks cover the image evenly: no pixel is far from a mask pixel, unlike a random mask", async () => {
    const image = createImage(120, 80, 1);
    const farthest = (data: Uint8Array) => {
      let worst = 0;
      for (let y = 0; y < 80; y++) {
        for (let x = 0; x < 120; x++) {
          let best = Infinity;
          for (let i = 0; i < data.length; i++) {
            if (data[i]) best = Math.min(best, Math.hypot((i % 120) - x, Math.floor(i / 120) - y));
          }
          worst = Math.max(worst, best);
        }
      }
      return worst;
    };
    const spacing = 1 / Math.sqrt(0.05);
    expect(farthest((await gridSelector().select(image, 0.05)).data)).toBeLessThanOrEqual(spacing);
    expect(farthest((await randomSelector({ seed: 1 }).select(image, 0.05)).data)).toBeGreaterThan(spacing);
  });
});
