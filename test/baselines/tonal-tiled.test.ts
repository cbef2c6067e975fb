import { describe, expect, it } from "vitest";
import { inpaintDiffusion } from "../../src/baselines/diffusion.ts";
import { optimiseTonal, type TonalOptions } from "../../src/baselines/tonal.ts";
import { optimiseTonalTiled } from "../../src/baselines/tonal-tiled.ts";
import { createImage, createMask, type Image, type Mask } from "../../src/image/types.ts";
import { type TileGeometry, tileGrid, UNTILED } from "../../src/nets/tiling.ts";
import { syntheticImage } from "./helpers.ts";

/** Known pixels on a regular grid every `step` pixels (the image's last row and column included), like a tree's corners. */
function gridMask(w: number, h: number, step: number): Mask {
  const mask = createMask(w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if ((y % step === 0 || y === h - 1) && (x % step === 0 || x === w - 1)) mask.data[y * w + x] = 1;
    }
  }
  return mask;
}

function mseOf(image: Image, values: Image, mask: Mask): number {
  const u = inpaintDiffusion(values, mask, { tolerance: 1e-10 }).image.data;
  let e = 0;
  for (let i = 0; i < u.length; i++) e += (u[i] - image.data[i]) ** 2;
  return e / u.length;
}

function window(image: Image, x0: number, y0: number, x1: number, y1: number): Image {
  const { width, channels: C } = image;
  const out = createImage(x1 - x0, y1 - y0, C);
  for (let y = y0; y < y1; y++) {
    out.data.set(image.data.subarray((y * width + x0) * C, (y * width + x1) * C), (y - y0) * (x1 - x0) * C);
  }
  return out;
}

/** Tight accuracy, so that the untiled result is the least-squares optimum to well below the tiling's effect. */
const EXACT: TonalOptions = { tolerance: 1e-5, innerTolerance: 1e-10, maxIterations: 2000 };

describe("tonal optimisation over tiles", () => {
  it("is optimiseTonal itself when one window covers the image", () => {
    const image = syntheticImage(40, 30, 3, 5);
    const mask = gridMask(40, 30, 6);
    const whole = optimiseTonal(image, mask).values.data;
    for (const geometry of [
      { core: 40, margin: 8 },
      { core: 16, margin: 4, span: 40 },
      UNTILED,
    ] satisfies TileGeometry[]) {
      expect(tileGrid(40, 30, geometry)).toHaveLength(1);
      expect(optimiseTonalTiled(image, mask, geometry).data).toEqual(whole);
    }
  });

  it("gives each core the values optimiseTonal finds in its window, start and fixed cut to it", () => {
    const [w, h] = [50, 37];
    const image = syntheticImage(w, h, 1, 7);
    const mask = gridMask(w, h, 5);
    const start = createImage(w, h, 1);
    const fixed = new Uint8Array(w * h);
    for (let i = 0, j = 0; i < w * h; i++) {
      if (!mask.data[i]) continue;
      start.data[i] = (j * 37) % 256;
      if (j++ % 3 === 0) fixed[i] = 1;
    }
    const geometry: TileGeometry = { core: 16, margin: 6 };
    const tiled = optimiseTonalTiled(image, mask, geometry, { start, fixed }).data;
    const tiles = tileGrid(w, h, geometry);
    expect(tiles.length).toBe(12);
    for (const t of tiles) {
      const ww = t.x1 - t.x0;
      const cutMask = window(createImage(w, h, 1, Float32Array.from(mask.data)), t.x0, t.y0, t.x1, t.y1);
      const cutFixed = window(createImage(w, h, 1, Float32Array.from(fixed)), t.x0, t.y0, t.x1, t.y1);
      const own = optimiseTonal(
        window(image, t.x0, t.y0, t.x1, t.y1),
        createMask(ww, t.y1 - t.y0, Uint8Array.from(cutMask.data)),
        { start: window(start, t.x0, t.y0, t.x1, t.y1), fixed: Uint8Array.from(cutFixed.data) },
      ).values.data;
      for (let y = t.cy0; y < t.cy1; y++) {
        for (let x = t.cx0; x < t.cx1; x++) {
          const i = y * w + x;
          if (!mask.data[i]) expect(tiled[i]).toBe(image.data[i]);
          else if (fixed[i]) expect(tiled[i]).toBe(start.data[i]);
          else expect(tiled[i]).toBe(own[(y - t.y0) * ww + (x - t.x0)]);
        }
      }
    }
  });

  it("keeps the start values of a core whose points are all fixed", () => {
    const [w, h] = [32, 16];
    const image = syntheticImage(w, h, 1, 2);
    const mask = gridMask(w, h, 4);
    const start = createImage(w, h, 1, new Float32Array(w * h).fill(100));
    const fixed = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < 16; x++) fixed[y * w + x] = mask.data[y * w + x];
    const tiled = optimiseTonalTiled(image, mask, { core: 16, margin: 4 }, { start, fixed }).data;
    let changed = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        if (!mask.data[i]) continue;
        if (x < 16) expect(tiled[i]).toBe(100);
        else if (tiled[i] !== 100) changed++;
      }
    }
    expect(changed).toBeGreaterThan(0);
  });

  it("finds nearly the whole image's least-squares values with a margin of two mask spacings", () => {
    // The tiled values are a feasible point of the whole image's problem, so their error is at least the
    // optimum's. A value's influence on diffusion fades by about an order of magnitude per mask spacing (it
    // ends at the known pixels around it), so with two spacings of context around every core the values lose
    // a small fraction of what least squares gains over the original values (about 0.3 % here: 1 % is the
    // bound); with no margin, points near the cores' borders are solved with their influence cut off by the
    // window's edge (about a third of the gain lost here: 10 % is the bound that shows the margin matters).
    const [w, h, step] = [96, 80, 6];
    for (const seed of [3, 11]) {
      const image = syntheticImage(w, h, 1, seed);
      const mask = gridMask(w, h, step);
      const original = mseOf(image, image, mask);
      const optimum = mseOf(image, optimiseTonal(image, mask, EXACT).values, mask);
      const tiled = mseOf(
        image,
        optimiseTonalTiled(image, mask, { core: 24, margin: 2 * step }, EXACT),
        mask,
      );
      const bare = mseOf(image, optimiseTonalTiled(image, mask, { core: 24, margin: 0 }, EXACT), mask);
      const gain = original - optimum;
      expect(gain).toBeGreaterThan(0.1 * original);
      expect(tiled).toBeGreaterThanOrEqual(optimum * (1 - 1e-6));
      expect(tiled - optimum).toBeLessThan(0.01 * gain);
      expect(bare - optimum).toBeGreaterThan(0.1 * gain);
    }
  });
});
