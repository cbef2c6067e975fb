import { describe, expect, it } from "vitest";
import { mse } from "../../src/image/metrics.ts";
import { decodeLowrate, LowrateEncoder, TONAL_TILING } from "../../src/lowrate/codec.ts";
import { tileGrid, UNTILED } from "../../src/nets/tiling.ts";
import { syntheticImage } from "../codec/helpers.ts";

const SETTINGS = {
  lumaPoints: 700,
  chromaPoints: 80,
  lumaLevels: 8,
  chromaLevels: 8,
  lumaRoot: 16,
  chromaRoot: 16,
  closedLoop: true,
};

describe("the tree mode's windows", () => {
  it("leave an image no larger than one window encoded exactly as without windows", () => {
    const image = syntheticImage(96, 64, 3, 21);
    const covering = { core: 32, margin: 16, span: 96 };
    expect(tileGrid(96, 64, covering)).toHaveLength(1);
    const untiled = new LowrateEncoder(image, { tiling: UNTILED }).encode(SETTINGS).bytes;
    expect(new LowrateEncoder(image, { tiling: covering }).encode(SETTINGS).bytes).toEqual(untiled);
    // the product's geometry leaves Kodak's 768 × 512 (either way round) in one window
    expect(tileGrid(768, 512, TONAL_TILING)).toHaveLength(1);
    expect(tileGrid(512, 768, TONAL_TILING)).toHaveLength(1);
    expect(tileGrid(769, 512, TONAL_TILING).length).toBeGreaterThan(1);
  });

  it("encode an image of many windows, closed loop included, to a stream that decodes as it said", () => {
    const image = syntheticImage(128, 96, 3, 22);
    const encoder = new LowrateEncoder(image, { tiling: { core: 32, margin: 32 } });
    const tiled = encoder.encode(SETTINGS, { decode: true });
    expect(tiled.lumaCount).toBeGreaterThanOrEqual(SETTINGS.lumaPoints);
    expect(decodeLowrate(tiled.bytes).image.data).toEqual(tiled.decoded?.data);
    // the windows' least squares still beat the original values at the same points (MSE 46 against 213 here)
    const plain = encoder.encode({ ...SETTINGS, tonal: false, closedLoop: false }, { decode: true });
    const e = (decoded: typeof tiled.decoded) => mse(image, decoded as NonNullable<typeof decoded>);
    expect(e(tiled.decoded)).toBeLessThan(e(plain.decoded));
  });
});
