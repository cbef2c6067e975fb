import { describe, expect, it } from "vitest";
import { mse } from "../../src/image/metrics.ts";
import { LowrateEncoder } from "../../src/lowrate/codec.ts";
import { parseLowrate } from "../../src/lowrate/stream.ts";
import { syntheticImage } from "../codec/helpers.ts";

describe("closed-loop quantisation", () => {
  it("stores the same points with values whose reconstruction is closer to the original", () => {
    const image = syntheticImage(96, 64, 3, 17);
    const encoder = new LowrateEncoder(image);
    const settings = {
      lumaPoints: 700,
      chromaPoints: 80,
      lumaLevels: 6,
      chromaLevels: 6,
      lumaRoot: 16,
      chromaRoot: 16,
    };
    const plain = encoder.encode(settings, { decode: true });
    const closed = encoder.encode({ ...settings, closedLoop: true }, { decode: true });
    const a = parseLowrate(plain.bytes);
    const b = parseLowrate(closed.bytes);
    expect(Array.from(b.luma.mask)).toEqual(Array.from(a.luma.mask));
    expect(Array.from(b.luma.indices)).not.toEqual(Array.from(a.luma.indices));
    expect(mse(image, closed.decoded!)).toBeLessThan(mse(image, plain.decoded!));
  });
});
