import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { analyticSelector, inpaintDiffusion } from "../../src/baselines/index.ts";
import { refinedSelector } from "../../src/baselines/nlpe.ts";
import { MaskcodecError } from "../../src/errors.ts";
import { maskCount, targetCount } from "../../src/image/types.ts";
import { ditherScores } from "../../src/mask/dither.ts";
import {
  BLUE_NOISE_TILE,
  blueNoiseTile,
  orderedDither,
  orderedScores,
} from "../../src/mask/ordered-dither.ts";
import { mae, syntheticImage } from "../baselines/helpers.ts";

/** Smallest toroidal distance between two of the tile's pixels whose threshold is below `level`. */
function minDistanceBelow(level: number): number {
  const t = blueNoiseTile();
  const n = BLUE_NOISE_TILE;
  const points: number[] = [];
  for (let i = 0; i < t.length; i++) if (t[i] < level) points.push(i);
  let min = Number.POSITIVE_INFINITY;
  for (const a of points) {
    for (const b of points) {
      if (a === b) continue;
      const dx = Math.abs((a % n) - (b % n));
      const dy = Math.abs(Math.floor(a / n) - Math.floor(b / n));
      min = Math.min(min, Math.hypot(Math.min(dx, n - dx), Math.min(dy, n - dy)));
    }
  }
  return min;
}

describe("ordered dithering with the blue-noise tile", () => {
  it("the tile's thresholds are the ranks 0.5/N … (N − 0.5)/N, each once", () => {
    const t = blueNoiseTile();
    const sorted = Array.from(t).sort((a, b) => a - b);
    const n = t.length;
    expect(n).toBe(BLUE_NOISE_TILE ** 2);
    for (let i = 0; i < n; i++) expect(sorted[i]).toBeCloseTo((i + 0.5) / n, 12);
  });

  it("every level of the tile is spread out: points at least 0.6 mean spacings apart (measured 0.63–0.76)", () => {
    // white noise of 205 points on 64² would have pairs at distance 1 almost surely
    for (const d of [0.01, 0.02, 0.05, 0.1]) {
      expect(minDistanceBelow(d)).toBeGreaterThanOrEqual(0.6 / Math.sqrt(d));
    }
  });

  it("keeps exactly the target count, deterministically, for any size and scores", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 90 }),
        fc.integer({ min: 1, max: 90 }),
        fc.double({ min: 1e-3, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 1000 }),
        (w, h, density, seed) => {
          const scores = Float32Array.from({ length: w * h }, (_, i) => Math.sin(i * 0.37 + seed) * 3);
          const count = targetCount(w * h, density);
          const a = orderedDither(scores, w, h, count);
          expect(a.reduce((s, v) => s + v, 0)).toBe(count);
          expect(Array.from(orderedDither(scores, w, h, count))).toEqual(Array.from(a));
        },
      ),
      { numRuns: 100 },
    );
  });

  it("places single pixels: raising one pixel's score turns that pixel on", () => {
    const w = 40;
    const h = 30;
    const scores = new Float32Array(w * h);
    const count = targetCount(w * h, 0.05);
    const flat = orderedDither(scores, w, h, count);
    const target = 17 * w + 23;
    expect(flat[target]).toBe(0);
    scores[target] = 12;
    const raised = orderedDither(scores, w, h, count);
    expect(raised[target]).toBe(1);
    // and only one other pixel changes (the weakest kept one leaves): the decision is per pixel
    let changed = 0;
    for (let i = 0; i < w * h; i++) if (raised[i] !== flat[i]) changed++;
    expect(changed).toBe(2);
    // error diffusion, by contrast, reshuffles the pixels downstream of the raised one
    const fsFlat = ditherScores(new Float32Array(w * h), w, h, count);
    const fsRaised = ditherScores(scores, w, h, count);
    let fsChanged = 0;
    for (let i = 0; i < w * h; i++) if (fsRaised[i] !== fsFlat[i]) fsChanged++;
    expect(fsChanged).toBeGreaterThan(2);
  });

  it("realises a density map: more pixels where the scores are higher", () => {
    const w = 64;
    const h = 64;
    const scores = Float32Array.from({ length: w * h }, (_, i) => (i % w < 32 ? 1.5 : 0));
    const mask = orderedDither(scores, w, h, targetCount(w * h, 0.1));
    let left = 0;
    let right = 0;
    for (let i = 0; i < w * h; i++) if (mask[i]) i % w < 32 ? (left += 1) : (right += 1);
    // sigmoid(s − t) with a 1.5 offset: about e^1.5 ≈ 4.5 times the density at small densities
    expect(left / right).toBeGreaterThan(3);
    expect(left / right).toBeLessThan(6);
  });

  it("orderedScores shifts by −logit(T) of the repeated tile", () => {
    const t = blueNoiseTile();
    const s = orderedScores(new Float32Array(70 * 3), 70, 3);
    const x = 66;
    const y = 2;
    const threshold = t[y * BLUE_NOISE_TILE + (x % BLUE_NOISE_TILE)];
    expect(s[y * 70 + x]).toBeCloseTo(-Math.log(threshold / (1 - threshold)), 5);
  });
});

describe("refinedSelector (the encoder's --refine)", () => {
  it("keeps the count, does not raise the diffusion error, and lowers it on a real image", async () => {
    const img = syntheticImage(40, 40, 3, 5);
    const inner = analyticSelector();
    const before = await inner.select(img, 0.06);
    const after = await refinedSelector(inner, { cycles: 1, seed: 2 }).select(img, 0.06);
    expect(maskCount(after)).toBe(maskCount(before));
    const errBefore = mae(inpaintDiffusion(img, before).image, img);
    const errAfter = mae(inpaintDiffusion(img, after).image, img);
    expect(errAfter).toBeLessThan(errBefore);
  });

  it("is the inner mask itself with 0 cycles, and refuses bad cycles", async () => {
    const img = syntheticImage(24, 24, 1, 2);
    const inner = analyticSelector();
    const a = await inner.select(img, 0.1);
    const b = await refinedSelector(inner, { cycles: 0 }).select(img, 0.1);
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    expect(() => refinedSelector(inner, { cycles: -1 })).toThrow(MaskcodecError);
    expect(refinedSelector(inner, { cycles: 1 }).id).toBe("analytic+nlpe");
  });
});
