import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { channelLevels, dequantise, quantise } from "../../src/codec/quantiser.ts";
import {
  rgbToYcbcr,
  rgbToYcbcrPixel,
  ycbcrToRgb,
  ycbcrToRgbInto,
  ycbcrToRgbPixel,
} from "../../src/image/colour.ts";

describe("YCbCr (JPEG full range)", () => {
  it("converts to RGB in place exactly as pixel by pixel (the decoder's known values)", () => {
    const sample = fc.double({ min: -10, max: 270, noNaN: true });
    fc.assert(
      fc.property(sample, sample, sample, (y, cb, cr) => {
        const out = new Float32Array(5);
        ycbcrToRgbInto(y, cb, cr, out, 2);
        expect(Array.from(out)).toEqual([0, 0, ...Array.from(Float32Array.from(ycbcrToRgbPixel(y, cb, cr)))]);
      }),
    );
  });

  it("maps black, white, grey and the primaries to the JFIF values", () => {
    const cases: Array<[[number, number, number], [number, number, number]]> = [
      [
        [0, 0, 0],
        [0, 128, 128],
      ],
      [
        [255, 255, 255],
        [255, 128, 128],
      ],
      [
        [128, 128, 128],
        [128, 128, 128],
      ],
      [
        [255, 0, 0],
        [76.245, 84.972, 255.5],
      ],
      [
        [0, 255, 0],
        [149.685, 43.528, 21.235],
      ],
      [
        [0, 0, 255],
        [29.07, 255.5, 107.265],
      ],
    ];
    for (const [rgb, ycc] of cases) {
      const got = rgbToYcbcrPixel(...rgb);
      for (let c = 0; c < 3; c++) expect(got[c]).toBeCloseTo(ycc[c], 2);
    }
  });

  it("inverts: rgb → ycbcr → rgb is the identity to within 1e-9", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 255, noNaN: true }), { minLength: 3, maxLength: 3 }),
        (rgb) => {
          const back = ycbcrToRgbPixel(...rgbToYcbcrPixel(rgb[0], rgb[1], rgb[2]));
          for (let c = 0; c < 3; c++) expect(Math.abs(back[c] - rgb[c])).toBeLessThan(1e-9);
        },
      ),
    );
  });

  it("works in place over interleaved samples, and the inverse clamps to [0, 255]", () => {
    const data = new Float32Array([255, 0, 0, 10, 200, 30]);
    const ycc = rgbToYcbcr(data);
    const rgb = ycbcrToRgb(ycc, ycc);
    expect(rgb).toBe(ycc);
    for (let i = 0; i < 6; i++) expect(rgb[i]).toBeCloseTo(data[i], 2);
    const out = ycbcrToRgb(new Float32Array([255, 0, 255]));
    for (const v of out) expect(v >= 0 && v <= 255).toBe(true);
  });
});

describe("uniform quantiser", () => {
  it("is the identity on integers with 256 levels", () => {
    for (let v = 0; v < 256; v++) expect(dequantise(quantise(v, 256), 256)).toBe(v);
  });

  it("keeps 0 and 255 and errs by at most half a step for any level count", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 256 }),
        fc.double({ min: 0, max: 255, noNaN: true }),
        (levels, v) => {
          const q = quantise(v, levels);
          expect(Number.isInteger(q) && q >= 0 && q < levels).toBe(true);
          expect(Math.abs(dequantise(q, levels) - v)).toBeLessThanOrEqual(255 / (levels - 1) / 2 + 1e-9);
          expect(dequantise(quantise(0, levels), levels)).toBe(0);
          expect(dequantise(quantise(255, levels), levels)).toBe(255);
        },
      ),
    );
  });

  it("clamps values outside [0, 255]", () => {
    expect(quantise(-20, 64)).toBe(0);
    expect(quantise(300, 64)).toBe(63);
  });

  it("uses chroma levels only for the chroma channels of a YCbCr stream", () => {
    const q = { lumaLevels: 64, chromaLevels: 16 };
    expect(channelLevels(q, "ycbcr", 3)).toEqual([64, 16, 16]);
    expect(channelLevels(q, "none", 3)).toEqual([64, 64, 64]);
    expect(channelLevels(q, "none", 1)).toEqual([64]);
  });
});
