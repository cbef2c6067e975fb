import { describe, expect, it } from "vitest";
import { inpaintDiffusion } from "../../src/baselines/diffusion.ts";
import { LocalInpainting } from "../../src/baselines/local.ts";
import { nlpe, psNlpe, psNlpeSelector } from "../../src/baselines/nlpe.ts";
import { probabilisticSparsification, psSelector } from "../../src/baselines/ps.ts";
import { randomMask } from "../../src/baselines/selectors.ts";
import { MaskcodecError } from "../../src/errors.ts";
import { createImage, maskCount, targetCount } from "../../src/image/types.ts";
import { mae, syntheticImage } from "./helpers.ts";

describe("probabilistic sparsification", () => {
  it("reaches the target density exactly", () => {
    for (const [w, h, d] of [
      [32, 24, 0.05],
      [17, 9, 0.2],
      [1, 1, 0.5],
      [5, 1, 1],
      [40, 30, 0.001],
    ] as const) {
      const mask = probabilisticSparsification(syntheticImage(w, h, 3, 2), d, { seed: 3 });
      expect(maskCount(mask)).toBe(targetCount(w * h, d));
    }
  });

  it("is deterministic for a seed", async () => {
    const img = syntheticImage(32, 32, 1, 4);
    const a = await psSelector({ seed: 5 }).select(img, 0.1);
    const b = await psSelector({ seed: 5 }).select(img, 0.1);
    const c = await psSelector({ seed: 6 }).select(img, 0.1);
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(Array.from(a.data)).not.toEqual(Array.from(c.data));
  });

  it("beats a random mask of the same density", () => {
    const img = syntheticImage(48, 48, 3, 8);
    const ps = probabilisticSparsification(img, 0.08, { seed: 1 });
    const random = randomMask(48, 48, maskCount(ps), 1);
    expect(mae(inpaintDiffusion(img, ps).image, img)).toBeLessThan(
      mae(inpaintDiffusion(img, random).image, img),
    );
  });

  it("refuses bad options", () => {
    const img = syntheticImage(8, 8, 1);
    expect(() => probabilisticSparsification(img, 0.1, { p: 0 })).toThrow(MaskcodecError);
    expect(() => probabilisticSparsification(img, 0.1, { q: 1 })).toThrow(MaskcodecError);
  });
});

describe("local relaxation engine", () => {
  it("converges to the global solution", () => {
    const img = syntheticImage(30, 20, 3, 3);
    const mask = randomMask(30, 20, 60, 2);
    const engine = new LocalInpainting(img);
    for (let i = 0; i < 600; i++) if (!mask.data[i]) engine.setUnknown(engine.padded(i));
    engine.relax(1e-9);
    const exact = inpaintDiffusion(img, mask, { tolerance: 1e-10 }).image;
    const local = engine.imageData();
    for (let i = 0; i < local.length; i++) expect(local[i]).toBeCloseTo(exact.data[i], 4);
    expect(engine.total / local.length).toBeCloseTo(mae(exact, img), 4);
  });

  it("rolls a trial back exactly", () => {
    const img = syntheticImage(20, 20, 1, 3);
    const engine = new LocalInpainting(img);
    for (let i = 0; i < 400; i += 2) engine.setUnknown(engine.padded(i));
    engine.relax(1e-6);
    const before = new Float64Array(engine.u);
    const total = engine.total;
    engine.beginTrial();
    engine.setUnknown(engine.padded(101));
    engine.setKnown(engine.padded(100));
    engine.relax(1e-6);
    engine.rollback();
    engine.setFlag(engine.padded(101), true);
    engine.setFlag(engine.padded(100), false);
    expect(Array.from(engine.u)).toEqual(Array.from(before));
    expect(engine.total).toBe(total);
  });
});

describe("non-local pixel exchange", () => {
  it("never increases the error of the accurate inpainting", () => {
    for (const seed of [1, 2, 3]) {
      const img = syntheticImage(32, 24, 3, seed);
      const start = randomMask(32, 24, 40, seed);
      const result = nlpe(img, start, { seed, cycles: 2 });
      const before = mae(inpaintDiffusion(img, start).image, img);
      const after = mae(inpaintDiffusion(img, result.mask).image, img);
      expect(after).toBeLessThanOrEqual(before + 1e-4);
      expect(result.maeAfter).toBeLessThanOrEqual(result.maeBefore);
      expect(maskCount(result.mask)).toBe(40);
    }
  });

  it("improves a random mask clearly", () => {
    const img = syntheticImage(40, 40, 1, 5);
    const start = randomMask(40, 40, 80, 9);
    const result = nlpe(img, start, { seed: 1 });
    expect(result.maeAfter).toBeLessThan(0.9 * result.maeBefore);
  });

  it("PS+NLPE reaches the exact density, is deterministic and no worse than PS", async () => {
    const img = syntheticImage(32, 32, 3, 6);
    const a = psNlpe(img, 0.06, { seed: 2 });
    const b = await psNlpeSelector({ seed: 2 }).select(img, 0.06);
    expect(maskCount(a.mask)).toBe(targetCount(1024, 0.06));
    expect(Array.from(a.mask.data)).toEqual(Array.from(b.data));
    expect(a.maeAfter).toBeLessThanOrEqual(a.maeBefore);
  });

  it("handles a full mask and a 1×1 image", () => {
    const img = createImage(1, 1, 3, new Float32Array([1, 2, 3]));
    expect(maskCount(psNlpe(img, 1).mask)).toBe(1);
    const full = syntheticImage(6, 5, 1);
    expect(maskCount(psNlpe(full, 1).mask)).toBe(30);
  });
});
