import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeMask, encodeMask } from "../../src/codec/maskcoder.ts";
import { createMask, type Mask, maskCount } from "../../src/image/types.ts";
import { differences, entropy, gridMask, randomMask } from "./helpers.ts";

function roundTrip(mask: Mask): { decoded: Mask; bytes: number } {
  const count = maskCount(mask);
  const coded = encodeMask(mask, count);
  return { decoded: decodeMask(coded, 0, coded.length, mask.width, mask.height, count), bytes: coded.length };
}

const maskArb = fc
  .record({
    width: fc.integer({ min: 1, max: 40 }),
    height: fc.integer({ min: 1, max: 40 }),
    density: fc.double({ min: 0, max: 1, noNaN: true }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    kind: fc.constantFrom("random", "grid", "stagger"),
  })
  .map(({ width, height, density, seed, kind }) =>
    kind === "random" || density < 0.01
      ? randomMask(width, height, density, seed)
      : gridMask(width, height, density, kind === "stagger"),
  );

describe("mask coder", () => {
  it("decodes every mask of any size and density to itself", () => {
    fc.assert(
      fc.property(maskArb, (mask) => {
        expect(roundTrip(mask).decoded.data).toEqual(mask.data);
      }),
      { numRuns: 500 },
    );
  });

  it("round-trips the extreme masks: one pixel, all pixels, one row, one column", () => {
    for (const [w, h] of [
      [1, 1],
      [1, 50],
      [50, 1],
      [17, 9],
    ]) {
      const all = createMask(w, h, new Uint8Array(w * h).fill(1));
      expect(roundTrip(all).decoded.data).toEqual(all.data);
      const last = createMask(w, h);
      last.data[w * h - 1] = 1;
      expect(roundTrip(last).decoded.data).toEqual(last.data);
      const first = createMask(w, h);
      first.data[0] = 1;
      expect(roundTrip(first).decoded.data).toEqual(first.data);
    }
  });

  // The check: uniformly random 768×512 masks within 2% of n·H(p), grids far below.
  for (const p of [0.02, 0.05, 0.1]) {
    it(`codes a uniformly random 768×512 mask at p = ${p} within 2% of n·H(p)`, () => {
      const mask = randomMask(768, 512, p, Math.round(p * 1000));
      const n = 768 * 512;
      const { decoded, bytes } = roundTrip(mask);
      expect(differences(decoded.data, mask.data)).toBe(0);
      const ideal = n * entropy(maskCount(mask) / n);
      const ratio = (bytes * 8) / ideal;
      console.log(
        `random mask p=${p}: ${bytes * 8} bits, n·H(p) = ${ideal.toFixed(0)} bits, ratio ${ratio.toFixed(4)}`,
      );
      expect(ratio).toBeLessThan(1.02);
    });

    it(`codes a regular 768×512 grid at p = ${p} in under 5% of n·H(p)`, () => {
      for (const stagger of [false, true]) {
        const mask = gridMask(768, 512, p, stagger);
        const n = 768 * 512;
        const { decoded, bytes } = roundTrip(mask);
        expect(differences(decoded.data, mask.data)).toBe(0);
        const ideal = n * entropy(maskCount(mask) / n);
        const ratio = (bytes * 8) / ideal;
        console.log(
          `${stagger ? "staggered " : ""}grid p=${p}: ${bytes * 8} bits, n·H(p) = ${ideal.toFixed(0)}, ratio ${ratio.toFixed(4)}`,
        );
        expect(ratio).toBeLessThan(0.05);
      }
    });
  }
});
