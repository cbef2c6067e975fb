import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { inpaintDiffusion } from "../../src/baselines/diffusion.ts";
import { gridSelector } from "../../src/baselines/selectors.ts";
import { mae } from "../../src/image/metrics.ts";
import { createImage, maskCount, targetCount } from "../../src/image/types.ts";
import { analyticScores, analyticSelector, gaussianBlur } from "../../src/mask/analytic.ts";

/** A smooth grey background with a bright disc: the Laplacian is large only near the disc's rim. */
function discImage(size: number) {
  const image = createImage(size, size, 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const inside = (x - size / 2) ** 2 + (y - size / 2) ** 2 < (size / 4) ** 2;
      const v = 60 + 0.5 * x + (inside ? 120 : 0);
      for (let c = 0; c < 3; c++) image.data[(y * size + x) * 3 + c] = v;
    }
  }
  return image;
}

describe("analytic masks", () => {
  it("hit the target count exactly for any size and density", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 1e-3, max: 1, noNaN: true }),
        async (w, h, density) => {
          const image = createImage(w, h, 3);
          for (let i = 0; i < image.data.length; i++) image.data[i] = (i * 37) % 251;
          const mask = await analyticSelector().select(image, density);
          expect(maskCount(mask)).toBe(targetCount(w * h, density));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("put the pixels where the Laplacian is large, and beat a grid there with diffusion", async () => {
    const image = discImage(64);
    const mask = await analyticSelector().select(image, 0.08);
    let nearRim = 0;
    for (let y = 0; y < 64; y++) {
      for (let x = 0; x < 64; x++) {
        const r = Math.hypot(x - 32, y - 32);
        if (mask.data[y * 64 + x] && Math.abs(r - 16) < 4) nearRim++;
      }
    }
    // the ring of width 8 around the rim covers about 20 % of the image
    expect(nearRim / maskCount(mask)).toBeGreaterThan(0.5);
    const grid = await gridSelector().select(image, 0.08);
    const analyticMae = mae(image, inpaintDiffusion(image, mask).image);
    const gridMae = mae(image, inpaintDiffusion(image, grid).image);
    expect(analyticMae).toBeLessThan(0.7 * gridMae);
  });

  it("the blur is the separable sum with reflected taps, bit for bit, at any size against its radius", () => {
    // reference: every tap read through the reflection, summed tap by tap in order
    const reflect = (i: number, n: number) => {
      const j = ((i % (2 * n)) + 2 * n) % (2 * n);
      return n === 1 ? 0 : j < n ? j : 2 * n - 1 - j;
    };
    const reference = (g: Float64Array, w: number, h: number, sigma: number) => {
      const r = Math.max(1, Math.ceil(3 * sigma));
      const k = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
      const sum = k.reduce((a, b) => a + b, 0);
      const kn = k.map((v) => v / sum);
      const tmp = new Float64Array(w * h);
      const out = new Float64Array(w * h);
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          let v = 0;
          for (let i = -r; i <= r; i++) v += kn[i + r] * g[y * w + reflect(x + i, w)];
          tmp[y * w + x] = v;
        }
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          let v = 0;
          for (let i = -r; i <= r; i++) v += kn[i + r] * tmp[reflect(y + i, h) * w + x];
          out[y * w + x] = v;
        }
      return out;
    };
    for (const [w, h, sigma] of [
      [1, 1, 1.8],
      [1, 9, 1.8],
      [7, 1, 0.3],
      [5, 4, 2.8],
      [40, 23, 1.8],
      [13, 31, 0.6],
    ]) {
      const g = Float64Array.from({ length: w * h }, (_, i) => ((i * 7919) % 255) + 0.37 * (i % 11));
      expect(gaussianBlur(g, w, h, sigma)).toEqual(reference(g, w, h, sigma));
    }
  });

  it("scores are mean-free and the blur keeps constants", () => {
    const g = new Float64Array(30 * 20).fill(7);
    for (const v of gaussianBlur(g, 30, 20, 2.5)) expect(v).toBeCloseTo(7, 10);
    const ramp = Float64Array.from({ length: 30 * 20 }, (_, i) => (i % 30) * (i % 7));
    const s = analyticScores(ramp, 30, 20, 0.05);
    expect(Math.abs(s.reduce((a, b) => a + b, 0) / s.length)).toBeLessThan(1e-5);
  });
});
