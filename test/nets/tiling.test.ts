import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { inpainterFor } from "../../src/backends.ts";
import { gridSelector } from "../../src/baselines/index.ts";
import { diffusionInputTolerance, LARGE_WINDOW_PIXELS } from "../../src/codec/stream.ts";
import type { StreamHeader } from "../../src/codec/types.ts";
import { createImage, type Image, type Mask } from "../../src/image/types.ts";
import { defaultModelDir, type GanModel, loadGanModel } from "../../src/nets/gan-backend.ts";
import { Rng } from "../../src/nets/ops.ts";
import {
  DECODER_TILING,
  DECODER_TILING_V5,
  DECODER_TILING_V6,
  decoderTiling,
  ENCODER_TILING,
  tileGrid,
  UNTILED,
} from "../../src/nets/tiling.ts";

describe("tile geometry", () => {
  it("cores partition the image; windows hold their core, stay inside and start on the pooling grid", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 6 }),
        (width, height, coreUnits, marginUnits) => {
          const geometry = { core: 8 * coreUnits, margin: 8 * marginUnits };
          const covered = new Uint8Array(width * height);
          for (const t of tileGrid(width, height, geometry)) {
            expect(t.x0 % 8).toBe(0);
            expect(t.y0 % 8).toBe(0);
            expect(t.x0).toBe(Math.max(0, t.cx0 - geometry.margin));
            expect(t.x1).toBe(Math.min(width, t.cx1 + geometry.margin));
            expect(t.y1).toBe(Math.min(height, t.cy1 + geometry.margin));
            expect(t.cx1 - t.cx0).toBeLessThanOrEqual(geometry.core);
            expect(t.cx0 % geometry.core).toBe(0);
            for (let y = t.cy0; y < t.cy1; y++) for (let x = t.cx0; x < t.cx1; x++) covered[y * width + x]++;
          }
          expect(covered.every((c) => c === 1)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("the decoder's geometry runs an image up to 768×768 as one window and cuts larger sides into 512s", () => {
    expect(tileGrid(768, 512, DECODER_TILING)).toHaveLength(1);
    expect(tileGrid(768, 768, DECODER_TILING)).toHaveLength(1);
    const tall = tileGrid(768, 769, DECODER_TILING);
    expect(tall.map((t) => [t.cy0, t.cy1, t.y0, t.y1])).toEqual([
      [0, 512, 0, 640],
      [512, 769, 384, 769],
    ]);
    expect(tall.every((t) => t.cx0 === 0 && t.cx1 === 768)).toBe(true);
    expect(tileGrid(4000, 3000, DECODER_TILING)).toHaveLength(48);
  });

  it("format version 5's decoder runs an image up to 1024×1024 as one window and cuts larger sides into 768s", () => {
    expect(decoderTiling(5)).toBe(DECODER_TILING_V5);
    expect(decoderTiling(3)).toBe(DECODER_TILING);
    expect(decoderTiling(1)).toBe(DECODER_TILING);
    expect(tileGrid(1024, 1024, DECODER_TILING_V5)).toHaveLength(1);
    const wide = tileGrid(1025, 512, DECODER_TILING_V5);
    expect(wide.map((t) => [t.cx0, t.cx1, t.x0, t.x1])).toEqual([
      [0, 768, 0, 896],
      [768, 1025, 640, 1025],
    ]);
    const big = tileGrid(4000, 3000, DECODER_TILING_V5);
    expect(big).toHaveLength(24);
    expect(Math.max(...big.map((t) => t.x1 - t.x0))).toBe(1024);
  });

  it("format version 6's decoder runs an image up to 1280×1280 as one window and cuts larger sides into 1024s", () => {
    expect(decoderTiling(6)).toBe(DECODER_TILING_V6);
    expect(tileGrid(1280, 1280, DECODER_TILING_V6)).toHaveLength(1);
    const wide = tileGrid(1281, 512, DECODER_TILING_V6);
    expect(wide.map((t) => [t.cx0, t.cx1, t.x0, t.x1])).toEqual([
      [0, 1024, 0, 1152],
      [1024, 1281, 896, 1281],
    ]);
    const big = tileGrid(4000, 3000, DECODER_TILING_V6);
    expect(big).toHaveLength(12);
    expect(Math.max(...big.map((t) => t.x1 - t.x0))).toBe(1280);
    // window pixels per image pixel: 1.40 against version 5's 1.66
    const pixels = (tiles: typeof big) => tiles.reduce((n, t) => n + (t.x1 - t.x0) * (t.y1 - t.y0), 0) / 12e6;
    expect(pixels(big)).toBeCloseTo(1.395, 3);
    expect(pixels(tileGrid(4000, 3000, DECODER_TILING_V5))).toBeCloseTo(1.658, 3);
  });

  it("the mask generator's geometry keeps the decoder's 768² windows with 640-pixel cores", () => {
    expect(tileGrid(768, 768, ENCODER_TILING)).toHaveLength(1);
    const big = tileGrid(4000, 3000, ENCODER_TILING);
    expect(big).toHaveLength(35);
    expect(Math.max(...big.map((t) => t.x1 - t.x0))).toBe(768);
    expect(Math.max(...big.map((t) => t.y1 - t.y0))).toBe(768);
  });

  it("untiled is one window over the whole image", () => {
    expect(tileGrid(1000, 700, UNTILED)).toEqual([
      { x0: 0, y0: 0, x1: 1000, y1: 700, cx0: 0, cy0: 0, cx1: 1000, cy1: 700 },
    ]);
  });

  it("Rng.at gives the stream's values by index (the noise maps of any window)", () => {
    const stream = new Rng(0x67656e31).fill(new Float32Array(1000));
    for (let i = 0; i < stream.length; i++) expect(Math.fround(Rng.at(0x67656e31, i))).toBe(stream[i]);
  });
});

/** A smooth colour image with an edge and texture (a stand-in for a photo). */
function photo(width: number, height: number): Image {
  const img = createImage(width, height, 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const edge = x + 0.6 * y > 0.7 * width ? 50 : 0;
      for (let c = 0; c < 3; c++) {
        const v =
          120 + 60 * Math.sin((x * (c + 1)) / 13) * Math.cos((y + 3 * c) / 17) + edge + 8 * Math.sin(x * y);
        img.data[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return img;
}

function rmse(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s / a.length);
}

describe("tiled inference with the shipped default model", () => {
  // the refined 5 % model: analytic mask prior, diffusion input, refiner — every input a window must cut
  let model: GanModel;
  const img = photo(96, 80);
  let mask: Mask;
  beforeAll(async () => {
    model = await loadGanModel(defaultModelDir(0.05), { tfBackend: "wasm" });
    mask = await gridSelector().select(img, 0.05);
  });

  it("an image within one window is a single window: the same bytes as untiled inference", async () => {
    expect(tileGrid(96, 80, DECODER_TILING)).toHaveLength(1);
    const tiled = await model.inpainter().inpaint(img, mask);
    const untiled = await model.inpainter(UNTILED).inpaint(img, mask);
    expect(tiled.data).toEqual(untiled.data);
  });

  it("small tiles whose margins reach across the image reproduce untiled inference exactly", async () => {
    // every window then sees the whole image: checks that noise, padding, the analytic prior and the
    // placement of each core are those of the untiled run
    const geometry = { core: 32, margin: 96 };
    expect(tileGrid(96, 80, geometry).length).toBe(9);
    const untiled = await model.inpainter(UNTILED).inpaint(img, mask);
    expect((await model.inpainter(geometry).inpaint(img, mask)).data).toEqual(untiled.data);
    const scores = await model.scores(img, 0.05, UNTILED);
    expect(await model.scores(img, 0.05, geometry)).toEqual(scores);
  });

  it("the decoder takes its tiling and arithmetic from the stream's version", async () => {
    // 3 windows in versions 1 and 3, 2 in version 5, one in version 6
    const wide = photo(1040, 24);
    const wideMask = await gridSelector().select(wide, 0.05);
    const header = (version: number) =>
      ({
        version,
        backend: "gan",
        modelId: model.id,
        weightHash: model.weightHash.slice(0, 16),
      }) as StreamHeader;
    const decoded = async (version: number) =>
      (await (await inpainterFor(header(version))).inpaint(wide, wideMask)).data;
    const v3 = await decoded(3);
    const v5 = await decoded(5);
    const v6 = await decoded(6);
    expect(v3).toEqual((await model.inpainter(DECODER_TILING).inpaint(wide, wideMask)).data);
    expect(v5).toEqual(
      (await model.inpainter(DECODER_TILING_V5, { arithmetic: "int16" }).inpaint(wide, wideMask)).data,
    );
    // version 6: one window (sides up to 1280), small enough to keep the diffusion input's 1e-4
    const v6Options = { arithmetic: "int16" as const };
    expect(v6).toEqual((await model.inpainter(DECODER_TILING_V6, v6Options).inpaint(wide, wideMask)).data);
    expect(v5).not.toEqual(v3);
    expect(v6).not.toEqual(v5);
    expect(diffusionInputTolerance(6, 1040 * 24)).toBe(1e-4);
  });

  it("stops the diffusion input of version 6's windows over 2^20 pixels earlier, by each window's padded size", async () => {
    expect(diffusionInputTolerance(5, 1280 * 1280)).toBe(1e-4);
    expect(diffusionInputTolerance(6, LARGE_WINDOW_PIXELS)).toBe(1e-4);
    expect(diffusionInputTolerance(6, LARGE_WINDOW_PIXELS + 1)).toBe(1e-3);
    expect(diffusionInputTolerance(6, 768 * 512)).toBe(1e-4);
    // the tiled decoder asks for each window's tolerance with that window's padded pixels
    const asked: number[] = [];
    const tolerance = (pixels: number) => {
      asked.push(pixels);
      return pixels > 1200 ? 1e-3 : 1e-4;
    };
    const geometry = { core: 32, margin: 8 };
    const img = photo(60, 44);
    const m = await gridSelector().select(img, 0.1);
    const spied = await model.inpainter(geometry, { diffusionTolerance: tolerance }).inpaint(img, m);
    const windows = tileGrid(60, 44, geometry).map((t) => {
      const side = (n: number) => Math.ceil(n / 8) * 8;
      return side(t.x1 - t.x0) * side(t.y1 - t.y0);
    });
    expect(asked).toEqual(windows);
    expect(asked.some((p) => p > 1200) && asked.some((p) => p <= 1200)).toBe(true);
    // and it is what the windows' networks saw: the same image as with a solve stopped per window by hand
    const loose = await model.inpainter(geometry, { diffusionTolerance: () => 1e-3 }).inpaint(img, m);
    const tight = await model.inpainter(geometry).inpaint(img, m);
    expect(spied.data).not.toEqual(tight.data);
    expect(spied.data).not.toEqual(loose.data);
  });

  it("with a short margin the error at the tile borders is small against the inpainting error, and shrinks with the margin", async () => {
    const untiled = await model.inpainter(UNTILED).inpaint(img, mask);
    const inpaintingError = rmse(untiled.data, img.data);
    const errors: number[] = [];
    for (const margin of [8, 32]) {
      const tiled = await model.inpainter({ core: 32, margin }).inpaint(img, mask);
      errors.push(rmse(tiled.data, untiled.data));
    }
    expect(errors[0]).toBeGreaterThan(0);
    expect(errors[1]).toBeLessThan(errors[0]);
    expect(errors[1]).toBeLessThan(0.15 * inpaintingError);
  });
});

describe("tensor backend failures", () => {
  it("become one MaskcodecError line naming the step, not a stack trace", async () => {
    const { onBackend } = await import("../../src/nets/gan-backend.ts");
    const { MaskcodecError } = await import("../../src/errors.ts");
    const failing = () =>
      onBackend("inpainting", async () => {
        throw new WebAssembly.RuntimeError("memory access out of bounds\n    at wasm-function[123]");
      });
    await expect(failing()).rejects.toBeInstanceOf(MaskcodecError);
    await expect(failing()).rejects.toThrow(
      /^The tensor backend failed while inpainting: memory access out of bounds$/,
    );
    await expect(
      onBackend("inpainting", async () => {
        throw new RangeError("Array buffer allocation failed");
      }),
    ).rejects.toThrow(/^The tensor backend failed while inpainting: Array buffer allocation failed$/);
    const own = new MaskcodecError("already clear", "ERR_INPUT");
    await expect(onBackend("inpainting", () => Promise.reject(own))).rejects.toBe(own);
    // a bug is not a backend failure: it keeps its own type and stack
    const bug = new TypeError("undefined is not a function");
    await expect(onBackend("inpainting", () => Promise.reject(bug))).rejects.toBe(bug);
  });
});
