import { describe, expect, it } from "vitest";
import { MaskcodecError } from "../../src/errors.ts";
import { LowrateEncoder } from "../../src/lowrate/codec.ts";
import { encodeToSize } from "../../src/lowrate/rate.ts";
import { searchBudget } from "../../src/lowrate/search.ts";
import { syntheticImage } from "../codec/helpers.ts";

describe("the rate search", () => {
  it("finds the largest budget within the target on a noisy increasing size curve", () => {
    const size = (k: number) => 40 + 3 * k + ((k * 7919) % 5);
    for (const target of [100, 517, 2000, 9001]) {
      const r = searchBudget(size, target, 1, 10_000);
      expect(r).toBeDefined();
      expect(r?.size).toBeLessThanOrEqual(target);
      expect(r?.size).toBeGreaterThanOrEqual(0.95 * target);
    }
  });

  it("reports an unreachable target as undefined", () => {
    expect(searchBudget((k) => 100 + k, 50, 1, 100)).toBeUndefined();
  });

  it("stops at the largest budget when the target is beyond reach", () => {
    const r = searchBudget((k) => 10 + k, 1e6, 1, 300);
    expect(r?.count).toBe(300);
  });
});

describe("rate control on generated images", () => {
  const image = syntheticImage(96, 64, 3, 11);
  const pixels = 96 * 64;
  for (const bpp of [0.1, 0.2, 0.4, 0.8]) {
    it(`a target of ${bpp} bpp gives a file of at most that and within 5 % below it`, () => {
      const target = Math.floor((bpp * pixels) / 8);
      const r = encodeToSize(image, target);
      expect(r.encoded.bytes.length).toBeLessThanOrEqual(target);
      expect(r.encoded.bytes.length).toBeGreaterThanOrEqual(0.95 * target);
      expect(r.settings.lumaPoints).toBeGreaterThan(0);
    });
  }

  it("writes its final stream with full least-squares values quantised in closed loop", () => {
    const target = Math.floor((0.3 * pixels) / 8);
    const r = encodeToSize(image, target);
    expect(r.settings).toMatchObject({ tonal: true, closedLoop: true, estimate: false });
    expect(r.evaluations.final).toBeGreaterThanOrEqual(1);
    // the same settings encoded again give the same stream: the result is what the settings say
    const again = new LowrateEncoder(image).encode(r.settings);
    expect(again.bytes).toEqual(r.encoded.bytes);
  });

  it("a grey image meets its target too", () => {
    const grey = syntheticImage(80, 60, 1, 12);
    const r = encodeToSize(grey, 300);
    expect(r.encoded.bytes.length).toBeLessThanOrEqual(300);
    expect(r.encoded.bytes.length).toBeGreaterThanOrEqual(285);
  });

  it("reports progress over the quantisers it tries and the final values, ending complete", () => {
    const image = syntheticImage(64, 48, 3, 8);
    const calls: Array<[number, number]> = [];
    const onProgress = { update: (done: number, total: number) => calls.push([done, total]), done() {} };
    encodeToSize(image, Math.floor((0.3 * 64 * 48) / 8), { onProgress });
    expect(calls.map(([d]) => d)).toEqual([0, 1, 2, 3, 4]);
    expect(calls.every(([, t]) => t === 4)).toBe(true);
  });

  it("refuses a target below the smallest possible stream", () => {
    expect(() => encodeToSize(image, 10)).toThrow(MaskcodecError);
  });
});
