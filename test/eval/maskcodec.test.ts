import { describe, expect, it } from "vitest";
import { inpainterFor } from "../../src/backends.ts";
import { decodeBytes } from "../../src/codec/codec.ts";
import { maskCodec } from "../../src/eval/codecs.ts";
import { maskDensity } from "../../src/image/types.ts";
import { testImage } from "./helpers.ts";

describe("the diffusion backend through the real codec", () => {
  const image = testImage(40, 32, 9);

  it("returns the .mgc bytes and the image an independent decode of them gives", async () => {
    const codec = maskCodec("diffusion");
    const run = await codec.run(image, { mask: "random", density: 0.1 });
    const again = await decodeBytes(run.bytes, (header) => inpainterFor(header));
    expect(Array.from(run.decoded.data)).toEqual(Array.from(again.image.data));
    expect(maskDensity(run.mask!)).toBeCloseTo(0.1, 2);
    expect(run.details?.bytes_mask).toBeGreaterThan(0);
    expect(Number(run.details?.bytes_mask) + Number(run.details?.bytes_values)).toBeLessThan(
      run.bytes.length,
    );
  });

  it("reuses the mask across quantiser levels, and finer levels cost more bytes", async () => {
    const codec = maskCodec("diffusion");
    const coarse = await codec.run(image, { mask: "random", density: 0.1, levels: 8 });
    const fine = await codec.run(image, { mask: "random", density: 0.1, levels: 128 });
    expect(fine.mask).toBe(coarse.mask); // the memoised selection, not a recomputed one
    expect(fine.bytes.length).toBeGreaterThan(coarse.bytes.length);
    expect(fine.details?.luma_levels).toBe(128);
  });
});
