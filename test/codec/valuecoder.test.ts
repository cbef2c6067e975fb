import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { spacingMultiple } from "../../src/codec/spacing.ts";
import { writeStream } from "../../src/codec/stream.ts";
import { createImage, type Image } from "../../src/image/types.ts";
import { header, randomMask, rng, syntheticImage } from "./helpers.ts";

function valuesBytes(image: Image, colour: "none" | "ycbcr", levels: number, density = 0.05): number {
  const mask = randomMask(image.width, image.height, density, 11);
  return writeStream({
    header: header(image.width, image.height, image.channels, colour, [levels, levels]),
    mask,
    values: image,
  }).sizes.values;
}

describe("value coder", () => {
  it("codes a smooth image's values in under half the bits of uniform noise (prediction works)", () => {
    // Gradients of at most 0.5 grey levels per pixel: neighbours a few pixels away predict within a few levels.
    const smooth = createImage(256, 256, 1);
    for (let y = 0; y < 256; y++) {
      for (let x = 0; x < 256; x++)
        smooth.data[y * 256 + x] = 128 + 100 * Math.sin(0.003 * x + 0.004 * y + 1);
    }
    const noise = createImage(256, 256, 1);
    const r = rng(4);
    for (let i = 0; i < noise.data.length; i++) noise.data[i] = r() * 255;
    const s = valuesBytes(smooth, "none", 256);
    const n = valuesBytes(noise, "none", 256);
    // Noise at 256 levels costs about 8 bits a value; nothing can do better.
    const values = Math.round(0.05 * 256 * 256);
    expect((n * 8) / values).toBeGreaterThan(7.9);
    console.log(
      `values of a smooth image: ${((s * 8) / values).toFixed(2)} bits each, of noise: ${((n * 8) / values).toFixed(2)}`,
    );
    expect(s).toBeLessThan(n / 2);
  });

  it("codes an RGB image whose channels are equal for little more than its grey version (inter-channel prediction)", () => {
    const grey = syntheticImage(200, 150, 1, 2);
    const rgb = createImage(200, 150, 3);
    for (let i = 0; i < grey.data.length; i++) rgb.data.fill(grey.data[i], 3 * i, 3 * i + 3);
    const g = valuesBytes(grey, "none", 64);
    const c = valuesBytes(rgb, "none", 64);
    expect(c).toBeLessThan(1.25 * g);
  });

  it("spends fewer bits with fewer levels", () => {
    const image = syntheticImage(128, 128, 3, 9);
    const sizes = [256, 64, 16, 4].map((levels) => valuesBytes(image, "ycbcr", levels));
    for (let k = 1; k < sizes.length; k++) expect(sizes[k]).toBeLessThan(sizes[k - 1]);
  });
});

describe("spacing multiple (integer-only window radius)", () => {
  it("is the smallest r with r >= f / sqrt(density), without floating-point square roots", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 26 }),
        fc.integer({ min: 1, max: 2 ** 26 }),
        fc.integer({ min: 1, max: 30 }),
        (a, b, num) => {
          const n = Math.max(a, b);
          const count = Math.min(a, b);
          const r = spacingMultiple(num, 10, count, n, 1 << 20);
          // r² count 100 >= num² n, and (r-1)² count 100 < num² n
          expect(r * r * count * 100 >= num * num * n).toBe(true);
          if (r > 1) expect((r - 1) * (r - 1) * count * 100 < num * num * n).toBe(true);
        },
      ),
    );
    expect(spacingMultiple(25, 10, 1, 1 << 26, 48)).toBe(48);
  });
});
