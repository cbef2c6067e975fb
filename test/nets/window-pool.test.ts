import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createImage, createMask } from "../../src/image/types.ts";
import { loadGanModel } from "../../src/nets/gan-backend.ts";
import { Rng } from "../../src/nets/ops.ts";
import { MODELS_DIR } from "../../src/nets/registry.ts";
import { tileGrid } from "../../src/nets/tiling.ts";
import { WindowPool } from "../../src/nets/window-pool.ts";
import { setupTf } from "./helpers.ts";

// A small geometry so that a small image has several windows (the decoder's own has 768-pixel windows).
const SMALL = { core: 64, margin: 32 };
const MODEL = join(MODELS_DIR, "maskgan-v11-d05");

function testImage(w: number, h: number) {
  const rng = new Rng(11);
  const image = createImage(w, h, 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        image.data[(y * w + x) * 3 + c] = 128 + 90 * Math.sin((x * (c + 1)) / 13 + y / 17) + 20 * rng.next();
      }
    }
  }
  const mask = createMask(w, h);
  for (let i = 0; i < w * h; i++) mask.data[i] = rng.next() < 0.05 ? 1 : 0;
  return { image, mask };
}

describe("window worker threads", () => {
  beforeAll(setupTf);

  it("give the same inpainting and mask scores as one thread, for any number of threads", async () => {
    const model = await loadGanModel(MODEL);
    const { image, mask } = testImage(200, 136);
    expect(tileGrid(200, 136, SMALL).length).toBe(12);
    const known = createImage(
      200,
      136,
      3,
      image.data.map((v, i) => (mask.data[Math.floor(i / 3)] ? v : 0)),
    );
    const one = await model.inpainter(SMALL, { threads: 1 }).inpaint(known, mask);
    for (const threads of [2, 3]) {
      const many = await model.inpainter(SMALL, { threads }).inpaint(known, mask);
      expect(Buffer.from(many.data.buffer).equals(Buffer.from(one.data.buffer))).toBe(true);
    }
    // format version 5's 16-bit arithmetic travels with each window's job to the workers
    const int16 = { arithmetic: "int16" as const };
    const oneInt16 = await model.inpainter(SMALL, { threads: 1, ...int16 }).inpaint(known, mask);
    const twoInt16 = await model.inpainter(SMALL, { threads: 2, ...int16 }).inpaint(known, mask);
    expect(Buffer.from(twoInt16.data.buffer).equals(Buffer.from(oneInt16.data.buffer))).toBe(true);
    expect(Buffer.from(oneInt16.data.buffer).equals(Buffer.from(one.data.buffer))).toBe(false);
    // the decoder lets the inpainter write into the known image (InpaintOptions.consumeKnown): the same image
    for (const threads of [1, 2]) {
      const mine = createImage(200, 136, 3, new Float32Array(known.data));
      const inPlace = await model
        .inpainter(SMALL, { threads })
        .inpaint(mine, mask, undefined, { consumeKnown: true });
      expect(inPlace).toBe(mine);
      expect(Buffer.from(inPlace.data.buffer).equals(Buffer.from(one.data.buffer))).toBe(true);
    }
    const scores = await model.scores(image, 0.05, SMALL, { threads: 1 });
    const scores2 = await model.scores(image, 0.05, SMALL, { threads: 2 });
    expect(Buffer.from(scores2.buffer).equals(Buffer.from(scores.buffer))).toBe(true);
  }, 60_000);

  it("pass a window's failure back, and go on with the next window", async () => {
    const pool = await WindowPool.start(MODEL, 1);
    try {
      const noise = { seed: 1, paddedWidth: 16, x0: 0, y0: 0 };
      const bad = {
        kind: "inpaint" as const,
        f: new Float32Array(10),
        b: new Float32Array(256),
        width: 16,
        height: 16,
        noise,
        density: 0.05,
        arithmetic: "float32" as const,
      };
      await expect(pool.run(bad)).rejects.toThrow(/shape/);
      const good = { ...bad, f: new Float32Array(768).fill(0.5), b: new Float32Array(256) };
      good.b[17] = 1;
      expect((await pool.run(good)).length).toBe(768);
    } finally {
      await pool.close();
    }
  }, 30_000);

  it("fail with one clear error when a worker cannot load its model", async () => {
    await expect(WindowPool.start(join(MODELS_DIR, "no-such-model"), 1)).rejects.toThrow(/no-such-model/);
  }, 30_000);
});
