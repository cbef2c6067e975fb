import { describe, expect, it } from "vitest";
import { TonalPool } from "../../src/baselines/tonal-pool.ts";
import { optimiseTonalTiled } from "../../src/baselines/tonal-tiled.ts";
import { createImage, createMask } from "../../src/image/types.ts";
import { LowrateEncoder } from "../../src/lowrate/codec.ts";
import { LOWRATE_DEFAULTS, settingsFor } from "../../src/lowrate/rate.ts";
import { tileGrid } from "../../src/nets/tiling.ts";
import { syntheticImage } from "./helpers.ts";

// Small windows, so that a small image has several (the encoder's own are 576 × 576).
const SMALL = { core: 48, margin: 16 };

const same = (a: Float32Array, b: Float32Array) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe("least squares on worker threads", () => {
  it("give the values of one thread, with start values and fixed points too", () => {
    const image = syntheticImage(150, 110, 1, 4);
    expect(tileGrid(150, 110, SMALL).length).toBe(12);
    const mask = createMask(150, 110);
    for (let i = 0; i < mask.data.length; i += 7) mask.data[i] = 1;
    const start = createImage(
      150,
      110,
      1,
      image.data.map((v) => v + 3),
    );
    const fixed = new Uint8Array(mask.data.length);
    for (let i = 0; i < fixed.length; i += 21) fixed[i] = 1;
    const options = { maxIterations: 20, start, fixed };
    const one = optimiseTonalTiled(image, mask, SMALL, options);
    for (const threads of [2, 3]) {
      const pool = TonalPool.create(threads);
      try {
        expect(same(optimiseTonalTiled(image, mask, SMALL, options, pool).data, one.data)).toBe(true);
      } finally {
        pool?.close();
      }
    }
  }, 60_000);

  it("leave the tree mode's streams as they are", () => {
    const image = syntheticImage(160, 120, 3, 9);
    const settings = settingsFor(900, { ...LOWRATE_DEFAULTS });
    const bytes = (threads: number) => {
      const encoder = new LowrateEncoder(image, { tiling: SMALL, threads });
      try {
        return encoder.encode(settings).bytes;
      } finally {
        encoder.close();
      }
    };
    expect(Buffer.from(bytes(2)).equals(Buffer.from(bytes(1)))).toBe(true);
  }, 60_000);
});
