import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  bjontegaard,
  commonRange,
  interpolateAt,
  logGrid,
  meanAtRates,
  normaliseCurve,
  pchipIntegral,
  polyfit,
  type RdPoint,
} from "../../src/eval/curves.ts";

const curve = (pairs: Array<[number, number]>): RdPoint[] => pairs.map(([bpp, value]) => ({ bpp, value }));

describe("interpolation at matched rates", () => {
  it("is linear in log-rate between neighbouring points", () => {
    const c = curve([
      [0.1, 20],
      [0.4, 30],
    ]);
    // 0.2 is the geometric midpoint of 0.1 and 0.4
    expect(interpolateAt(c, 0.2)).toBeCloseTo(25, 12);
    expect(interpolateAt(c, 0.1)).toBe(20);
    expect(interpolateAt(c, 0.4)).toBe(30);
  });

  it("gives no value outside the measured range", () => {
    const c = curve([
      [0.1, 20],
      [0.4, 30],
    ]);
    expect(interpolateAt(c, 0.09)).toBeUndefined();
    expect(interpolateAt(c, 0.41)).toBeUndefined();
  });

  it("sorts points and merges equal rates before interpolating", () => {
    const c = normaliseCurve(
      curve([
        [0.4, 30],
        [0.1, 20],
        [0.4, 32],
        [0.2, Number.POSITIVE_INFINITY],
      ]),
    );
    expect(c).toEqual(
      curve([
        [0.1, 20],
        [0.4, 31],
      ]),
    );
  });

  it("averages over images only where every image reaches the rate", () => {
    const a = curve([
      [0.1, 20],
      [1, 40],
    ]);
    const b = curve([
      [0.2, 24],
      [0.5, 30],
    ]);
    const mean = meanAtRates([a, b], [0.1, 0.2, 0.5, 1]);
    expect(mean.map((p) => p.reached)).toEqual([1, 2, 2, 1]);
    expect(mean[0].value).toBeUndefined();
    expect(mean[3].value).toBeUndefined();
    // a at 0.2: 20 + 20 * log10(2) = 26.0206; mean with 24
    expect(mean[1].value).toBeCloseTo((20 + 20 * Math.log10(2) + 24) / 2, 10);
    expect(meanAtRates([a, b], [0.1], 1)[0].value).toBe(20);
    expect(commonRange([a, b])).toEqual([0.2, 0.5]);
  });

  it("spaces a grid evenly in log-rate, ends included", () => {
    const g = logGrid(0.1, 10, 5);
    expect(g[0]).toBe(0.1);
    expect(g[4]).toBe(10);
    expect(g[2]).toBeCloseTo(1, 12);
  });
});

describe("fitting", () => {
  it("polyfit recovers a cubic exactly", () => {
    const xs = [20, 24, 27, 31, 35, 38];
    const c = [3, -0.5, 0.02, -0.0003];
    const ys = xs.map((x) => c[0] + c[1] * x + c[2] * x * x + c[3] * x ** 3);
    const fit = polyfit(xs, ys, 3);
    for (let i = 0; i < 4; i++) expect(fit[i]).toBeCloseTo(c[i], 6);
  });

  it("the PCHIP integral of a straight line is the trapezoid area", () => {
    const xs = [0, 1, 3, 4];
    const ys = xs.map((x) => 2 * x + 1);
    // ∫_0.5^3.5 (2x + 1) dx = [x² + x] = 15.75 − 0.75 = 15
    expect(pchipIntegral(xs, ys, 0.5, 3.5)).toBeCloseTo(15, 12);
  });
});

describe("Bjøntegaard deltas", () => {
  const anchor = curve([
    [0.1, 25],
    [0.2, 28],
    [0.4, 31.5],
    [0.8, 34],
    [1.6, 37],
  ]);

  it("a codec needing twice the rate for the same PSNR has a BD-rate of +100 %", () => {
    const test = anchor.map((p) => ({ bpp: 2 * p.bpp, value: p.value }));
    for (const method of ["cubic", "pchip"] as const) {
      expect(bjontegaard(anchor, test, method).bdRate).toBeCloseTo(100, 8);
      expect(bjontegaard(test, anchor, method).bdRate).toBeCloseTo(-50, 8);
    }
  });

  it("a constant PSNR offset is the BD-PSNR, and the rates need no change", () => {
    const test = anchor.map((p) => ({ bpp: p.bpp, value: p.value + 1.25 }));
    for (const method of ["cubic", "pchip"] as const) {
      expect(bjontegaard(anchor, test, method).bdQuality).toBeCloseTo(1.25, 10);
    }
  });

  it("on logarithmic curves PSNR = a + b ln R, a rate factor k costs b ln k dB", () => {
    const b = 4;
    const k = 1.5;
    const log = (rates: number[], factor: number) =>
      rates.map((r) => ({ bpp: r * factor, value: 20 + b * Math.log(r) }));
    const rates = [0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 2];
    const result = bjontegaard(log(rates, 1), log(rates, k), "cubic");
    expect(result.bdQuality).toBeCloseTo(-b * Math.log(k), 10);
    expect(result.bdRate).toBeCloseTo((k - 1) * 100, 8);
  });

  it("curves that do not overlap have no BD figures", () => {
    const far = curve([
      [5, 45],
      [8, 50],
    ]);
    expect(bjontegaard(anchor, far)).toEqual({ bdRate: undefined, bdQuality: undefined });
  });

  it("for any increasing curve, scaling its rates by k gives a BD-rate of (k − 1) × 100 %", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.05, max: 3, noNaN: true }), { minLength: 4, maxLength: 9 }),
        fc.double({ min: 0.2, max: 5, noNaN: true }),
        fc.constantFrom("cubic" as const, "pchip" as const),
        (raw, k, method) => {
          const rates = [...new Set(raw.map((r) => Math.round(r * 1000) / 1000))].sort((a, b) => a - b);
          fc.pre(rates.length >= 4 && rates[rates.length - 1] / rates[0] > 1.5);
          const a = rates.map((r, i) => ({ bpp: r, value: 20 + 6 * Math.log(r) + 0.01 * i }));
          const t = a.map((p) => ({ bpp: p.bpp * k, value: p.value }));
          const { bdRate } = bjontegaard(a, t, method);
          expect(bdRate).toBeDefined();
          expect(bdRate!).toBeCloseTo((k - 1) * 100, 4);
        },
      ),
      { numRuns: 200 },
    );
  });
});
