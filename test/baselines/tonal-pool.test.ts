import { describe, expect, it } from "vitest";
import { TonalPool } from "../../src/baselines/tonal-pool.ts";
import { optimiseTonalTiled, optimiseTonalTiledAll } from "../../src/baselines/tonal-tiled.ts";
import { createImage, createMask, type Image } from "../../src/image/types.ts";
import { LowrateEncoder, type LowrateSettings } from "../../src/lowrate/codec.ts";
import { LOWRATE_DEFAULTS, settingsFor } from "../../src/lowrate/rate.ts";
import { tileGrid } from "../../src/nets/tiling.ts";
import { syntheticImage } from "./helpers.ts";

// Small windows, so that a small image has several (the encoder's own are 576 × 576).
const SMALL = { core: 48, margin: 16 };

const same = (a: Float32Array, b: Float32Array) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** A tree-mode stream of `image` with these settings, from an encoder made with `options` (its threads ended). */
function streamOf(
  image: Image,
  settings: LowrateSettings,
  options: ConstructorParameters<typeof LowrateEncoder>[1],
): Uint8Array {
  const encoder = new LowrateEncoder(image, options);
  try {
    return encoder.encode(settings).bytes;
  } finally {
    encoder.close();
  }
}

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
    const bytes = (threads: number) => streamOf(image, settings, { tiling: SMALL, threads });
    expect(Buffer.from(bytes(2)).equals(Buffer.from(bytes(1)))).toBe(true);
  }, 60_000);

  it("share out a colour image's planes: a one-window image's closed-loop stream is the same on three threads", () => {
    const image = syntheticImage(96, 72, 3, 5);
    expect(tileGrid(96, 72, { core: 512, margin: 32, span: 768 }).length).toBe(1);
    const settings = { ...settingsFor(400, { ...LOWRATE_DEFAULTS }), closedLoop: true };
    const bytes = (threads: number) => streamOf(image, settings, { threads });
    expect(Buffer.from(bytes(3)).equals(Buffer.from(bytes(1)))).toBe(true);
  }, 60_000);

  it("solve several problems' windows as one batch, each as alone", () => {
    const images = [syntheticImage(100, 80, 1, 1), syntheticImage(100, 80, 1, 2)];
    const masks = [createMask(100, 80), createMask(100, 80)];
    for (let i = 0; i < 8000; i += 9) masks[0].data[i] = 1;
    for (let i = 3; i < 8000; i += 31) masks[1].data[i] = 1;
    // the values at the mask's points, raster order
    const points = (values: Float32Array, mask: Uint8Array) => values.filter((_, i) => mask[i] === 1);
    const pool = TonalPool.create(2);
    try {
      // several windows per image (SMALL), and one window each (optimiseTonal of the whole image alone)
      for (const geometry of [SMALL, { core: 512, margin: 32, span: 768 }]) {
        const options = { maxIterations: 10 };
        const alone = images.map((image, k) => optimiseTonalTiled(image, masks[k], geometry, options));
        const problems = images.map((image, k) => ({ image, mask: masks[k], options }));
        for (const p of [null, pool]) {
          const batch = optimiseTonalTiledAll(problems, geometry, p);
          expect(batch.every((values, k) => same(values, points(alone[k].data, masks[k].data)))).toBe(true);
        }
      }
    } finally {
      pool?.close();
    }
  }, 60_000);
});
