import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { gaussianKernel, mae, mse, psnr, ssim } from "../../src/image/metrics.ts";
import { createImage, type Image } from "../../src/image/types.ts";

function constant(width: number, height: number, value: number, channels: 1 | 3 = 1): Image {
  return createImage(width, height, channels, new Float32Array(width * height * channels).fill(value));
}

function noise(width: number, height: number, seed: number, channels: 1 | 3 = 1): Image {
  let s = seed >>> 0 || 1;
  const data = new Float32Array(width * height * channels);
  for (let i = 0; i < data.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    data[i] = (s >>> 0) % 256;
  }
  return createImage(width, height, channels, data);
}

/** SSIM by its definition, one window at a time, with no shared code: the reference for the fast one. */
function ssimDirect(a: Image, b: Image): number {
  const k = gaussianKernel(11, 1.5);
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  let sum = 0;
  let count = 0;
  for (let y0 = 0; y0 + 11 <= a.height; y0++) {
    for (let x0 = 0; x0 + 11 <= a.width; x0++) {
      let mx = 0;
      let my = 0;
      for (let j = 0; j < 11; j++)
        for (let i = 0; i < 11; i++) {
          const w = k[i] * k[j];
          mx += w * a.data[(y0 + j) * a.width + x0 + i];
          my += w * b.data[(y0 + j) * a.width + x0 + i];
        }
      let vx = 0;
      let vy = 0;
      let cxy = 0;
      for (let j = 0; j < 11; j++)
        for (let i = 0; i < 11; i++) {
          const w = k[i] * k[j];
          const dx = a.data[(y0 + j) * a.width + x0 + i] - mx;
          const dy = b.data[(y0 + j) * a.width + x0 + i] - my;
          vx += w * dx * dx;
          vy += w * dy * dy;
          cxy += w * dx * dy;
        }
      sum += ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
      count++;
    }
  }
  return sum / count;
}

describe("metrics on the 0–255 scale", () => {
  it("MAE and MSE of a constant offset are the offset and its square", () => {
    const a = constant(7, 5, 100, 3);
    const b = constant(7, 5, 103, 3);
    expect(mae(a, b)).toBe(3);
    expect(mse(a, b)).toBe(9);
  });

  it("PSNR of an MSE of 1 is 20·log10(255) = 48.1308 dB, and identical images give Infinity", () => {
    const a = constant(4, 4, 10);
    const b = createImage(
      4,
      4,
      1,
      a.data.map((v, i) => v + (i % 2 === 0 ? 1 : -1)),
    );
    expect(psnr(a, b)).toBeCloseTo(48.1308, 4);
    expect(psnr(a, a)).toBe(Number.POSITIVE_INFINITY);
  });

  it("SSIM of an image with itself is 1", () => {
    const a = noise(32, 24, 7, 3);
    expect(ssim(a, a)).toBeCloseTo(1, 12);
  });

  it("SSIM of two constant images is (2ab + C1) / (a² + b² + C1), the luminance term alone", () => {
    const c1 = (0.01 * 255) ** 2;
    const expected = (2 * 50 * 80 + c1) / (50 * 50 + 80 * 80 + c1);
    expect(ssim(constant(20, 20, 50), constant(20, 20, 80))).toBeCloseTo(expected, 10);
  });

  it("SSIM matches a direct window-by-window evaluation of Wang et al.'s formula", () => {
    const a = noise(30, 26, 3);
    const b = createImage(
      30,
      26,
      1,
      a.data.map((v, i) => 0.7 * v + 40 + ((i * 37) % 23)),
    );
    expect(ssim(a, b)).toBeCloseTo(ssimDirect(a, b), 10);
  });

  it("SSIM of an image taller than one band of rows (computed band by band) matches the direct formula", () => {
    const a = noise(21, 300, 7);
    const b = createImage(
      21,
      300,
      1,
      a.data.map((v, i) => 0.6 * v + 50 + ((i * 29) % 31)),
    );
    expect(ssim(a, b)).toBeCloseTo(ssimDirect(a, b), 10);
  });

  it("SSIM is symmetric, at most 1, and defined for every size from 1×1 up", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer(),
        (w, h, seed) => {
          const a = noise(w, h, seed);
          const b = noise(w, h, seed + 1);
          const s = ssim(a, b);
          expect(Number.isFinite(s)).toBe(true);
          expect(s).toBeLessThanOrEqual(1 + 1e-12);
          expect(ssim(b, a)).toBeCloseTo(s, 12);
        },
      ),
      { numRuns: 50 },
    );
  });

  it("metrics refuse images of different shapes", () => {
    expect(() => mae(constant(2, 2, 0), constant(2, 3, 0))).toThrow(/differ in shape/);
  });
});
