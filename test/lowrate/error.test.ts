import { describe, expect, it } from "vitest";
import { mse } from "../../src/image/metrics.ts";
import { decodeLowrate, LowrateEncoder, TONAL_TILING } from "../../src/lowrate/codec.ts";
import { streamError } from "../../src/lowrate/error.ts";
import { settingsFor } from "../../src/lowrate/rate.ts";
import { tileGrid } from "../../src/nets/tiling.ts";
import { syntheticImage } from "../codec/helpers.ts";

describe("the rate control's stream error", () => {
  const image = syntheticImage(96, 64, 3, 21);
  const { bytes } = new LowrateEncoder(image).encode(settingsFor(300));
  const exact = mse(image, decodeLowrate(bytes).image);

  it("is the decoded image's error exactly when one window covers the image", () => {
    expect(tileGrid(96, 64, TONAL_TILING)).toHaveLength(1);
    expect(streamError(image, bytes, TONAL_TILING)).toBe(exact);
  });

  it("window by window, approaches the decoded image's error as the windows' context grows", () => {
    // windows whose context reaches across the image see what the whole-image solve sees: the same error,
    // up to the order of the sums
    const wide = { core: 32, margin: 64 };
    expect(tileGrid(96, 64, wide)).toHaveLength(6);
    expect(streamError(image, bytes, wide)).toBeCloseTo(exact, 9);
    // shorter context: off by more, the less context (the chroma points here are a root cell, 32 px, apart)
    const off = [16, 32].map((margin) => Math.abs(streamError(image, bytes, { core: 32, margin }) - exact));
    expect(off[0]).toBeGreaterThan(off[1]);
    expect(off[1]).toBeGreaterThan(0);
  });
});
